//! RuntimeHost::invoke and artifact loading against raw wasmtime with the
//! same engine. See benches/README.md for figures.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use hotswap_benches::{big_module, paired_ratio, runtime, selected};
use hotswap_core::domain::{Digest, Value};
use hotswap_core::runtime::{CallOutput, Invocation, InvokeNow, ModuleSource, RuntimeHost};
use hotswap_runtime_wasmtime::WasmtimeConfig;
use hotswap_testkit::fixtures;
use wasmtime::{Linker, Module, Store};

const DEADLINE: u64 = 1_000;

/// The output of a call `invoke_now` ran.
fn done(now: InvokeNow) -> CallOutput {
    match now {
        InvokeNow::Done(out) => out.unwrap(),
        InvokeNow::Later(call) => panic!("{call:?} did not run at once"),
    }
}

/// A paired ratio of `ours` against `raw`, then both under criterion.
fn compare(
    c: &mut Criterion,
    group: &str,
    rounds: usize,
    batch: u32,
    raw: &mut dyn FnMut(),
    ours: &mut [(&str, &mut dyn FnMut())],
) {
    if !selected(group) {
        return;
    }
    for (name, f) in ours.iter_mut() {
        paired_ratio(
            &format!("{group} {name}/raw"),
            rounds,
            batch,
            &mut *raw,
            &mut **f,
        );
    }
    let mut g = c.benchmark_group(group);
    g.bench_function("raw_wasmtime", |b| b.iter(&mut *raw));
    for (name, f) in ours.iter_mut() {
        g.bench_function(*name, |b| b.iter(&mut **f));
    }
    g.finish();
}

fn core_add(c: &mut Criterion) {
    let rt = runtime(WasmtimeConfig::default());
    let engine = rt.engine().clone();
    let ours = block_on(rt.compile(ModuleSource::new(fixtures::numeric(1)))).unwrap();
    let module = Module::new(&engine, fixtures::numeric(1)).unwrap();
    let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
    compare(
        c,
        "call_core_add",
        200,
        2_000,
        &mut || {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(DEADLINE);
            let instance = pre.instantiate(&mut store).unwrap();
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                .unwrap();
            black_box(add.call(&mut store, (black_box(1), 2)).unwrap());
        },
        &mut [
            ("hotswap_values", &mut || {
                let call = Invocation::values("add", vec![Value::S32(black_box(1)), Value::S32(2)]);
                black_box(block_on(ours.invoke(call)).unwrap());
            }),
            ("hotswap_invoke_now", &mut || {
                let call = Invocation::values("add", vec![Value::S32(black_box(1)), Value::S32(2)]);
                black_box(done(ours.invoke_now(call)));
            }),
            ("hotswap_json", &mut || {
                let call = Invocation::json("add", serde_json::json!([black_box(1), 2]));
                black_box(block_on(ours.invoke(call)).unwrap());
            }),
        ],
    );
}

fn component_strings(c: &mut Criterion) {
    use wasmtime::component::{Component, Linker as CLinker};
    let rt = runtime(WasmtimeConfig::default());
    let engine = rt.engine().clone();
    let bytes = fixtures::component("hello, ");
    let ours = block_on(rt.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let component = Component::new(&engine, &bytes).unwrap();
    let pre = CLinker::<()>::new(&engine)
        .instantiate_pre(&component)
        .unwrap();
    let iface = component
        .get_export_index(None, fixtures::COMPONENT_INTERFACE)
        .unwrap();
    let greet = component.get_export_index(Some(&iface), "greet").unwrap();
    // An embedder names the function with a constant; leaked once here.
    let name: &'static str = format!("{}#greet", fixtures::COMPONENT_INTERFACE).leak();
    compare(
        c,
        "call_component_greet",
        100,
        500,
        &mut || {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(DEADLINE);
            let instance = pre.instantiate(&mut store).unwrap();
            let f = instance
                .get_typed_func::<(&str,), (String,)>(&mut store, greet)
                .unwrap();
            black_box(f.call(&mut store, (black_box("world"),)).unwrap());
        },
        &mut [
            ("hotswap_values", &mut || {
                let call = Invocation::values(name, vec![Value::String(black_box("world").into())]);
                black_box(block_on(ours.invoke(call)).unwrap());
            }),
            ("hotswap_invoke_now", &mut || {
                let call = Invocation::values(name, vec![Value::String(black_box("world").into())]);
                black_box(done(ours.invoke_now(call)));
            }),
        ],
    );
}

fn wasi_echo(c: &mut Criterion) {
    use wasmtime_wasi::WasiCtxBuilder;
    use wasmtime_wasi::p1::WasiP1Ctx;
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let rt = runtime(WasmtimeConfig::default());
    let engine = rt.engine().clone();
    let bytes = fixtures::wasi_echo();
    let ours = block_on(rt.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let module = Module::new(&engine, &bytes).unwrap();
    let mut linker = Linker::<WasiP1Ctx>::new(&engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |c| c).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    let input = bytes::Bytes::from(vec![b'x'; 1024]);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    compare(
        c,
        "call_wasi_echo_1k",
        100,
        500,
        &mut || {
            tokio.block_on(async {
                let stdout = MemoryOutputPipe::new(1 << 20);
                let ctx = WasiCtxBuilder::new()
                    .stdin(MemoryInputPipe::new(input.clone()))
                    .stdout(stdout.clone())
                    .build_p1();
                let mut store = Store::new(&engine, ctx);
                store.set_epoch_deadline(DEADLINE);
                let instance = pre.instantiate_async(&mut store).await.unwrap();
                let start = instance
                    .get_typed_func::<(), ()>(&mut store, "_start")
                    .unwrap();
                start.call_async(&mut store, ()).await.unwrap();
                drop(store);
                black_box(stdout.contents());
            })
        },
        &mut [("hotswap", &mut || {
            black_box(
                tokio
                    .block_on(ours.invoke(Invocation::command(input.clone())))
                    .unwrap(),
            );
        })],
    );
}

fn artifact_load(c: &mut Criterion) {
    if !selected("load_1mb_module") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = WasmtimeConfig::default()
        .with_artifact_dir(dir.path())
        .with_memory_cache_entries(0);
    let rt = runtime(config);
    let engine = rt.engine().clone();
    let bytes = big_module(20_000);
    let digest = Digest::of(&bytes);
    println!("artifact_load: module of {} bytes", bytes.len());
    block_on(rt.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let artifact = Module::new(&engine, &bytes).unwrap().serialize().unwrap();
    let artifact_file = dir.path().join("raw.cwasm");
    std::fs::write(&artifact_file, &artifact).unwrap();
    let mut ours = || {
        let source = ModuleSource::new_unchecked(bytes.clone(), digest);
        black_box(block_on(rt.compile(source)).unwrap());
    };
    // SAFETY (both): the artifact was serialized by this engine just above.
    #[allow(unsafe_code)]
    let mut raw_memory = || {
        drop(black_box(
            unsafe { Module::deserialize(&engine, &artifact) }.unwrap(),
        ))
    };
    #[allow(unsafe_code)]
    let mut raw_file = || {
        drop(black_box(
            unsafe { Module::deserialize_file(&engine, &artifact_file) }.unwrap(),
        ))
    };
    paired_ratio(
        "load_1mb_module hotswap/raw_deserialize",
        15,
        2,
        &mut raw_memory,
        &mut ours,
    );
    paired_ratio(
        "load_1mb_module hotswap/raw_deserialize_file",
        15,
        2,
        &mut raw_file,
        &mut ours,
    );

    let mut g = c.benchmark_group("load_1mb_module");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("raw_deserialize", |b| b.iter(&mut raw_memory));
    g.bench_function("raw_deserialize_file", |b| b.iter(&mut raw_file));
    g.bench_function("hotswap_compile_from_artifact", |b| b.iter(&mut ours));
    g.finish();

    let mut g = c.benchmark_group("compile_1mb_module");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("raw_module_new", |b| {
        b.iter(|| black_box(Module::new(&engine, &bytes).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    core_add,
    component_strings,
    wasi_echo,
    artifact_load
);
criterion_main!(benches);

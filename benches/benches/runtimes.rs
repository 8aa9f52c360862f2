//! The wasmer adapter beside the wasmtime adapter on the same fixtures: a
//! core call and a fresh instance with memory (both through `invoke_now`),
//! a WASI echo, loading a cached artifact and compiling from bytes; plus
//! raw wasmer, to show the adapter's own overhead. See benches/README.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use hotswap_benches::{big_module, paired_ratio, runtime, selected};
use hotswap_core::domain::{Digest, Value};
use hotswap_core::runtime::{CompiledModule, Invocation, InvokeNow, ModuleSource, RuntimeHost};
use hotswap_runtime_wasmer::{WasmerConfig, WasmerRuntime};
use hotswap_runtime_wasmtime::WasmtimeConfig;
use hotswap_testkit::fixtures;

fn wasmer_runtime(config: WasmerConfig) -> WasmerRuntime {
    WasmerRuntime::new(config).expect("the wasmer runtime starts")
}

/// Both adapters with default settings.
fn adapters() -> (impl RuntimeHost, impl RuntimeHost) {
    (
        runtime(WasmtimeConfig::default()),
        wasmer_runtime(WasmerConfig::default()),
    )
}

fn now(module: &dyn CompiledModule, call: Invocation) {
    match module.invoke_now(call) {
        InvokeNow::Done(out) => drop(black_box(out.unwrap())),
        InvokeNow::Later(call) => panic!("{call:?} did not run at once"),
    }
}

/// The paired ratio wasmer / wasmtime adapter of group `g`, then a
/// criterion group measuring both (more functions may be added before it
/// is finished).
fn side_by_side<'c>(
    c: &'c mut Criterion,
    g: &str,
    rounds: usize,
    batch: u32,
    wasmtime_adapter: &mut dyn FnMut(),
    wasmer_adapter: &mut dyn FnMut(),
) -> BenchmarkGroup<'c, WallTime> {
    paired_ratio(
        &format!("{g} wasmer/wasmtime adapter"),
        rounds,
        batch,
        &mut *wasmtime_adapter,
        &mut *wasmer_adapter,
    );
    let mut group = c.benchmark_group(g);
    group.bench_function("wasmtime_adapter", |b| b.iter(&mut *wasmtime_adapter));
    group.bench_function("wasmer_adapter", |b| b.iter(&mut *wasmer_adapter));
    group
}

/// A raw wasmer engine (Cranelift, defaults) and `bytes` compiled on it.
fn raw_wasmer(bytes: &[u8]) -> (wasmer::Engine, wasmer::Module) {
    let engine: wasmer::Engine = wasmer::sys::Cranelift::new().into();
    let module = wasmer::Module::new(&engine, bytes).unwrap();
    (engine, module)
}

fn core_add(c: &mut Criterion) {
    if !selected("runtimes_core_add") {
        return;
    }
    let (wt, wr) = adapters();
    let bytes = fixtures::numeric(1);
    let wt = block_on(wt.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let wr = block_on(wr.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let (engine, module) = raw_wasmer(&bytes);
    let call = || Invocation::values("add", vec![Value::S32(black_box(1)), Value::S32(2)]);
    let mut wasmtime_adapter = || now(&*wt, call());
    let mut wasmer_adapter = || now(&*wr, call());
    let mut raw = || {
        let mut store = wasmer::Store::new(engine.clone());
        let instance = wasmer::Instance::new(&mut store, &module, &wasmer::imports! {}).unwrap();
        let add = instance
            .exports
            .get_typed_function::<(i32, i32), i32>(&store, "add")
            .unwrap();
        black_box(add.call(&mut store, black_box(1), 2).unwrap());
    };
    let g = "runtimes_core_add";
    paired_ratio(
        &format!("{g} wasmer adapter/raw wasmer"),
        200,
        2_000,
        &mut raw,
        &mut wasmer_adapter,
    );
    let mut group = side_by_side(c, g, 200, 2_000, &mut wasmtime_adapter, &mut wasmer_adapter);
    group.bench_function("raw_wasmer", |b| b.iter(&mut raw));
    group.finish();
}

fn fresh_instance_with_memory(c: &mut Criterion) {
    if !selected("runtimes_instance_with_memory") {
        return;
    }
    let (wt, wr) = adapters();
    let bytes = fixtures::memory_hog();
    let wt = block_on(wt.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let wr = block_on(wr.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let call = || Invocation::values("hog", vec![Value::S32(black_box(0))]);
    let mut wasmtime_adapter = || now(&*wt, call());
    let mut wasmer_adapter = || now(&*wr, call());
    let g = "runtimes_instance_with_memory";
    let group = side_by_side(c, g, 100, 1_000, &mut wasmtime_adapter, &mut wasmer_adapter);
    group.finish();
}

fn wasi_echo(c: &mut Criterion) {
    if !selected("runtimes_wasi_echo_1k") {
        return;
    }
    let (wt, wr) = adapters();
    let bytes = fixtures::wasi_echo();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wt = tokio
        .block_on(wt.compile(ModuleSource::new(bytes.clone())))
        .unwrap();
    let wr = tokio
        .block_on(wr.compile(ModuleSource::new(bytes.clone())))
        .unwrap();
    let input = bytes::Bytes::from(vec![b'x'; 1024]);
    let run = |m: &dyn CompiledModule| {
        let out = tokio
            .block_on(m.invoke(Invocation::command(input.clone())))
            .unwrap();
        assert_eq!(out.stdout.len(), 1024);
        black_box(out);
    };
    let mut wasmtime_adapter = || run(&*wt);
    let mut wasmer_adapter = || run(&*wr);
    let g = "runtimes_wasi_echo_1k";
    let group = side_by_side(c, g, 60, 200, &mut wasmtime_adapter, &mut wasmer_adapter);
    group.finish();
}

/// Loading a cached 1 MB module's artifact (the memory cache off), and
/// compiling it from bytes (no artifact folder), on both adapters.
fn load_and_compile(c: &mut Criterion) {
    if !selected("runtimes_load_and_compile_1mb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cached = |sub: &str| dir.path().join(sub);
    let wt_cached = runtime(
        WasmtimeConfig::default()
            .with_artifact_dir(cached("wasmtime"))
            .with_memory_cache_entries(0),
    );
    let wr_cached = wasmer_runtime(
        WasmerConfig::default()
            .with_artifact_dir(cached("wasmer"))
            .with_memory_cache_entries(0),
    );
    let wt_cold = runtime(WasmtimeConfig::default().with_memory_cache_entries(0));
    let wr_cold = wasmer_runtime(WasmerConfig::default().with_memory_cache_entries(0));
    let bytes = big_module(20_000);
    let digest = Digest::of(&bytes);
    println!("load_and_compile: module of {} bytes", bytes.len());
    block_on(wt_cached.compile(ModuleSource::new(bytes.clone()))).unwrap();
    block_on(wr_cached.compile(ModuleSource::new(bytes.clone()))).unwrap();
    let load = |rt: &dyn RuntimeHost| {
        let source = ModuleSource::new_unchecked(bytes.clone(), digest);
        drop(black_box(block_on(rt.compile(source)).unwrap()));
    };
    let mut wasmtime_load = || load(&wt_cached);
    let mut wasmer_load = || load(&wr_cached);
    let mut wasmtime_compile = || load(&wt_cold);
    let mut wasmer_compile = || load(&wr_cold);
    let g = "runtimes_load_and_compile_1mb";
    paired_ratio(
        &format!("{g} load wasmer/wasmtime adapter"),
        15,
        2,
        &mut wasmtime_load,
        &mut wasmer_load,
    );
    paired_ratio(
        &format!("{g} compile wasmer/wasmtime adapter"),
        5,
        1,
        &mut wasmtime_compile,
        &mut wasmer_compile,
    );
    let mut group = c.benchmark_group(g);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("load_wasmtime_adapter", |b| b.iter(&mut wasmtime_load));
    group.bench_function("load_wasmer_adapter", |b| b.iter(&mut wasmer_load));
    group.bench_function("compile_wasmtime_adapter", |b| {
        b.iter(&mut wasmtime_compile)
    });
    group.bench_function("compile_wasmer_adapter", |b| b.iter(&mut wasmer_compile));
    group.finish();
}

criterion_group!(
    benches,
    core_add,
    fresh_instance_with_memory,
    wasi_echo,
    load_and_compile
);
criterion_main!(benches);

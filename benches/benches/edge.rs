//! EdgeHost throughput on two threads, and the time from a swap to the new
//! version serving, against raw wasmtime with the same engine.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use hotswap_benches::{paired_ratio, runtime, selected};
use hotswap_core::domain::{RoutingTable, Value};
use hotswap_core::runtime::Invocation;
use hotswap_edge::{CallRoute, EdgeHost, EdgeHostConfig};
use hotswap_runtime_wasmtime::WasmtimeConfig;
use hotswap_testkit::edge::numeric_version;
use hotswap_testkit::fixtures;
use wasmtime::{Linker, Module, Store};

const THREADS: u64 = 2;

/// Run `per_call` `iters` times split over two threads; the wall time.
fn on_two_threads(iters: u64, per_call: impl Fn() + Send + Sync + 'static) -> Duration {
    let per_call = Arc::new(per_call);
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let f = per_call.clone();
            std::thread::spawn(move || {
                for _ in 0..iters / THREADS {
                    f();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    start.elapsed()
}

fn throughput(c: &mut Criterion) {
    if !selected("two_threads_fresh_instance_add") {
        return;
    }
    let rt = runtime(WasmtimeConfig::default());
    let engine = rt.engine().clone();
    let host = Arc::new(EdgeHost::new(Arc::new(rt), EdgeHostConfig::default()));
    let (m, b) = numeric_version(1);
    block_on(host.deploy(&m, b)).unwrap();
    let module = Module::new(&engine, fixtures::numeric(1)).unwrap();
    let pre = Arc::new(Linker::<()>::new(&engine).instantiate_pre(&module).unwrap());

    let raw: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1_000);
        let instance = pre.instantiate(&mut store).unwrap();
        let add = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "add")
            .unwrap();
        black_box(add.call(&mut store, (1, 2)).unwrap());
    });
    let name = m.name.clone();
    let ours: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let call = Invocation::values("add", vec![Value::S32(1), Value::S32(2)]);
        black_box(block_on(host.invoke(&name, CallRoute::default(), call)).unwrap());
    });
    let on_two = |f: &Arc<dyn Fn() + Send + Sync>, iters: u64| {
        let f = f.clone();
        on_two_threads(iters, move || f())
    };
    paired_ratio(
        "two_threads_fresh_instance_add hotswap_edge_host/raw (time per call; throughput ratio is its inverse)",
        100,
        1,
        || {
            on_two(&raw, 2_000);
        },
        || {
            on_two(&ours, 2_000);
        },
    );

    let mut g = c.benchmark_group("two_threads_fresh_instance_add");
    g.bench_function("raw_wasmtime", |b| {
        b.iter_custom(|iters| on_two(&raw, iters))
    });
    g.bench_function("hotswap_edge_host", |b| {
        b.iter_custom(|iters| on_two(&ours, iters))
    });
    g.finish();
}

fn swap_to_serving(c: &mut Criterion) {
    if !selected("swap_then_first_call_on_new_version") {
        return;
    }
    let rt = runtime(WasmtimeConfig::default());
    let host = EdgeHost::new(Arc::new(rt), EdgeHostConfig::default());
    let versions: Vec<_> = (1..=2).map(numeric_version).collect();
    for (m, b) in &versions {
        block_on(host.load(m, b.clone())).unwrap();
    }
    let name = versions[0].0.name.clone();
    let mut revision = 0u64;
    c.bench_function("swap_then_first_call_on_new_version", |b| {
        b.iter(|| {
            revision += 1;
            let (m, _) = &versions[(revision % 2) as usize];
            let mut table = RoutingTable::new(name.clone(), m.version.clone());
            table.revision = revision;
            host.apply_routing(table).unwrap();
            let out = block_on(host.invoke(
                &name,
                CallRoute::default(),
                Invocation::values("version", vec![]),
            ))
            .unwrap();
            assert_eq!(out.version, m.version);
        })
    });
}

criterion_group!(benches, throughput, swap_to_serving);
criterion_main!(benches);

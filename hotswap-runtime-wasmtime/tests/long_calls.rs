//! A long plain call does not hold up the thread it started on: after its
//! first slice it moves to a blocking thread, and other tasks of a
//! one-threaded runtime go on meanwhile. Its result and its timeout are
//! those of a call that ran on the spot.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotswap_core::Error;
use hotswap_core::domain::{ResourceLimits, Value};
use hotswap_core::runtime::{CompiledModule, Invocation, ModuleSource, RuntimeHost};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::fixtures;

async fn run(m: &dyn CompiledModule, call: Invocation) -> hotswap_core::Result<Vec<Value>> {
    Ok(m.invoke_now(call).finish(m).await?.values)
}

fn slow(n: i32) -> Invocation {
    Invocation::values("slow", vec![Value::S32(n)])
}

#[test]
fn a_long_call_moves_off_the_thread_and_others_go_on() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runtime =
            WasmtimeRuntime::new(WasmtimeConfig::default().with_max_instances(8)).unwrap();
        let limits = ResourceLimits::default().with_timeout(Duration::from_secs(10));
        let module: Arc<dyn CompiledModule> = runtime
            .compile(ModuleSource::new(fixtures::numeric(1)).with_limits(limits))
            .await
            .unwrap();
        // A loop count that takes at least 300 ms here.
        let mut n = 1_000_000;
        loop {
            let start = Instant::now();
            run(&*module, slow(n)).await.unwrap();
            if start.elapsed() > Duration::from_millis(300) || n > i32::MAX / 2 {
                break;
            }
            n = n.saturating_mul(2);
        }
        let long = {
            let module = module.clone();
            tokio::spawn(async move { run(&*module, slow(n)).await })
        };
        tokio::task::yield_now().await;
        let started = Instant::now();
        let quick = run(
            &*module,
            Invocation::values("add", vec![Value::S32(2), Value::S32(3)]),
        )
        .await
        .unwrap();
        let waited = started.elapsed();
        assert_eq!(quick, vec![Value::S32(5)]);
        assert!(
            waited < Duration::from_millis(150),
            "the quick call waited {waited:?}"
        );
        assert_eq!(
            long.await.unwrap().unwrap(),
            vec![Value::S32(1)],
            "the long call's own result"
        );
    });
}

#[test]
fn a_moved_call_still_times_out_on_its_own_timeout() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runtime = WasmtimeRuntime::new(WasmtimeConfig::default()).unwrap();
        let limits = ResourceLimits::default().with_timeout(Duration::from_millis(300));
        let module = runtime
            .compile(ModuleSource::new(fixtures::infinite_loop()).with_limits(limits))
            .await
            .unwrap();
        let started = Instant::now();
        let err = run(&*module, Invocation::values("spin", vec![]))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, Error::Timeout { after } if after == Duration::from_millis(300)),
            "{err}"
        );
        assert!(
            took >= Duration::from_millis(300),
            "not cut at the slice: {took:?}"
        );
        assert!(took < Duration::from_millis(800), "{took:?}");
    });
}

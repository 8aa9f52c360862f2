//! A long plain call must not hold up the thread it started on: after its
//! first slice ([`hotswap_core::runtime::kit::FAST_SLICE`]) it moves to a
//! blocking thread, and other tasks of a one-threaded runtime go on
//! meanwhile. Its result and its timeout are those of a call that ran on
//! the spot. Each check builds its own one-threaded Tokio runtime, so an
//! adapter calls it from a plain `#[test]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotswap_core::Error;
use hotswap_core::domain::{ResourceLimits, Value};
use hotswap_core::runtime::{CompiledModule, Invocation, ModuleSource, RuntimeHost};

use crate::fixtures;

fn one_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a one-threaded runtime")
}

async fn run(m: &dyn CompiledModule, call: Invocation) -> hotswap_core::Result<Vec<Value>> {
    Ok(m.invoke_now(call).finish(m).await?.values)
}

fn slow(n: i32) -> Invocation {
    Invocation::values("slow", vec![Value::S32(n)])
}

/// A call running for over 300 ms, started first on a one-threaded Tokio
/// runtime, does not hold up a quick call started after it, and still
/// returns its own result. `runtime` must allow two calls at once.
pub fn a_long_call_moves_off_the_thread_and_others_go_on(runtime: Arc<dyn RuntimeHost>) {
    one_thread().block_on(async {
        let limits = ResourceLimits::default().with_timeout(Duration::from_secs(10));
        let module: Arc<dyn CompiledModule> = runtime
            .compile(ModuleSource::new(fixtures::numeric(1)).with_limits(limits))
            .await
            .expect("compile");
        // A loop count that takes at least 300 ms here.
        let mut n = 1_000_000;
        loop {
            let start = Instant::now();
            run(&*module, slow(n)).await.expect("slow");
            if start.elapsed() > Duration::from_millis(300) || n > i32::MAX / 2 {
                break;
            }
            n = n.saturating_mul(2);
        }
        // The clock starts before the long call: it runs its first slice
        // on this thread when the quick call yields to it.
        let started = Instant::now();
        let long = {
            let module = module.clone();
            tokio::spawn(async move { run(&*module, slow(n)).await })
        };
        tokio::task::yield_now().await;
        let quick = run(
            &*module,
            Invocation::values("add", vec![Value::S32(2), Value::S32(3)]),
        )
        .await
        .expect("add");
        let waited = started.elapsed();
        assert_eq!(quick, vec![Value::S32(5)]);
        assert!(
            waited < Duration::from_millis(150),
            "the quick call waited {waited:?}"
        );
        assert_eq!(
            long.await.expect("task").expect("the long call"),
            vec![Value::S32(1)],
            "the long call's own result"
        );
    });
}

/// A call moved off the thread still ends at its own timeout, not at the
/// slice, with the timeout it was given.
pub fn a_moved_call_still_times_out_on_its_own_timeout(runtime: Arc<dyn RuntimeHost>) {
    one_thread().block_on(async {
        let limits = ResourceLimits::default().with_timeout(Duration::from_millis(300));
        let module = runtime
            .compile(ModuleSource::new(fixtures::infinite_loop()).with_limits(limits))
            .await
            .expect("compile");
        let started = Instant::now();
        let err = run(&*module, Invocation::values("spin", vec![]))
            .await
            .expect_err("spin times out");
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

/// Run every long-call behaviour as its own plain `#[test]`. `$make`
/// returns a fresh `Arc<dyn RuntimeHost>` allowing two calls at once.
#[macro_export]
macro_rules! long_calls_suite {
    ($make:expr) => {
        mod long_calls {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn a_long_call_moves_off_the_thread_and_others_go_on() {
                $crate::long_calls::a_long_call_moves_off_the_thread_and_others_go_on($make());
            }

            #[test]
            fn a_moved_call_still_times_out_on_its_own_timeout() {
                $crate::long_calls::a_moved_call_still_times_out_on_its_own_timeout($make());
            }
        }
    };
}

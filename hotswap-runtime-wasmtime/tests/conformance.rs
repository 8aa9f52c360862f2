//! The wasmtime runtime passes the runtime conformance suite.

use std::sync::Arc;
use std::time::Duration;

use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::runtime::RuntimeHarness;

const TICK: Duration = Duration::from_millis(10);
const QUEUE: u32 = 3;
const OUTPUT_CAP: usize = 256 * 1024;

async fn harness() -> RuntimeHarness {
    let config = WasmtimeConfig::default()
        .with_fuel(true)
        .with_max_instances(64)
        .with_queue_capacity(QUEUE)
        .with_epoch_tick(TICK)
        .with_max_output_bytes(OUTPUT_CAP)
        .with_env_allowlist(["HOTSWAP_ALLOWED"]);
    RuntimeHarness {
        runtime: Arc::new(WasmtimeRuntime::new(config).expect("runtime")),
        queue_capacity: QUEUE,
        tick: TICK,
        max_output_bytes: OUTPUT_CAP,
    }
}

hotswap_testkit::runtime_suite!(harness);
hotswap_testkit::http_serving_suite!(harness);

async fn runtime() -> Arc<dyn hotswap_core::runtime::RuntimeHost> {
    harness().await.runtime
}

hotswap_testkit::edge_suite!(runtime);

/// Plain functions run at once through `invoke_now` (no boxed future, no
/// executor); WASI calls, which run asynchronously, are handed back.
#[test]
fn plain_calls_run_at_once_and_wasi_calls_are_handed_back() {
    use hotswap_core::domain::Value;
    use hotswap_core::runtime::{Invocation, InvokeNow, ModuleSource};
    use hotswap_testkit::fixtures;
    hotswap_testkit::run(async {
        let rt = runtime().await;
        let plain = rt
            .compile(ModuleSource::new(fixtures::numeric(1)))
            .await
            .expect("compiles");
        match plain.invoke_now(Invocation::values(
            "add",
            vec![Value::S32(2), Value::S32(3)],
        )) {
            InvokeNow::Done(out) => assert_eq!(out.expect("add").values, [Value::S32(5)]),
            InvokeNow::Later(call) => panic!("a plain call was handed back: {call:?}"),
        }
        let wasi = rt
            .compile(ModuleSource::new(fixtures::wasi_echo()))
            .await
            .expect("compiles");
        let call = Invocation::command(&b"hi"[..]);
        match wasi.invoke_now(call.clone()) {
            InvokeNow::Later(back) => assert_eq!(back, call),
            InvokeNow::Done(out) => panic!("a WASI call ran synchronously: {out:?}"),
        }
    });
}

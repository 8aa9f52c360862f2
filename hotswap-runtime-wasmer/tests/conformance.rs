//! The wasmer runtime passes the runtime conformance suite (components are
//! skipped, and refused with a clear error) and the edge host's suite,
//! including the hot-swap stress test.

use std::sync::Arc;
use std::time::Duration;

use hotswap_runtime_wasmer::{WasmerConfig, WasmerRuntime};
use hotswap_testkit::runtime::RuntimeHarness;

const TICK: Duration = Duration::from_millis(10);
const QUEUE: u32 = 3;
const OUTPUT_CAP: usize = 256 * 1024;

async fn harness() -> RuntimeHarness {
    let config = WasmerConfig::default()
        .with_fuel(true)
        .with_max_instances(64)
        .with_queue_capacity(QUEUE)
        .with_timeout_tick(TICK)
        .with_max_output_bytes(OUTPUT_CAP)
        .with_env_allowlist(["HOTSWAP_ALLOWED"]);
    RuntimeHarness {
        runtime: Arc::new(WasmerRuntime::new(config).expect("runtime")),
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

//! Long plain calls move off the async thread after their first slice
//! (`hotswap_testkit::long_calls`).

use std::sync::Arc;

use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};

fn runtime() -> Arc<dyn hotswap_core::runtime::RuntimeHost> {
    Arc::new(
        WasmtimeRuntime::new(WasmtimeConfig::default().with_max_instances(8)).expect("runtime"),
    )
}

hotswap_testkit::long_calls_suite!(runtime);

//! The precompiled-artifact cache passes the shared suite; the pooling
//! allocator falls back when it cannot reserve its address space.

use std::sync::Arc;

use hotswap_runtime_wasmtime::{Allocator, WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::artifacts::{ArtifactHarness, ArtifactRuntime};

async fn harness() -> ArtifactHarness {
    ArtifactHarness {
        open: Box::new(|dir, fuel| {
            let config = WasmtimeConfig::default()
                .with_max_instances(16)
                .with_fuel(fuel)
                .with_artifact_dir(dir);
            let rt = WasmtimeRuntime::new(config).expect("runtime");
            ArtifactRuntime {
                runtime: Arc::new(rt.clone()),
                counters: Box::new({
                    let rt = rt.clone();
                    move || rt.counters()
                }),
                artifact_path: Box::new(move |d| rt.artifact_path(d)),
            }
        }),
    }
}

hotswap_testkit::artifact_suite!(harness);

#[test]
fn pooling_falls_back_to_on_demand_when_the_pool_cannot_be_reserved() {
    let pooled = WasmtimeRuntime::new(WasmtimeConfig::default().with_max_instances(16)).unwrap();
    assert_eq!(pooled.allocator(), Allocator::Pooling);
    // 100,000 slots of 4 GiB reservations exceed a 47-bit address space.
    let huge = WasmtimeRuntime::new(WasmtimeConfig::default().with_max_instances(100_000)).unwrap();
    assert_eq!(huge.allocator(), Allocator::OnDemand);
    let off = WasmtimeRuntime::new(WasmtimeConfig::default().with_pooling(false)).unwrap();
    assert_eq!(off.allocator(), Allocator::OnDemand);
}

//! The wasmer runtime's precompiled-artifact cache passes the shared suite.

use std::sync::Arc;

use hotswap_runtime_wasmer::{WasmerConfig, WasmerRuntime};
use hotswap_testkit::artifacts::{ArtifactHarness, ArtifactRuntime};

async fn harness() -> ArtifactHarness {
    ArtifactHarness {
        open: Box::new(|dir, fuel| {
            let config = WasmerConfig::default()
                .with_max_instances(16)
                .with_fuel(fuel)
                .with_artifact_dir(dir);
            let rt = WasmerRuntime::new(config).expect("runtime");
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

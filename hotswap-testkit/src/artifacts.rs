//! Conformance suite for a runtime's precompiled-artifact cache: a restart
//! loads instead of compiling, and a damaged, another module's, or another
//! engine configuration's artifact is detected and recompiled, never
//! loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotswap_core::domain::Digest;
use hotswap_core::runtime::kit::{CompileCounters, META_LEN};
use hotswap_core::runtime::{Invocation, ModuleSource, RuntimeHost};
use serde_json::json;

use crate::fixtures;

/// Reads a runtime's compile counters.
pub type CountersFn = Box<dyn Fn() -> CompileCounters + Send + Sync>;
/// Where a runtime keeps the artifact of a digest.
pub type ArtifactPathFn = Box<dyn Fn(&Digest) -> Option<PathBuf> + Send + Sync>;
/// Opens a runtime over an artifact folder, fuel metering on or off.
pub type OpenFn = Box<dyn Fn(&Path, bool) -> ArtifactRuntime + Send + Sync>;

/// One runtime instance over an artifact folder.
pub struct ArtifactRuntime {
    /// The runtime.
    pub runtime: Arc<dyn RuntimeHost>,
    /// What its compile calls did so far.
    pub counters: CountersFn,
    /// Where it keeps the artifact of a digest.
    pub artifact_path: ArtifactPathFn,
}

/// Opens runtimes of the adapter under test.
pub struct ArtifactHarness {
    /// A fresh runtime caching artifacts in the folder, with fuel metering
    /// on (`true`) or off: two configurations whose artifacts differ.
    pub open: OpenFn,
}

impl ArtifactRuntime {
    async fn add(&self, bytes: Vec<u8>) -> serde_json::Value {
        let m = self
            .runtime
            .compile(ModuleSource::new(bytes))
            .await
            .expect("compile");
        m.invoke(Invocation::json("add", json!([40, 2])))
            .await
            .expect("add")
            .results_json()
    }

    /// Counts as (compiled, artifact loads, rejects, memory hits).
    fn counts(&self) -> (u64, u64, u64, u64) {
        let c = (self.counters)();
        (
            c.compiled,
            c.artifact_loads,
            c.artifact_rejects,
            c.memory_hits,
        )
    }

    fn path(&self, bytes: &[u8]) -> PathBuf {
        (self.artifact_path)(&Digest::of(bytes)).expect("an artifact folder is set")
    }
}

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// Reloading in one process hits memory; a restart loads the artifact;
/// components (where supported) are cached too.
pub async fn restart_loads_the_artifact_instead_of_compiling(h: &ArtifactHarness) {
    let dir = folder();
    let first = (h.open)(dir.path(), false);
    assert_eq!(first.add(fixtures::numeric(1)).await, json!(42));
    assert_eq!(first.add(fixtures::numeric(1)).await, json!(42));
    assert_eq!(
        first.counts(),
        (1, 0, 0, 1),
        "reload in one process hits memory"
    );
    assert!(first.path(&fixtures::numeric(1)).exists());

    let restarted = (h.open)(dir.path(), false);
    assert_eq!(restarted.add(fixtures::numeric(1)).await, json!(42));
    assert_eq!(
        restarted.counts(),
        (0, 1, 0, 0),
        "a restart loads the artifact"
    );

    if !first.runtime.capabilities().components {
        return;
    }
    let component = fixtures::component("hi ");
    first
        .runtime
        .compile(ModuleSource::new(component.clone()))
        .await
        .expect("component compiles");
    let m = restarted
        .runtime
        .compile(ModuleSource::new(component))
        .await
        .expect("component loads");
    let greet = format!("{}#greet", fixtures::COMPONENT_INTERFACE);
    let out = m
        .invoke(Invocation::json(greet, json!(["you"])))
        .await
        .expect("greet");
    assert_eq!(out.results_json(), json!("hi you"));
    assert_eq!(
        (restarted.counters)().artifact_loads,
        2,
        "components are cached too"
    );
}

/// A flipped byte is caught by the checksum: recompiled, rewritten, and
/// the rewritten artifact loads.
pub async fn damaged_artifacts_are_recompiled(h: &ArtifactHarness) {
    let dir = folder();
    let bytes = fixtures::numeric(2);
    let first = (h.open)(dir.path(), false);
    first.add(bytes.clone()).await;
    let path = first.path(&bytes);
    let mut file = std::fs::read(&path).expect("artifact");
    let last = file.len() - 1;
    file[last] ^= 0xff;
    std::fs::write(&path, &file).expect("write");

    let rt = (h.open)(dir.path(), false);
    assert_eq!(rt.add(bytes.clone()).await, json!(42));
    assert_eq!(rt.counts(), (1, 0, 1, 0));
    let again = (h.open)(dir.path(), false);
    again.add(bytes).await;
    assert_eq!(
        again.counts(),
        (0, 1, 0, 0),
        "the rewritten artifact is good"
    );
}

/// Another module's artifact under this one's name is refused by its
/// sidecar; an artifact of another engine configuration, given a sidecar
/// that matches this engine, is refused by the runtime itself.
pub async fn foreign_artifacts_are_never_loaded(h: &ArtifactHarness) {
    let dir = folder();
    let bytes = fixtures::numeric(3);

    let rt = (h.open)(dir.path(), false);
    rt.add(fixtures::numeric(4)).await;
    let other = rt.path(&fixtures::numeric(4));
    let path = rt.path(&bytes);
    std::fs::copy(&other, &path).expect("copy");
    std::fs::copy(other.with_extension("meta"), path.with_extension("meta")).expect("copy");
    let rt = (h.open)(dir.path(), false);
    rt.add(bytes.clone()).await;
    assert_eq!(
        rt.counts(),
        (1, 0, 1, 0),
        "another module's artifact is refused"
    );

    let fueled = (h.open)(dir.path(), true);
    fueled.add(bytes.clone()).await;
    let foreign_path = fueled.path(&bytes);
    assert_ne!(foreign_path, path, "engines key their artifacts apart");
    let foreign = std::fs::read(&foreign_path).expect("artifact");
    // The documented sidecar: magic, digest, engine key, CRC-32, length.
    let mut meta = std::fs::read(path.with_extension("meta")).expect("meta")[..72].to_vec();
    meta.extend_from_slice(&crc32fast::hash(&foreign).to_le_bytes());
    meta.extend_from_slice(&(foreign.len() as u64).to_le_bytes());
    assert_eq!(meta.len(), META_LEN);
    std::fs::write(&path, &foreign).expect("write");
    std::fs::write(path.with_extension("meta"), meta).expect("write");
    let rt = (h.open)(dir.path(), false);
    assert_eq!(rt.add(bytes).await, json!(42));
    assert_eq!(
        rt.counts(),
        (1, 0, 1, 0),
        "a foreign engine's artifact is refused"
    );
}

/// Run every artifact-cache behaviour as its own `#[test]`. `$make`
/// returns an [`ArtifactHarness`].
#[macro_export]
macro_rules! artifact_suite {
    ($make:expr) => {
        mod artifact_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__harness_tests!(
                $make,
                artifacts,
                [
                    restart_loads_the_artifact_instead_of_compiling,
                    damaged_artifacts_are_recompiled,
                    foreign_artifacts_are_never_loaded,
                ]
            );
        }
    };
}

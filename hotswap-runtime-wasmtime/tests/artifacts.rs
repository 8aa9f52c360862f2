//! The precompiled-artifact cache: a restart loads instead of compiling, and
//! a damaged or foreign artifact is detected and recompiled, never loaded.

use std::path::Path;

use hotswap_core::domain::Digest;
use hotswap_core::runtime::{Invocation, ModuleSource, RuntimeHost};
use hotswap_runtime_wasmtime::{Allocator, CompileCounters, WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::fixtures;
use serde_json::json;

fn runtime(dir: &Path, fuel: bool) -> WasmtimeRuntime {
    let config = WasmtimeConfig::default()
        .with_max_instances(16)
        .with_fuel(fuel)
        .with_artifact_dir(dir);
    WasmtimeRuntime::new(config).expect("runtime")
}

async fn add(rt: &WasmtimeRuntime, bytes: Vec<u8>) -> serde_json::Value {
    let m = rt.compile(ModuleSource::new(bytes)).await.expect("compile");
    m.invoke(Invocation::json("add", json!([40, 2])))
        .await
        .expect("add")
        .results_json()
}

fn counts(c: CompileCounters) -> (u64, u64, u64, u64) {
    (
        c.compiled,
        c.artifact_loads,
        c.artifact_rejects,
        c.memory_hits,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_loads_the_artifact_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime(dir.path(), false);
    assert_eq!(add(&first, fixtures::numeric(1)).await, json!(42));
    assert_eq!(add(&first, fixtures::numeric(1)).await, json!(42));
    assert_eq!(
        counts(first.counters()),
        (1, 0, 0, 1),
        "reload in one process hits memory"
    );
    let digest = Digest::of(&fixtures::numeric(1));
    assert!(first.artifact_path(&digest).unwrap().exists());

    let restarted = runtime(dir.path(), false);
    assert_eq!(add(&restarted, fixtures::numeric(1)).await, json!(42));
    assert_eq!(
        counts(restarted.counters()),
        (0, 1, 0, 0),
        "a restart loads the artifact"
    );

    let component = fixtures::component("hi ");
    first
        .compile(ModuleSource::new(component.clone()))
        .await
        .unwrap();
    let m = restarted
        .compile(ModuleSource::new(component))
        .await
        .unwrap();
    let greet = format!("{}#greet", fixtures::COMPONENT_INTERFACE);
    let out = m
        .invoke(Invocation::json(greet, json!(["you"])))
        .await
        .unwrap();
    assert_eq!(out.results_json(), json!("hi you"));
    assert_eq!(
        restarted.counters().artifact_loads,
        2,
        "components are cached too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_artifact_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = fixtures::numeric(2);
    let path = runtime(dir.path(), false)
        .artifact_path(&Digest::of(&bytes))
        .unwrap();
    add(&runtime(dir.path(), false), bytes.clone()).await;
    let mut file = std::fs::read(&path).unwrap();
    let last = file.len() - 1;
    file[last] ^= 0xff;
    std::fs::write(&path, &file).unwrap();

    let rt = runtime(dir.path(), false);
    assert_eq!(add(&rt, bytes.clone()).await, json!(42));
    assert_eq!(counts(rt.counters()), (1, 0, 1, 0));
    let again = runtime(dir.path(), false);
    add(&again, bytes).await;
    assert_eq!(
        counts(again.counters()),
        (0, 1, 0, 0),
        "the rewritten artifact is good"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_artifacts_are_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = fixtures::numeric(3);
    let digest = Digest::of(&bytes);

    // An artifact of another module copied over this one's name.
    let rt = runtime(dir.path(), false);
    add(&rt, fixtures::numeric(4)).await;
    let other = rt
        .artifact_path(&Digest::of(&fixtures::numeric(4)))
        .unwrap();
    let path = rt.artifact_path(&digest).unwrap();
    std::fs::copy(&other, &path).unwrap();
    std::fs::copy(other.with_extension("meta"), path.with_extension("meta")).unwrap();
    let rt = runtime(dir.path(), false);
    add(&rt, bytes.clone()).await;
    assert_eq!(
        counts(rt.counters()),
        (1, 0, 1, 0),
        "another module's artifact is refused"
    );

    // An artifact from an engine with another configuration (fuel on),
    // given a sidecar that matches this engine: wasmtime itself refuses it.
    let fueled = runtime(dir.path(), true);
    add(&fueled, bytes.clone()).await;
    let foreign_path = fueled.artifact_path(&digest).unwrap();
    assert_ne!(foreign_path, path, "engines key their artifacts apart");
    let foreign = std::fs::read(&foreign_path).unwrap();
    // The documented sidecar: magic, digest, engine key, CRC-32, length.
    let mut meta = std::fs::read(path.with_extension("meta")).unwrap()[..72].to_vec();
    meta.extend_from_slice(&crc32fast::hash(&foreign).to_le_bytes());
    meta.extend_from_slice(&(foreign.len() as u64).to_le_bytes());
    std::fs::write(&path, &foreign).unwrap();
    std::fs::write(path.with_extension("meta"), meta).unwrap();
    let rt = runtime(dir.path(), false);
    assert_eq!(add(&rt, bytes).await, json!(42));
    assert_eq!(
        counts(rt.counters()),
        (1, 0, 1, 0),
        "a foreign engine's artifact is refused"
    );
}

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

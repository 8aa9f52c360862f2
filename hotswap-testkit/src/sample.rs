//! Valid sample domain objects for conformance tests.
//!
//! Timestamps are whole milliseconds so every backend (Postgres keeps
//! microseconds) returns exactly what was stored.

use chrono::{DateTime, Utc};
use hotswap_core::domain::{
    DeploymentEvent, Digest, EdgeNode, Environment, EventKind, Export, ItemKind, Labels,
    ModuleDeployment, ModuleKind, ModuleName, NodeCapabilities, Region, ResourceLimits,
    RuntimeKind, StrategyConfig, WasiVersion, WasmModule,
};
use hotswap_core::interface::{PackageName, WitInterface};
use semver::Version;

/// 2026-01-01T00:00:00Z plus `secs` seconds.
pub fn time(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_767_225_600 + secs, 0).expect("in range")
}

/// A module name.
pub fn name(s: &str) -> ModuleName {
    ModuleName::new(s).expect("valid sample name")
}

/// A version from text.
pub fn version(s: &str) -> Version {
    Version::parse(s).expect("valid sample version")
}

/// A region.
pub fn region(s: &str) -> Region {
    Region::new(s).expect("valid sample region")
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().fold(Labels::new(), |l, (k, v)| {
        l.with(*k, *v).expect("valid sample label")
    })
}

/// A module version with every optional field set, its digest derived from
/// its name and version.
pub fn module(module: &str, v: &str) -> WasmModule {
    let digest = Digest::of(format!("{module}@{v}").as_bytes());
    let mut m = WasmModule::new(
        name(module),
        version(v),
        digest,
        4096,
        ModuleKind::Core,
        "conformance",
        time(0),
    );
    m.compressed_size_bytes = 1024;
    m.wasi = Some(WasiVersion::Preview1);
    m.exports = vec![Export {
        name: "add".into(),
        kind: ItemKind::Func,
        signature: Some("(i32, i32) -> i32".into()),
    }];
    m.wit_world = Some("hotswap:fixture/fixture".into());
    m.limits = ResourceLimits::default().with_fuel(Some(1_000_000));
    m.labels = labels(&[("team", "edge")]);
    m
}

/// A healthy-looking node in `r`.
pub fn node(node_name: &str, r: &str) -> EdgeNode {
    let mut n = EdgeNode::new(
        node_name,
        region(r),
        format!("http://{node_name}.internal:8081"),
        NodeCapabilities::new(RuntimeKind::Wasmtime, 1 << 30)
            .with_wasi(WasiVersion::Preview1)
            .with_components(true),
        time(0),
    );
    n.zone = Some(format!("{r}-a"));
    n.labels = labels(&[("tier", "edge")]);
    n
}

/// A pending canary deployment of `module` from 1.0.0 to `to`.
pub fn deployment(module: &str, to: &str) -> ModuleDeployment {
    ModuleDeployment::new(
        name(module),
        Some(version("1.0.0")),
        version(to),
        StrategyConfig::default(),
        Environment::Staging,
        "conformance",
        time(0),
    )
}

/// An event at `time(secs)`.
pub fn event(deployment: &ModuleDeployment, secs: i64, message: &str) -> DeploymentEvent {
    DeploymentEvent::new(EventKind::Note, deployment.phase, message, time(secs))
        .with_data(serde_json::json!({ "at": secs }))
}

/// An unapproved interface version.
pub fn interface(package: &str, v: Option<&str>) -> WitInterface {
    WitInterface::new(
        PackageName::new(package).expect("valid sample package"),
        v.map(version),
        crate::fixtures::COMPONENT_WIT,
        "conformance",
        time(0),
    )
}

//! The node service (registration, heartbeats, the health monitor and its
//! alerts) and execution routing, over in-memory repositories and the
//! simulated fleet.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hotswap_control::{AlertHook, ExecutionRouter, NodeHealthConfig, NodeService};
use hotswap_core::clock::{Clock, ManualClock};
use hotswap_core::domain::{
    EdgeNode, Heartbeat, LoadedVersion, ModuleConfig, NodeCapabilities, NodeStatus, RoutingTable,
    RuntimeKind,
};
use hotswap_core::node::{Execution, NodeControl};
use hotswap_core::repository::memory::{MemoryModuleRepository, MemoryNodeRepository};
use hotswap_core::repository::{ModuleRepository, NodeRepository};
use hotswap_core::runtime::Invocation;
use hotswap_testkit::fleet::SimFleet;
use hotswap_testkit::sample;

#[derive(Debug, Default)]
struct Alerts(Mutex<Vec<(String, NodeStatus, NodeStatus)>>);

impl AlertHook for Alerts {
    fn node_status_changed(&self, node: &EdgeNode, from: NodeStatus, _: DateTime<Utc>) {
        self.0
            .lock()
            .unwrap()
            .push((node.name.clone(), from, node.status));
    }
}

struct Setup {
    clock: ManualClock,
    nodes: Arc<MemoryNodeRepository>,
    modules: Arc<MemoryModuleRepository>,
    alerts: Arc<Alerts>,
    service: NodeService,
}

fn setup() -> Setup {
    let clock = ManualClock::new(sample::time(0));
    let nodes = Arc::new(MemoryNodeRepository::new());
    let modules = Arc::new(MemoryModuleRepository::new());
    let alerts = Arc::new(Alerts::default());
    let service = NodeService::new(nodes.clone(), Arc::new(clock.clone()))
        .with_modules(modules.clone())
        .with_alerts(alerts.clone());
    Setup {
        clock,
        nodes,
        modules,
        alerts,
        service,
    }
}

#[tokio::test]
async fn registration_checks_capabilities_and_names() {
    let s = setup();
    let node = s
        .service
        .register(sample::node("eu-1", "eu"))
        .await
        .unwrap();
    assert_eq!(node.status, NodeStatus::Registering);
    let e = s
        .service
        .register(sample::node("eu-1", "eu"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "node already exists: eu-1");
    let mut bad = sample::node("eu-2", "eu");
    bad.capabilities = NodeCapabilities::new(RuntimeKind::Wasmer, 1024);
    let e = s.service.register(bad).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid capabilities.memory_bytes: must be at least one 64 KiB wasm page"
    );
    let mut bad = sample::node("eu-3", "eu");
    bad.capabilities.runtimes.clear();
    let e = s.service.register(bad).await.unwrap_err();
    assert!(
        e.to_string().starts_with("invalid capabilities.runtimes"),
        "{e}"
    );
}

#[tokio::test]
async fn heartbeats_record_state_and_the_monitor_marks_silence() {
    let s = setup();
    let m = sample::module("echo", "1.0.0");
    s.modules.create(&m).await.unwrap();
    let node = s
        .service
        .register(sample::node("eu-1", "eu"))
        .await
        .unwrap();
    let mut beat = Heartbeat::new(s.clock.now());
    beat.metrics.in_flight = 3;
    beat.loaded = vec![LoadedVersion {
        module: m.name.clone(),
        version: m.version.clone(),
        digest: m.digest,
        config_revision: 0,
    }];
    let node = s.service.heartbeat(node.id, beat).await.unwrap();
    assert_eq!(
        (node.status, node.metrics.in_flight, node.loaded.len()),
        (NodeStatus::Healthy, 3, 1)
    );

    // A digest that is not the registered version's is not counted.
    let mut forged = Heartbeat::new(s.clock.now());
    forged.loaded = vec![LoadedVersion {
        module: m.name.clone(),
        version: m.version.clone(),
        digest: hotswap_core::domain::Digest::of(b"other"),
        config_revision: 0,
    }];
    let e = s.service.heartbeat(node.id, forged).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("echo@1.0.0 with digests that differ"),
        "{e}"
    );
    assert!(s.nodes.get(node.id).await.unwrap().loaded.is_empty());

    s.clock.advance(Duration::from_secs(119));
    assert!(s.service.check_health().await.unwrap().is_empty());
    s.clock.advance(Duration::from_secs(1));
    let changed = s.service.check_health().await.unwrap();
    assert_eq!(
        changed[0].status,
        NodeStatus::Unhealthy,
        "2 minutes of silence"
    );
    s.clock.advance(Duration::from_secs(480));
    assert_eq!(
        s.service.check_health().await.unwrap()[0].status,
        NodeStatus::Offline
    );
    s.service
        .heartbeat(node.id, Heartbeat::new(s.clock.now()))
        .await
        .unwrap();
    let alerts = s.alerts.0.lock().unwrap().clone();
    let seen: Vec<_> = alerts.iter().map(|(_, from, to)| (*from, *to)).collect();
    assert_eq!(
        seen,
        [
            (NodeStatus::Registering, NodeStatus::Healthy),
            (NodeStatus::Healthy, NodeStatus::Unhealthy),
            (NodeStatus::Unhealthy, NodeStatus::Offline),
            (NodeStatus::Offline, NodeStatus::Healthy),
        ]
    );
}

#[test]
fn thresholds_must_be_ordered() {
    let e = NodeHealthConfig::new(
        Duration::from_secs(30),
        Duration::from_secs(20),
        Duration::from_secs(60),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("heartbeat_interval < unhealthy_after < offline_after"),
        "{e}"
    );
}

/// Three nodes: two in eu (one busier), one in us; echo 1.0.0 loaded and
/// routed on all.
async fn routed_fleet() -> (Setup, SimFleet, Vec<EdgeNode>) {
    let s = setup();
    let fleet = SimFleet::new();
    let m = sample::module("echo", "1.0.0");
    s.modules.create(&m).await.unwrap();
    let mut nodes = fleet
        .spawn(&*s.nodes, &["eu"], 2, s.clock.now())
        .await
        .unwrap();
    nodes.extend(
        fleet
            .spawn(&*s.nodes, &["us"], 1, s.clock.now())
            .await
            .unwrap(),
    );
    for (i, n) in nodes.iter().enumerate() {
        fleet
            .load(n, &m, &ModuleConfig::none(m.name.clone()))
            .await
            .unwrap();
        let mut t = RoutingTable::new(m.name.clone(), m.version.clone());
        t.revision = 1;
        fleet.apply_routing(n, &t).await.unwrap();
        let mut beat = Heartbeat::new(s.clock.now());
        beat.metrics.in_flight = if i == 0 { 50 } else { 1 };
        beat.loaded = vec![LoadedVersion {
            module: m.name.clone(),
            version: m.version.clone(),
            digest: m.digest,
            config_revision: 0,
        }];
        s.service.heartbeat(n.id, beat).await.unwrap();
    }
    (s, fleet, nodes)
}

#[tokio::test]
async fn routing_prefers_the_callers_region_then_the_least_busy_node() {
    let (s, fleet, nodes) = routed_fleet().await;
    let router = ExecutionRouter::new(s.nodes.clone(), Arc::new(fleet.clone()));
    let mut e = Execution::new(
        sample::name("echo"),
        Invocation::json("add", serde_json::json!([1, 2])),
    );
    e.region = Some(sample::region("eu"));
    let done = router.execute(&e).await.unwrap();
    let (node, out) = (done.node, done.outcome);
    assert_eq!(node, nodes[1].id, "eu-1 is in eu and less busy than eu-0");
    assert_eq!(
        out.output.values[1],
        hotswap_core::domain::Value::String("1.0.0".into())
    );
    e.region = Some(sample::region("us"));
    assert_eq!(router.execute(&e).await.unwrap().node, nodes[2].id);
}

#[tokio::test]
async fn an_unreachable_node_is_skipped_and_the_error_names_every_node_tried() {
    let (s, fleet, nodes) = routed_fleet().await;
    let router = ExecutionRouter::new(s.nodes.clone(), Arc::new(fleet.clone()));
    let mut e = Execution::new(
        sample::name("echo"),
        Invocation::json("add", serde_json::json!([1, 2])),
    );
    e.region = Some(sample::region("eu"));
    fleet.kill(nodes[1].id);
    assert_eq!(
        router.execute(&e).await.unwrap().node,
        nodes[0].id,
        "the next eu node"
    );
    fleet.kill(nodes[0].id);
    fleet.kill(nodes[2].id);
    let err = router.execute(&e).await.unwrap_err().to_string();
    for n in &nodes {
        assert!(err.contains(&n.name), "{err}");
    }
    e.pin = Some(sample::version("9.0.0"));
    let err = router.execute(&e).await.unwrap_err().to_string();
    assert!(
        err.contains("no healthy node has echo@9.0.0 loaded"),
        "{err}"
    );
}

//! The control plane over real HTTP in front of a fleet: 150 harness
//! agents (real edge hosts and agents on loopback ports, no wasm) register
//! and heartbeat, a first deployment and a canary reach every node, and
//! each node ends serving the new version. The short version of
//! `scripts/fleet.sh`, which measures 1,000 and 5,000 nodes.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use fleet_harness::{Agents, AgentsConfig, ControlPlane, ControlPlaneConfig, Scenario};

const SECRET: &str = "a fleet test's secret, long enough for HS256";
const NODES: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_reaches_every_node_of_a_fleet_over_http() {
    let Some(pg) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = ControlPlaneConfig::new(
        env!("CARGO_BIN_EXE_hotswap"),
        pg,
        format!("fleet_test_{}", std::process::id()),
        dir.path().join("blobs").display().to_string(),
        SECRET,
    );
    config.heartbeat_secs = 1;
    let cp = ControlPlane::start(&config).await.unwrap();
    let heartbeat = Duration::from_secs(1);
    let started = Instant::now();
    let agents = Agents::start(&AgentsConfig::new(NODES, &cp.url, SECRET, heartbeat))
        .await
        .unwrap();
    let scenario = Scenario::new(&cp.url, cp.pid(), SECRET, agents, heartbeat).unwrap();
    let figures = scenario
        .run(started, Duration::from_secs(3), &[10, 50, 100])
        .await
        .unwrap();
    println!("{}", figures.markdown());

    let phases: Vec<(&str, usize)> = figures
        .phases
        .iter()
        .map(|p| (p.what.as_str(), p.nodes))
        .collect();
    assert_eq!(
        phases,
        [
            ("first deployment 1.0.0, loaded and routed", NODES),
            ("load 2.0.0", NODES),
            ("route 10 % to 2.0.0", NODES),
            ("route 50 % to 2.0.0", NODES),
            ("route 100 % to 2.0.0", NODES),
        ]
    );
    assert!(figures.heartbeats.per_sec > 0.0, "{:?}", figures.heartbeats);
    let calc = hotswap_core::domain::ModuleName::new("calc").unwrap();
    for host in &scenario.agents.hosts {
        assert_eq!(
            host.serving(&calc).map(|v| v.to_string()).as_deref(),
            Some("2.0.0")
        );
    }
}

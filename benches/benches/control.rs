//! The control plane at scale: a canary rollout over 10,000 simulated
//! nodes (the testkit's simulation: in-memory repositories, simulated
//! fleet, manual clock). Reports orchestrator decisions per second (time
//! inside `run_due` only, not the simulated traffic and heartbeats) and
//! memory (resident set before and after, and its peak). See
//! benches/README.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use hotswap_benches::selected;
use hotswap_core::domain::{CanaryConfig, DeploymentPhase, StrategyConfig};
use hotswap_testkit::sample;
use hotswap_testkit::simulation::{Simulation, TICK};

/// A field of /proc/self/status in MiB (Linux).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    if !selected("control_rollout_10k") {
        return;
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let before = status_mib("VmRSS:");
        let start = Instant::now();
        let mut sim = Simulation::new(&["eu", "us", "ap", "sa"], 2_500).await;
        sim.traffic_every = 100;
        let setup = start.elapsed();
        let built = status_mib("VmRSS:");
        let orch = sim.orchestrator("cp-1");
        let canary = StrategyConfig::Canary(CanaryConfig::new(
            vec![10, 25, 50, 100],
            Duration::from_secs(60),
        ));
        let d = sim.deploy(Some("1.0.0"), "2.0.0", canary).await;
        let (mut decisions, mut deciding) = (1usize, Duration::ZERO);
        let echo = sample::name("echo");
        for _ in 0..200 {
            sim.fleet.traffic_sampled(&echo, 100, sim.traffic_every);
            sim.fleet.heartbeat(&sim.service, hotswap_core::clock::Clock::now(&sim.clock)).await.unwrap();
            let t = Instant::now();
            decisions += orch.run_due().await.unwrap();
            deciding += t.elapsed();
            sim.clock.advance(TICK);
            let now = sim.events(d.id).await;
            if now.last().is_some_and(|e| e.phase == DeploymentPhase::Succeeded) {
                break;
            }
        }
        let events = sim.events(d.id).await;
        assert_eq!(events.last().unwrap().phase, DeploymentPhase::Succeeded);
        let after = status_mib("VmRSS:");
        let peak = status_mib("VmHWM:");
        println!(
            "CONTROL control_rollout_10k: 10,000 nodes, {decisions} decisions in {:.2} s of deciding = {:.1} decisions/s ({:.0} node-evaluations/s); {} events",
            deciding.as_secs_f64(),
            decisions as f64 / deciding.as_secs_f64(),
            decisions as f64 * 10_000.0 / deciding.as_secs_f64(),
            events.len()
        );
        println!(
            "CONTROL control_rollout_10k: setup (10,000 nodes registered, 1.0.0 deployed) {:.2} s; resident memory {before:.0} MiB before, {built:.0} MiB with the fleet, {after:.0} MiB after the rollout, peak {peak:.0} MiB",
            setup.as_secs_f64()
        );
    });
}

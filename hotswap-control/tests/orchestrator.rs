//! The orchestrator over in-memory repositories and a simulated fleet,
//! driven by a manual clock: strategies reach every node, faults roll back
//! by themselves, a restarted control plane ends with the same event log,
//! and two replicas never act on one deployment at once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hotswap_control::{Operation, Orchestrator, OrchestratorConfig, RetryPolicy};
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    BatchSize, BlueGreenConfig, CanaryConfig, DeploymentEvent, DeploymentId, DeploymentPhase,
    KeyValueGrants, ModuleDeployment, ReasonCode, Region, RegionalConfig, RollingConfig,
    StrategyConfig,
};
use hotswap_core::repository::memory::MemoryDeploymentRepository;
use hotswap_core::repository::{
    DeploymentFilter, DeploymentRepository, DeploymentRepositoryExt, Lease, ModuleRepository,
    NodeRepository, Page, PageRequest,
};
use hotswap_core::{Error, Result};
use hotswap_testkit::sample;
use hotswap_testkit::simulation::Simulation as World;
use semver::Version;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn canary() -> StrategyConfig {
    StrategyConfig::Canary(CanaryConfig::new(
        vec![10, 50, 100],
        Duration::from_secs(60),
    ))
}

#[tokio::test]
async fn canary_rolls_back_by_itself_when_the_new_version_errors() {
    let w = World::new(&["eu"], 4).await;
    w.fleet.set_error_rate(&v("2.0.0"), 0.3);
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let d = w.drive(&w.orchestrator("cp-1"), d.id, 30).await;
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    assert_eq!(d.reason.code, ReasonCode::HealthCheckFailed);
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, candidate)| *stable == v("1.0.0") && candidate.is_none())
    );
    for n in &w.members {
        assert_eq!(w.fleet.loaded(n.id, &sample::name("echo")), [v("1.0.0")]);
    }
    let events = w.events(d.id).await;
    assert!(
        events.iter().any(|e| e.message.contains("error rate")),
        "the log says why"
    );
    assert!(events.windows(2).all(|p| p[1].seq == p[0].seq + 1));
}

#[tokio::test]
async fn canary_completes_when_healthy_and_reports_progress() {
    let w = World::new(&["eu"], 3).await;
    let orch = w.orchestrator("cp-1");
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let mid = w.drive(&orch, d.id, 3).await;
    assert_eq!(mid.phase, DeploymentPhase::Progressing);
    assert_eq!(
        (mid.progress.traffic_percent, mid.progress.nodes_targeted),
        (10, 3)
    );
    let d = w.drive(&orch, d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, c)| *stable == v("2.0.0") && c.is_none())
    );
}

#[tokio::test]
async fn blue_green_switch_and_rollback_reach_every_node() {
    let w = World::new(&["eu", "us"], 2).await;
    let orch = w.orchestrator("cp-1");
    let d = w
        .deploy(
            Some("1.0.0"),
            "2.0.0",
            StrategyConfig::BlueGreen(BlueGreenConfig::default()),
        )
        .await;
    let d = w.drive(&orch, d.id, 3).await;
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, _)| *stable == v("1.0.0"))
    );
    let d = orch
        .operate(d.id, Operation::Promote { full: true }, "bob")
        .await
        .unwrap();
    assert_eq!(d.progress.traffic_percent, 100);
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, _)| *stable == v("2.0.0")),
        "the switch reaches every node"
    );
    let d = orch
        .operate(d.id, Operation::Rollback, "bob")
        .await
        .unwrap();
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::RolledBack, ReasonCode::ManualRollback)
    );
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, _)| *stable == v("1.0.0")),
        "the switch back reaches every node"
    );
    let e = orch
        .operate(d.id, Operation::Pause, "bob")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
}

#[tokio::test]
async fn rolling_pauses_on_a_failed_batch_and_resumes() {
    let w = World::new(&["eu"], 4).await;
    let orch = w.orchestrator("cp-1");
    let mut cfg = RollingConfig::default();
    (cfg.batch, cfg.pause_on_failure, cfg.evaluation_period_secs) = (BatchSize::Count(2), true, 30);
    w.fleet.set_error_rate(&v("2.0.0"), 0.5);
    let d = w
        .deploy(Some("1.0.0"), "2.0.0", StrategyConfig::Rolling(cfg))
        .await;
    let d = w.drive(&orch, d.id, 10).await;
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::Paused, ReasonCode::HealthCheckFailed)
    );
    assert_eq!(
        w.tables()
            .iter()
            .filter(|(_, s, _)| *s == v("2.0.0"))
            .count(),
        2,
        "one batch"
    );
    w.fleet.set_error_rate(&v("2.0.0"), 0.0);
    let d = orch.operate(d.id, Operation::Resume, "bob").await.unwrap();
    assert_eq!(d.phase, DeploymentPhase::Progressing);
    let d = w.drive(&orch, d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert!(w.tables().iter().all(|(_, s, _)| *s == v("2.0.0")));
}

#[tokio::test]
async fn regional_rolls_back_only_the_failing_region() {
    let w = World::new(&["eu", "us"], 2).await;
    let orch = w.orchestrator("cp-1");
    let mut cfg = RegionalConfig::new(vec![Region::new("eu").unwrap(), Region::new("us").unwrap()]);
    cfg.inner = Box::new(canary());
    cfg.inter_region_wait_secs = 30;
    let d = w
        .deploy(Some("1.0.0"), "2.0.0", StrategyConfig::Regional(cfg))
        .await;
    // eu goes through healthy; us starts failing once eu is done.
    let mut d = d;
    for _ in 0..60 {
        d = w.drive(&orch, d.id, 1).await;
        if d.progress.stage() == 1 {
            let us: Vec<_> = w
                .members
                .iter()
                .filter(|n| n.region.as_str() == "us")
                .map(|n| n.id)
                .collect();
            w.fleet.set_error_rate_on(&us, &v("2.0.0"), 0.4);
        }
        if d.phase != DeploymentPhase::Progressing {
            break;
        }
    }
    assert_eq!(d.phase, DeploymentPhase::RolledBack, "{}", d.reason.message);
    for (region, stable, candidate) in w.tables() {
        let want = if region == "eu" {
            v("2.0.0")
        } else {
            v("1.0.0")
        };
        assert_eq!((stable, candidate), (want, None), "{region}");
    }
}

/// The event log without timestamps' representation differences.
fn log(events: &[DeploymentEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_string(&(e.seq, e.at, e.kind, e.phase, &e.message, &e.data)).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_restarted_control_plane_finishes_with_the_same_event_log() {
    let plain = World::new(&["eu"], 3).await;
    let d = plain.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let uninterrupted = plain.drive(&plain.orchestrator("cp-1"), d.id, 40).await;
    assert_eq!(uninterrupted.phase, DeploymentPhase::Succeeded);

    let restarted = World::new(&["eu"], 3).await;
    let d = restarted.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let first = restarted.orchestrator("cp-1");
    let mid = restarted.drive(&first, d.id, 8).await;
    assert_eq!(mid.phase, DeploymentPhase::Progressing);
    drop(first);
    // A new process of the same replica on the same repository.
    let second = restarted.orchestrator("cp-1");
    let done = restarted.drive(&second, d.id, 40).await;
    assert_eq!(done.phase, DeploymentPhase::Succeeded);
    assert_eq!(
        log(&plain.events(uninterrupted.id).await),
        log(&restarted.events(done.id).await)
    );
}

#[tokio::test]
async fn two_orchestrators_never_both_act_on_one_deployment() {
    let w = World::new(&["eu"], 2).await;
    let a = w.orchestrator("cp-a");
    let b = w.orchestrator("cp-b");
    let d = w.pending(Some("1.0.0"), "2.0.0", canary());
    let d = a.create(d).await.unwrap();
    let (ra, rb) = tokio::join!(a.execute(d.id), b.execute(d.id));
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one starts it: {ra:?} / {rb:?}"
    );
    let e = ra.err().or(rb.err()).unwrap();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    // Between evaluations the lease is free: either replica takes the next.
    a.tick(d.id).await.unwrap();
    b.tick(d.id).await.unwrap();
    // A replica that dies mid-evaluation holds the lease until it lapses.
    w.deployments
        .acquire_lease(d.id, "cp-dead", w.clock.now(), Duration::from_secs(30))
        .await
        .unwrap();
    for other in [&a, &b] {
        let e = other.tick(d.id).await.unwrap_err();
        assert!(
            matches!(&e, Error::Conflict { reason, .. } if reason.contains("cp-dead")),
            "{e}"
        );
    }
    let repo = w.deployments.clone();
    let events = async || repo.events(d.id, 0, 1000).await.unwrap().len();
    let before = events().await;
    w.clock.advance(Duration::from_secs(20));
    assert_eq!(
        b.run_due().await.unwrap(),
        0,
        "skipped while the lease holds"
    );
    assert_eq!(events().await, before, "nothing was decided meanwhile");
    w.clock.advance(Duration::from_secs(11));
    assert_eq!(b.run_due().await.unwrap(), 1, "taken over once it lapsed");
    assert!(events().await > before);
}

/// An operator's request through one replica while another evaluates the
/// deployment waits for that evaluation, then applies; one that never
/// ends (a replica that died holding the lease) is refused after the
/// wait, naming the holder.
#[tokio::test]
async fn an_operator_waits_for_another_replicas_evaluation() {
    let w = World::new(&["eu"], 2).await;
    let a = Orchestrator::new(
        w.deployments.clone(),
        w.nodes.clone(),
        w.modules.clone(),
        Arc::new(w.fleet.clone()),
        Arc::new(w.clock.clone()),
        OrchestratorConfig::new("cp-a").with_operator_wait(Duration::from_secs(2)),
    );
    let d = a
        .create(w.pending(Some("1.0.0"), "2.0.0", canary()))
        .await
        .unwrap();
    a.execute(d.id).await.unwrap();
    let ttl = Duration::from_secs(30);
    w.deployments
        .acquire_lease(d.id, "cp-b", w.clock.now(), ttl)
        .await
        .unwrap();
    let repo = w.deployments.clone();
    let evaluation = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        repo.release_lease(d.id, "cp-b").await.unwrap();
    });
    let paused = a.operate(d.id, Operation::Pause, "ops").await.unwrap();
    assert_eq!(paused.phase, DeploymentPhase::Paused);
    evaluation.await.unwrap();

    w.deployments
        .acquire_lease(d.id, "cp-dead", w.clock.now(), ttl)
        .await
        .unwrap();
    let e = a.operate(d.id, Operation::Resume, "ops").await.unwrap_err();
    assert!(
        matches!(&e, Error::Conflict { reason, .. } if reason.contains("cp-dead")),
        "{e}"
    );
}

#[tokio::test]
async fn unregistered_versions_and_overlapping_deployments_are_refused() {
    let w = World::new(&["eu"], 1).await;
    let orch = w.orchestrator("cp-1");
    let d = w.pending(Some("1.0.0"), "9.9.9", canary());
    let e = orch.create(d).await.unwrap_err();
    assert_eq!(e.to_string(), "module version not found: echo@9.9.9");
    w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let again = w.pending(Some("1.0.0"), "2.0.0", canary());
    let e = orch.create(again).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
}

#[tokio::test]
async fn a_version_no_target_node_can_run_is_refused_naming_the_capability() {
    let w = World::new(&["eu"], 2).await;
    let orch = w.orchestrator("cp-1");
    let all = DeploymentFilter::module(sample::name("echo"));
    let before = w.deployments.all_deployments(&all).await.unwrap().len();
    let mut m = sample::module("echo", "3.0.0");
    m.keyvalue = KeyValueGrants::of(["counters"]).unwrap();
    w.modules.create(&m).await.unwrap();
    let e = orch
        .create(w.pending(Some("1.0.0"), "3.0.0", canary()))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, Error::Invalid { ref field, .. } if field == "to_version"),
        "{text}"
    );
    assert!(
        text.contains("no target node can run echo@3.0.0")
            && text.contains("capabilities.keyvalue")
            && text.contains("counters"),
        "{text}"
    );
    let after = w.deployments.all_deployments(&all).await.unwrap().len();
    assert_eq!(after, before, "nothing is stored for a refused deployment");

    // Once one node has a store, the deployment is taken and targets it
    // alone.
    let mut node = w.members[0].clone();
    node.capabilities.keyvalue = Some("file".into());
    w.nodes.update(&node).await.unwrap();
    let d = w.deploy(Some("1.0.0"), "3.0.0", canary()).await;
    let d = w.drive(&orch, d.id, 3).await;
    assert_eq!(d.progress.nodes_targeted, 1, "{:?}", d.progress);
}

async fn stale_node_mid_canary(
    policy: hotswap_core::domain::StaleNodePolicy,
) -> (World, ModuleDeployment) {
    let w = World::new(&["eu"], 3).await;
    let orch = w.orchestrator("cp-1");
    let mut d = w.pending(Some("1.0.0"), "2.0.0", canary());
    d.health.min_samples = 100;
    d.stale_nodes = policy;
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    let d = w.drive(&orch, d.id, 2).await;
    assert_eq!(d.progress.traffic_percent, 10);
    w.fleet.kill(w.members[0].id);
    // Two minutes and more of silence.
    let d = w.drive(&orch, d.id, 14).await;
    let dead = w.nodes.get(w.members[0].id).await.unwrap();
    assert_eq!(dead.status, hotswap_core::domain::NodeStatus::Unhealthy);
    (w, d)
}

#[tokio::test]
async fn a_node_that_goes_stale_is_excluded_by_default() {
    let (w, d) = stale_node_mid_canary(hotswap_core::domain::StaleNodePolicy::Exclude).await;
    let d = w.drive(&w.orchestrator("cp-1"), d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert_eq!(d.progress.nodes_targeted, 2, "the dead node is left out");
    for n in &w.members[1..] {
        assert_eq!(
            w.fleet.routing(n.id, &sample::name("echo")).unwrap().stable,
            v("2.0.0")
        );
    }
}

#[tokio::test]
async fn a_node_that_goes_stale_pauses_when_the_policy_says_so() {
    let (w, d) = stale_node_mid_canary(hotswap_core::domain::StaleNodePolicy::Pause).await;
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::Paused, ReasonCode::NodeUnhealthy)
    );
    assert!(
        d.reason.message.contains(&w.members[0].name),
        "{}",
        d.reason.message
    );
}

#[tokio::test]
async fn reconciliation_repairs_a_restarted_node_and_a_missed_push() {
    use hotswap_control::Reconciler;
    let w = World::new(&["eu"], 3).await;
    let orch = w.orchestrator("cp-1");
    let d = w
        .deploy(
            Some("1.0.0"),
            "2.0.0",
            StrategyConfig::BlueGreen(BlueGreenConfig::default()),
        )
        .await;
    let d = w.drive(&orch, d.id, 3).await;
    // eu-1 is down while the switch goes out: it misses the push.
    w.fleet.kill(w.members[1].id);
    let d = orch
        .operate(d.id, Operation::Promote { full: true }, "bob")
        .await
        .unwrap();
    assert_eq!(d.progress.traffic_percent, 100);
    w.fleet.revive(w.members[1].id);
    // eu-0 restarts empty.
    w.fleet.restart(w.members[0].id);
    let reconciler = Reconciler::new(
        w.deployments.clone(),
        w.modules.clone(),
        Arc::new(w.fleet.clone()),
        Arc::new(w.clock.clone()),
    )
    .with_retry(RetryPolicy::new(2, Duration::ZERO, Duration::ZERO));
    let echo = sample::name("echo");
    let restarted = reconciler.reconcile(&w.members[0]).await.unwrap();
    assert_eq!(
        restarted.loaded.len(),
        2,
        "both versions while the rollout runs: {restarted:?}"
    );
    assert_eq!(
        w.fleet.routing(w.members[0].id, &echo).unwrap().stable,
        v("1.0.0")
    );
    // The rollout finishes; reconciliation then enforces its outcome.
    w.clock.advance(Duration::from_secs(700));
    let d = w.drive(&orch, d.id, 3).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    for n in &w.members[..2] {
        let fixed = reconciler.reconcile(n).await.unwrap();
        assert!(fixed.failed.is_empty(), "{fixed:?}");
        let table = w.fleet.routing(n.id, &echo).unwrap();
        assert_eq!(
            (table.stable, table.candidate),
            (v("2.0.0"), None),
            "{}",
            n.name
        );
    }
    let again = reconciler.reconcile(&w.members[1]).await.unwrap();
    assert_eq!(
        again,
        hotswap_control::Reconciled::default(),
        "nothing left to repair"
    );
}

/// A rollout over 10,000 simulated nodes completes in the simulation
/// (benches/benches/control.rs measures decisions per second and memory).
#[tokio::test]
async fn a_rollout_over_ten_thousand_nodes_completes() {
    let mut w = World::new(&["eu", "us", "ap", "sa"], 2_500).await;
    w.traffic_every = 100;
    let orch = w.orchestrator("cp-1");
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let d = w.drive(&orch, d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded, "{}", d.reason.message);
    assert_eq!(d.progress.nodes_targeted, 10_000);
    let echo = sample::name("echo");
    assert!(
        w.members
            .iter()
            .all(|n| w.fleet.routing(n.id, &echo).unwrap().stable == v("2.0.0"))
    );
}

#[tokio::test]
async fn failed_loads_are_retried_and_a_version_no_node_loads_fails_the_rollout() {
    let w = World::new(&["eu"], 2).await;
    let orch = w.orchestrator("cp-1");
    // Two failures, then success: within the three attempts.
    w.fleet.fail_loads(w.members[0].id, 2);
    let calls = w.fleet.load_calls();
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    assert_eq!(
        w.fleet.load_calls() - calls,
        4,
        "3 attempts on one node, 1 on the other"
    );
    let d = w.drive(&orch, d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);

    // Every node refuses every attempt: the rollout fails, routing untouched.
    let w = World::new(&["eu"], 2).await;
    for n in &w.members {
        w.fleet.fail_loads(n.id, 100);
    }
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::Failed, ReasonCode::DistributionFailed)
    );
    assert!(
        w.tables()
            .iter()
            .all(|(_, s, c)| *s == v("1.0.0") && c.is_none())
    );
    let failed = w
        .event(d.id, hotswap_core::domain::EventKind::LoadFailed)
        .await;
    // Each node's own reason is in the event, its message and the phase
    // reason, so `hotswap rollout status` shows why.
    for n in &w.members {
        let why = format!("{} could not compile the module", n.name);
        for text in [&failed.message, &d.reason.message] {
            assert!(text.contains(&format!("{}: ", n.name)), "{text}");
            assert!(text.contains(&why), "{text}");
        }
        assert!(
            failed.data["failures"]
                .as_array()
                .expect("failures")
                .iter()
                .any(|f| f["node"] == n.name.as_str() && f["node_id"] == n.id.to_string()),
            "{}",
            failed.data
        );
    }
}

#[tokio::test]
async fn a_load_that_can_never_succeed_is_tried_once_and_its_reason_logged() {
    let w = World::new(&["eu"], 2).await;
    for n in &w.members {
        w.fleet.refuse_modules(n.id);
    }
    let calls = w.fleet.load_calls();
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    assert_eq!(
        w.fleet.load_calls() - calls,
        2,
        "one attempt per node: compiling the same bytes again cannot succeed"
    );
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::Failed, ReasonCode::DistributionFailed)
    );
    let failed = w
        .event(d.id, hotswap_core::domain::EventKind::LoadFailed)
        .await;
    for n in &w.members {
        let why = format!(
            "node {} cannot load echo@2.0.0: gc types are disallowed",
            n.name
        );
        assert!(failed.message.contains(&why), "{}", failed.message);
        assert!(
            !failed.message.contains("unavailable"),
            "{}",
            failed.message
        );
    }
}

#[tokio::test]
async fn a_node_whose_heartbeats_are_lost_is_marked_unhealthy_and_left_out() {
    let w = World::new(&["eu"], 3).await;
    let orch = w.orchestrator("cp-1");
    w.fleet.silence(w.members[2].id);
    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    let d = w.drive(&orch, d.id, 60).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    let silent = w.nodes.get(w.members[2].id).await.unwrap();
    assert_eq!(silent.status, hotswap_core::domain::NodeStatus::Unhealthy);
    assert_eq!(d.progress.nodes_targeted, 2);
}

#[tokio::test]
async fn an_ab_test_splits_traffic_and_promotes_the_chosen_variant() {
    use hotswap_core::domain::{AbTestConfig, AbVariant, SplitBy};
    let w = World::new(&["eu"], 2).await;
    let orch = w.orchestrator("cp-1");
    let variant = |name: &str, version: &str, weight| AbVariant {
        name: name.into(),
        version: v(version),
        weight,
    };
    let mut cfg = AbTestConfig::new(vec![
        variant("control", "1.0.0", 80),
        variant("next", "2.0.0", 20),
    ]);
    cfg.split = SplitBy::Key;
    let d = w
        .deploy(Some("1.0.0"), "2.0.0", StrategyConfig::AbTest(cfg))
        .await;
    let d = w.drive(&orch, d.id, 5).await;
    assert_eq!(
        (d.phase, d.progress.traffic_percent),
        (DeploymentPhase::Progressing, 20)
    );
    // Statistics per variant, as the nodes report them.
    let nodes = w.nodes_now().await;
    let calls = |ver: &str| -> u64 {
        nodes
            .iter()
            .flat_map(|n| n.stats.iter())
            .filter(|s| s.version == v(ver))
            .map(|s| s.calls)
            .sum()
    };
    let (control, next) = (calls("1.0.0"), calls("2.0.0"));
    assert!(
        next > 0 && control > 3 * next,
        "about 80/20: {control} / {next}"
    );
    let d = orch
        .operate(d.id, Operation::PromoteVariant("next".into()), "carol")
        .await
        .unwrap();
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::Succeeded, ReasonCode::ManualPromote)
    );
    assert!(w.tables().iter().all(|(_, s, _)| *s == v("2.0.0")));
}

#[tokio::test]
async fn busy_nodes_are_left_out_and_per_node_progress_is_readable() {
    let w = World::new(&["eu"], 3).await;
    w.fleet.set_in_flight(w.members[0].id, 900);
    w.fleet.heartbeat(&w.service, w.clock.now()).await.unwrap();
    let orch = Orchestrator::new(
        w.deployments.clone(),
        w.nodes.clone(),
        w.modules.clone(),
        Arc::new(w.fleet.clone()),
        Arc::new(w.clock.clone()),
        OrchestratorConfig::new("cp-1")
            .with_retry(RetryPolicy::new(1, Duration::ZERO, Duration::ZERO))
            .with_max_in_flight(500),
    );
    let d = w.pending(Some("1.0.0"), "2.0.0", canary());
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    let progress = orch.node_progress(d.id).await.unwrap();
    assert_eq!(progress.len(), 2, "the busy node is not a target");
    assert!(
        progress
            .iter()
            .all(|p| p.has_new && p.has_old && p.name != w.members[0].name)
    );
}

#[tokio::test]
async fn a_node_that_loads_other_bytes_is_refused_at_once() {
    use hotswap_control::load_with_retries;
    let w = World::new(&["eu"], 1).await;
    w.fleet.corrupt_loads(w.members[0].id);
    let calls = w.fleet.load_calls();
    let module = sample::module("echo", "2.0.0");
    let clock: Arc<dyn Clock> = Arc::new(w.clock.clone());
    let e = load_with_retries(
        &w.fleet,
        &clock,
        RetryPolicy::new(5, Duration::ZERO, Duration::ZERO),
        &w.members[0],
        &module,
        &hotswap_core::domain::ModuleConfig::none(module.name.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::DigestMismatch { expected, .. } if expected == module.digest),
        "{e}"
    );
    assert_eq!(
        w.fleet.load_calls() - calls,
        1,
        "retrying cannot fix the bytes"
    );
}

/// Deployments in memory, each list taking a few milliseconds, as a
/// database's would: the window between a creation's check and its write.
#[derive(Debug)]
struct SlowLists(Arc<MemoryDeploymentRepository>);

#[async_trait::async_trait]
impl DeploymentRepository for SlowLists {
    async fn create(
        &self,
        d: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        self.0.create(d, events).await
    }
    async fn get(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        self.0.get(id).await
    }
    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &PageRequest,
    ) -> Result<Page<ModuleDeployment>> {
        let page = self.0.list(filter, page).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        page
    }
    async fn update(
        &self,
        d: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        self.0.update(d, events).await
    }
    async fn events(
        &self,
        id: DeploymentId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentEvent>> {
        self.0.events(id, after, limit).await
    }
    async fn delete(&self, id: DeploymentId) -> Result<()> {
        self.0.delete(id).await
    }
    async fn acquire_lease(
        &self,
        id: DeploymentId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        self.0.acquire_lease(id, owner, now, ttl).await
    }
    async fn release_lease(&self, id: DeploymentId, owner: &str) -> Result<()> {
        self.0.release_lease(id, owner).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_for_one_module_make_one_deployment() {
    let w = World::new(&["eu"], 1).await;
    let orch = Orchestrator::new(
        Arc::new(SlowLists(w.deployments.clone())),
        w.nodes.clone(),
        w.modules.clone(),
        Arc::new(w.fleet.clone()),
        Arc::new(w.clock.clone()),
        OrchestratorConfig::new("cp-1"),
    );
    let tries: Vec<_> = (0..6)
        .map(|_| {
            let (orch, d) = (orch.clone(), w.pending(Some("1.0.0"), "2.0.0", canary()));
            tokio::spawn(async move { orch.create(d).await })
        })
        .collect();
    let mut made = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(e) => assert!(matches!(e, Error::Conflict { .. }), "{e}"),
        }
    }
    assert_eq!(made, 1, "one deployment of the module at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_version_while_a_deployment_of_it_is_created_lets_one_win() {
    use hotswap_control::{Backends, ControlPlane, ControlPlaneConfig};
    use hotswap_core::repository::ModuleRepository;

    let w = World::new(&["eu"], 1).await;
    let plane = Arc::new(ControlPlane::new(
        Backends::new(
            w.modules.clone(),
            w.nodes.clone(),
            Arc::new(SlowLists(w.deployments.clone())),
            Arc::new(hotswap_core::interface::MemoryInterfaceRegistry::new()),
            Arc::new(hotswap_core::storage::MemoryStorage::new()),
            Arc::new(w.fleet.clone()),
            Arc::new(w.clock.clone()),
        ),
        ControlPlaneConfig::new("cp-1"),
    ));
    let v2 = w
        .modules
        .get_version(&sample::name("echo"), &v("2.0.0"))
        .await
        .unwrap();
    let delete = {
        let plane = plane.clone();
        tokio::spawn(async move { plane.delete_module(v2.id).await })
    };
    let create = {
        let (plane, d) = (plane.clone(), w.pending(Some("1.0.0"), "2.0.0", canary()));
        tokio::spawn(async move { plane.create_deployment(d).await })
    };
    let (deleted, created) = (delete.await.unwrap(), create.await.unwrap());
    assert!(
        deleted.is_ok() != created.is_ok(),
        "exactly one wins: {deleted:?} / {created:?}"
    );
    let still_there = w
        .modules
        .get_version(&sample::name("echo"), &v("2.0.0"))
        .await;
    assert_eq!(
        still_there.is_ok(),
        created.is_ok(),
        "a deployment exists only beside its version"
    );
}

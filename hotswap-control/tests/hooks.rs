//! Webhooks in a rollout on the simulated fleet, called over real HTTP by
//! a signing sender, received by a local receiver that checks every
//! signature: a step gate answering 503 holds the canary paused naming the
//! hook and is asked again at its Retry-After; once it answers 200 the
//! rollout goes on to the confirm-promotion gate and the end, whose
//! post-rollout hook is told. Payloads hold the deployment, the step and
//! the observations.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::hooks::{WebhookSecret, WebhookSender};
use hotswap_control::{Orchestrator, OrchestratorConfig};
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    CanaryConfig, DeploymentPhase, EventKind, HookPoint, ModuleDeployment, ReasonCode, ShortName,
    StrategyConfig, Webhook,
};
use hotswap_core::repository::DeploymentRepository;
use hotswap_testkit::receiver::Receiver;
use hotswap_testkit::sample;
use hotswap_testkit::simulation::{Simulation as World, TICK};

const SECRET: &str = "a webhook secret for the hooks test";

fn secret() -> WebhookSecret {
    WebhookSecret::new(SECRET).unwrap()
}

fn hook(name: &str, point: HookPoint, receiver: &Receiver) -> Webhook {
    let mut h = Webhook::new(
        ShortName::new(name).unwrap(),
        point,
        format!("{}/{name}", receiver.url),
    );
    h.retries = 0;
    h
}

/// Rounds of traffic, heartbeats and due evaluations (paused deployments
/// held by a hook included), the clock moving a tick each.
async fn rounds(w: &World, orch: &Orchestrator, n: usize) {
    for _ in 0..n {
        w.fleet
            .traffic_sampled(&sample::name("echo"), 100, w.traffic_every);
        w.fleet.heartbeat(&w.service, w.clock.now()).await.unwrap();
        orch.run_due().await.unwrap();
        w.clock.advance(TICK);
    }
}

async fn state(w: &World, d: &ModuleDeployment) -> ModuleDeployment {
    w.deployments.get(d.id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_step_gate_holds_the_canary_until_it_allows() {
    let w = World::new(&["eu"], 2).await;
    let receiver = Receiver::start(Some(secret())).await;
    receiver.answer("approve", 503, Some(25));
    let orch = w
        .orchestrator("cp-1")
        .with_webhooks(Arc::new(WebhookSender::new(secret()).unwrap()));
    let mut d = w.pending(
        Some("1.0.0"),
        "2.0.0",
        StrategyConfig::Canary(CanaryConfig::new(vec![10, 100], Duration::from_secs(30))),
    );
    d.health.min_samples = 10;
    d.hooks = vec![
        hook("ready", HookPoint::PreRollout, &receiver),
        hook("approve", HookPoint::Step, &receiver),
        hook("promote", HookPoint::ConfirmPromotion, &receiver),
        hook("done", HookPoint::PostRollout, &receiver),
        hook("undo", HookPoint::Rollback, &receiver),
    ];
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    rounds(&w, &orch, 3).await;

    // Held at the first traffic increase, naming the hook.
    let held = state(&w, &d).await;
    assert_eq!(held.phase, DeploymentPhase::Paused);
    assert_eq!(held.reason.code, ReasonCode::HookRejected);
    assert!(
        held.reason
            .message
            .contains("hook approve at step answered 503"),
        "{}",
        held.reason.message
    );
    assert_eq!(held.progress.traffic_percent, 0, "no traffic moved");
    assert_eq!(receiver.received("ready").len(), 1);
    let asked = receiver.received("approve").len();
    // Asked again at its Retry-After (25 s: every third 10 s tick), not
    // before.
    rounds(&w, &orch, 6).await;
    let again = receiver.received("approve").len();
    assert!(
        (asked + 1..=asked + 3).contains(&again),
        "{asked} then {again}"
    );
    assert_eq!(state(&w, &d).await.phase, DeploymentPhase::Paused);

    receiver.answer("approve", 200, None);
    rounds(&w, &orch, 12).await;
    let done = state(&w, &d).await;
    assert_eq!(
        done.phase,
        DeploymentPhase::Succeeded,
        "{}",
        done.reason.message
    );
    assert_eq!(receiver.received("promote").len(), 1);
    receiver.wait_for("done", 1, Duration::from_secs(10)).await;
    assert!(receiver.received("undo").is_empty());

    // Every request was signed, and verified.
    let all = receiver.all();
    assert!(all.iter().all(|r| r.verified.is_ok()), "{all:#?}");
    let gate = &receiver.received("approve")[0].body;
    assert_eq!(gate["point"], "step");
    assert_eq!(gate["deployment"]["id"], d.id.to_string());
    assert_eq!(gate["step"]["next_traffic_percent"], 10);
    assert_eq!(gate["observations"]["nodes"], 2);

    // The log has every call; the post-rollout answer arrives after the end.
    let log = w.events(d.id).await;
    let hooks: Vec<(String, bool)> = log
        .iter()
        .filter(|e| e.kind == EventKind::Hook)
        .map(|e| {
            (
                e.data["hook"].as_str().unwrap().to_owned(),
                e.data["allowed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(hooks.first().unwrap(), &("ready".to_owned(), true));
    assert!(hooks.contains(&("approve".to_owned(), false)));
    assert!(hooks.contains(&("approve".to_owned(), true)));
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let log = w.events(d.id).await;
            if log.iter().any(|e| e.data["hook"] == "done") {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the post-rollout answer is logged");
    assert!(seen.windows(2).all(|p| p[1].seq == p[0].seq + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_calls_the_rollback_hook_and_hooks_need_a_secret() {
    let w = World::new(&["eu"], 2).await;
    w.fleet.set_error_rate(&semver::Version::new(2, 0, 0), 0.5);
    let receiver = Receiver::start(Some(secret())).await;
    let mut d = w.pending(
        Some("1.0.0"),
        "2.0.0",
        StrategyConfig::Canary(CanaryConfig::new(vec![10, 100], Duration::from_secs(30))),
    );
    d.health.min_samples = 10;
    d.hooks = vec![
        hook("undo", HookPoint::Rollback, &receiver),
        hook("done", HookPoint::PostRollout, &receiver),
    ];

    let plain = Orchestrator::new(
        w.deployments.clone(),
        w.nodes.clone(),
        w.modules.clone(),
        Arc::new(w.fleet.clone()),
        Arc::new(w.clock.clone()),
        OrchestratorConfig::new("cp-1"),
    );
    let e = plain.create(d.clone()).await.unwrap_err();
    assert!(
        e.to_string().starts_with("invalid hooks")
            && e.to_string().contains("--webhook-secret-file"),
        "{e}"
    );

    let orch = w
        .orchestrator("cp-1")
        .with_webhooks(Arc::new(WebhookSender::new(secret()).unwrap()));
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    let end = w.drive(&orch, d.id, 30).await;
    assert_eq!(end.phase, DeploymentPhase::RolledBack);
    let undo = receiver.wait_for("undo", 1, Duration::from_secs(10)).await;
    assert_eq!(undo[0].body["deployment"]["phase"], "rolled_back");
    assert!(undo[0].verified.is_ok(), "{:?}", undo[0].verified);
    assert!(receiver.received("done").is_empty());
}

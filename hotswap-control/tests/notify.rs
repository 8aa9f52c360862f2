//! Notifications of a rollout and of nodes, delivered over real HTTP to
//! local receivers: a generic webhook gets every event as signed JSON, a
//! Slack-compatible one only the events it filters for as `{"text"}`, and
//! a sink that cannot be reached neither blocks the rollout nor the other
//! sinks.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::NodeService;
use hotswap_control::hooks::WebhookSecret;
use hotswap_control::notify::{NodeAlerts, SinkConfig, SinkKind, Sinks};
use hotswap_core::domain::{CanaryConfig, DeploymentPhase, ShortName, StrategyConfig};
use hotswap_core::notify::NotificationEvent;
use hotswap_testkit::receiver::Receiver;
use hotswap_testkit::simulation::Simulation as World;

const SECRET: &str = "a webhook secret for notifications";

fn sink(name: &str, kind: SinkKind, url: String) -> SinkConfig {
    SinkConfig::new(ShortName::new(name).unwrap(), kind, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_and_node_events_reach_each_sink_by_its_filter() {
    let generic = Receiver::start(Some(WebhookSecret::new(SECRET).unwrap())).await;
    let slack = Receiver::start(None).await;
    // A closed port: every delivery fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sinks = Arc::new(
        Sinks::start(
            vec![
                sink(
                    "broken",
                    SinkKind::Webhook,
                    format!("http://127.0.0.1:{closed}/x"),
                ),
                sink("all", SinkKind::Webhook, format!("{}/all", generic.url)),
                sink("chat", SinkKind::Slack, format!("{}/chat", slack.url)).with_events(vec![
                    NotificationEvent::DeploymentPromoted,
                    NotificationEvent::NodeOffline,
                ]),
            ],
            Some(WebhookSecret::new(SECRET).unwrap()),
        )
        .unwrap(),
    );

    let w = World::new(&["eu"], 2).await;
    let orch = w.orchestrator("cp-1").with_notifier(sinks.clone());
    let mut d = w.pending(
        Some("1.0.0"),
        "2.0.0",
        StrategyConfig::Canary(CanaryConfig::new(
            vec![10, 50, 100],
            Duration::from_secs(30),
        )),
    );
    d.health.min_samples = 10;
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    let done = w.drive(&orch, d.id, 30).await;
    assert_eq!(done.phase, DeploymentPhase::Succeeded);

    let events = |r: &Receiver, path: &str| -> Vec<String> {
        r.received(path)
            .iter()
            .map(|n| n.body["event"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    generic.wait_for("all", 4, Duration::from_secs(10)).await;
    assert_eq!(
        events(&generic, "all"),
        [
            "deployment.started",
            "deployment.step",
            "deployment.step",
            "deployment.promoted"
        ]
    );
    let all = generic.received("all");
    assert!(all.iter().all(|n| n.verified.is_ok()), "{all:#?}");
    assert_eq!(all[3].body["subject"], "echo");
    assert_eq!(all[3].body["data"]["to_version"], "2.0.0");

    let chat = slack.wait_for("chat", 1, Duration::from_secs(10)).await;
    let text = chat[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("*deployment.promoted* `echo`: echo 1.0.0 -> 2.0.0"),
        "{text}"
    );

    // A node falls silent: unhealthy, then offline.
    let service = NodeService::new(w.nodes.clone(), Arc::new(w.clock.clone()))
        .with_alerts(Arc::new(NodeAlerts(sinks.clone())));
    w.clock.advance(Duration::from_secs(200));
    service.check_health().await.unwrap();
    w.clock.advance(Duration::from_secs(600));
    service.check_health().await.unwrap();
    let node_events = generic.wait_for("all", 8, Duration::from_secs(10)).await;
    let names: Vec<&str> = node_events[4..]
        .iter()
        .map(|n| n.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "node.unhealthy",
            "node.unhealthy",
            "node.offline",
            "node.offline"
        ]
    );
    let chat = slack.wait_for("chat", 3, Duration::from_secs(10)).await;
    assert!(
        chat[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("*node.offline*")
    );
}

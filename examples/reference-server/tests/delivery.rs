//! Webhooks and notifications through `hotswap serve`, configured as a
//! user would (`--webhook-secret-file`, `--notifications-file`): a step
//! gate set in the module's policy answers 503 and holds the canary paused
//! naming it, then 200 and lets it finish; every call is signed with the
//! secret and checked by the receiver; a generic sink and a Slack-style
//! one take the deployment's events through their filters, while a sink
//! that cannot be reached is counted as failed in /metrics and blocks
//! nothing.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use hotswap_control::hooks::WebhookSecret;
use hotswap_testkit::fixtures;
use hotswap_testkit::receiver::Receiver;
use serde_json::json;
use support::{Api, Traffic, eventually, free_port, push_module, run_cli, serve, wait_phase};

const SECRET: &str = "the secret hooks and notifications are signed with";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_hold_a_rollout_and_sinks_hear_of_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let receiver = Receiver::start(Some(WebhookSecret::new(SECRET).unwrap())).await;
    std::fs::write(d.join("webhook-secret"), format!("{SECRET}\n")).unwrap();
    let unreachable = format!("http://127.0.0.1:{}/nobody", free_port());
    std::fs::write(
        d.join("notifications.toml"),
        format!(
            r#"[[sink]]
name = "ops"
kind = "webhook"
url = "{r}/ops"

[[sink]]
name = "chat"
kind = "slack"
url = "{r}/chat"
events = ["deployment.paused", "deployment.promoted"]

[[sink]]
name = "broken"
kind = "webhook"
url = "{unreachable}"
"#,
            r = receiver.url
        ),
    )
    .unwrap();
    let (_serve, url, _) = serve(
        d,
        &[
            "--heartbeat-secs",
            "1",
            "--tick-ms",
            "200",
            "--webhook-secret-file",
            "webhook-secret",
            "--notifications-file",
            "notifications.toml",
        ],
    )
    .await;
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), token);
    let env = [("HOTSWAP_URL", url.clone())];
    for v in 1..=2 {
        std::fs::write(d.join(format!("calc-{v}.wat")), fixtures::numeric_wat(v)).unwrap();
        let file = format!("calc-{v}.wat");
        let version = format!("{v}.0.0");
        push_module(d, &file, "calc", &version, &env);
    }
    let out = run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);
    assert!(out.contains("Succeeded"), "{out}");

    // The production policy gates each step on the receiver, which says
    // "not yet" with a Retry-After.
    receiver.answer("gate", 503, Some(1));
    let policy = json!({
        "strategy": {"type": "canary", "steps": [50, 100], "evaluation_period_secs": 2},
        "health": {"min_samples": 10, "max_p99_ratio": 1000.0},
        "hooks": [{"name": "gate", "point": "step", "url": format!("{}/gate", receiver.url),
                   "retries": 0}],
    });
    let (status, body) = api
        .put("/api/v1/wasm/policies/calc/production", &policy)
        .await;
    assert_eq!(status, 200, "{body}");

    let traffic = Traffic::start(&api, 2);
    let out = run_cli(
        d,
        &["deploy", "calc", "2.0.0", "--environment", "production"],
        &env,
    );
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let paused = wait_phase(&api, &id, "paused", Duration::from_secs(60)).await;
    let reason = paused["deployment"]["reason"].to_string();
    assert!(
        reason.contains("gate"),
        "the pause names the hook: {paused:#}"
    );
    let asked = receiver.wait_for("gate", 2, Duration::from_secs(30)).await;
    assert!(
        asked.iter().all(|r| r.verified.is_ok()),
        "every gate call is signed: {asked:#?}"
    );
    assert_eq!(asked[0].body["hook"], "gate");
    assert_eq!(asked[0].body["deployment"]["id"], id);

    receiver.answer("gate", 200, None);
    wait_phase(&api, &id, "succeeded", Duration::from_secs(60)).await;
    let (good, bad) = traffic.stop().await;
    assert!(good > 0 && bad == 0, "{good} ok, {bad} failed");

    // The generic sink heard everything, signed; the Slack one only what
    // its filter lets through, as Slack text.
    let ops = receiver.wait_for("ops", 4, Duration::from_secs(10)).await;
    let events: Vec<&str> = ops
        .iter()
        .filter(|n| n.body["subject"] == "calc" && n.body["data"]["to_version"] == "2.0.0")
        .map(|n| n.body["event"].as_str().unwrap())
        .collect();
    for want in [
        "deployment.started",
        "deployment.paused",
        "deployment.promoted",
    ] {
        assert!(events.contains(&want), "{want} missing from {events:?}");
    }
    assert!(ops.iter().all(|n| n.verified.is_ok()), "{ops:#?}");
    let chat = receiver.wait_for("chat", 2, Duration::from_secs(10)).await;
    let texts: Vec<&str> = chat
        .iter()
        .map(|n| n.body["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.iter().all(|t| t.starts_with("*deployment.paused*")
            || t.starts_with("*deployment.promoted*")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("calc 1.0.0 -> 2.0.0")),
        "{texts:?}"
    );

    // The unreachable sink failed, counted, and blocked nothing.
    let failed = eventually(
        "failed notifications counted",
        Duration::from_secs(30),
        || async {
            let text = reqwest::get(format!("{url}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.lines()
                .find(|l| {
                    l.starts_with("wasm_notifications_total")
                        && l.contains("sink=\"broken\"")
                        && l.contains("outcome=\"failed\"")
                })
                .map(str::to_owned)
        },
    )
    .await;
    let count: f64 = failed.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{failed}");
}

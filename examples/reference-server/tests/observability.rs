//! Metrics as operators meet them: a running `hotswap serve` exposes
//! /metrics that `promtool check metrics` accepts; the Grafana dashboard
//! and the alert rules query only metrics the server emits; and a real
//! Prometheus scraping the server reads the call counter back.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hotswap_core::observe::METRICS;
use serde_json::{Value, json};
use support::{Api, Proc, Prometheus, eventually, free_port, promtool_check, run_cli};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Metric names in a PromQL expression (histogram series as their family).
fn metrics_in(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("wasm_") || w.starts_with("http_"))
        .map(|w| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| w.strip_suffix(s))
                .unwrap_or(w)
                .to_owned()
        })
        .collect()
}

/// Families in a Prometheus text exposition.
fn families(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn check_dashboard(emitted: &BTreeSet<String>) {
    let text = std::fs::read_to_string(repo().join("deploy/grafana/hotswap.json")).unwrap();
    let d: Value = serde_json::from_str(&text).unwrap();
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());
    let mut ids = BTreeSet::new();
    let panels = d["panels"].as_array().unwrap();
    assert!(panels.len() >= 6);
    for p in panels {
        let title = p["title"].as_str().unwrap();
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel id of {title} is unique"
        );
        assert!(
            p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "{title} has a unit"
        );
        assert_eq!(
            p["datasource"]["uid"],
            ds_ref.as_str(),
            "{title} uses the datasource variable"
        );
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for f in ["rate(", "irate(", "increase("] {
                for (i, _) in expr.match_indices(f) {
                    let rest = &expr[i..];
                    let close = rest.find(')').unwrap();
                    assert!(
                        rest[..close].contains("[$__rate_interval]"),
                        "{title}: {f} uses $__rate_interval in {expr}"
                    );
                }
            }
            for m in metrics_in(expr) {
                assert!(
                    METRICS.contains(&m.as_str()),
                    "{title} queries {m}, which hotswap does not define"
                );
                assert!(
                    emitted.contains(&m),
                    "{title} queries {m}, which the server did not emit"
                );
            }
        }
    }
    for wanted in [
        "wasm_modules_registered_total",
        "wasm_deployments_executed_total",
        "wasm_function_invoke_duration_seconds",
        "wasm_edge_nodes_healthy",
        "wasm_modules_deployed_per_node",
    ] {
        assert!(text.contains(wanted), "the dashboard shows {wanted}");
    }
}

fn check_alerts(emitted: &BTreeSet<String>) {
    let text = std::fs::read_to_string(repo().join("deploy/prometheus/alerts.yml")).unwrap();
    let exprs: Vec<&str> = text
        .split("expr:")
        .skip(1)
        .map(|rest| {
            rest.split("for:")
                .next()
                .unwrap()
                .split("labels:")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(exprs.len(), 5);
    for e in exprs {
        for m in metrics_in(e) {
            assert!(
                METRICS.contains(&m.as_str()) && emitted.contains(&m),
                "an alert queries {m}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_feed_the_dashboard_and_reach_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let serve = Proc::spawn(
        "serve",
        d,
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--ingress".into(),
            "127.0.0.1:0".into(),
            "--heartbeat-secs".into(),
            "1".into(),
        ],
        &[],
    );
    let probe = Api::new(url.clone(), String::new());
    probe.wait_up(&serve).await;
    let env = [("HOTSWAP_URL", url.clone())];
    std::fs::write(
        d.join("calc.wat"),
        hotswap_testkit::fixtures::numeric_wat(1),
    )
    .unwrap();
    run_cli(
        d,
        &[
            "module",
            "push",
            "calc.wat",
            "--name",
            "calc",
            "--version",
            "1.0.0",
        ],
        &env,
    );
    run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), token);
    let call = json!({"module": "calc", "function": "add", "args": [1, 2]});
    for _ in 0..5 {
        assert_eq!(api.post("/api/v1/wasm/execute", &call).await.0, 200);
    }
    let bad = json!({"module": "calc", "function": "add", "args": ["x", 2]});
    assert_eq!(api.post("/api/v1/wasm/execute", &bad).await.0, 400);
    // The gauges are published on the next tick.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let exposition = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let emitted = families(&exposition);
    for m in METRICS {
        assert!(emitted.contains(*m), "{m} is exposed:\n{exposition}");
    }
    assert!(exposition.contains(
        r#"wasm_functions_invoked_total{module="calc",version="1.0.0",outcome="invalid"} 1"#
    ));
    assert!(
        exposition.contains("wasm_function_invoke_duration_seconds_bucket{"),
        "a histogram, not a summary"
    );
    check_dashboard(&emitted);
    check_alerts(&emitted);

    if !promtool_check(&exposition) {
        return;
    }

    // A real Prometheus scrapes the server; the counter comes back through
    // its HTTP API.
    let Some(prometheus) = Prometheus::start(d, &[format!("127.0.0.1:{port}")]) else {
        return;
    };
    for _ in 0..20 {
        assert_eq!(api.post("/api/v1/wasm/execute", &call).await.0, 200);
    }
    let query = r#"sum(wasm_functions_invoked_total{module="calc",outcome="ok"})"#;
    let seen = eventually(
        "Prometheus to have scraped 25 calls",
        Duration::from_secs(60),
        || async { prometheus.value(query).await.filter(|v| *v >= 25.0) },
    )
    .await;
    assert_eq!(seen, 25.0);
    drop(serve);
}

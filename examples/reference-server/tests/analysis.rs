//! Analysis against a real Prometheus (Debian's package) scraping a real
//! `hotswap serve`: a canary whose candidate fails the PromQL check rolls
//! back by itself, each run an event with its query, value and verdict;
//! a check whose Prometheus cannot be reached is inconclusive, and the
//! deployment's inconclusive policy (pause) applies.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{
    Api, Prometheus, Traffic, eventually, failing_wat, push_module, run_cli, serve, wait_phase,
};

/// The share of calc@{{version}}'s calls over the step that did not end
/// `ok`.
const ERROR_RATE: &str = r#"sum(rate(wasm_functions_invoked_total{module="{{module}}",version="{{version}}",outcome!="ok"}[{{window}}])) / sum(rate(wasm_functions_invoked_total{module="{{module}}",version="{{version}}"}[{{window}}]))"#;

/// A canary of calc to `version` judged by the error-rate check alone (its
/// own call statistics may not fail it), at `prometheus` or the control
/// plane's default.
fn canary(version: &str, prometheus: Option<&str>) -> Value {
    let mut source = json!({"provider": "prometheus", "query": ERROR_RATE});
    if let Some(url) = prometheus {
        source["url"] = json!(url);
    }
    json!({
        "module": "calc",
        "to_version": version,
        "start": true,
        "strategy": {"type": "canary", "steps": [50, 100], "evaluation_period_secs": 12},
        "health": {
            "min_samples": 1,
            "max_error_rate": 1.0,
            "max_error_rate_increase": 1.0,
            // Latency on a busy 2-core machine is noise: only the check
            // judges.
            "max_p99_ratio": 1000.0,
            "analysis": [{
                "name": "error-rate",
                "source": source,
                "pass": {"op": "lt", "threshold": 0.05},
                "interval_secs": 2,
                "failure_limit": 1,
            }],
        },
    })
}

fn analysis_runs(view: &Value) -> Vec<Value> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "analysis")
        .map(|e| e["data"]["result"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_failing_its_prometheus_check_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The default Prometheus is a closed port: checks that name none find
    // it unreachable.
    let (serve, url, _) = serve(
        d,
        &["--tick-ms", "200", "--prometheus-url", "http://127.0.0.1:9"],
    )
    .await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let Some(prometheus) = Prometheus::start(d, &[format!("127.0.0.1:{port}")]) else {
        return;
    };
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), token.trim().to_owned());
    let env = vec![("HOTSWAP_URL", url.clone())];
    std::fs::write(d.join("calc-1.wat"), fixtures::numeric_wat(1)).unwrap();
    std::fs::write(d.join("calc-2.wat"), failing_wat(2)).unwrap();
    std::fs::write(d.join("calc-3.wat"), fixtures::numeric_wat(3)).unwrap();
    for v in 1..=3 {
        let file = format!("calc-{v}.wat");
        let version = format!("{v}.0.0");
        push_module(d, &file, "calc", &version, &env);
    }
    let out = run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);
    assert!(out.contains("Succeeded"), "{out}");
    let traffic = Traffic::start(&api, 2);
    eventually(
        "Prometheus to see calc's calls",
        Duration::from_secs(60),
        || async {
            prometheus
                .value(r#"sum(wasm_functions_invoked_total{module="calc"})"#)
                .await
                .filter(|v| *v > 0.0)
        },
    )
    .await;

    // 2.0.0 traps: its error rate in Prometheus fails the check twice.
    let (status, created) = api
        .post(
            "/api/v1/wasm/deployments",
            &canary("2.0.0", Some(&prometheus.url)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let view = wait_phase(&api, id, "rolled_back", Duration::from_secs(90)).await;
    let reason = &view["deployment"]["reason"];
    assert_eq!(reason["code"], "health_check_failed", "{reason}");
    assert!(
        reason["message"]
            .as_str()
            .unwrap()
            .contains("analysis error-rate failed 2 times, more than the 1 allowed"),
        "{reason}"
    );
    let runs = analysis_runs(&view);
    let failed: Vec<&Value> = runs.iter().filter(|r| r["verdict"] == "fail").collect();
    assert_eq!(failed.len(), 2, "{runs:#?}");
    for r in &failed {
        assert!(r["value"].as_f64().unwrap() >= 0.05, "{r}");
        let query = r["query"].as_str().unwrap();
        assert!(
            query.contains(r#"module="calc",version="2.0.0""#) && !query.contains("{{"),
            "the event holds the query as run: {query}"
        );
    }

    // A good 3.0.0, but the check's Prometheus (the default) is
    // unreachable: inconclusive, and the canary pauses at the step's end.
    let (status, created) = api
        .post("/api/v1/wasm/deployments", &canary("3.0.0", None))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let view = wait_phase(&api, id, "paused", Duration::from_secs(90)).await;
    let reason = &view["deployment"]["reason"];
    assert_eq!(reason["code"], "inconclusive", "{reason}");
    let message = reason["message"].as_str().unwrap();
    assert!(
        message.contains("analysis error-rate has not passed yet")
            && message.contains("prometheus unavailable"),
        "{message}"
    );
    let runs = analysis_runs(&view);
    assert!(!runs.is_empty());
    assert!(
        runs.iter()
            .all(|r| r["verdict"] == "inconclusive" && r["value"].is_null()),
        "{runs:#?}"
    );
    traffic.stop().await;
    drop(prometheus);
    drop(serve);
}

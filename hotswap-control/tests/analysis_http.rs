//! `HttpAnalysis` against real HTTP servers on loopback: Prometheus's
//! instant-query answers, web checks read with a JSONPath, and every way
//! a source fails (unreachable, an error status, an ambiguous path), each
//! an error the orchestrator counts as inconclusive.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use hotswap_control::analysis::HttpAnalysis;
use hotswap_core::Error;
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::domain::AnalysisSource;
use serde_json::json;

/// Serve `app` on a loopback port; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn web(url: String, json_path: &str) -> AnalysisSource {
    AnalysisSource::Web {
        url,
        json_path: json_path.into(),
    }
}

#[tokio::test]
async fn prometheus_answers_and_the_default_server() {
    let base = serve(Router::new().route(
        "/api/v1/query",
        get(
            |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let value = if q["query"] == "up" { "1" } else { "0.25" };
                axum::Json(json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {}, "value": [1_700_000_000.0, value]}]}}))
            },
        ),
    ))
    .await;
    let analysis = HttpAnalysis::new(Some(base.clone()), Duration::from_secs(2)).unwrap();
    let by_default = AnalysisSource::Prometheus {
        url: None,
        query: "up".into(),
    };
    assert_eq!(analysis.measure(&by_default).await.unwrap(), Some(1.0));
    let named = AnalysisSource::Prometheus {
        url: Some(base),
        query: "rate(x[1m])".into(),
    };
    let without_default = HttpAnalysis::new(None, Duration::from_secs(2)).unwrap();
    assert_eq!(without_default.measure(&named).await.unwrap(), Some(0.25));
    let e = without_default.measure(&by_default).await.unwrap_err();
    assert!(e.to_string().contains("--prometheus-url"), "{e}");
}

#[tokio::test]
async fn web_checks_read_one_number_at_their_path() {
    let base = serve(
        Router::new()
            .route(
                "/stats",
                get(|| async {
                    axum::Json(json!({"errors": {"rate": 0.02, "text": "0.5"}, "list": [1, 2]}))
                }),
            )
            .route(
                "/broken",
                get(|| async { (axum::http::StatusCode::BAD_GATEWAY, "upstream down") }),
            ),
    )
    .await;
    let analysis = HttpAnalysis::new(None, Duration::from_secs(2)).unwrap();
    let stats = format!("{base}/stats");
    let read = async |path: &str| analysis.measure(&web(stats.clone(), path)).await;
    assert_eq!(read("$.errors.rate").await.unwrap(), Some(0.02));
    assert_eq!(read("$.errors.text").await.unwrap(), Some(0.5));
    assert_eq!(read("$.missing").await.unwrap(), None);
    let e = read("$.list[*]").await.unwrap_err();
    assert!(e.to_string().contains("matched 2 values"), "{e}");
    let e = analysis
        .measure(&web(format!("{base}/broken"), "$.x"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unavailable { .. }) && e.to_string().contains("502"),
        "{e}"
    );
}

#[tokio::test]
async fn an_unreachable_source_is_unavailable() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let analysis = HttpAnalysis::new(None, Duration::from_secs(2)).unwrap();
    let e = analysis
        .measure(&web(format!("http://127.0.0.1:{port}/x"), "$.a"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
}

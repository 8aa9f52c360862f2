//! The serving layer: a request past the timeout is a 503 problem, a body
//! past the limit a 413 problem.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use hotswap_http::server::{self, ServerLimits};

async fn serve(router: Router, limits: ServerLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(
        listener,
        server::harden(router, limits),
        std::future::pending(),
    ));
    base
}

#[tokio::test]
async fn slow_requests_and_large_bodies_get_problems() {
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            post(|body: bytes::Bytes| async move { body.len().to_string() }),
        );
    let limits = ServerLimits::default()
        .with_request_timeout(Duration::from_millis(200))
        .with_body_bytes(1024);
    let base = serve(router, limits).await;
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let resp = http.get(format!("{base}/slow")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(resp.headers()["content-type"], hotswap_http::PROBLEM_JSON);
    assert_eq!(resp.headers()["retry-after"], "1");
    let resp = http
        .post(format!("{base}/echo"))
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "100");
    let resp = http
        .post(format!("{base}/echo"))
        .body(vec![0u8; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

//! `hotswap rollout status ID --watch` follows the deployment's event
//! stream through a proxy that cuts its first connections mid-rollout (a
//! replica restarting behind a load balancer): the CLI follows again,
//! prints each event once, and ends with the deployment.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hotswap_testkit::fixtures;
use serde_json::json;
use support::{Api, Traffic, push_module, run_cli, serve, try_cli};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to `upstream` that closes each of its first `cuts`
/// connections `after` it opened; its address and how many it accepted.
async fn cutting_proxy(upstream: &str, cuts: usize, after: Duration) -> (String, Arc<AtomicUsize>) {
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut server = TcpStream::connect(&upstream).await.unwrap();
                let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                if n <= cuts {
                    let _ = tokio::time::timeout(after, copy).await;
                } else {
                    let _ = copy.await;
                }
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_again_when_its_stream_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &["--heartbeat-secs", "1", "--tick-ms", "200"]).await;
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), token.trim().to_owned());
    let env = [("HOTSWAP_URL", url.clone())];
    for v in 1..=2 {
        let file = format!("calc-{v}.wat");
        std::fs::write(d.join(&file), fixtures::numeric_wat(v)).unwrap();
        push_module(d, &file, "calc", &format!("{v}.0.0"), &env);
    }
    run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);

    let traffic = Traffic::start(&api, 2);
    let (status, created) = api
        .post(
            "/api/v1/wasm/deployments",
            &json!({
                "module": "calc", "to_version": "2.0.0", "start": true,
                "strategy": {"type": "canary", "steps": [20, 100], "evaluation_period_secs": 3},
                "health": {"min_samples": 5, "max_p99_ratio": 1000.0},
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let (proxy, accepted) = cutting_proxy(&url, 2, Duration::from_millis(1500)).await;
    let dir_path = d.to_owned();
    let watched = id.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        try_cli(
            &dir_path,
            &["rollout", "status", &watched, "--watch"],
            &[("HOTSWAP_URL", proxy)],
        )
    })
    .await
    .unwrap();
    traffic.stop().await;

    assert!(ok, "the watch ends with the deployment:\n{out}\n{err}");
    assert!(out.contains("Succeeded"), "{out}");
    assert_eq!(
        err.matches("following deployment").count(),
        2,
        "each cut is followed again: {err}"
    );
    assert!(accepted.load(Ordering::SeqCst) >= 3);
    // Each event is printed once, across the three connections.
    let printed = out
        .lines()
        .filter(|l| {
            let at = l.split(' ').next().unwrap_or_default();
            at.len() == 8 && at.matches(':').count() == 2
        })
        .count();
    let (_, view) = api.get(&format!("/api/v1/wasm/deployments/{id}")).await;
    assert_eq!(
        printed,
        view["events"].as_array().unwrap().len(),
        "each event once:\n{out}"
    );
}

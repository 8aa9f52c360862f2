//! Outbound HTTP on `hotswap serve` as a user sets it up: a component
//! pushed with `--allow-outbound` behind a route calls a local upstream
//! through the ingress; a destination it was not granted is denied without
//! a connection, counted in `/metrics` and logged; `module show` prints the
//! grants.

#![allow(clippy::unwrap_used)]

mod support;

use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::upstream::Upstream;
use support::{run_cli, serve, try_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_component_reaches_only_what_its_version_was_granted() {
    let up = Upstream::start().await;
    let other = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (serve, url, ingress_port) = serve(d, &[]).await;
    let env = [("HOTSWAP_URL", url.clone())];
    std::fs::write(d.join("fetch.wasm"), handler(&Handler::Fetch)).unwrap();
    let rule = format!("http://127.0.0.1:{}", up.port);
    let (ok, _, err) = try_cli(
        d,
        &[
            "module",
            "push",
            "fetch.wasm",
            "--name",
            "fetch",
            "--version",
            "1.0.0",
            "--allow-outbound",
            "https://*",
        ],
        &env,
    );
    assert!(
        !ok && err.contains("https://*"),
        "a bad rule is named: {err}"
    );
    run_cli(
        d,
        &[
            "module",
            "push",
            "fetch.wasm",
            "--name",
            "fetch",
            "--version",
            "1.0.0",
            "--allow-outbound",
            &rule,
            "--max-outbound-requests",
            "4",
        ],
        &env,
    );
    let shown = run_cli(d, &["module", "show", "fetch@1.0.0"], &env);
    assert!(shown.contains(&format!("outbound  {rule}")), "{shown}");
    assert!(shown.contains("at most 4 requests per call"), "{shown}");
    run_cli(d, &["deploy", "fetch", "1.0.0", "--watch"], &env);
    run_cli(
        d,
        &["route", "add", "--host", "fetch.test", "--module", "fetch"],
        &env,
    );

    let http = reqwest::Client::new();
    let call = |authority: String| {
        let http = http.clone();
        async move {
            http.get(format!("http://127.0.0.1:{ingress_port}/"))
                .header("host", "fetch.test")
                .header("x-scheme", "http")
                .header("x-authority", authority)
                .header("x-path", "/from-the-edge")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let answer = call(format!("127.0.0.1:{}", up.port)).await;
    assert_eq!(answer, "status 200 upstream saw /from-the-edge");
    let denied = call(format!("127.0.0.1:{}", other.port)).await;
    assert_eq!(denied, "error 15", "HTTP-request-denied");
    assert_eq!(other.connections(), 0, "no connection for a denied request");
    assert_eq!(up.connections(), 1);

    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = |outcome: &str| {
        format!(r#"wasm_outbound_requests_total{{module="fetch@1.0.0",outcome="{outcome}"}} 1"#)
    };
    assert!(metrics.contains(&line("sent")), "{metrics}");
    assert!(metrics.contains(&line("not_granted")), "{metrics}");
    assert!(
        serve.log_text().contains("outbound request denied"),
        "the denial is logged"
    );
}

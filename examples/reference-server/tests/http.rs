//! HTTP on `hotswap serve`, driven by the CLI and real HTTP traffic as a
//! user would: push a wasi:http component, route a host to it, curl it,
//! refuse a clashing route, and canary a version that answers 500 while
//! traffic runs: it rolls back by itself and the users never leave v1 for
//! good.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use hotswap_testkit::http_components::{Handler, handler};
use support::{HttpTraffic, eventually, push_module, run_cli, serve, try_cli};

fn respond(status: u16, body: &str) -> Vec<u8> {
    handler(&Handler::Respond {
        status,
        body: body.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_to_a_version_answering_500_rolls_back_under_real_http_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, ingress_port) = serve(
        d,
        &[
            "--version-header",
            "x-served-by",
            "--heartbeat-secs",
            "1",
            "--tick-ms",
            "200",
        ],
    )
    .await;
    let ingress = format!("http://127.0.0.1:{ingress_port}");
    let env = [("HOTSWAP_URL", url.clone())];
    std::fs::write(d.join("web-1.wasm"), respond(200, "hello from v1")).unwrap();
    std::fs::write(d.join("web-2.wasm"), respond(500, "broken v2")).unwrap();
    for v in 1..=2 {
        let file = format!("web-{v}.wasm");
        let version = format!("{v}.0.0");
        let out = push_module(d, &file, "web", &version, &env);
        assert!(
            out.contains("wasi:http/incoming-handler@0.2.0"),
            "push shows the export: {out}"
        );
    }
    let out = run_cli(d, &["deploy", "web", "1.0.0", "--watch"], &env);
    assert!(out.contains("Succeeded"), "{out}");

    // A route for the host, then a clashing one refused by name.
    let out = run_cli(
        d,
        &["route", "add", "--host", "web.test", "--module", "web"],
        &env,
    );
    assert!(out.contains("created route"), "{out}");
    let route_id = out.split_whitespace().nth(2).unwrap().to_owned();
    let (ok, _, err) = try_cli(
        d,
        &[
            "route", "add", "--host", "WEB.test", "--path", "/", "--module", "web",
        ],
        &env,
    );
    assert!(!ok && err.contains(&route_id), "names the clash: {err}");
    let list = run_cli(d, &["route", "list"], &env);
    assert!(
        list.contains("web.test") && list.contains(&route_id),
        "{list}"
    );

    let http = reqwest::Client::new();
    let r = eventually(
        "the route reaches the node",
        Duration::from_secs(10),
        || {
            let http = http.clone();
            let url = format!("{ingress}/hello");
            async move {
                let r = http
                    .get(&url)
                    .header("host", "web.test")
                    .send()
                    .await
                    .ok()?;
                (r.status() == 200).then_some(r)
            }
        },
    )
    .await;
    assert_eq!(r.headers()["x-served-by"], "1.0.0");
    assert_eq!(r.text().await.unwrap(), "hello from v1");
    let r = http
        .get(format!("{ingress}/hello"))
        .header("host", "other.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The canary answers 500s; health is judged on them and it rolls back.
    let traffic = HttpTraffic::start(&format!("{ingress}/hello"), "web.test", 3);
    let (ok, out, err) = try_cli(
        d,
        &[
            "deploy",
            "web",
            "2.0.0",
            "--steps",
            "20,50,100",
            "--period-secs",
            "3",
            "--min-samples",
            "20",
            "--max-error-rate",
            "0.05",
            "--watch",
        ],
        &env,
    );
    let (good, bad) = traffic.stop().await;
    assert!(!ok, "the rollback fails the command:\n{out}\n{err}");
    assert!(err.contains("RolledBack"), "{out}\n{err}");
    assert!(
        good > 0 && bad > 0,
        "{good} ok, {bad} 500s during the canary"
    );
    for _ in 0..20 {
        let r = http
            .get(format!("{ingress}/hello"))
            .header("host", "web.test")
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["x-served-by"].to_str().unwrap()
            ),
            (200, "1.0.0")
        );
    }

    // Deleting the route takes the host away.
    let out = run_cli(d, &["route", "delete", &route_id], &env);
    assert!(out.contains("deleted route"), "{out}");
    eventually(
        "the route to leave the node",
        Duration::from_secs(10),
        || {
            let http = http.clone();
            let url = format!("{ingress}/hello");
            async move {
                let r = http
                    .get(&url)
                    .header("host", "web.test")
                    .send()
                    .await
                    .ok()?;
                (r.status() == 404).then_some(())
            }
        },
    )
    .await;
}

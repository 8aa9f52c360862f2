//! Configuration, outbound HTTP and key-value together on `hotswap serve`,
//! as a user sets them up: a component behind a route reads its
//! configuration, calls a local upstream and counts its requests; a canary
//! whose new configuration points it at a host it was not granted is
//! denied (counted in `/metrics`) and rolls back on health, and the old
//! values come back with the old version. The secret set on the way is
//! searched for in the logs, every file of the data folder (the SQLite
//! database among them) and every API response: it is never there.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::upstream::Upstream;
use support::{Api, HttpTraffic, eventually, run_cli, serve, try_cli};

const SECRET: &str = "sk-live-4f1d2e9b-never-in-the-clear";

fn push(d: &Path, version: &str, upstream: u16, env: &[(&str, String)]) {
    run_cli(
        d,
        &[
            "module",
            "push",
            "app.wasm",
            "--name",
            "app",
            "--version",
            version,
            "--config-key",
            "greeting",
            "--config-key",
            "upstream",
            "--config-key",
            "token",
            "--allow-outbound",
            &format!("http://127.0.0.1:{upstream}"),
            "--keyvalue-bucket",
            "counters",
        ],
        env,
    );
}

/// Every file under `dir`, as bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_app_reads_its_config_and_a_denied_canary_rolls_back_to_the_old_values() {
    let up = Upstream::start().await;
    let denied = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (serve, url, ingress_port) = serve(d, &[]).await;
    let env = [("HOTSWAP_URL", url.clone()), ("APP_TOKEN", SECRET.into())];
    let mut outputs = Vec::new();
    std::fs::write(d.join("app.wasm"), handler(&Handler::App)).unwrap();
    push(d, "1.0.0", up.port, &env);
    let shown = run_cli(d, &["module", "show", "app@1.0.0"], &env);
    assert!(shown.contains("greeting"), "{shown}");

    // A version cannot roll out before its configuration is set.
    let (ok, _, err) = try_cli(d, &["deploy", "app", "1.0.0"], &env);
    assert!(!ok && err.contains("config_revision"), "{err}");
    let (ok, _, err) = try_cli(d, &["config", "set", "app", "bad key=1"], &env);
    assert!(!ok && err.contains("bad key"), "{err}");
    let (ok, _, err) = try_cli(
        d,
        &[
            "config",
            "set",
            "app",
            "--secret-env",
            "token=NOT_SET_ANYWHERE",
        ],
        &env,
    );
    assert!(!ok && err.contains("NOT_SET_ANYWHERE"), "{err}");

    let upstream_ok = format!("upstream=127.0.0.1:{}", up.port);
    outputs.push(run_cli(
        d,
        &[
            "config",
            "set",
            "app",
            "greeting=hi",
            &upstream_ok,
            "--secret-env",
            "token=APP_TOKEN",
        ],
        &env,
    ));
    assert!(outputs[0].contains("revision 1"), "{}", outputs[0]);
    assert!(outputs[0].contains("(set in revision 1)"), "{}", outputs[0]);
    outputs.push(run_cli(d, &["deploy", "app", "1.0.0", "--watch"], &env));
    run_cli(
        d,
        &["route", "add", "--host", "app.test", "--module", "app"],
        &env,
    );

    let http = reqwest::Client::new();
    let ingress = format!("http://127.0.0.1:{ingress_port}/");
    let get = || {
        let (http, ingress) = (http.clone(), ingress.clone());
        async move {
            let r = http
                .get(&ingress)
                .header("host", "app.test")
                .send()
                .await
                .ok()?;
            (r.status() == 200).then_some(r.text().await.unwrap())
        }
    };
    let first = eventually("the route reaches the node", Duration::from_secs(10), get).await;
    assert_eq!(first, "hi 1 status 200 upstream saw /");
    assert_eq!(get().await.unwrap(), "hi 2 status 200 upstream saw /");

    // Revision 2 points the app at a host its grants do not name.
    let upstream_denied = format!("upstream=127.0.0.1:{}", denied.port);
    outputs.push(run_cli(
        d,
        &["config", "set", "app", "greeting=hello", &upstream_denied],
        &env,
    ));
    push(d, "2.0.0", up.port, &env);
    let traffic = HttpTraffic::start(&ingress, "app.test", 3);
    let (ok, out, err) = try_cli(
        d,
        &[
            "deploy",
            "app",
            "2.0.0",
            "--steps",
            "50,100",
            "--period-secs",
            "4",
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
    assert_eq!(denied.connections(), 0, "no connection to a denied host");
    outputs.push(out);

    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let denials = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                r#"wasm_outbound_requests_total{module="app@2.0.0",outcome="not_granted"}"#,
            )
        })
        .unwrap_or_else(|| panic!("no denials counted: {metrics}"));
    let count: f64 = denials.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{denials}");

    // The old version answers with the old values (revision 1's upstream).
    for _ in 0..5 {
        let answer = get().await.unwrap();
        assert!(
            answer.starts_with("hi ") && answer.ends_with(" status 200 upstream saw /"),
            "{answer}"
        );
    }

    // Nothing shows the secret: not the API, the CLI, the logs or the files.
    let api = Api::new(
        url.clone(),
        std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap(),
    );
    let mut bodies: Vec<String> = Vec::new();
    for path in [
        "/api/v1/wasm/configs/app",
        "/api/v1/wasm/configs/app/1",
        "/api/v1/wasm/configs/app/2",
        "/api/v1/wasm/deployments",
        "/api/v1/wasm/modules",
        "/api/v1/wasm/nodes",
        "/api/v1/wasm/routes",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        bodies.push(body.to_string());
    }
    let (_, listed) = api.get("/api/v1/wasm/deployments").await;
    for d in listed["items"].as_array().unwrap() {
        let (_, view) = api
            .get(&format!(
                "/api/v1/wasm/deployments/{}",
                d["id"].as_str().unwrap()
            ))
            .await;
        bodies.push(view.to_string());
    }
    assert!(bodies.len() > 8, "every deployment's view was read");
    outputs.push(run_cli(
        d,
        &["config", "show", "app", "--revision", "1"],
        &env,
    ));
    outputs.push(run_cli(d, &["config", "show", "app", "--json"], &env));
    outputs.push(metrics);
    outputs.push(serve.log_text());
    assert!(
        serve.log_text().contains("configuration revision stored"),
        "the log is the one the server writes"
    );
    for text in bodies.iter().chain(&outputs) {
        assert!(!text.contains("never-in-the-clear"), "shown: {text}");
    }
    let stored = files(&d.join("hotswap-data"));
    assert!(
        stored.iter().any(|(name, _)| name.ends_with("hotswap.db")),
        "{:?}",
        stored.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &stored {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{name} holds the secret in the clear"
        );
    }
}

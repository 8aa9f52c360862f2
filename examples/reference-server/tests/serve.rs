//! The same story on `hotswap serve` with its embedded defaults (SQLite
//! and a folder under ./hotswap-data), driven by the CLI as a user would:
//! push, deploy and call; a canary to a failing version rolls back by
//! itself; a regional rollout finishes; a version the node cannot load
//! fails with the node's reason in `rollout status`; and after a restart
//! the data and the serving version are still there.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use hotswap_testkit::fixtures;
use serde_json::json;
use support::{Api, Proc, Traffic, failing_wat, free_port, run_cli, try_cli};

fn start(dir: &Path, port: u16) -> Proc {
    Proc::spawn(
        "serve",
        dir,
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--ingress".into(),
            "127.0.0.1:0".into(),
            "--heartbeat-secs".into(),
            "1".into(),
            "--tick-ms".into(),
            "200".into(),
        ],
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_whole_story_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut serve = start(d, port);
    let probe = Api::new(url.clone(), String::new());
    probe.wait_up(&serve).await;
    // The printed token is the one written for the CLI.
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    assert!(
        serve.log_text().contains(&token),
        "serve prints its admin token"
    );
    let api = Api::new(url.clone(), token);
    // Without HOTSWAP_TOKEN the CLI uses ./hotswap-data/admin-token.
    let env = [("HOTSWAP_URL", url.clone())];

    std::fs::write(d.join("calc-1.wat"), fixtures::numeric_wat(1)).unwrap();
    std::fs::write(d.join("calc-2.wat"), failing_wat(2)).unwrap();
    std::fs::write(d.join("calc-3.wat"), fixtures::numeric_wat(3)).unwrap();
    for v in 1..=3 {
        run_cli(
            d,
            &[
                "module",
                "push",
                &format!("calc-{v}.wat"),
                "--name",
                "calc",
                "--version",
                &format!("{v}.0.0"),
            ],
            &env,
        );
    }
    let list = run_cli(d, &["module", "list"], &env);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("calc")).count(),
        3,
        "{list}"
    );
    let (ok, _, err) = try_cli(
        d,
        &[
            "module",
            "push",
            "calc-1.wat",
            "--name",
            "calc",
            "--version",
            "1.0.0",
        ],
        &env,
    );
    assert!(!ok && err.contains("already exists"), "{err}");

    let out = run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);
    assert!(out.contains("Succeeded"), "{out}");
    let out = run_cli(d, &["call", "calc", "add", "2", "3"], &env);
    assert_eq!(out.trim(), "5");
    let nodes = run_cli(d, &["nodes"], &env);
    assert!(
        nodes.contains("local") && nodes.contains("healthy") && nodes.contains("calc@1.0.0"),
        "{nodes}"
    );

    // The local node's agent serves execute directly, to node and
    // control-plane tokens only.
    let secret = d
        .join("hotswap-data/dev-secret")
        .to_string_lossy()
        .into_owned();
    let cp_token = run_cli(
        d,
        &[
            "token",
            "--subject",
            "test",
            "--role",
            "control_plane",
            "--jwt-secret-file",
            &secret,
        ],
        &[],
    );
    let agent = Api::new(url.clone(), cp_token.trim().to_owned());
    let (status, body) = agent
        .post(
            "/agent/v1/execute",
            &json!({"module": "calc", "function": "add", "args": [40, 2]}),
        )
        .await;
    assert_eq!((status, body["result"].clone()), (200, json!(42)), "{body}");
    assert_eq!(
        api.post(
            "/agent/v1/execute",
            &json!({"module": "calc", "function": "add", "args": [1, 1]})
        )
        .await
        .0,
        403
    );

    // A canary to the failing v2 rolls back by itself; --watch says so and fails.
    let traffic = Traffic::start(&api, 3);
    let (ok, out, err) = try_cli(
        d,
        &[
            "deploy",
            "calc",
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
    assert!(
        !ok,
        "a rolled back deployment fails the command:\n{out}\n{err}"
    );
    assert!(err.contains("RolledBack"), "{out}\n{err}");
    assert!(good > 0 && bad > 0, "{good} {bad}");
    assert_eq!(
        run_cli(d, &["call", "calc", "add", "2", "3"], &env).trim(),
        "5"
    );

    // A regional rollout of v3 (the local node's region is `local`).
    let traffic = Traffic::start(&api, 3);
    let out = run_cli(
        d,
        &[
            "deploy",
            "calc",
            "3.0.0",
            "--strategy",
            "regional",
            "--regions",
            "local",
            "--steps",
            "50,100",
            "--period-secs",
            "2",
            "--min-samples",
            "10",
            "--max-p99-ratio",
            "1000",
            "--watch",
        ],
        &env,
    );
    traffic.stop().await;
    assert!(out.contains("Succeeded"), "{out}");
    assert_eq!(run_cli(d, &["call", "calc", "version"], &env).trim(), "3");
    let (_, deps) = api.get("/api/v1/wasm/deployments").await;
    let last = deps["items"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = run_cli(d, &["rollout", "status", &last], &env);
    assert!(
        status.contains("Succeeded") && status.contains("events:"),
        "{status}"
    );

    // A version the node cannot load fails its deployment, and rollout
    // status names the node and its reason: the import the node lacks.
    std::fs::write(
        d.join("needs.wat"),
        r#"(module (import "env" "missing_host_fn" (func)) (func (export "f")))"#,
    )
    .unwrap();
    let push = ["module", "push", "needs.wat", "--name", "needs"];
    run_cli(d, &[&push[..], &["--version", "1.0.0"]].concat(), &env);
    let (ok, out, err) = try_cli(d, &["deploy", "needs", "1.0.0", "--watch"], &env);
    assert!(!ok, "a failed deployment fails the command:\n{out}\n{err}");
    let (_, deps) = api.get("/api/v1/wasm/deployments?module=needs").await;
    let id = deps["items"][0]["id"].as_str().unwrap().to_owned();
    let status = run_cli(d, &["rollout", "status", &id], &env);
    assert!(status.contains("DistributionFailed"), "{status}");
    for needed in ["local: ", "missing_host_fn"] {
        let reason = status.lines().find(|l| l.starts_with("reason:")).unwrap();
        assert!(reason.contains(needed), "{status}");
        let event = status.lines().find(|l| l.contains("LoadFailed")).unwrap();
        assert!(event.contains(needed), "{status}");
    }

    // Restart: the versions and the serving version come back.
    serve.kill();
    let mut serve = start(d, port);
    probe.wait_up(&serve).await;
    let out = support::eventually(
        "the restarted node to serve v3",
        Duration::from_secs(30),
        || async {
            let (status, body) = api
                .post(
                    "/api/v1/wasm/execute",
                    &json!({"module": "calc", "function": "version"}),
                )
                .await;
            (status == 200).then_some(body)
        },
    )
    .await;
    assert_eq!(out["result"], 3, "{out}");
    let list = run_cli(d, &["module", "list"], &env);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("calc")).count(),
        3,
        "{list}"
    );
    serve.kill();
}

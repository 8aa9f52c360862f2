//! The whole platform as separate processes on loopback: a control plane on
//! PostgreSQL and an S3-compatible server, three edge nodes in two regions.
//! It pushes v1 and deploys it, calls through the control plane and on an
//! edge directly, rolls a canary to a failing v2 and sees it roll back by
//! itself, rolls a good v3 out region by region to the end, and kills an
//! edge node mid-rollout to see it marked unhealthy and left out.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use hotswap_http::auth::Role;
use hotswap_testkit::fixtures;
use serde_json::json;
use support::{
    Api, Proc, SECRET, Traffic, eventually, failing_wat, free_port, run_cli, token, wait_phase,
};

async fn node_status(api: &Api, name: &str) -> Option<(String, String)> {
    let (_, nodes) = api.get("/api/v1/wasm/nodes").await;
    nodes["items"].as_array()?.iter().find_map(|n| {
        (n["name"] == name).then(|| {
            (
                n["id"].as_str().unwrap_or_default().to_owned(),
                n["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_postgres_and_s3_rolls_out_rolls_back_and_survives_a_dead_node() {
    let Some(pg) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(s3) = hotswap_testkit::service_env("HOTSWAP_TEST_S3_ENDPOINT") else {
        return;
    };
    let run = format!("e2e{}", uuid_suffix());
    let dir = tempfile::tempdir().unwrap();
    let (shared, cp_env) = fleet_env(&run, pg, s3);
    let cp_port = free_port();
    let cp_url = format!("http://127.0.0.1:{cp_port}");
    let cp = Proc::spawn(
        "control-plane",
        dir.path(),
        &[
            "control-plane".into(),
            "--listen".into(),
            format!("127.0.0.1:{cp_port}"),
        ],
        &cp_env,
    );
    let admin = Api::new(cp_url.clone(), token("e2e-admin", &[Role::Admin]));
    admin.wait_up(&cp).await;
    assert_eq!(admin.get("/readyz").await.0, 200, "{}", cp.log_text());

    let mut edges = Vec::new();
    let mut edge_urls = Vec::new();
    for (name, region) in [("eu-1", "eu"), ("eu-2", "eu"), ("us-1", "us")] {
        let port = free_port();
        let args: Vec<String> = [
            "edge",
            "--control-plane",
            &cp_url,
            "--name",
            name,
            "--region",
            region,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        edges.push(Proc::spawn(name, dir.path(), &args, &shared));
        edge_urls.push(format!("http://127.0.0.1:{port}"));
    }
    for name in ["eu-1", "eu-2", "us-1"] {
        eventually(
            &format!("{name} to be healthy"),
            Duration::from_secs(60),
            || async {
                node_status(&admin, name)
                    .await
                    .filter(|(_, s)| s == "healthy")
            },
        )
        .await;
    }

    // Push v1 with the CLI and deploy it everywhere.
    let cli_env = vec![
        ("HOTSWAP_URL", cp_url.clone()),
        ("HOTSWAP_TOKEN", admin.token.clone()),
    ];
    std::fs::write(dir.path().join("calc-1.wat"), fixtures::numeric_wat(1)).unwrap();
    std::fs::write(dir.path().join("calc-2.wat"), failing_wat(2)).unwrap();
    std::fs::write(dir.path().join("calc-3.wat"), fixtures::numeric_wat(3)).unwrap();
    for v in 1..=3 {
        let out = run_cli(
            dir.path(),
            &[
                "module",
                "push",
                &format!("calc-{v}.wat"),
                "--name",
                "calc",
                "--version",
                &format!("{v}.0.0"),
            ],
            &cli_env,
        );
        assert!(out.contains(&format!("registered calc@{v}.0.0")), "{out}");
    }
    let out = run_cli(
        dir.path(),
        &["deploy", "calc", "1.0.0", "--watch"],
        &cli_env,
    );
    assert!(out.contains("Succeeded"), "{out}");

    // Calls through the control plane, and on an edge directly.
    let (status, body) = admin
        .post(
            "/api/v1/wasm/execute",
            &json!({"module": "calc", "function": "add", "args": [2, 3]}),
        )
        .await;
    assert_eq!(
        (status, body["result"].clone(), body["version"].clone()),
        (200, json!(5), json!("1.0.0")),
        "{body}"
    );
    let edge = Api::new(edge_urls[2].clone(), token("e2e-cp", &[Role::ControlPlane]));
    let (status, body) = edge
        .post(
            "/agent/v1/execute",
            &json!({"module": "calc", "function": "add", "args": [20, 22]}),
        )
        .await;
    assert_eq!((status, body["result"].clone()), (200, json!(42)), "{body}");
    let viewer = Api::new(edge_urls[2].clone(), token("e2e-viewer", &[Role::Viewer]));
    assert_eq!(
        viewer.get("/agent/v1/state").await.0,
        403,
        "edges accept only node and control-plane tokens"
    );

    // A canary to a v2 whose add traps rolls back by itself.
    let traffic = Traffic::start(&admin, 4);
    let (status, created) = admin
        .post(
            "/api/v1/wasm/deployments",
            &json!({"module": "calc", "to_version": "2.0.0", "start": true,
                    "strategy": {"type": "canary", "steps": [20, 50, 100], "evaluation_period_secs": 3},
                    "health": {"min_samples": 20, "max_error_rate": 0.05, "max_p99_ratio": 1000.0}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let view = wait_phase(&admin, &id, "rolled_back", Duration::from_secs(90)).await;
    let (ok, failed) = traffic.stop().await;
    assert!(
        ok > 0 && failed > 0,
        "traffic reached both versions: {ok} ok, {failed} failed"
    );
    assert_eq!(
        view["deployment"]["reason"]["code"], "health_check_failed",
        "{:#}",
        view["deployment"]
    );
    let (_, body) = admin
        .post(
            "/api/v1/wasm/execute",
            &json!({"module": "calc", "function": "add", "args": [2, 3]}),
        )
        .await;
    assert_eq!(
        (body["result"].clone(), body["version"].clone()),
        (json!(5), json!("1.0.0")),
        "{body}"
    );

    // A regional rollout of v3; eu-2 dies on the way.
    let traffic = Traffic::start(&admin, 4);
    let (status, created) = admin
        .post(
            "/api/v1/wasm/deployments",
            &json!({"module": "calc", "to_version": "3.0.0", "start": true,
                    "strategy": {"type": "regional", "regions": ["eu", "us"], "inter_region_wait_secs": 2,
                                 "inner": {"type": "canary", "steps": [50, 100], "evaluation_period_secs": 3}},
                    "health": {"min_samples": 10, "max_p99_ratio": 1000.0}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    edges[1].kill();
    let unhealthy = eventually(
        "eu-2 to be marked unhealthy",
        Duration::from_secs(30),
        || async {
            node_status(&admin, "eu-2")
                .await
                .filter(|(_, s)| s == "unhealthy")
        },
    )
    .await;
    let view = wait_phase(&admin, &id, "succeeded", Duration::from_secs(120)).await;
    let (ok, _failed) = traffic.stop().await;
    assert!(ok > 0);
    let nodes = view["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|n| n["name"] != "eu-2" || n["status"] != "healthy"),
        "{nodes:#?}"
    );
    for n in nodes.iter().filter(|n| n["status"] == "healthy") {
        assert_eq!(n["has_new"], true, "{n}");
    }
    let (_, health) = admin
        .get(&format!("/api/v1/wasm/nodes/{}/health", unhealthy.0))
        .await;
    assert_eq!(health["status"], "unhealthy", "{health}");
    for _ in 0..10 {
        let (status, body) = admin
            .post(
                "/api/v1/wasm/execute",
                &json!({"module": "calc", "function": "version"}),
            )
            .await;
        assert_eq!((status, body["result"].clone()), (200, json!(3)), "{body}");
        assert_ne!(body["node"], "eu-2");
    }
    // Every process exposes metrics promtool accepts; the control plane
    // counts the dead node, the edges their calls.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let scrape = |base: String| async move {
        reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let cp_metrics = scrape(cp_url.clone()).await;
    assert!(
        cp_metrics.contains(r#"wasm_edge_nodes{region="eu",status="unhealthy"} 1"#),
        "{cp_metrics}"
    );
    assert!(
        cp_metrics.contains(
            r#"wasm_deployments_executed_total{strategy="canary",outcome="rolled_back"} 1"#
        ),
        "{cp_metrics}"
    );
    support::promtool_check(&cp_metrics);
    for url in [&edge_urls[0], &edge_urls[2]] {
        let m = scrape(url.clone()).await;
        assert!(
            m.contains(
                "wasm_functions_invoked_total{module=\"calc\",version=\"3.0.0\",outcome=\"ok\"}"
            ),
            "{m}"
        );
        support::promtool_check(&m);
    }

    // SIGTERM: the node says it is draining before it goes.
    let pid = edges[2].child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    eventually(
        "us-1 to report draining",
        Duration::from_secs(20),
        || async {
            node_status(&admin, "us-1")
                .await
                .filter(|(_, s)| s == "draining")
        },
    )
    .await;
    let exit = edges[2].child.wait().unwrap();
    assert!(exit.success(), "a drained edge exits cleanly: {exit:?}");
    drop(edges);
    drop(cp);
}

/// HTTP on a fleet: a route made over the API is stored in Postgres and
/// pushed to both edge nodes, each node's ingress answers on it, and the
/// control plane forwards a request for the route to a node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes_reach_every_node_and_the_control_plane_forwards_to_one() {
    let Some(pg) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(s3) = hotswap_testkit::service_env("HOTSWAP_TEST_S3_ENDPOINT") else {
        return;
    };
    let run = format!("http{}", uuid_suffix());
    let dir = tempfile::tempdir().unwrap();
    let (shared, cp_env) = fleet_env(&run, pg, s3);
    let (cp_port, forward_port) = (free_port(), free_port());
    let cp_url = format!("http://127.0.0.1:{cp_port}");
    let cp = Proc::spawn(
        "control-plane",
        dir.path(),
        &[
            "control-plane".into(),
            "--listen".into(),
            format!("127.0.0.1:{cp_port}"),
            "--forward".into(),
            format!("127.0.0.1:{forward_port}"),
        ],
        &cp_env,
    );
    let admin = Api::new(cp_url.clone(), token("e2e-admin", &[Role::Admin]));
    admin.wait_up(&cp).await;
    let mut edges = Vec::new();
    let mut ingresses = Vec::new();
    for name in ["web-1", "web-2"] {
        let (port, ingress) = (free_port(), free_port());
        let args: Vec<String> = [
            "edge",
            "--control-plane",
            &cp_url,
            "--name",
            name,
            "--region",
            "eu",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--ingress",
            &format!("127.0.0.1:{ingress}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        edges.push(Proc::spawn(name, dir.path(), &args, &shared));
        ingresses.push(format!("http://127.0.0.1:{ingress}"));
    }
    for name in ["web-1", "web-2"] {
        eventually(
            &format!("{name} healthy"),
            Duration::from_secs(60),
            || async {
                node_status(&admin, name)
                    .await
                    .filter(|(_, s)| s == "healthy")
            },
        )
        .await;
    }
    let cli_env = vec![
        ("HOTSWAP_URL", cp_url.clone()),
        ("HOTSWAP_TOKEN", admin.token.clone()),
    ];
    let hello = hotswap_testkit::http_components::hello("hello from the fleet");
    std::fs::write(dir.path().join("hello.wasm"), hello).unwrap();
    let d = dir.path();
    run_cli(
        d,
        &[
            "module",
            "push",
            "hello.wasm",
            "--name",
            "hello",
            "--version",
            "1.0.0",
        ],
        &cli_env,
    );
    let out = run_cli(d, &["deploy", "hello", "1.0.0", "--watch"], &cli_env);
    assert!(out.contains("Succeeded"), "{out}");
    let out = run_cli(
        d,
        &[
            "route",
            "add",
            "--host",
            "hello.test",
            "--path",
            "/greet",
            "--module",
            "hello",
        ],
        &cli_env,
    );
    assert!(out.contains("on 2 node(s)"), "pushed to both nodes: {out}");
    let (status, set) = admin.get("/api/v1/wasm/routes").await;
    assert_eq!(
        (status, set["routes"][0]["host"].clone()),
        (200, json!("hello.test"))
    );

    let http = reqwest::Client::new();
    let get = |base: &str, host: &str, path: &str| {
        http.get(format!("{base}{path}"))
            .header("host", host)
            .send()
    };
    for base in &ingresses {
        let r = get(base, "hello.test", "/greet/you").await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
        assert_eq!(r.text().await.unwrap(), "hello from the fleet");
        assert_eq!(get(base, "hello.test", "/").await.unwrap().status(), 404);
    }
    // Forwarded by the control plane, once the heartbeats say where the
    // module is loaded.
    let forward = format!("http://127.0.0.1:{forward_port}");
    let body = eventually("a forwarded answer", Duration::from_secs(20), || async {
        let r = get(&forward, "hello.test", "/greet").await.ok()?;
        (r.status() == 200).then_some(r.text().await.ok()?)
    })
    .await;
    assert_eq!(body, "hello from the fleet");
    let r = get(&forward, "nobody.test", "/greet").await.unwrap();
    assert_eq!(r.status(), 404);
    drop(edges);
}

/// Variables for a child process.
type Env = Vec<(&'static str, String)>;

/// The environment every process of a fleet shares (secret, S3 under a
/// prefix of this run, 1 s heartbeats), and the control plane's on top
/// (Postgres in a schema of this run, fast health and ticks).
fn fleet_env(run: &str, pg: String, s3: String) -> (Env, Env) {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let shared = vec![
        ("HOTSWAP_JWT_SECRET", SECRET.to_owned()),
        ("HOTSWAP_S3_BUCKET", var("HOTSWAP_TEST_S3_BUCKET")),
        ("HOTSWAP_S3_ENDPOINT", s3),
        (
            "HOTSWAP_S3_ACCESS_KEY_ID",
            var("HOTSWAP_TEST_S3_ACCESS_KEY"),
        ),
        (
            "HOTSWAP_S3_SECRET_ACCESS_KEY",
            var("HOTSWAP_TEST_S3_SECRET_KEY"),
        ),
        ("HOTSWAP_S3_PREFIX", run.to_owned()),
        ("HOTSWAP_HEARTBEAT_SECS", "1".to_owned()),
    ];
    let mut cp_env = shared.clone();
    cp_env.extend([
        ("HOTSWAP_DATABASE_URL", pg),
        ("HOTSWAP_DATABASE_SCHEMA", run.to_owned()),
        ("HOTSWAP_UNHEALTHY_AFTER_SECS", "3".to_owned()),
        ("HOTSWAP_OFFLINE_AFTER_SECS", "60".to_owned()),
        ("HOTSWAP_TICK_MS", "200".to_owned()),
    ]);
    (shared, cp_env)
}

fn uuid_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 0xffff_ffff
    )
}

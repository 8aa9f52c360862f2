//! Chaos on real processes, each scenario with its outcome checked:
//! PostgreSQL stopped for 10 s (503 problems, nothing lost, recovery by
//! itself); the S3-compatible server stopped (registration fails cleanly
//! and writes no row); the control plane killed mid-rollout and started
//! again (the rollout resumes and finishes); an edge node killed mid-canary
//! under the pause policy (the rollout pauses, nothing is lost, and it
//! finishes once the node is back); a full edge pool (429 at once, and
//! 503 naming the node through the control plane, not a hang).
//!
//! Each scenario starts its own PostgreSQL and s3s-fs so it can stop them.
//! They run one at a time. `scripts/chaos.sh` runs this file.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use hotswap_http::auth::Role;
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{
    Api, LocalPostgres, LocalS3, Proc, SECRET, Traffic, eventually, free_port, token, wait_phase,
    wait_traffic,
};

/// One scenario at a time: they stop servers and time node health.
static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(Default::default);

struct ControlPlane {
    proc: Proc,
    port: u16,
    env: Vec<(&'static str, String)>,
    api: Api,
}

fn common() -> Vec<(&'static str, String)> {
    vec![
        ("HOTSWAP_JWT_SECRET", SECRET.to_owned()),
        ("HOTSWAP_HEARTBEAT_SECS", "1".to_owned()),
    ]
}

impl ControlPlane {
    async fn start(dir: &Path, database: String, storage: Vec<(&'static str, String)>) -> Self {
        let mut env = common();
        env.extend(storage);
        env.extend([
            ("HOTSWAP_DATABASE_URL", database),
            ("HOTSWAP_REPLICA", "cp-1".to_owned()),
            ("HOTSWAP_UNHEALTHY_AFTER_SECS", "3".to_owned()),
            ("HOTSWAP_OFFLINE_AFTER_SECS", "120".to_owned()),
            ("HOTSWAP_TICK_MS", "200".to_owned()),
        ]);
        let port = free_port();
        let proc = Self::spawn(dir, port, &env);
        let api = Api::new(
            format!("http://127.0.0.1:{port}"),
            token("chaos-admin", &[Role::Admin]),
        );
        api.wait_up(&proc).await;
        Self {
            proc,
            port,
            env,
            api,
        }
    }

    fn spawn(dir: &Path, port: u16, env: &[(&'static str, String)]) -> Proc {
        Proc::spawn(
            "control-plane",
            dir,
            &[
                "control-plane".into(),
                "--listen".into(),
                format!("127.0.0.1:{port}"),
            ],
            env,
        )
    }

    /// Kill -9 and start again on the same port and configuration.
    async fn restart(&mut self, dir: &Path) {
        self.proc.kill();
        self.proc = Self::spawn(dir, self.port, &self.env);
        self.api.wait_up(&self.proc).await;
    }

    fn url(&self) -> String {
        self.api.base.clone()
    }

    async fn push(&self, version: &str, wat: String, query: &str) -> (u16, Value) {
        let resp = self
            .api
            .http
            .post(format!(
                "{}/api/v1/wasm/modules?name=calc&version={version}{query}",
                self.api.base
            ))
            .bearer_auth(&self.api.token)
            .header("content-type", "application/wasm")
            .body(wat::parse_str(&wat).unwrap())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            assert_eq!(ct.as_deref(), Some("application/problem+json"), "{body}");
        }
        (status, body)
    }

    async fn versions(&self) -> Vec<String> {
        let (status, page) = self.api.get("/api/v1/wasm/modules?name=calc").await;
        assert_eq!(status, 200, "{page}");
        let mut v: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["version"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    }

    async fn deploy(&self, body: Value) -> String {
        let (status, d) = self.api.post("/api/v1/wasm/deployments", &body).await;
        assert_eq!(status, 201, "{d}");
        d["id"].as_str().unwrap().to_owned()
    }
}

fn edge(dir: &Path, cp: &str, name: &str, port: u16, extra: &[(&'static str, String)]) -> Proc {
    let mut env = common();
    env.extend(extra.iter().cloned());
    Proc::spawn(
        name,
        dir,
        &[
            "edge",
            "--control-plane",
            cp,
            "--name",
            name,
            "--region",
            "eu",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]
        .map(String::from),
        &env,
    )
}

async fn status_of(api: &Api, name: &str) -> Option<String> {
    let (_, nodes) = api.get("/api/v1/wasm/nodes").await;
    nodes["items"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == name)
        .and_then(|n| n["status"].as_str().map(str::to_owned))
}

async fn healthy(api: &Api, names: &[&str]) {
    for name in names {
        eventually(
            &format!("{name} healthy"),
            Duration::from_secs(60),
            || async { (status_of(api, name).await.as_deref() == Some("healthy")).then_some(()) },
        )
        .await;
    }
}

/// A control plane on `pg` with edge nodes eu-1 and eu-2 on `ports`,
/// calc 1.0.0 deployed to both and 2.0.0 registered.
async fn two_nodes_serving_v1(
    dir: &Path,
    pg: &LocalPostgres,
    ports: [u16; 2],
) -> (ControlPlane, Vec<Proc>) {
    let cp = ControlPlane::start(dir, pg.url(), folder(dir)).await;
    let storage = folder(dir);
    let edges = vec![
        edge(dir, &cp.url(), "eu-1", ports[0], &storage),
        edge(dir, &cp.url(), "eu-2", ports[1], &storage),
    ];
    healthy(&cp.api, &["eu-1", "eu-2"]).await;
    cp.push("1.0.0", fixtures::numeric_wat(1), "").await;
    cp.push("2.0.0", fixtures::numeric_wat(2), "").await;
    let first = cp
        .deploy(json!({"module": "calc", "to_version": "1.0.0", "start": true}))
        .await;
    wait_phase(&cp.api, &first, "succeeded", Duration::from_secs(60)).await;
    (cp, edges)
}

fn folder(dir: &Path) -> Vec<(&'static str, String)> {
    vec![(
        "HOTSWAP_STORAGE_DIR",
        dir.join("modules").to_string_lossy().into_owned(),
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_ten_seconds_is_503_then_recovers_with_nothing_lost() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = LocalPostgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(dir.path(), pg.url(), folder(dir.path())).await;
    assert_eq!(cp.push("1.0.0", fixtures::numeric_wat(1), "").await.0, 201);

    pg.down();
    let down_at = Instant::now();
    let (status, body) = cp.api.get("/api/v1/wasm/modules").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "https://hotswap.dev/problems/unavailable");
    let (status, body) = cp.push("2.0.0", fixtures::numeric_wat(2), "").await;
    assert_eq!(
        status, 503,
        "a registration while the database is away: {body}"
    );
    assert_eq!(cp.api.get("/readyz").await.0, 503);
    assert_eq!(
        cp.api.get("/healthz").await.0,
        200,
        "the process stays alive"
    );
    let rest = Duration::from_secs(10).saturating_sub(down_at.elapsed());
    tokio::time::sleep(rest).await;
    pg.up();

    // It recovers by itself: no restart of the control plane.
    eventually(
        "the API to answer again",
        Duration::from_secs(30),
        || async { (cp.api.get("/readyz").await.0 == 200).then_some(()) },
    )
    .await;
    assert_eq!(
        cp.versions().await,
        ["1.0.0"],
        "nothing lost, nothing half-written"
    );
    assert_eq!(cp.push("2.0.0", fixtures::numeric_wat(2), "").await.0, 201);
    assert_eq!(cp.versions().await, ["1.0.0", "2.0.0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_stopped_fails_registration_cleanly_and_writes_no_row() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = LocalPostgres::start() else {
        return;
    };
    let Some(mut s3) = LocalS3::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(dir.path(), pg.url(), s3.env()).await;
    assert_eq!(cp.push("1.0.0", fixtures::numeric_wat(1), "").await.0, 201);
    s3.down();
    let (status, body) = cp.push("2.0.0", fixtures::numeric_wat(2), "").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    assert_eq!(
        cp.versions().await,
        ["1.0.0"],
        "no row for the refused version"
    );
    s3.up();
    assert_eq!(cp.push("2.0.0", fixtures::numeric_wat(2), "").await.0, 201);
    assert_eq!(cp.versions().await, ["1.0.0", "2.0.0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_killed_mid_rollout_resumes_it_after_a_restart() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = LocalPostgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut cp, _edges) = two_nodes_serving_v1(dir.path(), &pg, [free_port(), free_port()]).await;

    let traffic = Traffic::start(&cp.api, 2);
    let id = cp
        .deploy(
            json!({"module": "calc", "to_version": "2.0.0", "start": true,
            "strategy": {"type": "canary", "steps": [30, 60, 100], "evaluation_period_secs": 3},
            "health": {"min_samples": 5, "max_p99_ratio": 1000.0}}),
        )
        .await;
    wait_traffic(&cp.api, &id, 30).await;
    cp.restart(dir.path()).await;
    let view = wait_phase(&cp.api, &id, "succeeded", Duration::from_secs(90)).await;
    traffic.stop().await;
    let events = view["events"].as_array().unwrap();
    let started = events.iter().filter(|e| e["message"] == "started").count();
    assert_eq!(started, 1, "resumed, not started again: {events:#?}");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "one unbroken event log: {seqs:?}"
    );
    let (_, out) = cp
        .api
        .post(
            "/api/v1/wasm/execute",
            &json!({"module": "calc", "function": "version"}),
        )
        .await;
    assert_eq!(out["result"], 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_killed_mid_canary_pauses_it_and_it_finishes_when_the_node_is_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = LocalPostgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e2_port = free_port();
    let (cp, mut edges) = two_nodes_serving_v1(dir.path(), &pg, [free_port(), e2_port]).await;
    let storage = folder(dir.path());

    let traffic = Traffic::start(&cp.api, 2);
    let id = cp
        .deploy(
            json!({"module": "calc", "to_version": "2.0.0", "start": true, "stale_nodes": "pause",
            "strategy": {"type": "canary", "steps": [50, 100], "evaluation_period_secs": 4},
            "health": {"min_samples": 5, "max_p99_ratio": 1000.0}}),
        )
        .await;
    wait_traffic(&cp.api, &id, 50).await;
    edges[1].kill();
    let view = wait_phase(&cp.api, &id, "paused", Duration::from_secs(30)).await;
    assert_eq!(
        view["deployment"]["reason"]["code"], "node_unhealthy",
        "{:#}",
        view["deployment"]
    );
    assert!(
        view["deployment"]["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("eu-2")
    );
    assert_eq!(cp.versions().await, ["1.0.0", "2.0.0"], "nothing lost");

    // The node comes back, rejoins and is reconciled; the rollout goes on.
    edges[1] = edge(dir.path(), &cp.url(), "eu-2", e2_port, &storage);
    healthy(&cp.api, &["eu-2"]).await;
    let (status, body) = cp
        .api
        .post(&format!("/api/v1/wasm/deployments/{id}/resume"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    wait_phase(&cp.api, &id, "succeeded", Duration::from_secs(60)).await;
    let (ok, _) = traffic.stop().await;
    assert!(ok > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_edge_pool_answers_at_once_instead_of_hanging() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("cp.db").display());
    let cp = ControlPlane::start(dir.path(), database, folder(dir.path())).await;
    let storage = folder(dir.path());
    let mut env = storage.clone();
    env.push(("HOTSWAP_WASMTIME_MAX_INSTANCES", "4".into()));
    env.push(("HOTSWAP_WASMTIME_QUEUE_CAPACITY", "0".into()));
    let port = free_port();
    let _e1 = edge(dir.path(), &cp.url(), "eu-1", port, &env);
    healthy(&cp.api, &["eu-1"]).await;
    // One instance at a time per version on the node.
    let (status, body) = cp
        .push(
            "1.0.0",
            fixtures::numeric_wat(1),
            "&max_concurrent_instances=1",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let first = cp
        .deploy(json!({"module": "calc", "to_version": "1.0.0", "start": true}))
        .await;
    wait_phase(&cp.api, &first, "succeeded", Duration::from_secs(60)).await;
    let slow = json!({"module": "calc", "function": "slow", "args": [2_000_000_000i64]});
    let api = cp.api.clone();
    let busy = tokio::spawn(async move { api.post("/api/v1/wasm/execute", &slow).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let agent = Api::new(
        format!("http://127.0.0.1:{port}"),
        token("chaos", &[Role::ControlPlane]),
    );
    let (status, body) = agent
        .post(
            "/agent/v1/execute",
            &json!({"module": "calc", "function": "add", "args": [1, 1]}),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = cp
        .api
        .post(
            "/api/v1/wasm/execute",
            &json!({"module": "calc", "function": "add", "args": [1, 1]}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("eu-1"),
        "names the node tried: {body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    let (status, _) = busy.await.unwrap();
    assert!(
        status == 200 || status == 504,
        "the running call finishes or times out: {status}"
    );
}

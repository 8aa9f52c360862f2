//! Three `hotswap control-plane` replicas on one PostgreSQL schema, one
//! edge node that reaches whichever of them answers.
//!
//! - Many clients create deployments of one module at once, through all
//!   three replicas: exactly one creation wins each round, and every
//!   loser's 409 names the deployment that exists. Creations and deletions
//!   of one version racing: exactly one of them wins, and no deleted
//!   version is ever rolled out. The database holds both, not a lock in a
//!   process.
//! - The replica driving a canary is killed mid-step: another takes the
//!   deployment over once the lease lapses (within the lease's time to
//!   live plus one tick of the kill), and the event log has no gap and no
//!   step twice.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use hotswap_http::auth::Role;
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{
    Api, Proc, SECRET, Traffic, eventually, free_port, push_module, run_cli, token, wait_phase,
};

type Env = Vec<(&'static str, String)>;

const LEASE_TTL_SECS: u64 = 3;
const TICK_MS: u64 = 250;

/// Replicas `cp-0`, `cp-1`, ... on one schema and one blob folder, and an
/// edge node given all their URLs.
struct Platform {
    replicas: Vec<Proc>,
    apis: Vec<Api>,
    edge: Proc,
    edge_api: Api,
    schema: String,
    pg: String,
    dir: tempfile::TempDir,
    cli_env: Env,
}

impl Platform {
    async fn start(pg: String, label: &str, count: usize) -> Platform {
        let schema = format!("replicas_{label}_{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs").display().to_string();
        let shared: Env = vec![
            ("HOTSWAP_JWT_SECRET", SECRET.to_owned()),
            ("HOTSWAP_HEARTBEAT_SECS", "1".to_owned()),
        ];
        let mut cp_env = shared.clone();
        cp_env.extend([
            ("HOTSWAP_DATABASE_URL", pg.clone()),
            ("HOTSWAP_DATABASE_SCHEMA", schema.clone()),
            ("HOTSWAP_STORAGE_DIR", blobs),
            ("HOTSWAP_UNHEALTHY_AFTER_SECS", "5".to_owned()),
            ("HOTSWAP_OFFLINE_AFTER_SECS", "60".to_owned()),
            ("HOTSWAP_TICK_MS", TICK_MS.to_string()),
            ("HOTSWAP_LEASE_TTL_SECS", LEASE_TTL_SECS.to_string()),
        ]);
        let (mut replicas, mut apis) = (Vec::new(), Vec::new());
        for i in 0..count {
            let port = free_port();
            let name = format!("cp-{i}");
            let args = [
                "control-plane",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--replica",
                &name,
            ]
            .map(String::from);
            let proc = Proc::spawn(&name, dir.path(), &args, &cp_env);
            let api = Api::new(
                format!("http://127.0.0.1:{port}"),
                token("admin", &[Role::Admin]),
            );
            // One at a time: the first migrates the schema.
            api.wait_up(&proc).await;
            replicas.push(proc);
            apis.push(api);
        }
        let urls: Vec<&str> = apis.iter().map(|a| a.base.as_str()).collect();
        let edge_port = free_port();
        let args = [
            "edge",
            "--control-plane",
            &urls.join(","),
            "--name",
            "edge-1",
            "--region",
            "eu",
            "--listen",
            &format!("127.0.0.1:{edge_port}"),
            "--ingress",
            "off",
        ]
        .map(String::from);
        let edge = Proc::spawn("edge-1", dir.path(), &args, &shared);
        let edge_api = Api::new(
            format!("http://127.0.0.1:{edge_port}"),
            token("control-plane", &[Role::ControlPlane]),
        );
        eventually("edge-1 to be healthy", Duration::from_secs(60), || async {
            let (_, nodes) = apis[0].get("/api/v1/wasm/nodes").await;
            (nodes["items"][0]["status"] == "healthy").then_some(())
        })
        .await;
        let cli_env = vec![
            ("HOTSWAP_URL", apis[0].base.clone()),
            ("HOTSWAP_TOKEN", apis[0].token.clone()),
        ];
        Platform {
            replicas,
            apis,
            edge,
            edge_api,
            schema,
            pg,
            dir,
            cli_env,
        }
    }

    /// Register calc@`version` (through replica `via`); its id.
    fn push(&self, version: &str, via: usize) -> String {
        let file = format!("calc-{version}.wat");
        std::fs::write(self.dir.path().join(&file), fixtures::numeric_wat(1)).unwrap();
        let mut env = self.cli_env.clone();
        env[0].1 = self.apis[via].base.clone();
        let out = push_module(self.dir.path(), &file, "calc", version, &env);
        assert!(out.contains(&format!("registered calc@{version}")), "{out}");
        out.split_whitespace()
            .skip_while(|w| *w != "id")
            .nth(1)
            .map(|id| id.trim_end_matches(')').to_owned())
            .unwrap_or_else(|| panic!("no id in {out}"))
    }

    /// The versions of calc registered now.
    async fn versions(&self) -> BTreeSet<String> {
        let (_, page) = self.apis[0]
            .get("/api/v1/wasm/modules?name=calc&limit=500")
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["version"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every deployment of calc, oldest first.
    async fn deployments(&self) -> Vec<Value> {
        let (_, page) = self.apis[0]
            .get("/api/v1/wasm/deployments?module=calc&limit=500")
            .await;
        page["items"].as_array().unwrap().clone()
    }
}

fn canary(version: &str, steps: &[u8], period_secs: u64) -> Value {
    json!({
        "module": "calc",
        "to_version": version,
        "start": true,
        "strategy": {"type": "canary", "steps": steps, "evaluation_period_secs": period_secs},
        "health": {"min_samples": 5},
    })
}

/// A request: its path, a body to POST (`None`: DELETE), and how long
/// after the others are let go it is sent.
type Request = (String, Option<Value>, Duration);

/// Send every request of `requests` at once, each from a client of its
/// own to replica `i % replicas`; their answers in order.
async fn all_at_once(apis: &[Api], requests: Vec<Request>) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, (path, body, delay))| {
            let replica = &apis[i % apis.len()];
            let api = Api::new(replica.base.clone(), replica.token.clone());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                tokio::time::sleep(delay).await;
                match body {
                    Some(body) => api.post(&path, &body).await,
                    None => api.delete(&path).await,
                }
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_let_exactly_one_creation_or_deletion_win() {
    let Some(pg) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
        return;
    };
    let p = Platform::start(pg, "race", 3).await;
    p.push("1.0.0", 0);
    let out = run_cli(
        p.dir.path(),
        &["deploy", "calc", "1.0.0", "--watch"],
        &p.cli_env,
    );
    assert!(out.contains("Succeeded"), "{out}");

    // Creations racing: one wins, every other names it.
    for round in 1..=5 {
        let version = format!("2.0.{round}");
        p.push(&version, round % 3);
        let body = canary(&version, &[50, 100], 60);
        let requests = (0..12)
            .map(|_| {
                let path = "/api/v1/wasm/deployments".to_owned();
                (path, Some(body.clone()), Duration::ZERO)
            })
            .collect();
        let answers = all_at_once(&p.apis, requests).await;
        let won: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == 201)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:#?}");
        let winner = won[0]["id"].as_str().unwrap();
        for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
            assert_eq!(*status, 409, "round {round}: {body}");
            assert!(
                body["detail"].as_str().unwrap().contains(winner),
                "round {round}: the loser names {winner}: {body}"
            );
        }
        let (status, view) = p.apis[(round + 1) % 3]
            .post(
                &format!("/api/v1/wasm/deployments/{winner}/abort"),
                &json!({}),
            )
            .await;
        assert_eq!(
            (status, view["deployment"]["phase"].as_str()),
            (200, Some("aborted")),
            "{view}"
        );
    }

    // Creations and deletions of one version racing: one of them wins.
    // The deletions leave a little later each round, so both kinds win
    // some rounds (a deletion does less work than a creation).
    let mut deleted = Vec::new();
    for round in 1..=6 {
        let version = format!("3.0.{round}");
        let id = p.push(&version, round % 3);
        let body = canary(&version, &[50, 100], 60);
        let requests = (0..12)
            .map(|i| match i % 2 {
                0 => (
                    "/api/v1/wasm/deployments".to_owned(),
                    Some(body.clone()),
                    Duration::ZERO,
                ),
                _ => (
                    format!("/api/v1/wasm/modules/{id}"),
                    None,
                    Duration::from_millis(4 * round as u64),
                ),
            })
            .collect();
        let answers = all_at_once(&p.apis, requests).await;
        let (creations, deletions): (Vec<_>, Vec<_>) =
            answers.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let created: Vec<&Value> = creations
            .iter()
            .filter(|(_, (s, _))| *s == 201)
            .map(|(_, (_, b))| b)
            .collect();
        let removed = deletions.iter().filter(|(_, (s, _))| *s == 204).count();
        match (created.len(), removed) {
            (1, 0) => {
                let winner = created[0]["id"].as_str().unwrap();
                for (_, (status, body)) in deletions {
                    assert_eq!(*status, 409, "round {round}: {body}");
                    assert!(
                        body["detail"].as_str().unwrap().contains(winner),
                        "round {round}: {body}"
                    );
                }
                let (status, _) = p.apis[0]
                    .post(
                        &format!("/api/v1/wasm/deployments/{winner}/abort"),
                        &json!({}),
                    )
                    .await;
                assert_eq!(status, 200);
            }
            (0, 1) => {
                for (_, (status, body)) in creations.iter().chain(&deletions) {
                    assert!(
                        matches!(*status, 204 | 404),
                        "round {round}: after the deletion, creations and other deletions \
                         find no version: {status} {body}"
                    );
                }
                deleted.push(version);
            }
            other => panic!("round {round}: not exactly one winner {other:?}: {answers:#?}"),
        }
    }

    // No deleted version was ever rolled out: no deployment names one,
    // and the node never loaded one.
    let registered = p.versions().await;
    for d in p.deployments().await {
        let v = d["to_version"].as_str().unwrap();
        assert!(registered.contains(v), "a deployment of deleted {v}: {d}");
    }
    let (_, nodes) = p.apis[1].get("/api/v1/wasm/nodes").await;
    for loaded in nodes["items"][0]["loaded"].as_array().unwrap() {
        let v = loaded["version"].as_str().unwrap();
        assert!(registered.contains(v), "the node holds deleted {v}");
    }
    let log = p.edge.log_text();
    for v in &deleted {
        assert!(!log.contains(&format!("calc@{v}")), "the node loaded {v}");
    }
    println!(
        "{} of 6 create-vs-delete rounds ended with the version deleted, {} with it deployed",
        deleted.len(),
        6 - deleted.len()
    );
}

/// Who holds the lease of deployment `id` and when it lapses, as the
/// database says; `None` while nobody holds it (between evaluations).
fn lease(p: &Platform, id: &str) -> Option<(String, DateTime<Utc>)> {
    let sql = format!(
        "SELECT lease_owner || ' ' || lease_expires_us FROM {}.deployments WHERE id = '{id}'",
        p.schema
    );
    let out = std::process::Command::new("psql")
        .args([p.pg.as_str(), "-tAc", &sql])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (owner, us) = text.split_once(' ')?;
    Some((
        owner.to_owned(),
        DateTime::from_timestamp_micros(us.parse().unwrap()).unwrap(),
    ))
}

/// Send `signal` (`STOP`, `CONT`) to `proc`.
fn signal(proc: &Proc, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), proc.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn at(event: &Value) -> DateTime<Utc> {
    event["at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_step_is_taken_over_once_its_lease_lapses() {
    let Some(pg) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
        return;
    };
    if support::tool("psql").is_none() {
        return;
    }
    let mut p = Platform::start(pg, "failover", 3).await;
    p.push("1.0.0", 0);
    p.push("2.0.0", 1);
    let out = run_cli(
        p.dir.path(),
        &["deploy", "calc", "1.0.0", "--watch"],
        &p.cli_env,
    );
    assert!(out.contains("Succeeded"), "{out}");
    let traffic = Traffic::start_at(&p.edge_api, "/agent/v1/execute", 2);

    let (status, created) = p.apis[0]
        .post(
            "/api/v1/wasm/deployments",
            &canary("2.0.0", &[20, 40, 60, 80, 100], 4),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/wasm/deployments/{id}");
    // Mid-rollout: the second step has started.
    eventually("the second step", Duration::from_secs(60), || async {
        let (_, view) = p.apis[1].get(&path).await;
        (view["deployment"]["progress"]["step"].as_u64() >= Some(1)).then_some(())
    })
    .await;
    // Freeze the node and ask replica cp-0, the one the node heartbeats
    // to, for the next step: it takes the lease, records the request and
    // waits on the node, mid-step. Kill it, then thaw the node, which
    // moves its heartbeats to the next replica.
    signal(&p.edge, "STOP");
    let promote = {
        let api = p.apis[0].clone();
        let path = format!("{path}/promote");
        tokio::spawn(async move { api.post(&path, &json!({})).await })
    };
    let (holder, expires) = eventually(
        "cp-0 holding the lease",
        Duration::from_secs(30),
        || async { lease(&p, &id).filter(|(owner, _)| owner == "cp-0") },
    )
    .await;
    let killed_at: DateTime<Utc> = SystemTime::now().into();
    p.replicas[0].kill();
    signal(&p.edge, "CONT");
    assert_eq!(promote.await.unwrap().0, 0, "cp-0 died before it answered");
    let survivor = &p.apis[1];

    let view = wait_phase(survivor, &id, "succeeded", Duration::from_secs(90)).await;
    let (ok, failed) = traffic.stop().await;
    assert!(ok > 0, "traffic reached the node");
    assert_eq!(failed, 0, "no call failed while the replicas changed");
    let events = view["events"].as_array().unwrap();
    assert!(
        p.edge
            .log_text()
            .contains("trying the next control-plane replica"),
        "the node moved its heartbeats off the dead replica"
    );

    // No gap: 1, 2, 3, ...
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    // No step twice: each traffic level was set once.
    let levels: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("step_started" | "traffic_shifted")))
        .map(|e| e["data"]["traffic_percent"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, [20, 40, 60, 80, 100], "each step once: {events:#?}");
    // Taken over by another replica, not before the lease lapsed, and
    // within the time to live plus one tick of the kill.
    let takeover = events
        .iter()
        .find(|e| at(e) > killed_at && e["data"]["replica"].is_string())
        .unwrap_or_else(|| panic!("no decision after the kill: {events:#?}"));
    assert_ne!(takeover["data"]["replica"], holder.as_str(), "{takeover}");
    assert!(
        at(takeover) >= expires,
        "{takeover} came before the lease lapsed at {expires}"
    );
    let waited = (at(takeover) - killed_at).to_std().unwrap();
    let bound = Duration::from_secs(LEASE_TTL_SECS) + Duration::from_millis(TICK_MS);
    println!(
        "replica {holder} killed; {} took over after {waited:?} (lease ttl {LEASE_TTL_SECS} s, tick {TICK_MS} ms; \
         the lease lapsed {:?} after the kill)",
        takeover["data"]["replica"],
        (expires - killed_at).to_std().unwrap_or_default(),
    );
    // A second of slack for a loaded machine's scheduling and queries.
    assert!(
        waited <= bound + Duration::from_secs(1),
        "took {waited:?}, more than {bound:?}"
    );
}

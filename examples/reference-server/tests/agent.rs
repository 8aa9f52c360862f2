//! The edge agent on wasmtime behind real HTTP, commanded by the control
//! plane's HTTP client: blobs handed over (digest-checked) or fetched from
//! storage, routing refused without changing anything, calls routed by
//! version, roles enforced, and graceful shutdown letting a running call
//! finish.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotswap_core::Error;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{
    Digest, EdgeNode, ModuleConfig, ModuleKind, NodeCapabilities, ResourceLimits, RoutingTable,
    RuntimeKind, WasmModule,
};
use hotswap_core::node::{Execution, NodeControl};
use hotswap_core::runtime::Invocation;
use hotswap_core::storage::{MemoryStorage, ModuleStorage};
use hotswap_edge::{EdgeAgent, EdgeHost, EdgeHostConfig};
use hotswap_http::agent::{self, AgentState};
use hotswap_http::auth::{AuthConfig, Role, TokenSigner, TokenSource, VerifyKey};
use hotswap_http::client::{ClientConfig, HttpNodeControl};
use hotswap_http::server::{self, ServerLimits};
use hotswap_http::system::Metrics;
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::{fixtures, sample};
use serde_json::json;

const SECRET: &[u8] = b"agent test secret, long enough for HS256";

struct Agent {
    node: EdgeNode,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn agent(storage: Option<Arc<dyn ModuleStorage>>) -> Agent {
    agent_with(
        storage,
        WasmtimeConfig::default().with_max_instances(16),
        ServerLimits::default(),
    )
    .await
}

async fn agent_with(
    storage: Option<Arc<dyn ModuleStorage>>,
    config: WasmtimeConfig,
    limits: ServerLimits,
) -> Agent {
    let runtime = WasmtimeRuntime::new(config).unwrap();
    let agent = Arc::new(EdgeAgent::new(
        Arc::new(EdgeHost::new(Arc::new(runtime), EdgeHostConfig::default())),
        storage,
    ));
    let auth = AuthConfig::new()
        .with_key(VerifyKey::Hs256 {
            kid: None,
            secret: SECRET.to_vec(),
        })
        .build()
        .unwrap();
    let app = agent::router(
        AgentState {
            name: "edge-1".into(),
            agent,
            auth: Arc::new(auth),
            metrics: Metrics::none(),
        },
        limits,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server::serve(listener, app, async move {
        let _ = rx.await;
    }));
    let node = EdgeNode::new(
        "edge-1",
        sample::region("eu"),
        format!("http://{addr}"),
        NodeCapabilities::new(RuntimeKind::Wasmtime, 1 << 30),
        chrono::Utc::now(),
    );
    Agent {
        node,
        shutdown: Some(tx),
        task,
    }
}

fn control(roles: &[Role], storage: Option<Arc<dyn ModuleStorage>>) -> HttpNodeControl {
    let signer = TokenSigner::hs256(SECRET).unwrap();
    let token = TokenSource::minted(signer, "cp-test", roles, Duration::from_secs(600));
    let c = HttpNodeControl::new(token, ClientConfig::default().with_retries(0)).unwrap();
    match storage {
        Some(s) => c.with_storage(s),
        None => c,
    }
}

/// The configuration of a module that reads none.
fn no_config() -> ModuleConfig {
    ModuleConfig::none(sample::name("calc"))
}

fn module(version: &str, bytes: &[u8]) -> WasmModule {
    WasmModule::new(
        sample::name("calc"),
        sample::version(version),
        Digest::of(bytes),
        bytes.len() as u64,
        ModuleKind::Core,
        "test",
        chrono::Utc::now(),
    )
}

/// A bearer token of the control_plane role, valid for a minute.
fn cp_token() -> String {
    TokenSigner::hs256(SECRET)
        .unwrap()
        .issue("cp", &[Role::ControlPlane], Duration::from_secs(60))
        .unwrap()
}

/// `POST /agent/v1/execute` on `node` over the socket, as a control plane.
async fn post_execute(node: &EdgeNode, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/agent/v1/execute", node.endpoint))
        .bearer_auth(cp_token())
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn add(a: i32, b: i32) -> Execution {
    Execution::new(sample::name("calc"), Invocation::json("add", json!([a, b])))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_handed_over_or_fetched_and_calls_are_routed() {
    // The control plane's storage holds both versions; the node has none.
    let cp_storage: Arc<dyn ModuleStorage> = Arc::new(MemoryStorage::new());
    let (v1, v2) = (fixtures::numeric(1), fixtures::numeric(2));
    cp_storage.put(v1.clone().into()).await.unwrap();
    cp_storage.put(v2.clone().into()).await.unwrap();
    let a = agent(None).await;
    let cp = control(&[Role::ControlPlane], Some(cp_storage.clone()));
    let loaded = cp
        .load(&a.node, &module("1.0.0", &v1), &no_config())
        .await
        .unwrap();
    assert_eq!(loaded.digest, Digest::of(&v1));
    // Without storage to hand over from, the node says what it lacks.
    let bare = control(&[Role::ControlPlane], None);
    let err = bare
        .load(&a.node, &module("2.0.0", &v2), &no_config())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: ResourceKind::ModuleBlob,
                ..
            }
        ),
        "{err}"
    );
    cp.load(&a.node, &module("2.0.0", &v2), &no_config())
        .await
        .unwrap();
    // Loading again is idempotent; other bytes under a loaded version are refused.
    cp.load(&a.node, &module("2.0.0", &v2), &no_config())
        .await
        .unwrap();
    let err = cp
        .load(&a.node, &module("2.0.0", &v1), &no_config())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");

    // Loaded, not routed yet (a rollout between its load and its routing
    // step): a call is 503 with Retry-After, not 404.
    let resp = post_execute(
        &a.node,
        json!({"module": "calc", "function": "add", "args": [1, 2]}),
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("not routed"),
        "{body}"
    );

    // Routing: a version that is not loaded is refused and changes nothing.
    let mut table = RoutingTable::new(sample::name("calc"), sample::version("1.0.0"));
    table.revision = 5;
    cp.apply_routing(&a.node, &table).await.unwrap();
    let mut bad = RoutingTable::new(sample::name("calc"), sample::version("9.0.0"));
    bad.revision = 6;
    assert!(matches!(
        cp.apply_routing(&a.node, &bad).await.unwrap_err(),
        Error::Invalid { .. }
    ));
    let mut stale = table.clone().with_candidate(sample::version("2.0.0"), 50);
    stale.revision = 4;
    assert!(matches!(
        cp.apply_routing(&a.node, &stale).await.unwrap_err(),
        Error::Conflict { .. }
    ));
    let state = cp.state(&a.node).await.unwrap();
    assert_eq!(state.routing, vec![table.clone()]);
    assert_eq!(state.loaded.len(), 2);

    let out = cp.execute(&a.node, &add(2, 3)).await.unwrap();
    assert_eq!(
        (out.version.to_string(), out.output.results_json()),
        ("1.0.0".into(), json!(5))
    );
    let mut pinned = add(2, 3);
    pinned.pin = Some(sample::version("2.0.0"));
    let mut table2 = table.clone();
    table2.revision = 7;
    table2.pinnable = vec![sample::version("2.0.0")];
    cp.apply_routing(&a.node, &table2).await.unwrap();
    let out = cp.execute(&a.node, &pinned).await.unwrap();
    assert_eq!(out.version.to_string(), "2.0.0");
    // Bad arguments come back as the call's error, not as an unreachable node.
    let trap = Execution::new(
        sample::name("calc"),
        Invocation::json("add", json!(["x", 1])),
    );
    assert!(matches!(
        cp.execute(&a.node, &trap).await.unwrap_err(),
        Error::Invalid { .. }
    ));
    let stats = cp.state(&a.node).await.unwrap().stats;
    assert!(stats.iter().any(|s| s.calls >= 1));

    // Unloading a routed version is refused; an unrouted one goes.
    assert!(
        cp.unload(&a.node, &sample::name("calc"), &sample::version("1.0.0"))
            .await
            .is_err()
    );
    let mut only2 = RoutingTable::new(sample::name("calc"), sample::version("2.0.0"));
    only2.revision = 8;
    cp.apply_routing(&a.node, &only2).await.unwrap();
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_storage_fetches_by_digest_and_checks_handed_over_bytes() {
    let storage: Arc<dyn ModuleStorage> = Arc::new(MemoryStorage::new());
    let v1 = fixtures::numeric(1);
    storage.put(v1.clone().into()).await.unwrap();
    let a = agent(Some(storage)).await;
    let cp = control(&[Role::ControlPlane], None);
    cp.load(&a.node, &module("1.0.0", &v1), &no_config())
        .await
        .unwrap();
    // Bytes handed over under another digest are refused.
    let http = reqwest::Client::new();
    let token = cp_token();
    let resp = http
        .put(format!(
            "{}/agent/v1/blobs/{}",
            a.node.endpoint,
            Digest::of(b"other")
        ))
        .bearer_auth(&token)
        .body(v1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "https://hotswap.dev/problems/digest-mismatch");
    // Node tokens may execute and read, not command.
    let node = control(&[Role::Node], None);
    let err = node
        .load(&a.node, &module("1.0.0", &v1), &no_config())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err}");
    assert!(node.state(&a.node).await.is_ok());
    let viewer = control(&[Role::Viewer], None);
    assert!(matches!(
        viewer.state(&a.node).await.unwrap_err(),
        Error::Forbidden { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_running_call_finish() {
    let storage: Arc<dyn ModuleStorage> = Arc::new(MemoryStorage::new());
    let v1 = fixtures::numeric(1);
    storage.put(v1.clone().into()).await.unwrap();
    let mut a = agent(Some(storage)).await;
    let cp = control(&[Role::ControlPlane], None);
    cp.load(&a.node, &module("1.0.0", &v1), &no_config())
        .await
        .unwrap();
    let mut table = RoutingTable::new(sample::name("calc"), sample::version("1.0.0"));
    table.revision = 1;
    cp.apply_routing(&a.node, &table).await.unwrap();
    // Find a loop count that takes a noticeable time here.
    let mut n = 1_000_000i64;
    loop {
        let e = Execution::new(sample::name("calc"), Invocation::json("slow", json!([n])));
        let start = Instant::now();
        cp.execute(&a.node, &e).await.unwrap();
        if start.elapsed() > Duration::from_millis(300) || n > 1_000_000_000 {
            break;
        }
        n *= 4;
    }
    let running = {
        let (cp, node) = (cp.clone(), a.node.clone());
        tokio::spawn(async move {
            let e = Execution::new(sample::name("calc"), Invocation::json("slow", json!([n])));
            cp.execute(&node, &e).await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = a.shutdown.take().unwrap().send(());
    let out = running.await.unwrap().expect("the running call finishes");
    assert_eq!(out.output.results_json(), json!(1));
    (&mut a.task).await.unwrap().unwrap();
    // Stopped: new calls find no server.
    let err = cp.execute(&a.node, &add(1, 1)).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
}

/// `n` for `slow(n)` that takes at least `at_least` here.
async fn slow_count(cp: &HttpNodeControl, node: &EdgeNode, at_least: Duration) -> i64 {
    let mut n = 1_000_000i64;
    loop {
        let e = Execution::new(sample::name("calc"), Invocation::json("slow", json!([n])));
        let start = Instant::now();
        cp.execute(node, &e).await.unwrap();
        if start.elapsed() > at_least || n >= i64::from(i32::MAX) / 2 {
            return n;
        }
        n = (n * 2).min(i64::from(i32::MAX));
    }
}

async fn loaded_agent(
    config: WasmtimeConfig,
    limits: ServerLimits,
    concurrency: u32,
) -> (Agent, HttpNodeControl) {
    loaded(config, limits, |l| {
        l.with_max_concurrent_instances(concurrency)
    })
    .await
}

async fn loaded_agent_with_timeout(timeout: Duration) -> (Agent, HttpNodeControl) {
    loaded(WasmtimeConfig::default(), ServerLimits::default(), |l| {
        l.with_timeout(timeout)
    })
    .await
}

async fn loaded(
    config: WasmtimeConfig,
    limits: ServerLimits,
    set: impl Fn(ResourceLimits) -> ResourceLimits,
) -> (Agent, HttpNodeControl) {
    let storage: Arc<dyn ModuleStorage> = Arc::new(MemoryStorage::new());
    let v1 = fixtures::numeric(1);
    storage.put(v1.clone().into()).await.unwrap();
    let a = agent_with(Some(storage), config, limits).await;
    let cp = control(&[Role::ControlPlane], None);
    let mut m = module("1.0.0", &v1);
    m.limits = set(m.limits);
    cp.load(&a.node, &m, &no_config()).await.unwrap();
    let mut table = RoutingTable::new(sample::name("calc"), sample::version("1.0.0"));
    table.revision = 1;
    cp.apply_routing(&a.node, &table).await.unwrap();
    (a, cp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_is_429_and_a_call_past_its_timeout_is_504() {
    // One instance at a time and no queue: a second call while one runs
    // is refused.
    let config = WasmtimeConfig::default()
        .with_max_instances(4)
        .with_queue_capacity(0);
    let (a, cp) = loaded_agent(config, ServerLimits::default(), 1).await;
    let n = slow_count(&cp, &a.node, Duration::from_millis(400)).await;
    let busy = {
        let (cp, node) = (cp.clone(), a.node.clone());
        tokio::spawn(async move {
            let e = Execution::new(sample::name("calc"), Invocation::json("slow", json!([n])));
            cp.execute(&node, &e).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let resp = post_execute(
        &a.node,
        json!({"module": "calc", "function": "add", "args": [1, 2]}),
    )
    .await;
    assert_eq!(resp.status(), 429, "{}", resp.text().await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not after a wait"
    );
    busy.await.unwrap().unwrap();
    // A call that runs past its version's timeout is interrupted: 504.
    let long = slow_count(&cp, &a.node, Duration::from_millis(600)).await;
    let (b, _) = loaded_agent_with_timeout(Duration::from_millis(200)).await;
    let started = Instant::now();
    let resp = post_execute(
        &b.node,
        json!({"module": "calc", "function": "slow", "args": [long]}),
    )
    .await;
    assert_eq!(resp.status(), 504);
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "interrupted, not run out"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["type"], "https://hotswap.dev/problems/timeout",
        "{body}"
    );
}

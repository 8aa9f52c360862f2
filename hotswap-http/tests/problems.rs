//! Bad input and failures over real HTTP: each answer is problem+json with
//! the status its cause means and names what was wrong, and a refused
//! request changes nothing.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use async_trait::async_trait;
use hotswap_core::domain::{Digest, ModuleId, ModuleName, WasmModule};
use hotswap_core::repository::{ModuleFilter, ModuleRepository, ModuleUpdate, Page, PageRequest};
use hotswap_core::{Error, Result};
use hotswap_http::PROBLEM_JSON;
use hotswap_http::server::ServerLimits;
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{admin, start, start_with};

async fn problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(resp.headers()["content-type"], PROBLEM_JSON);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn invalid_input_is_400_naming_the_field_and_stores_nothing() {
    let s = start().await;
    let deploy = |body: Value| {
        s.http
            .post(s.url("/api/v1/wasm/deployments"))
            .bearer_auth(admin())
            .json(&body)
            .send()
    };
    let p = problem(
        deploy(json!({"module": "echo", "to_version": "one"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["field"], "to_version");
    assert_eq!(p["type"], "https://hotswap.dev/problems/invalid");
    let p = problem(
        deploy(json!({"module": "echo", "to_version": "1.0.0", "strategy": {"type": "canary", "steps": [50, 10]}}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(p["field"].as_str().unwrap().starts_with("strategy"), "{p}");
    // An evaluation shorter than two heartbeats (2 x 30 s) could not be
    // judged: refused naming the strategy's own field, nested or not.
    for (strategy, field) in [
        (
            json!({"type": "canary", "steps": [50, 100], "evaluation_period_secs": 30}),
            "strategy.evaluation_period_secs",
        ),
        (
            json!({"type": "regional", "regions": ["eu"], "inner": {"type": "canary", "steps": [100], "evaluation_period_secs": 59}}),
            "strategy.inner.evaluation_period_secs",
        ),
    ] {
        let body = json!({"module": "echo", "to_version": "1.0.0", "strategy": strategy});
        let p = problem(deploy(body).await.unwrap(), 400).await;
        assert_eq!(p["field"], field, "{p}");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("two heartbeat intervals"),
            "{p}"
        );
    }
    let p = problem(
        deploy(json!({"module": "echo", "to_version": "1.0.0", "colour": 1}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{p}"
    );
    let p = problem(
        deploy(json!({"module": "Bad Name!", "to_version": "1.0.0"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(p["field"], "module");

    // Limits in an upload: the field inside `limits` is named.
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/modules?name=echo&version=1.0.0&timeout_ms=0"))
        .bearer_auth(admin())
        .header("content-type", "application/wasm")
        .body(fixtures::numeric(1))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 400).await;
    assert_eq!(p["field"], "limits.timeout_ms", "{p}");
    // Bytes that are not wasm.
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/modules?name=echo&version=1.0.0"))
        .bearer_auth(admin())
        .header("content-type", "application/wasm")
        .body("hello")
        .send()
        .await
        .unwrap();
    problem(resp, 400).await;
    // A bad query parameter is named.
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/modules?limit=0"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp, 400).await["field"], "query.limit");
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/modules?limit=many"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp, 400).await["field"], "query.limit");
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/nodes/not-a-uuid"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp, 400).await["field"], "id");
    // Nothing was stored by any of these.
    let page = s
        .plane
        .modules(&ModuleFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let storage = &s.backends().storage;
    assert!(storage.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn statuses_say_what_happened() {
    let s = start_with(None, ServerLimits::default().with_module_bytes(64 * 1024)).await;
    // 404 for an unknown id and an unknown route.
    let resp = s
        .http
        .get(s.url(&format!("/api/v1/wasm/modules/{}", ModuleId::new())))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp, 404).await["kind"], "module version");
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/nothing"))
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let resp = s.http.put(s.url("/healthz")).send().await.unwrap();
    problem(resp, 405).await;
    // 409 for a version registered twice.
    s.push("echo", "1.0.0", fixtures::numeric(1)).await;
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/modules?name=echo&version=1.0.0"))
        .bearer_auth(admin())
        .header("content-type", "application/wasm")
        .body(fixtures::numeric(2))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(resp, 409).await["type"],
        "https://hotswap.dev/problems/already-exists"
    );
    // 413 for an upload past the limit; 415 for a body that is not JSON.
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/modules?name=big&version=1.0.0"))
        .bearer_auth(admin())
        .header("content-type", "application/wasm")
        .body(vec![0u8; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    problem(resp, 413).await;
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/deployments"))
        .bearer_auth(admin())
        .body("module=echo")
        .send()
        .await
        .unwrap();
    problem(resp, 415).await;
    // 422 for an interface that breaks its package, with the findings.
    let register = |wit: &'static str| {
        s.http
            .post(s.url("/api/v1/wasm/interfaces"))
            .bearer_auth(admin())
            .json(&json!({"wit": wit}))
            .send()
    };
    let v1 = "package demo:api@1.0.0;\ninterface api { ping: func() -> u32; pong: func(); }\n";
    let v2 = "package demo:api@1.1.0;\ninterface api { ping: func() -> u32; }\n";
    assert_eq!(register(v1).await.unwrap().status(), 201);
    let p = problem(register(v2).await.unwrap(), 422).await;
    let findings = p["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.as_str().unwrap().contains("pong")),
        "{p}"
    );
    // 503 when no node can serve a registered module, 404 for an unknown one.
    let call = |module: &str| {
        s.http
            .post(s.url("/api/v1/wasm/execute"))
            .bearer_auth(admin())
            .json(&json!({"module": module, "function": "add", "args": [1, 2]}))
            .send()
    };
    let resp = call("echo").await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let p = problem(resp, 503).await;
    assert!(
        p["detail"].as_str().unwrap().contains("no healthy node"),
        "{p}"
    );
    problem(call("nope").await.unwrap(), 404).await;
    // 401 says how to authenticate.
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/modules"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"hotswap\""
    );
}

/// A module repository whose database is away.
#[derive(Debug)]
struct Down;

fn down() -> Error {
    Error::Unavailable {
        service: "postgres".into(),
        temporary: true,
        reason: "connection refused".into(),
        source: None,
    }
}

#[async_trait]
impl ModuleRepository for Down {
    async fn create(&self, _: &WasmModule) -> Result<()> {
        Err(down())
    }
    async fn get(&self, _: ModuleId) -> Result<WasmModule> {
        Err(down())
    }
    async fn get_version(&self, _: &ModuleName, _: &semver::Version) -> Result<WasmModule> {
        Err(down())
    }
    async fn list(&self, _: &ModuleFilter, _: &PageRequest) -> Result<Page<WasmModule>> {
        Err(down())
    }
    async fn update(&self, _: ModuleId, _: &ModuleUpdate) -> Result<WasmModule> {
        Err(down())
    }
    async fn delete(&self, _: ModuleId) -> Result<()> {
        Err(down())
    }
    async fn count_by_digest(&self, _: &Digest) -> Result<u64> {
        Err(down())
    }
}

#[tokio::test]
async fn a_backend_that_is_down_is_503_and_not_ready() {
    let fleet = hotswap_testkit::fleet::SimFleet::new();
    let plane = support::plane_over(
        Arc::new(Down),
        Arc::new(hotswap_core::repository::memory::MemoryDeploymentRepository::new()),
        Arc::new(hotswap_core::repository::memory::MemoryNodeRepository::new()),
        &fleet,
    )
    .0;
    let s = start_with(Some(plane), ServerLimits::default()).await;
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/modules"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["retry-after"], "1");
    let p = problem(resp, 503).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("postgres unavailable"),
        "{p}"
    );
    let resp = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["checks"]["nodes"], "ok");
    assert!(
        report["checks"]["modules"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    assert_eq!(
        s.http.get(s.url("/healthz")).send().await.unwrap().status(),
        200
    );
}

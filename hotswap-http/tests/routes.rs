//! Every route of the control-plane API, over real HTTP: the OpenAPI
//! document lists exactly these routes, and each one answers an allowed
//! role, refuses a role it does not grant (403), and refuses a missing,
//! expired or wrongly signed token (401), all as problem+json.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use hotswap_http::PROBLEM_JSON;
use hotswap_http::auth::{Role, TokenSigner};
use hotswap_testkit::fixtures;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Server, admin, expired, start, token};

/// One route: method, path (with real ids), body, a role it allows and
/// one it refuses (`None` for public routes).
struct Route {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: Option<Role>,
    denied: Option<Role>,
}

fn route(
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: Role,
    denied: Role,
) -> Route {
    Route {
        method,
        template,
        path,
        body,
        allowed: Some(allowed),
        denied: Some(denied),
    }
}

fn public(template: &'static str) -> Route {
    Route {
        method: Method::GET,
        template,
        path: template.to_owned(),
        body: None,
        allowed: None,
        denied: None,
    }
}

/// Real resources for the ids in paths, and the route table.
async fn table(s: &Server) -> Vec<Route> {
    use Method as M;
    use Role::*;
    let module = s.push("echo", "1.0.0", fixtures::numeric(1)).await;
    s.push("echo", "2.0.0", fixtures::numeric(2)).await;
    let module_id = module["id"].as_str().unwrap().to_owned();
    let nodes = s
        .fleet
        .spawn(&*s.backends().nodes, &["eu"], 1, chrono::Utc::now())
        .await
        .unwrap();
    let node = &nodes[0];
    let created: Value = s
        .http
        .post(s.url("/api/v1/wasm/deployments"))
        .bearer_auth(admin())
        .json(&json!({"module": "echo", "to_version": "1.0.0", "environment": "staging"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dep = created["id"].as_str().unwrap().to_owned();
    let wit = "package demo:api@1.0.0;\ninterface api { ping: func() -> u32; }\n";
    let iface: Value = s
        .http
        .post(s.url("/api/v1/wasm/interfaces"))
        .bearer_auth(admin())
        .json(&json!({"wit": wit}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let iface = iface["id"].as_str().unwrap().to_owned();
    let http_route: Value = s
        .http
        .post(s.url("/api/v1/wasm/routes"))
        .bearer_auth(admin())
        .json(&json!({"host": "setup.test", "module": "echo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let http_route = http_route["route"]["id"].as_str().unwrap().to_owned();
    let config = s
        .http
        .patch(s.url("/api/v1/wasm/configs/echo"))
        .bearer_auth(admin())
        .json(&json!({"values": {"greeting": "hi"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    let d = |p: &str| format!("/api/v1/wasm/deployments/{dep}{p}");
    let beat = json!({"sent_at": chrono::Utc::now()});
    let register = json!({"name": "eu-0", "region": "eu", "endpoint": "http://eu-0.sim:8080",
        "capabilities": {"runtimes": ["wasmtime"], "memory_bytes": 1_073_741_824u64}});
    vec![
        route(
            M::POST,
            "/api/v1/wasm/modules",
            "/api/v1/wasm/modules?name=other&version=1.0.0".into(),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/modules",
            "/api/v1/wasm/modules".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/modules/{id}",
            format!("/api/v1/wasm/modules/{module_id}"),
            None,
            Viewer,
            ControlPlane,
        ),
        route(
            M::DELETE,
            "/api/v1/wasm/modules/{id}",
            format!("/api/v1/wasm/modules/{module_id}"),
            None,
            Admin,
            Developer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments",
            "/api/v1/wasm/deployments".into(),
            Some(json!({"module": "echo", "to_version": "2.0.0"})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/deployments",
            "/api/v1/wasm/deployments".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/deployments/{id}",
            d(""),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/deployments/{id}/stream",
            d("/stream"),
            None,
            Viewer,
            Node,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/execute",
            d("/execute"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/pause",
            d("/pause"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/resume",
            d("/resume"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/promote",
            d("/promote"),
            Some(json!({"full": true})),
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/rollback",
            d("/rollback"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/deployments/{id}/abort",
            d("/abort"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/interfaces",
            "/api/v1/wasm/interfaces".into(),
            Some(json!({"wit": "package demo:other@1.0.0;\ninterface x { f: func(); }\n"})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/interfaces",
            "/api/v1/wasm/interfaces".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/interfaces/{id}",
            format!("/api/v1/wasm/interfaces/{iface}"),
            None,
            Viewer,
            Node,
        ),
        route(
            M::POST,
            "/api/v1/wasm/interfaces/{id}/validate",
            format!("/api/v1/wasm/interfaces/{iface}/validate"),
            Some(json!({"wit": wit})),
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/interfaces/validate",
            "/api/v1/wasm/interfaces/validate".into(),
            Some(json!({"wit": wit})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/interfaces/packages/{package}/mode",
            "/api/v1/wasm/interfaces/packages/demo:api/mode".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::PUT,
            "/api/v1/wasm/interfaces/packages/{package}/mode",
            "/api/v1/wasm/interfaces/packages/demo:api/mode".into(),
            Some(json!({"mode": "full"})),
            Admin,
            Developer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/interfaces/{id}/approve",
            format!("/api/v1/wasm/interfaces/{iface}/approve"),
            None,
            Admin,
            Developer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/nodes",
            "/api/v1/wasm/nodes".into(),
            Some(register),
            Admin,
            Developer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/nodes",
            "/api/v1/wasm/nodes".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/nodes/{id}",
            format!("/api/v1/wasm/nodes/{}", node.id),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/nodes/{id}/health",
            format!("/api/v1/wasm/nodes/{}/health", node.id),
            None,
            Viewer,
            Node,
        ),
        route(
            M::POST,
            "/api/v1/wasm/nodes/{id}/heartbeat",
            format!("/api/v1/wasm/nodes/{}/heartbeat", node.id),
            Some(beat),
            Admin,
            Developer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/execute",
            "/api/v1/wasm/execute".into(),
            Some(json!({"module": "echo", "function": "add", "args": [1, 2]})),
            Developer,
            Viewer,
        ),
        route(
            M::POST,
            "/api/v1/wasm/routes",
            "/api/v1/wasm/routes".into(),
            Some(json!({"host": "other.test", "path_prefix": "/api", "module": "echo"})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/routes",
            "/api/v1/wasm/routes".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/routes/{id}",
            format!("/api/v1/wasm/routes/{http_route}"),
            None,
            Viewer,
            Node,
        ),
        route(
            M::DELETE,
            "/api/v1/wasm/routes/{id}",
            format!("/api/v1/wasm/routes/{http_route}"),
            None,
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/configs/{module}",
            "/api/v1/wasm/configs/echo".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::PATCH,
            "/api/v1/wasm/configs/{module}",
            "/api/v1/wasm/configs/echo".into(),
            Some(json!({"values": {"greeting": "hello"}})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/configs/{module}/{revision}",
            "/api/v1/wasm/configs/echo/1".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::GET,
            "/api/v1/wasm/policies",
            "/api/v1/wasm/policies".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::PUT,
            "/api/v1/wasm/policies/{module}/{environment}",
            "/api/v1/wasm/policies/echo/staging".into(),
            Some(json!({"strategy": {"type": "canary", "steps": [10, 100]}})),
            Developer,
            Viewer,
        ),
        route(
            M::GET,
            "/api/v1/wasm/policies/{module}/{environment}",
            "/api/v1/wasm/policies/echo/staging".into(),
            None,
            Viewer,
            Node,
        ),
        route(
            M::DELETE,
            "/api/v1/wasm/policies/{module}/{environment}",
            "/api/v1/wasm/policies/echo/staging".into(),
            None,
            Developer,
            Viewer,
        ),
        public("/healthz"),
        public("/readyz"),
        public("/metrics"),
        public("/openapi.json"),
    ]
}

async fn send(s: &Server, r: &Route, bearer: Option<&str>) -> reqwest::Response {
    let mut req = s.http.request(r.method.clone(), s.url(&r.path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req = match (&r.body, r.template) {
        (Some(b), _) => req.json(b),
        (None, "/api/v1/wasm/modules") if r.method == Method::POST => req
            .header("content-type", "application/wasm")
            .body(fixtures::numeric(7)),
        (None, _) => req,
    };
    req.send().await.unwrap()
}

async fn assert_problem(resp: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        PROBLEM_JSON,
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
    body
}

#[tokio::test]
async fn every_route_checks_its_token_and_role() {
    let s = start().await;
    let routes = table(&s).await;
    let other_key = TokenSigner::hs256(b"another secret, also long enough for HS256").unwrap();
    for r in &routes {
        let what = format!("{} {}", r.method, r.template);
        let (Some(allowed), Some(denied)) = (r.allowed, r.denied) else {
            let resp = send(&s, r, None).await;
            assert_eq!(resp.status(), 200, "{what} is public");
            continue;
        };
        let resp = send(&s, r, None).await;
        let body = assert_problem(resp, 401, &format!("{what} without a token")).await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("missing bearer token")
        );

        let resp = send(&s, r, Some(&expired(&[allowed]))).await;
        let body = assert_problem(resp, 401, &format!("{what} with an expired token")).await;
        assert!(
            body["detail"].as_str().unwrap().contains("expired"),
            "{body}"
        );

        let forged = other_key
            .issue(
                "mallory",
                &[Role::Admin],
                std::time::Duration::from_secs(60),
            )
            .unwrap();
        let resp = send(&s, r, Some(&forged)).await;
        assert_problem(resp, 401, &format!("{what} with a token of another key")).await;

        // Node tokens act only for their own node.
        let subject = if denied == Role::Node { "eu-0" } else { "bob" };
        let resp = send(&s, r, Some(&token(subject, &[denied]))).await;
        let body = assert_problem(resp, 403, &format!("{what} as {denied:?}")).await;
        assert!(body["role"].as_str().is_some(), "{what}: {body}");

        let subject = if allowed == Role::Node {
            "eu-0"
        } else {
            "carol"
        };
        let resp = send(&s, r, Some(&token(subject, &[allowed]))).await;
        let status = resp.status().as_u16();
        // An event stream of an open deployment does not end: its status
        // is the answer.
        let text = if r.template.ends_with("/stream") {
            String::new()
        } else {
            resp.text().await.unwrap()
        };
        assert!(
            ![401, 403, 500].contains(&status),
            "{what} as {allowed:?} answered {status}: {text}"
        );
    }
}

#[tokio::test]
async fn node_tokens_register_and_heartbeat_only_their_own_node() {
    let s = start().await;
    let register = json!({"name": "eu-7", "region": "eu", "endpoint": "http://eu-7:8080",
        "capabilities": {"runtimes": ["wasmtime"], "memory_bytes": 1_073_741_824u64}});
    let post = |t: String, body: Value, path: String| {
        s.http.post(s.url(&path)).bearer_auth(t).json(&body).send()
    };
    let resp = post(
        token("eu-8", &[Role::Node]),
        register.clone(),
        "/api/v1/wasm/nodes".into(),
    )
    .await
    .unwrap();
    assert_problem(resp, 403, "a node registering another name").await;
    let resp = post(
        token("eu-7", &[Role::Node]),
        register.clone(),
        "/api/v1/wasm/nodes".into(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let reg: Value = resp.json().await.unwrap();
    let id = reg["node"]["id"].as_str().unwrap();
    assert_eq!(reg["heartbeat_interval_secs"], 30);
    let beat = json!({"sent_at": chrono::Utc::now()});
    let path = format!("/api/v1/wasm/nodes/{id}/heartbeat");
    let resp = post(token("eu-8", &[Role::Node]), beat.clone(), path.clone())
        .await
        .unwrap();
    assert_problem(resp, 403, "a node heartbeating for another").await;
    let resp = post(token("eu-7", &[Role::Node]), beat, path)
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // Registering again (a restart) keeps the id.
    let resp = post(
        token("eu-7", &[Role::Node]),
        register,
        "/api/v1/wasm/nodes".into(),
    )
    .await
    .unwrap();
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again["node"]["id"].as_str(), Some(id));
    assert_eq!(again["node"]["status"], "registering");
}

#[tokio::test]
async fn production_deployments_need_an_admin_to_move_forward() {
    let s = start().await;
    s.push("echo", "1.0.0", fixtures::numeric(1)).await;
    s.fleet
        .spawn(&*s.backends().nodes, &["eu"], 1, chrono::Utc::now())
        .await
        .unwrap();
    let dev = token("dave", &[Role::Developer]);
    let body = json!({"module": "echo", "to_version": "1.0.0", "environment": "production"});
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/deployments"))
        .bearer_auth(&dev)
        .json(&json!({"module": "echo", "to_version": "1.0.0", "environment": "production", "start": true}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "a developer starting a production deployment").await;
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/deployments"))
        .bearer_auth(&dev)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let d: Value = resp.json().await.unwrap();
    let execute = s.url(&format!(
        "/api/v1/wasm/deployments/{}/execute",
        d["id"].as_str().unwrap()
    ));
    let resp = s
        .http
        .post(&execute)
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 403, "a developer executing in production").await;
    assert_eq!(p["role"], "admin");
    let resp = s
        .http
        .post(&execute)
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    // A first deployment is done as soon as its version is loaded and routed.
    assert_eq!(view["deployment"]["phase"], "succeeded");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let s = start().await;
    let doc: Value = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            assert!(
                op["responses"]["default"].is_object(),
                "{method} {path} documents its problems"
            );
            let public =
                ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(&path.as_str());
            assert_eq!(
                op.get("security").is_some(),
                !public,
                "{method} {path} security"
            );
        }
    }
    let routes = table(&s).await;
    let served: BTreeSet<String> = routes
        .iter()
        .filter(|r| r.template != "/openapi.json")
        .map(|r| format!("{} {}", r.method, r.template))
        .collect();
    assert_eq!(documented, served);
    assert_eq!(
        hotswap_http::api::openapi().paths.paths.len(),
        doc["paths"].as_object().unwrap().len()
    );
    // Every schema a reference names is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part.chars().take_while(|c| *c != '"').collect();
        assert!(
            schemas.contains_key(&name),
            "schema {name} is referenced but not defined"
        );
    }
}

#[tokio::test]
async fn lists_page_by_cursor_and_an_unused_version_is_deleted_with_its_blob() {
    let s = start().await;
    for (v, n) in [("1.0.0", 1), ("1.1.0", 2), ("1.2.0", 3)] {
        s.push("echo", v, fixtures::numeric(n)).await;
    }
    let get = |path: String| {
        let (http, url) = (s.http.clone(), s.url(&path));
        async move {
            let resp = http.get(url).bearer_auth(admin()).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let first = get("/api/v1/wasm/modules?name=echo&limit=2".into()).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = get(format!(
        "/api/v1/wasm/modules?name=echo&limit=2&cursor={cursor}"
    ))
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest.get("next_cursor").is_none());
    let mut versions: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|m| m["version"].as_str().unwrap().to_owned())
        .collect();
    versions.sort();
    assert_eq!(versions, ["1.0.0", "1.1.0", "1.2.0"]);

    let victim = &rest["items"][0];
    let digest = victim["digest"].as_str().unwrap().parse().unwrap();
    assert!(s.backends().storage.exists(&digest).await.unwrap());
    let resp = s
        .http
        .delete(s.url(&format!(
            "/api/v1/wasm/modules/{}",
            victim["id"].as_str().unwrap()
        )))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        !s.backends().storage.exists(&digest).await.unwrap(),
        "the blob goes too"
    );
    let all = get("/api/v1/wasm/modules?name=echo".into()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

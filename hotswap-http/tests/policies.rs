//! Deployment policies over a real socket: set, read, replaced and
//! removed, production ones by admins only; a deployment takes from its
//! module's policy what its creation leaves unset and keeps what it sets;
//! bad policies name their field and store nothing; hooks need the
//! control plane's webhook secret.

#![allow(clippy::unwrap_used)]

mod support;

use hotswap_http::auth::Role;
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{admin, start, token};

#[tokio::test]
async fn a_policy_fills_what_a_deployment_leaves_unset() {
    let s = start().await;
    for v in 1..=3 {
        s.push("web", &format!("{v}.0.0"), fixtures::numeric(v))
            .await;
    }
    let put = |who: String, env: &str, body: Value| {
        s.http
            .put(s.url(&format!("/api/v1/wasm/policies/web/{env}")))
            .bearer_auth(who)
            .json(&body)
            .send()
    };
    let policy = json!({
        "strategy": {"type": "canary", "steps": [5, 100], "evaluation_period_secs": 120},
        "health": {"min_samples": 42},
    });
    let dev = token("dora", &[Role::Developer]);
    let r = put(dev.clone(), "production", policy.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "production policies are for admins");
    let r = put(dev.clone(), "staging", policy.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let stored: Value = r.json().await.unwrap();
    assert_eq!(stored["updated_by"], "dora");
    assert_eq!(stored["environment"], "staging");

    // Refusals name the field and store nothing.
    for (env, body, field) in [
        ("prod", policy.clone(), "environment"),
        (
            "staging",
            json!({"strategy": {"type": "canary", "steps": [50, 40]}}),
            "strategy.steps",
        ),
        ("staging", json!({"colour": "red"}), "colour"),
        (
            "staging",
            json!({"hooks": [{"name": "gate", "point": "step", "url": "http://gate.test/x"}]}),
            "hooks",
        ),
        (
            "staging",
            json!({"strategy": {"type": "canary", "steps": [10, 100], "evaluation_period_secs": 1}}),
            "strategy.evaluation_period_secs",
        ),
    ] {
        let r = put(admin(), env, body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let p: Value = r.json().await.unwrap();
        assert!(
            p["field"].as_str().unwrap_or_default().starts_with(field)
                || p["detail"].as_str().unwrap().contains(field),
            "{body}: {p}"
        );
    }
    let listed: Value = s
        .http
        .get(s.url("/api/v1/wasm/policies"))
        .bearer_auth(token("vera", &[Role::Viewer]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0], stored);

    // A staging deployment without a strategy or health takes the
    // policy's; one that sets its own keeps it.
    let create = |body: Value| {
        s.http
            .post(s.url("/api/v1/wasm/deployments"))
            .bearer_auth(admin())
            .json(&body)
            .send()
    };
    let r = create(json!({"module": "web", "to_version": "1.0.0", "environment": "staging"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["strategy"]["steps"], json!([5, 100]));
    assert_eq!(d["health"]["min_samples"], 42);
    let id = d["id"].as_str().unwrap();
    let r = s
        .http
        .post(s.url(&format!("/api/v1/wasm/deployments/{id}/abort")))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = create(
        json!({"module": "web", "to_version": "2.0.0", "environment": "staging",
        "strategy": {"type": "canary", "steps": [50, 100], "evaluation_period_secs": 60}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["strategy"]["steps"], json!([50, 100]));
    assert_eq!(
        d["health"]["min_samples"], 42,
        "health still comes from the policy"
    );
    let id = d["id"].as_str().unwrap();
    s.http
        .post(s.url(&format!("/api/v1/wasm/deployments/{id}/abort")))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    // Another environment has no policy: the defaults.
    let r = create(json!({"module": "web", "to_version": "3.0.0", "environment": "development"}))
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_ne!(d["strategy"]["steps"], json!([5, 100]));

    let r = s
        .http
        .delete(s.url("/api/v1/wasm/policies/web/staging"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .http
        .get(s.url("/api/v1/wasm/policies/web/staging"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

//! The configuration API over a real socket: a change makes the next
//! revision, secrets are write-only (no response carries a value), bad
//! input names its field and stores nothing, roles are checked, and a
//! deployment names the revision it rolls out.

#![allow(clippy::unwrap_used)]

mod support;

use hotswap_core::domain::{ConfigKey, ConfigPatch, ModuleName, SecretValue};
use hotswap_http::auth::{Role, TokenSource};
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{admin, start, token};

const SECRET: &str = "tok-7f3a9c-never-shown";

#[tokio::test]
async fn secrets_are_written_never_read_and_revisions_bind_to_deployments() {
    let s = start().await;
    s.push("web", "1.0.0", fixtures::numeric(1)).await;
    s.push("web", "2.0.0", fixtures::numeric(2)).await;
    let mut bodies = Vec::new();
    let patch = |who: String, module: &str, body: Value| {
        s.http
            .patch(s.url(&format!("/api/v1/wasm/configs/{module}")))
            .bearer_auth(who)
            .json(&body)
            .send()
    };
    let get = |path: String| {
        s.http
            .get(s.url(&format!("/api/v1/wasm/configs/{path}")))
            .bearer_auth(admin())
            .send()
    };

    let viewer = token("vera", &[Role::Viewer]);
    let r = patch(viewer.clone(), "web", json!({"values": {"a": "1"}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = get("web".into()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revision"], 0);

    let body = json!({"values": {"greeting": "hi"}, "secrets": {"token": SECRET}});
    let r = patch(admin(), "web", body).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    bodies.push(text.clone());
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["revision"], 1);
    assert_eq!(view["values"]["greeting"], "hi");
    assert_eq!(view["secrets"], json!([{"key": "token", "set_in": 1}]));
    assert_eq!(view["created_by"], "alice");

    // Refusals name their field and store nothing.
    for (module, body, status, field) in [
        ("web", json!({"values": {"bad key": "1"}}), 400, "values"),
        ("web", json!({"remove": ["ghost"]}), 400, "remove.ghost"),
        ("web", json!({}), 400, "patch"),
        ("web", json!({"colour": "red"}), 400, "colour"),
        ("nothing", json!({"values": {"a": "1"}}), 404, ""),
    ] {
        let r = patch(admin(), module, body.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{body}");
        let p: Value = r.json().await.unwrap();
        if !field.is_empty() {
            assert!(
                p["field"].as_str().unwrap_or_default().contains(field)
                    || p["detail"].as_str().unwrap().contains(field),
                "{body}: {p}"
            );
        }
    }
    let r = get("web/abc".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "revision");
    let r = get("web/2".into()).await.unwrap();
    assert_eq!(r.status(), 404, "nothing was stored by the refusals");

    // The client changes and reads; reads never carry the value.
    let client = ControlPlaneClient::new(
        &s.base,
        TokenSource::Static(admin()),
        ClientConfig::default(),
    )
    .unwrap();
    let web = ModuleName::new("web").unwrap();
    let mut change = ConfigPatch::default();
    change
        .values
        .insert(ConfigKey::new("greeting").unwrap(), "hello".into());
    let second = client.set_config(&web, &change).await.unwrap();
    assert_eq!(second.revision, 2);
    assert_eq!(second.secrets[0].set_in, 1, "the secret is kept");
    assert_eq!(client.config(&web).await.unwrap(), second);
    assert_eq!(
        client.config_revision(&web, 1).await.unwrap().values[&ConfigKey::new("greeting").unwrap()],
        "hi"
    );
    let mut secret_again = ConfigPatch::default();
    secret_again.secrets.insert(
        ConfigKey::new("token").unwrap(),
        SecretValue::new(format!("{SECRET}-2")),
    );
    assert_eq!(
        client
            .set_config(&web, &secret_again)
            .await
            .unwrap()
            .secrets[0]
            .set_in,
        3
    );
    for path in ["web", "web/1", "web/2", "web/3"] {
        let r = s
            .http
            .get(s.url(&format!("/api/v1/wasm/configs/{path}")))
            .bearer_auth(viewer.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        bodies.push(r.text().await.unwrap());
    }

    // A deployment names the revision its version runs with.
    let create = |body: Value| {
        s.http
            .post(s.url("/api/v1/wasm/deployments"))
            .bearer_auth(admin())
            .json(&body)
            .send()
    };
    let r = create(json!({"module": "web", "to_version": "2.0.0", "config_revision": 0}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "config_revision");
    let r = create(json!({"module": "web", "to_version": "2.0.0", "config_revision": 9}))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "revision 9 does not exist");
    let r = create(json!({"module": "web", "to_version": "2.0.0", "config_revision": 1}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["config_revision"],
        1
    );
    bodies.push(text);

    let doc: Value = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    assert!(paths["/api/v1/wasm/configs/{module}"]["patch"].is_object());
    assert!(paths["/api/v1/wasm/configs/{module}/{revision}"]["get"].is_object());
    assert_eq!(
        doc["components"]["schemas"]["SecretValue"]["format"], "password",
        "{}",
        doc["components"]["schemas"]["ConfigPatch"]
    );
    bodies.push(doc.to_string());

    for body in &bodies {
        assert!(
            !body.contains("never-shown"),
            "a response carries a secret: {body}"
        );
    }
}

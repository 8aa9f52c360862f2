//! The routes API: created routes are pushed to every node, a clash is
//! refused naming the route it clashes with, bad input names its field,
//! nothing is stored or pushed for a refused route, and reconciliation
//! repairs a node that missed a push.

#![allow(clippy::unwrap_used)]

mod support;

use hotswap_core::node::NodeControl;
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{admin, start};

#[tokio::test]
async fn routes_are_created_pushed_listed_refused_by_name_and_deleted() {
    let s = start().await;
    s.push("web", "1.0.0", fixtures::numeric(1)).await;
    let nodes = s
        .fleet
        .spawn(&*s.backends().nodes, &["eu"], 2, chrono::Utc::now())
        .await
        .unwrap();
    let post = |body: Value| {
        s.http
            .post(s.url("/api/v1/wasm/routes"))
            .bearer_auth(admin())
            .json(&body)
            .send()
    };
    let r = post(json!({"host": "Shop.Example", "path_prefix": "/cart/", "module": "web"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = r.json().await.unwrap();
    let id = created["route"]["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/wasm/routes/{id}"));
    assert_eq!(created["route"]["host"], "shop.example");
    assert_eq!(created["route"]["path_prefix"], "/cart");
    assert_eq!(created["revision"], 1);
    assert_eq!(created["pushed"].as_array().unwrap().len(), 2, "{created}");
    for node in &nodes {
        let state = s.fleet.state(node).await.unwrap();
        assert_eq!(state.http_routes, 1, "{} holds the routes", node.name);
    }

    // Refused, each naming what was wrong, and nothing changes.
    let r = post(json!({"host": "shop.example", "path_prefix": "/cart", "module": "web"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains(&id), "{p}");
    let r = post(json!({"host": "shop.example:8080", "module": "web"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "host");
    let r = post(json!({"host": "shop.example", "path_prefix": "/a?b", "module": "web"}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "path_prefix");
    let r = post(json!({"host": "shop.example", "module": "nothing"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["kind"], "module");
    let list: Value = s
        .http
        .get(s.url("/api/v1/wasm/routes?module=web"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["revision"], 1, "refusals change nothing: {list}");
    assert_eq!(list["routes"].as_array().unwrap().len(), 1);

    let r = s
        .http
        .delete(s.url(&location))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revision"], 2);
    for node in &nodes {
        assert_eq!(s.fleet.state(node).await.unwrap().http_routes, 2);
    }
    let r = s
        .http
        .get(s.url(&location))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A node that joins later (or missed a push) is brought up to date by
    // reconciliation.
    let late = s
        .fleet
        .spawn(&*s.backends().nodes, &["us"], 1, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(s.fleet.state(&late[0]).await.unwrap().http_routes, 0);
    s.plane.control_loop().reconcile(&late[0]).await.unwrap();
    assert_eq!(s.fleet.state(&late[0]).await.unwrap().http_routes, 2);
}

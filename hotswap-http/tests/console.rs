//! The console's server side over a real socket: the embedded page and
//! its headers; a pasted token exchanged for a session cookie that reads,
//! and acts only with its CSRF token and within its roles; and a
//! deployment's event stream, read raw and through the client.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use hotswap_core::domain::DeploymentPhase;
use hotswap_http::auth::{Role, TokenSource};
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{Server, admin, start, token};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_console_is_embedded_and_loads_nothing_from_elsewhere() {
    let s = start().await;
    let http = no_redirects();
    let r = http.get(s.url("/ui")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/ui/");
    for (path, kind) in [
        ("/ui/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
    ] {
        let r = http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("https://") && !body.contains("http://"),
            "{path} loads from elsewhere"
        );
    }
}

/// `POST /ui/session` with `body` as JSON.
async fn sign_in(s: &Server, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = s.http.post(s.url("/ui/session")).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// The session cookie (`name=value`) a sign-in set, and its attributes.
fn cookie(r: &reqwest::Response) -> (String, String) {
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, set)
}

#[tokio::test]
async fn a_token_becomes_a_session_that_acts_only_with_its_csrf_token_and_roles() {
    let s = start().await;
    // JSON only: a form on another site cannot sign anyone in.
    let r = s
        .http
        .post(s.url("/ui/session"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("JSON"),
        "{problem}"
    );
    let r = sign_in(&s, json!({"tokn": admin()}), &[]).await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem.to_string().contains("tokn"),
        "names the field: {problem}"
    );
    let r = sign_in(&s, json!({"token": "not.a.token"}), &[]).await;
    assert_eq!(r.status(), 401);
    let r = sign_in(&s, json!({"token": token("edge-1", &[Role::Node])}), &[]).await;
    assert_eq!(r.status(), 403, "a node's token is no person's");

    let r = sign_in(&s, json!({"token": admin()}), &[]).await;
    assert_eq!(r.status(), 200);
    let (pair, set) = cookie(&r);
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    assert!(
        set.contains("Max-Age=900") && !set.contains("Secure"),
        "{set}"
    );
    let session: Value = r.json().await.unwrap();
    assert_eq!(
        (session["subject"].clone(), session["roles"].clone()),
        (json!("alice"), json!(["admin"]))
    );
    let csrf = session["csrf"].as_str().unwrap().to_owned();

    // The cookie reads.
    let got: Value = s
        .http
        .get(s.url("/ui/session"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, session);
    let r = s
        .http
        .get(s.url("/api/v1/wasm/modules"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // It acts only with its CSRF token.
    let act = |cookie: String, csrf: Option<String>| {
        let mut req = s
            .http
            .post(s.url("/api/v1/wasm/deployments/01a24996-255c-77ca-95a3-8154fc4f9d6f/pause"))
            .header("cookie", cookie);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    let r = act(pair.clone(), None).await.unwrap();
    assert_eq!(r.status(), 403);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "x-csrf-token");
    let r = act(pair.clone(), Some("guessed".into())).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = act(pair.clone(), Some(csrf.clone())).await.unwrap();
    assert_eq!(
        r.status(),
        404,
        "past authentication, the deployment is unknown"
    );

    // A forged cookie does not open.
    let forged = pair.replace(".", ".x");
    let r = s
        .http
        .get(s.url("/ui/session"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A viewer's session reads but may not act, CSRF token or not.
    let r = sign_in(
        &s,
        json!({"token": token("vera", &[Role::Viewer])}),
        &[("x-forwarded-proto", "https")],
    )
    .await;
    let (viewer, set) = cookie(&r);
    assert!(
        set.ends_with("; Secure"),
        "behind TLS the cookie is Secure: {set}"
    );
    let viewer_csrf = r.json::<Value>().await.unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = act(viewer, Some(viewer_csrf)).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "developer");

    // Signing out needs the token too, and clears the cookie.
    let out = |csrf: Option<&str>| {
        let mut req = s.http.delete(s.url("/ui/session")).header("cookie", &pair);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    assert_eq!(out(None).await.unwrap().status(), 403);
    let r = out(Some(&csrf)).await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(cookie(&r).1.contains("Max-Age=0"));
}

#[tokio::test]
async fn a_session_ends_with_its_token() {
    let s = start().await;
    let short = support::signer()
        .issue("brief", &[Role::Viewer], Duration::from_secs(60))
        .unwrap();
    let r = sign_in(&s, json!({"token": short}), &[]).await;
    let max_age: i64 = cookie(&r)
        .1
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&max_age), "{max_age}");
}

/// Every `view` event of a raw event stream until it closes.
async fn views(resp: reqwest::Response) -> Vec<Value> {
    let body = tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("the stream closes once the deployment ended")
        .unwrap();
    body.split("\n\n")
        .filter(|block| block.lines().any(|l| l == "event: view"))
        .map(|block| {
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

/// A deployment of calc@1.0.0 created and not started, and its event
/// stream opened with `bearer`.
async fn follow_pending(s: &Server, bearer: &str) -> (String, reqwest::Response) {
    s.push("calc", "1.0.0", fixtures::numeric(1)).await;
    let created: Value = s
        .http
        .post(s.url("/api/v1/wasm/deployments"))
        .bearer_auth(admin())
        .json(&json!({"module": "calc", "to_version": "1.0.0", "start": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let stream = s
        .http
        .get(s.url(&format!("/api/v1/wasm/deployments/{id}/stream")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    (id, stream)
}

#[tokio::test]
async fn a_deployment_streams_a_view_at_each_change_until_it_ends() {
    let s = start().await;
    let (id, stream) = follow_pending(&s, &token("vera", &[Role::Viewer])).await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // The client follows the same stream.
    let client = ControlPlaneClient::new(
        &s.base,
        TokenSource::Static(admin()),
        ClientConfig::default(),
    )
    .unwrap();
    let mut followed = client.follow(id.parse().unwrap()).await.unwrap();
    let first = followed.next().await.unwrap().unwrap();
    assert_eq!(first.deployment.phase, DeploymentPhase::Pending);

    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = s
        .http
        .post(s.url(&format!("/api/v1/wasm/deployments/{id}/abort")))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let seen = views(stream).await;
    let phases: Vec<&str> = seen
        .iter()
        .map(|v| v["deployment"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.first(), Some(&"pending"), "{phases:?}");
    assert_eq!(phases.last(), Some(&"aborted"), "{phases:?}");
    let last = followed.collect::<Vec<_>>().await;
    assert_eq!(
        last.last().unwrap().as_ref().unwrap().deployment.phase,
        DeploymentPhase::Aborted
    );

    // An unknown deployment is a 404 problem, not a stream.
    let r = s
        .http
        .get(s.url("/api/v1/wasm/deployments/01a24996-255c-77ca-95a3-8154fc4f9d6f/stream"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// A server shutting down ends the event streams it serves rather than
/// wait for deployments that may never end.
#[tokio::test]
async fn a_shutdown_ends_the_streams_it_serves() {
    let mut s = start().await;
    let (_, stream) = follow_pending(&s, &admin()).await;
    let reading = tokio::spawn(views(stream));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), s.stop()).await;
    assert!(stopped.is_ok(), "the shutdown waited for the stream");
    let seen = reading.await.unwrap();
    assert_eq!(seen.len(), 1, "the pending view, then the end");
    assert_eq!(seen[0]["deployment"]["phase"], "pending");
}

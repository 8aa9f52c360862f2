//! Key-value on `hotswap serve` as a user sets it up: a component pushed
//! with `--keyvalue-bucket` behind a route counts its requests in the
//! node's embedded file store, and the count survives a restart; `module
//! show` prints the grants; a node started without a store refuses to
//! take the version, naming the capability; two nodes on one Redis share
//! a counter.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use hotswap_testkit::http_components::{Handler, handler};
use support::{free_port, run_cli, serve, try_cli};

fn push(d: &Path, env: &[(&str, String)]) {
    std::fs::write(d.join("kv.wasm"), handler(&Handler::KeyValue)).unwrap();
    run_cli(
        d,
        &[
            "module",
            "push",
            "kv.wasm",
            "--name",
            "kv",
            "--version",
            "1.0.0",
            "--keyvalue-bucket",
            "counters",
            "--max-value-bytes",
            "64",
        ],
        env,
    );
}

async fn count(ingress_port: u16) -> String {
    count_key(ingress_port, "requests").await
}

async fn count_key(ingress_port: u16, key: &str) -> String {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{ingress_port}/"))
        .header("host", "kv.test")
        .header("x-bucket", "counters")
        .header("x-key", key)
        .header("x-op", "i")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_component_counts_its_requests_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (serve1, url, ingress_port) = serve(d, &[]).await;
    let env = [("HOTSWAP_URL", url.clone())];
    push(d, &env);
    let shown = run_cli(d, &["module", "show", "kv@1.0.0"], &env);
    assert!(shown.contains("keyvalue  counters"), "{shown}");
    assert!(shown.contains("values up to 64 bytes"), "{shown}");
    run_cli(d, &["deploy", "kv", "1.0.0", "--watch"], &env);
    run_cli(
        d,
        &["route", "add", "--host", "kv.test", "--module", "kv"],
        &env,
    );
    for n in 1..=3 {
        assert_eq!(count(ingress_port).await, format!("count {n}"));
    }
    drop(serve1);

    // The same data folder: the node's file still holds the count.
    let (_serve2, url, ingress_port) = serve(d, &[]).await;
    let env = [("HOTSWAP_URL", url)];
    let mut answer = String::new();
    for _ in 0..100 {
        answer = count(ingress_port).await;
        if answer.starts_with("count") {
            break;
        }
        // The restarted node reloads its routed version first.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(answer, "count 4");
    assert!(d.join("hotswap-data/keyvalue.redb").is_file());
    let listed = run_cli(d, &["module", "list"], &env);
    assert!(listed.contains("kv"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_store_refuses_the_version_naming_the_capability() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &["--keyvalue", "none"]).await;
    let env = [("HOTSWAP_URL", url)];
    push(d, &env);
    let (ok, out, err) = try_cli(d, &["deploy", "kv", "1.0.0"], &env);
    assert!(!ok, "{out}");
    assert!(
        err.contains("no target node can run kv@1.0.0") && err.contains("capabilities.keyvalue"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_uploads_take_grants_in_a_header_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &[]).await;
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let upload = |version: &'static str, grants: &'static str| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            reqwest::Client::new()
                .post(format!(
                    "{url}/api/v1/wasm/modules?name=kv&version={version}"
                ))
                .bearer_auth(token.trim())
                .header("content-type", "application/wasm")
                .header("x-hotswap-keyvalue", grants)
                .body(handler(&Handler::KeyValue))
                .send()
                .await
                .unwrap()
        }
    };
    for (grants, named) in [
        (r#"{"buckets": ["Bad Name"]}"#, "keyvalue.buckets"),
        (r#"{"buckets": ["a", "a"]}"#, "keyvalue.buckets"),
        (
            r#"{"buckets": ["a"], "max_value_bytes": 0}"#,
            "keyvalue.max_value_bytes",
        ),
        (r#"{"bucket": ["a"]}"#, "keyvalue"),
    ] {
        let response = upload("1.0.0", grants).await;
        assert_eq!(response.status(), 400, "{grants}");
        let body = response.text().await.unwrap();
        assert!(body.contains(named), "{grants}: {body}");
    }
    let env = [("HOTSWAP_URL", url.clone())];
    let listed = run_cli(d, &["module", "list"], &env);
    assert!(!listed.contains("kv"), "nothing was stored: {listed}");
    let response = upload("1.0.0", r#"{"buckets": ["sessions"], "max_key_bytes": 64}"#).await;
    assert_eq!(response.status(), 201);
    let module: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        module["keyvalue"]["buckets"],
        serde_json::json!(["sessions"])
    );
    assert_eq!(module["keyvalue"]["max_key_bytes"], 64);
}

/// Two nodes on one Redis share their buckets: requests to either count
/// on one counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis_share_a_counter() {
    let Some(redis) = hotswap_testkit::service_env("HOTSWAP_TEST_REDIS_URL") else {
        return;
    };
    let key = format!("shared-{}", free_port());
    let mut ingresses = Vec::new();
    let mut keep = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let (proc, url, ingress_port) = serve(&d, &["--keyvalue", &redis]).await;
        let env = [("HOTSWAP_URL", url)];
        push(&d, &env);
        run_cli(&d, &["deploy", "kv", "1.0.0", "--watch"], &env);
        run_cli(
            &d,
            &["route", "add", "--host", "kv.test", "--module", "kv"],
            &env,
        );
        ingresses.push(ingress_port);
        keep.push((proc, dir));
    }
    for n in 1..=4 {
        let port = ingresses[n % 2];
        assert_eq!(count_key(port, &key).await, format!("count {n}"));
    }
}

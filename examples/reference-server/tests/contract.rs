//! The call contract through the HTTP API of a real `hotswap serve`
//! (wasmtime): a module using multi-memory deploys and runs; one needing a
//! feature no node accepts is refused at push, naming it; floats keep their
//! bits, i32 takes both readings, i64 results are strings unless asked;
//! every call is a fresh instance; a trap says so once; and a first
//! deployment answers `succeeded` at once.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Api, Proc, free_port};

const CONTRACT: &str = r#"(module
  (memory $a 1) (memory $b 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "copysign") (param f32 f32) (result f32)
    local.get 0 local.get 1 f32.copysign)
  (func (export "bits") (param f32) (result i32)
    local.get 0 i32.reinterpret_f32)
  (func (export "same32") (param i32) (result i32) local.get 0)
  (func (export "same64") (param i64) (result i64) local.get 0)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "bump") (result i32)
    global.get $g i32.const 1 i32.add global.set $g global.get $g)
  (func (export "second_memory") (param i32) (result i32)
    i32.const 0 local.get 0 i32.store $b
    i32.const 0 i32.load $a
    i32.const 0 i32.load $b
    i32.add))"#;

const THREADS: &str = r#"(module (memory 1 1 shared)
  (func (export "f") (result i32) i32.const 1))"#;

async fn push(api: &Api, name: &str, wat: &str) -> (u16, Value) {
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/wasm/modules?name={name}&version=1.0.0",
            api.base
        ))
        .bearer_auth(&api.token)
        .header("content-type", "application/wasm")
        .body(wat::parse_str(wat).unwrap())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn call(api: &Api, body: Value) -> (u16, Value) {
    api.post("/api/v1/wasm/execute", &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_contract_holds_over_http_on_a_real_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let serve = Proc::spawn(
        "serve",
        dir.path(),
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--ingress".into(),
            "127.0.0.1:0".into(),
        ],
        &[],
    );
    Api::new(url.clone(), String::new()).wait_up(&serve).await;
    let token = std::fs::read_to_string(dir.path().join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url, token);

    // A feature the node does not accept is refused at push, naming it.
    let (status, body) = push(&api, "threaded", THREADS).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("threads"),
        "{body}"
    );

    // Multi-memory is accepted, and a first deployment is done at once.
    let (status, body) = push(&api, "contract", CONTRACT).await;
    assert_eq!(status, 201, "{body}");
    let (status, d) = api
        .post(
            "/api/v1/wasm/deployments",
            &json!({"module": "contract", "to_version": "1.0.0", "start": true}),
        )
        .await;
    assert_eq!(
        (status, d["phase"].as_str()),
        (201, Some("succeeded")),
        "{d}"
    );

    let cases = [
        // copysign(1.0, -NaN with a payload) is -1.0: the sign bit arrived.
        (
            json!({"function": "copysign", "args": [1.0, {"f32_bits": "0xffc00001"}]}),
            json!(-1.0),
        ),
        // The payload survives the trip in and out.
        (
            json!({"function": "bits", "args": [{"f32_bits": "0x7fc00001"}]}),
            json!(2_143_289_345),
        ),
        // i32 takes the unsigned reading of -1.
        (
            json!({"function": "same32", "args": [4_294_967_295_u64]}),
            json!(-1),
        ),
        // i64 results are strings by default, numbers when asked.
        (
            json!({"function": "same64", "args": ["18446744073709551615"]}),
            json!("-1"),
        ),
        (
            json!({"function": "same64", "args": [-1], "int64": "number"}),
            json!(-1),
        ),
        (json!({"function": "second_memory", "args": [7]}), json!(7)),
    ];
    for (mut body, want) in cases {
        body["module"] = json!("contract");
        let (status, out) = call(&api, body.clone()).await;
        assert_eq!((status, &out["result"]), (200, &want), "{body}: {out}");
        assert_eq!(out["instance"], "fresh");
    }

    // Every call is a fresh instance: the global starts at 0 each time.
    for _ in 0..2 {
        let (_, out) = call(&api, json!({"module": "contract", "function": "bump"})).await;
        assert_eq!(out["result"], 1, "{out}");
    }

    // A trap says so once.
    let (status, out) = call(
        &api,
        json!({"module": "contract", "function": "div", "args": [1, 0]}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    let detail = out["detail"].as_str().unwrap();
    assert!(detail.contains("integer divide by zero"), "{out}");
    assert_eq!(detail.matches("wasm trap").count(), 1, "{out}");
}

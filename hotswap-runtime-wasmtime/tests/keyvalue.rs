//! `wasi:keyvalue` of a real component on the file store: granted buckets
//! read, write and count across instances; a bucket not granted is
//! `access-denied`, a name that cannot be a bucket `no-such-store`; keys
//! and values past the grants' sizes are refused before the store sees
//! them; a store error reaches the guest as `other`; a node without a
//! store refuses to load a component that imports the interface.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use async_trait::async_trait;
use hotswap_core::Result;
use hotswap_core::domain::{BucketName, KeyValueGrants};
use hotswap_core::keyvalue::{KeyPage, KeyValueStore};
use hotswap_core::runtime::http::{HttpCall, full_body};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeHost};
use hotswap_kv_file::FileKeyValue;
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::http_serving::text;

async fn component(
    store: Arc<dyn KeyValueStore>,
    grants: KeyValueGrants,
) -> Arc<dyn CompiledModule> {
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default()).unwrap();
    runtime
        .compile(
            ModuleSource::new(handler(&Handler::KeyValue))
                .with_outbound("kv@1.0.0", Default::default())
                .with_keyvalue(store, grants),
        )
        .await
        .unwrap()
}

/// What the component answers for `op` on `bucket`/`key` with `body`.
async fn call(
    module: &dyn CompiledModule,
    bucket: Option<&str>,
    op: &str,
    key: &str,
    body: &[u8],
) -> String {
    let mut request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "edge.test")
        .header("x-op", op)
        .header("x-key", key);
    if let Some(bucket) = bucket {
        request = request.header("x-bucket", bucket);
    }
    let request = request.body(full_body(body.to_vec())).unwrap();
    let response = module.serve_http(HttpCall::new(request)).await.unwrap();
    assert_eq!(response.status(), 200);
    text(response).await
}

fn file_store() -> (Arc<dyn KeyValueStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileKeyValue::open(dir.path().join("kv.redb")).unwrap();
    (Arc::new(store), dir)
}

#[tokio::test]
async fn granted_buckets_count_and_keep_values_across_instances() {
    let (store, _dir) = file_store();
    let module = component(
        store.clone(),
        KeyValueGrants::of(["counters", "default"]).unwrap(),
    )
    .await;
    for n in 1..=3 {
        assert_eq!(
            call(&*module, Some("counters"), "i", "hits", b"").await,
            format!("count {n}")
        );
    }
    assert_eq!(
        call(&*module, Some("counters"), "g", "hits", b"").await,
        "value 3"
    );
    assert_eq!(
        call(&*module, Some("counters"), "g", "other", b"").await,
        "none"
    );
    assert_eq!(
        call(&*module, Some("counters"), "s", "greeting", b"hello kv").await,
        "set"
    );
    assert_eq!(
        call(&*module, Some("counters"), "g", "greeting", b"").await,
        "value hello kv"
    );
    // The empty identifier opens `default`.
    assert_eq!(call(&*module, None, "s", "k", b"in default").await, "set");
    let default = BucketName::new("default").unwrap();
    assert_eq!(
        store.get(&default, "k").await.unwrap().as_deref(),
        Some(&b"in default"[..])
    );
    // What the guest wrote is in the store, for other versions to read.
    let counters = BucketName::new("counters").unwrap();
    assert_eq!(
        store.get(&counters, "hits").await.unwrap().as_deref(),
        Some(&b"3"[..])
    );
    // A value that is not a counter reaches the guest as `other`.
    let answer = call(&*module, Some("counters"), "i", "greeting", b"").await;
    assert!(
        answer.starts_with("error 2 ") && answer.contains("not a counter"),
        "{answer}"
    );
}

#[tokio::test]
async fn buckets_not_granted_are_denied_and_bad_names_do_not_exist() {
    let (store, _dir) = file_store();
    let module = component(store.clone(), KeyValueGrants::of(["counters"]).unwrap()).await;
    assert_eq!(
        call(&*module, Some("secrets"), "g", "k", b"").await,
        "error 1"
    );
    assert_eq!(
        call(&*module, None, "g", "k", b"").await,
        "error 1",
        "default is not granted"
    );
    assert_eq!(
        call(&*module, Some("Not A Bucket"), "g", "k", b"").await,
        "error 0"
    );
    let nothing = component(store, KeyValueGrants::default()).await;
    assert_eq!(
        call(&*nothing, Some("counters"), "i", "k", b"").await,
        "error 1"
    );
}

#[tokio::test]
async fn keys_and_values_past_the_grants_are_refused_before_the_store() {
    let (store, _dir) = file_store();
    let grants = KeyValueGrants {
        max_key_bytes: 8,
        max_value_bytes: 16,
        ..KeyValueGrants::of(["b"]).unwrap()
    };
    let module = component(store.clone(), grants).await;
    let answer = call(&*module, Some("b"), "s", "k", &[b'x'; 17]).await;
    assert_eq!(
        answer,
        "error 2 a value of 17 bytes is larger than the 16-byte limit"
    );
    let answer = call(&*module, Some("b"), "s", "key-too-long", b"v").await;
    assert_eq!(
        answer,
        "error 2 a key of 12 bytes is longer than the 8-byte limit"
    );
    assert_eq!(
        call(&*module, Some("b"), "s", "k", &[b'x'; 16]).await,
        "set"
    );
    let b = BucketName::new("b").unwrap();
    assert_eq!(store.get(&b, "k").await.unwrap(), Some(vec![b'x'; 16]));
    assert_eq!(store.get(&b, "key-too-long").await.unwrap(), None);
}

/// A store whose backend is down.
#[derive(Debug)]
struct Down;

#[async_trait]
impl KeyValueStore for Down {
    fn backend(&self) -> &'static str {
        "down"
    }
    async fn get(&self, _: &BucketName, _: &str) -> Result<Option<Vec<u8>>> {
        Err(down())
    }
    async fn set(&self, _: &BucketName, _: &str, _: &[u8]) -> Result<()> {
        Err(down())
    }
    async fn delete(&self, _: &BucketName, _: &str) -> Result<()> {
        Err(down())
    }
    async fn exists(&self, _: &BucketName, _: &str) -> Result<bool> {
        Err(down())
    }
    async fn list_keys(&self, _: &BucketName, _: Option<&str>) -> Result<KeyPage> {
        Err(down())
    }
    async fn increment(&self, _: &BucketName, _: &str, _: u64) -> Result<u64> {
        Err(down())
    }
}

fn down() -> hotswap_core::Error {
    hotswap_core::Error::unavailable("redis 10.0.0.7:6379", true, "connection refused")
}

#[tokio::test]
async fn an_unreachable_store_is_other_without_its_address() {
    let module = component(Arc::new(Down), KeyValueGrants::of(["b"]).unwrap()).await;
    let answer = call(&*module, Some("b"), "i", "k", b"").await;
    assert_eq!(
        answer,
        "error 2 the key-value store is unavailable (temporary)"
    );
}

#[tokio::test]
async fn a_node_without_a_store_refuses_the_component_naming_the_capability() {
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default()).unwrap();
    let e = runtime
        .compile(ModuleSource::new(handler(&Handler::KeyValue)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wasi:keyvalue/") && e.contains("capability keyvalue"),
        "{e}"
    );
}

//! `wasi:config/store` of a real component, and the whole reach of a small application (configuration, key-value,
//! an outbound call to a local upstream) in one request.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use hotswap_core::domain::{ConfigKey, ConfigValues, KeyValueGrants, OutboundGrants, SecretValue};
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_core::runtime::http::{HttpCall, full_body};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeHost};
use hotswap_kv_file::FileKeyValue;
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::http_serving::text;
use hotswap_testkit::upstream::Upstream;

fn values(revision: u64, pairs: &[(&str, &str)]) -> ConfigValues {
    let entries: BTreeMap<ConfigKey, SecretValue> = pairs
        .iter()
        .map(|(k, v)| (ConfigKey::new(*k).unwrap(), SecretValue::new(*v)))
        .collect();
    ConfigValues::new(revision, entries)
}

fn runtime() -> WasmtimeRuntime {
    WasmtimeRuntime::new(WasmtimeConfig::default().with_env_allowlist(["HOTSWAP_ALLOWED"])).unwrap()
}

async fn get(module: &dyn CompiledModule, key: Option<&str>) -> (u16, String) {
    let mut request = http::Request::builder()
        .uri("/")
        .header("host", "edge.test");
    if let Some(key) = key {
        request = request.header("x-key", key);
    }
    let response = module
        .serve_http(HttpCall::new(request.body(full_body(Vec::new())).unwrap()))
        .await
        .unwrap();
    (response.status().as_u16(), text(response).await)
}

#[tokio::test]
async fn a_component_reads_its_revision_through_wasi_config() {
    let config = values(3, &[("greeting", "hello"), ("api_token", "s3cr3t-token")]);
    let module = runtime()
        .compile(ModuleSource::new(handler(&Handler::Config)).with_config(config))
        .await
        .unwrap();
    assert_eq!(
        get(&*module, Some("greeting")).await,
        (200, "value hello".into())
    );
    assert_eq!(
        get(&*module, Some("api_token")).await,
        (200, "value s3cr3t-token".into())
    );
    assert_eq!(get(&*module, Some("missing")).await, (200, "none".into()));
    assert_eq!(
        get(&*module, None).await,
        (200, "api_token s3cr3t-token\ngreeting hello\n".into())
    );
    // Without configuration every key is unset.
    let bare = runtime()
        .compile(ModuleSource::new(handler(&Handler::Config)))
        .await
        .unwrap();
    assert_eq!(get(&*bare, Some("greeting")).await, (200, "none".into()));
    assert_eq!(get(&*bare, None).await, (200, String::new()));
}

#[tokio::test]
async fn an_application_reads_config_counts_in_keyvalue_and_calls_its_upstream() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn KeyValueStore> =
        Arc::new(FileKeyValue::open(dir.path().join("kv.redb")).unwrap());
    let grants = OutboundGrants::allowing([format!("http://127.0.0.1:{}", up.port)]).unwrap();
    let upstream = format!("127.0.0.1:{}", up.port);
    let compile = |upstream: String, grants: OutboundGrants| {
        let store = store.clone();
        async move {
            runtime()
                .compile(
                    ModuleSource::new(handler(&Handler::App))
                        .with_outbound("app@1.0.0", grants)
                        .with_keyvalue(store, KeyValueGrants::of(["counters"]).unwrap())
                        .with_config(values(
                            1,
                            &[("greeting", "hi"), ("upstream", upstream.as_str())],
                        )),
                )
                .await
                .unwrap()
        }
    };
    let app = compile(upstream.clone(), grants.clone()).await;
    for n in 1..=2 {
        assert_eq!(
            get(&*app, None).await,
            (200, format!("hi {n} status 200 upstream saw /"))
        );
    }
    assert_eq!(up.connections(), 2);
    // An upstream the grants do not name: the guest traps before its
    // response starts (the edge answers 500), and nothing connected.
    let other = compile("127.0.0.1:1".into(), grants).await;
    let request = http::Request::builder()
        .uri("/")
        .header("host", "edge.test")
        .body(full_body(Vec::new()))
        .unwrap();
    let e = other.serve_http(HttpCall::new(request)).await.unwrap_err();
    assert!(matches!(e, hotswap_core::Error::Trap { .. }), "{e}");
    assert_eq!(up.connections(), 2);
}

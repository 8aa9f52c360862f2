//! The HTTP serving path (EdgeHost::serve_http on the wasmtime adapter:
//! route choice, instance slots, a fresh instance per request, the body
//! collected) beside raw wasmtime-wasi-http handling the same request for
//! the same component on the same engine, in one process and run; and the
//! cost of an outbound request's allowlist check and of a key-value get on
//! the embedded store (alone, and through a wasi:keyvalue component)
//! beside a whole request.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use hotswap_benches::{paired_ratio, runtime, selected};
use hotswap_core::domain::{BucketName, KeyValueGrants, ModuleName, OutboundGrants};
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_core::runtime::ModuleSource;
use hotswap_core::runtime::http::{HttpCall, HttpRequest, empty_body};
use hotswap_edge::{EdgeHost, EdgeHostConfig};
use hotswap_kv_file::FileKeyValue;
use hotswap_runtime_wasmtime::WasmtimeConfig;
use hotswap_testkit::http_components;
use http_body_util::BodyExt;
use semver::Version;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

const BODY: &str = r#"{"result":5}"#;

/// What raw wasmtime-wasi-http keeps per request.
struct Raw {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Deny,
}

/// The hello component sends nothing; outbound requests are refused.
struct Deny;

type Sent = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl wasmtime_wasi_http::WasiHttpHooks for Deny {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

impl WasiView for Raw {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Raw {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

fn request() -> HttpRequest {
    http::Request::builder()
        .uri("http://bench.test/")
        .body(empty_body())
        .unwrap()
}

fn raw_body_error(e: hotswap_core::error::BoxError) -> wasmtime_wasi_http::Error {
    wasmtime_wasi_http::Error::InternalError(Some(e.to_string()))
}

/// One request through raw wasmtime-wasi-http: a store, an instance from
/// the `ProxyPre`, the handler, the response body read to its end.
async fn raw_request(engine: &wasmtime::Engine, pre: &ProxyPre<Raw>) -> Bytes {
    let mut store = Store::new(
        engine,
        Raw {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: Deny,
        },
    );
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, request().map(|b| b.map_err(raw_body_error)))
        .unwrap();
    let out = store
        .data_mut()
        .http()
        .new_response_outparam(sender)
        .unwrap();
    let proxy = pre.instantiate_async(&mut store).await.unwrap();
    proxy
        .wasi_http_incoming_handler()
        .call_handle(&mut store, req, out)
        .await
        .unwrap();
    let response = receiver.await.unwrap().unwrap();
    response.into_body().collect().await.unwrap().to_bytes()
}

fn serving(c: &mut Criterion) {
    if !selected("http_hello_fresh_instance") {
        return;
    }
    let rt = runtime(WasmtimeConfig::default());
    let engine = rt.engine().clone();
    let host = Arc::new(EdgeHost::new(Arc::new(rt), EdgeHostConfig::default()));
    let bytes = http_components::hello(BODY);
    let name = ModuleName::new("hello").unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio
        .block_on(host.deploy_bytes(&name, Version::new(1, 0, 0), bytes.clone()))
        .unwrap();
    let component = Component::new(&engine, &bytes).unwrap();
    let mut linker = Linker::<Raw>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let pre = ProxyPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();

    let raw = || {
        let body = tokio.block_on(raw_request(&engine, &pre));
        assert_eq!(body, BODY);
        black_box(body);
    };
    let ours = || {
        let body = tokio.block_on(async {
            let call = HttpCall::new(request());
            let response = host.serve_http_module(&name, call).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        });
        assert_eq!(body, BODY);
        black_box(body);
    };
    paired_ratio(
        "http_hello_fresh_instance hotswap_serve_http/raw_wasmtime_wasi_http (time per request)",
        100,
        200,
        raw,
        ours,
    );
    // What an outbound request pays for its allowlist check, beside a whole
    // hello request: 16 exact rules and a wildcard, matched last.
    let mut rules: Vec<String> = (0..16)
        .map(|i| format!("https://svc{i}.example.com"))
        .collect();
    rules.push("*://*.eu.example.com:*".into());
    let grants = OutboundGrants::allowing(&rules).unwrap();
    let check = || {
        let verdict = grants.check(black_box("https"), black_box("api.eu.example.com:8443"));
        assert!(verdict.is_ok());
        black_box(verdict).ok();
    };
    paired_ratio(
        "outbound_allowlist_check check/http_hello (time per request)",
        100,
        200,
        ours,
        check,
    );
    // What a KV get costs on the embedded file store, beside a whole hello
    // request: the store's get alone, and a request to a component that
    // opens its bucket and gets one key through wasi:keyvalue.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileKeyValue::open(dir.path().join("kv.redb")).unwrap());
    let bucket = BucketName::new("bench").unwrap();
    tokio
        .block_on(store.set(&bucket, "key", BODY.as_bytes()))
        .unwrap();
    let get = || {
        let value = tokio.block_on(store.get(black_box(&bucket), black_box("key")));
        assert_eq!(value.unwrap().as_deref(), Some(BODY.as_bytes()));
    };
    paired_ratio(
        "keyvalue_get_file file_store_get/http_hello (time per request)",
        100,
        200,
        ours,
        get,
    );
    let kv_module = tokio
        .block_on(
            host.runtime().compile(
                ModuleSource::new(http_components::handler(
                    &http_components::Handler::KeyValue,
                ))
                .with_keyvalue(store.clone(), KeyValueGrants::of(["bench"]).unwrap()),
            ),
        )
        .unwrap();
    let kv_request = || {
        let body = tokio.block_on(async {
            let request = http::Request::builder()
                .uri("/")
                .header("host", "edge.test")
                .header("x-bucket", "bench")
                .header("x-key", "key")
                .header("x-op", "g")
                .body(empty_body())
                .unwrap();
            let response = kv_module.serve_http(HttpCall::new(request)).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        });
        assert_eq!(body, format!("value {BODY}"));
        black_box(body);
    };
    paired_ratio(
        "keyvalue_get_request wasi_keyvalue_get_request/http_hello (time per request)",
        100,
        200,
        ours,
        kv_request,
    );
    let mut g = c.benchmark_group("http_hello_fresh_instance");
    g.bench_function("raw_wasmtime_wasi_http", |b| b.iter(raw));
    g.bench_function("hotswap_serve_http", |b| b.iter(ours));
    g.bench_function("outbound_allowlist_check", |b| b.iter(check));
    g.bench_function("keyvalue_get_file", |b| b.iter(get));
    g.bench_function("keyvalue_get_request", |b| b.iter(kv_request));
    g.finish();
}

criterion_group!(benches, serving);
criterion_main!(benches);

//! Outbound HTTP of a real `wasi:http` component against local upstream
//! servers on real sockets: allowed requests reach the upstream; denied
//! ones (by host, port, scheme, a wildcard's apex, userinfo and numeric
//! host tricks, a redirect's target, past the request count) get
//! `HTTP-request-denied` and never open a connection; responses past the
//! size limit fail their body.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_core::domain::OutboundGrants;
use hotswap_core::runtime::http::{HttpCall, empty_body};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeHost};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::http_serving::text;
use hotswap_testkit::upstream::Upstream;

/// `HTTP-request-denied`'s case in `wasi:http/types.error-code`.
const DENIED: &str = "error 15";

async fn fetcher(grants: OutboundGrants) -> Arc<dyn CompiledModule> {
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default()).unwrap();
    runtime
        .compile(ModuleSource::new(handler(&Handler::Fetch)).with_outbound("fetcher@1.0.0", grants))
        .await
        .unwrap()
}

/// What the fetcher answers for `scheme://authority/path`.
async fn fetch(module: &dyn CompiledModule, scheme: &str, authority: &str, path: &str) -> String {
    fetch_times(module, scheme, authority, path, 1).await
}

/// What the fetcher answers for `times` requests in one call, a line each.
async fn fetch_times(
    module: &dyn CompiledModule,
    scheme: &str,
    authority: &str,
    path: &str,
    times: u8,
) -> String {
    let request = http::Request::builder()
        .uri("/")
        .header("host", "edge.test")
        .header("x-repeat", times.to_string())
        .header("x-scheme", scheme)
        .header("x-authority", authority)
        .header("x-path", path)
        .body(empty_body())
        .unwrap();
    let response = module.serve_http(HttpCall::new(request)).await.unwrap();
    assert_eq!(response.status(), 200);
    text(response).await
}

#[tokio::test]
async fn allowed_destinations_are_reached_and_denied_ones_never_connected() {
    let up = Upstream::start().await;
    let other = Upstream::start().await;
    let p = up.port;
    let module =
        fetcher(OutboundGrants::allowing([format!("http://127.0.0.1:{p}")]).unwrap()).await;

    let ok = fetch(&*module, "http", &format!("127.0.0.1:{p}"), "/hello?x=1").await;
    assert_eq!(ok, "status 200 upstream saw /hello?x=1");
    assert_eq!(up.connections(), 1);

    // By port, by host, by scheme.
    let q = other.port;
    for (scheme, authority) in [
        ("http", format!("127.0.0.1:{q}")),
        ("http", format!("localhost:{p}")),
        ("https", format!("127.0.0.1:{p}")),
        // userinfo and numeric forms of the allowed address
        ("http", format!("evil.test@127.0.0.1:{p}")),
        ("http", format!("2130706433:{p}")),
        ("http", format!("0x7f.0.0.1:{p}")),
        ("http", format!("127.1:{p}")),
        ("http", format!("[::ffff:127.0.0.1]:{p}")),
    ] {
        let answer = fetch(&*module, scheme, &authority, "/").await;
        assert_eq!(answer, DENIED, "{scheme}://{authority}");
    }
    assert_eq!(up.connections(), 1, "no denied request connected");
    assert_eq!(other.connections(), 0);
}

#[tokio::test]
async fn a_wildcard_never_admits_its_apex_and_a_redirect_is_checked_anew() {
    let up = Upstream::start().await;
    let p = up.port;
    let grants = OutboundGrants::allowing([
        format!("http://*.example.test:{p}"),
        format!("http://127.0.0.1:{p}"),
    ])
    .unwrap();
    let module = fetcher(grants).await;
    assert_eq!(
        fetch(&*module, "http", &format!("localhost:{p}"), "/").await,
        DENIED
    );
    assert_eq!(up.connections(), 0);

    // The redirect reaches the guest as a 302; following it to its
    // location is a new request, and denied.
    let answer = fetch(&*module, "http", &format!("127.0.0.1:{p}"), "/redirect").await;
    assert_eq!(answer, "status 302 ");
    assert_eq!(fetch(&*module, "http", "denied.test", "/").await, DENIED);
    assert_eq!(up.connections(), 1);
}

#[tokio::test]
async fn limits_hold_per_invocation() {
    let up = Upstream::start().await;
    let p = up.port;
    let mut grants = OutboundGrants::allowing([format!("http://127.0.0.1:{p}")]).unwrap();
    grants.max_response_bytes = 1024;
    grants.max_requests = 2;
    let module = fetcher(grants).await;
    // A 64 KiB body past a 1 KiB limit fails as the guest reads it.
    let answer = fetch(&*module, "http", &format!("127.0.0.1:{p}"), "/big").await;
    assert!(answer.starts_with("status 200 "), "{answer}");
    assert!(answer.ends_with(" body-error"), "{answer:.40}");
    assert!(answer.len() < 1024 + 40, "{}", answer.len());
    // Two requests per invocation: the third of one call is denied, and
    // the next call starts its own count.
    let before = up.connections();
    let answer = fetch_times(&*module, "http", &format!("127.0.0.1:{p}"), "/n", 3).await;
    assert_eq!(
        answer,
        format!("status 200 upstream saw /n\nstatus 200 upstream saw /n\n{DENIED}")
    );
    assert_eq!(up.connections(), before + 2);
    let answer = fetch(&*module, "http", &format!("127.0.0.1:{p}"), "/again").await;
    assert_eq!(answer, "status 200 upstream saw /again");
}

#[tokio::test]
async fn nothing_is_reachable_without_grants() {
    let up = Upstream::start().await;
    let module = fetcher(OutboundGrants::default()).await;
    let answer = fetch(&*module, "http", &format!("127.0.0.1:{}", up.port), "/").await;
    assert_eq!(answer, DENIED);
    assert_eq!(up.connections(), 0);
}

#[tokio::test]
async fn timeouts_and_refusals_reach_the_guest_as_error_codes() {
    let up = Upstream::start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut grants = OutboundGrants::allowing([
        format!("http://127.0.0.1:{}", up.port),
        format!("http://127.0.0.1:{closed}"),
    ])
    .unwrap();
    grants.timeout_ms = 300;
    let module = fetcher(grants).await;
    // No first byte within the timeout is connection-read-timeout (case 9,
    // as wasmtime-wasi-http's own sender says it); connection-refused is 6.
    let silent = fetch(
        &*module,
        "http",
        &format!("127.0.0.1:{}", up.port),
        "/silent",
    )
    .await;
    assert_eq!(silent, "error 9");
    let refused = fetch(&*module, "http", &format!("127.0.0.1:{closed}"), "/").await;
    assert_eq!(refused, "error 6");
}

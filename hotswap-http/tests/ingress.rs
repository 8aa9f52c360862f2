//! The edge ingress over real sockets, on the wasmtime runtime, with
//! wasi:http components built from WAT at test time.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use hotswap_core::domain::{
    HttpRoute, HttpRouteSet, ModuleName, ResourceLimits, RouteMatch, RouteRule, RoutingTable,
    WasmModule,
};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_edge::{EdgeHost, EdgeHostConfig, HttpRouting, StickyKey};
use hotswap_http::ingress::{Ingress, IngressConfig};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::http_components::{Handler, handler};
use http::HeaderName;
use semver::Version;

struct Node {
    host: Arc<EdgeHost>,
    base: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn node(routing: HttpRouting, config: IngressConfig) -> Node {
    let runtime = WasmtimeRuntime::new(
        WasmtimeConfig::default()
            .with_queue_capacity(1)
            .with_epoch_tick(Duration::from_millis(10)),
    )
    .unwrap();
    let host = Arc::new(EdgeHost::new(
        Arc::new(runtime),
        EdgeHostConfig::default().with_http_routing(routing),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ingress = Ingress::new(host.clone(), config);
    tokio::spawn(ingress.serve(listener, async {
        let _ = stopped.await;
    }));
    Node {
        host,
        base,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

fn name(s: &str) -> ModuleName {
    ModuleName::new(s).unwrap()
}

fn module(n: &str, version: &str, bytes: &[u8], limits: ResourceLimits) -> WasmModule {
    let mut m = inspect(bytes, &InspectOptions::default())
        .unwrap()
        .into_module(
            name(n),
            Version::parse(version).unwrap(),
            "test",
            chrono::Utc::now(),
        );
    m.limits = limits;
    m
}

impl Node {
    async fn deploy(&self, n: &str, version: &str, h: &Handler, limits: ResourceLimits) {
        let bytes = handler(h);
        let m = module(n, version, &bytes, limits);
        self.host.deploy(&m, bytes.into()).await.unwrap();
    }

    fn routes(&self, revision: u64, routes: &[(&str, &str, &str)]) {
        let routes = routes
            .iter()
            .map(|(host, prefix, m)| {
                HttpRoute::new(host, Some(prefix), name(m), chrono::Utc::now()).unwrap()
            })
            .collect();
        self.host
            .apply_http_routes(&HttpRouteSet { revision, routes })
            .unwrap();
    }

    fn get(&self, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("host", host)
    }

    async fn text(&self, host: &str, path: &str) -> (u16, String) {
        let r = self.get(host, path).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn respond(body: &str) -> Handler {
    Handler::Respond {
        status: 200,
        body: body.into(),
    }
}

#[tokio::test]
async fn requests_go_to_the_longest_prefix_of_their_host_and_others_are_404_problems() {
    let n = node(HttpRouting::default(), IngressConfig::default()).await;
    let limits = ResourceLimits::default();
    n.deploy("root", "1.0.0", &respond("root"), limits).await;
    n.deploy("api", "1.0.0", &respond("api"), limits).await;
    n.deploy("reflect", "1.0.0", &Handler::Reflect, limits)
        .await;
    n.routes(
        1,
        &[
            ("example.com", "/", "root"),
            ("example.com", "/api", "api"),
            ("*", "/reflect", "reflect"),
        ],
    );
    assert_eq!(
        n.text("example.com", "/api/users").await,
        (200, "api".into())
    );
    assert_eq!(n.text("example.com", "/apis").await, (200, "root".into()));
    assert_eq!(
        n.text("EXAMPLE.com:8080", "/api").await,
        (200, "api".into())
    );

    let r = n.get("other.org", "/nothing").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["kind"], "http route", "{p}");
    assert_eq!(p["id"], "other.org/nothing", "{p}");

    // The handler sees the request whole: method, scheme, authority, path
    // with query, headers and body; no version header unless configured.
    let r = n
        .http
        .post(format!("{}/reflect/a?b=1", n.base))
        .header("host", "other.org")
        .header("x-test", "seen")
        .body("the body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-hotswap-version").is_none());
    assert_eq!(
        r.text().await.unwrap(),
        "2 0 other.org /reflect/a?b=1 seen\nthe body"
    );

    // The JSON call path works beside it on the same host.
    assert_eq!(
        n.host.serving(&name("reflect")),
        Some(Version::new(1, 0, 0))
    );
}

#[tokio::test]
async fn each_failure_is_a_clear_response_and_the_node_keeps_serving() {
    let n = node(
        HttpRouting::default(),
        IngressConfig::default().with_max_body_bytes(1024),
    )
    .await;
    let short = ResourceLimits::default().with_timeout(Duration::from_millis(300));
    n.deploy("trap", "1.0.0", &Handler::Trap, short).await;
    n.deploy("silent", "1.0.0", &Handler::NoResponse, short)
        .await;
    n.deploy("spin", "1.0.0", &Handler::Spin, short).await;
    n.deploy("length", "1.0.0", &Handler::Length, short).await;
    n.deploy(
        "busy",
        "1.0.0",
        &Handler::Spin,
        short.with_max_concurrent_instances(1),
    )
    .await;
    n.routes(
        1,
        &[
            ("a.test", "/trap", "trap"),
            ("a.test", "/silent", "silent"),
            ("a.test", "/spin", "spin"),
            ("a.test", "/length", "length"),
            ("a.test", "/busy", "busy"),
        ],
    );
    for path in ["/trap", "/silent"] {
        let r = n.get("a.test", path).send().await.unwrap();
        assert_eq!(r.status(), 500, "{path}");
        let text = r.text().await.unwrap();
        let p: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(p["type"], "https://hotswap.dev/problems/handler-failed");
        for leak in ["unreachable", "wasm", "backtrace", "without setting"] {
            assert!(!text.contains(leak), "{path} leaks {leak:?}: {text}");
        }
    }
    let r = n.get("a.test", "/spin").send().await.unwrap();
    assert_eq!(r.status(), 504);

    // Over the limit by Content-Length, and by a streamed body that never
    // said its length.
    let r = n
        .http
        .post(format!("{}/length", n.base))
        .header("host", "a.test")
        .body(vec![b'x'; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..8).map(|_| Ok(Bytes::from(vec![b'y'; 512]))).collect();
    let r = n
        .http
        .post(format!("{}/length", n.base))
        .header("host", "a.test")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["limit"], "request_bytes", "{p}");

    // One instance, a queue of one: the third request at once is refused.
    let busy: Vec<_> = (0..3)
        .map(|_| {
            let req = n.get("a.test", "/busy");
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let mut refused = 0;
    for t in busy {
        let r = t.await.unwrap();
        if r.status() == 503 {
            assert_eq!(r.headers()["retry-after"], "1");
            refused += 1;
        } else {
            assert_eq!(r.status(), 504);
        }
    }
    assert!(refused >= 1, "a full pool refuses");

    // The node still serves.
    let r = n
        .http
        .post(format!("{}/length", n.base))
        .header("host", "a.test")
        .body("12345")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "5");
}

#[tokio::test]
async fn the_routing_table_chooses_on_real_headers_cookies_and_pins() {
    let routing = HttpRouting::default()
        .with_sticky(StickyKey::Cookie("hs_uid".into()))
        .with_pin_header(HeaderName::from_static("x-hotswap-version"))
        .with_version_header(HeaderName::from_static("x-served-by"));
    let n = node(routing, IngressConfig::default()).await;
    let limits = ResourceLimits::default();
    n.deploy("app", "1.0.0", &respond("one"), limits).await;
    let bytes = handler(&respond("two"));
    n.host
        .load(&module("app", "2.0.0", &bytes, limits), bytes.into())
        .await
        .unwrap();
    n.routes(1, &[("app.test", "/", "app")]);
    let (v1, v2) = (Version::new(1, 0, 0), Version::new(2, 0, 0));
    let mut table = RoutingTable::new(name("app"), v1.clone()).with_candidate(v2.clone(), 50);
    table.rules.push(RouteRule {
        when: RouteMatch::Header {
            name: "x-beta".into(),
            value: "yes".into(),
        },
        version: v2.clone(),
    });
    table.revision = 2;
    n.host.apply_routing(table.clone()).unwrap();

    let served = |r: &reqwest::Response| r.headers()["x-served-by"].to_str().unwrap().to_owned();
    let r = n
        .get("app.test", "/")
        .header("x-beta", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(served(&r), "2.0.0");
    let r = n
        .get("app.test", "/")
        .header("x-hotswap-version", "1.0.0")
        .header("x-beta", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (served(&r), r.text().await.unwrap()),
        ("1.0.0".into(), "one".into())
    );
    let r = n
        .get("app.test", "/")
        .header("x-hotswap-version", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = n
        .get("app.test", "/")
        .header("x-hotswap-version", "3.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A user without the cookie gets one, and keeps their version with it
    // while the candidate's weight rises.
    let mut users = Vec::new();
    for _ in 0..40 {
        let r = n.get("app.test", "/").send().await.unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        let pair = cookie.split(';').next().unwrap().to_owned();
        users.push((pair, served(&r)));
    }
    let on_v2 = users.iter().filter(|(_, v)| v == "2.0.0").count();
    assert!((5..=35).contains(&on_v2), "about half of 40 on v2: {on_v2}");
    table.candidate.as_mut().unwrap().weight = 90;
    table.revision = 3;
    n.host.apply_routing(table).unwrap();
    for (pair, version) in &users {
        let r = n
            .get("app.test", "/")
            .header("cookie", pair)
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        if version == "2.0.0" {
            assert_eq!(&served(&r), version, "{pair} stays on the candidate");
        }
    }
}

#[tokio::test]
async fn a_5xx_answer_counts_as_an_error_of_its_version() {
    let n = node(HttpRouting::default(), IngressConfig::default()).await;
    let failing = Handler::Respond {
        status: 503,
        body: "down".into(),
    };
    n.deploy("down", "1.0.0", &failing, ResourceLimits::default())
        .await;
    n.routes(1, &[("*", "/", "down")]);
    for _ in 0..3 {
        assert_eq!(n.text("x.test", "/").await, (503, "down".into()));
    }
    let stats = n.host.stats();
    let s = stats.iter().find(|s| s.module == name("down")).unwrap();
    assert_eq!((s.calls, s.errors), (3, 3));
    assert_eq!(s.latency.len(), 3);
}

#[tokio::test]
async fn a_swap_leaves_streaming_requests_on_the_version_they_started_on() {
    let n = node(HttpRouting::default(), IngressConfig::default()).await;
    let limits = ResourceLimits::default().with_timeout(Duration::from_secs(20));
    let echo = |p: &str| Handler::Echo { prefix: p.into() };
    n.deploy("echo", "1.0.0", &echo("v1:"), limits).await;
    n.routes(1, &[("*", "/", "echo")]);

    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let streaming = n
        .http
        .post(format!("{}/", n.base))
        .header("host", "e.test")
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    tx.send(Ok(Bytes::from_static(b"first "))).await.unwrap();
    let mut response = streaming.await.unwrap();
    let mut got = Vec::new();
    while got.len() < b"v1:first ".len() {
        got.extend_from_slice(&response.chunk().await.unwrap().unwrap());
    }

    n.deploy("echo", "2.0.0", &echo("v2:"), limits).await;
    let r = n
        .http
        .post(format!("{}/", n.base))
        .header("host", "e.test")
        .body("new")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "v2:new");

    tx.send(Ok(Bytes::from_static(b"second"))).await.unwrap();
    drop(tx);
    while let Some(chunk) = response.chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8(got).unwrap(), "v1:first second");
}

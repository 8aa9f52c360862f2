//! Conformance suite for serving `wasi:http/incoming-handler` components
//! through [`CompiledModule::serve_http`]: the whole request in, a streamed
//! response out, a fresh instance per request, each failure a distinct
//! error, and handlers that compute or wait never holding up others on
//! their thread. A runtime without the `wasi_http` capability skips it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hotswap_core::Error;
use hotswap_core::domain::ResourceLimits;
use hotswap_core::error::BoxError;
use hotswap_core::runtime::http::{
    BodyTooLarge, HttpBody, HttpCall, HttpResponse, empty_body, full_body,
};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeHost};
use http_body_util::{BodyExt, StreamBody};

use crate::http_components::{self, Handler};
use crate::runtime::RuntimeHarness;

async fn load(
    h: &RuntimeHarness,
    bytes: Vec<u8>,
    limits: ResourceLimits,
) -> Arc<dyn CompiledModule> {
    h.runtime
        .compile(ModuleSource::new(bytes).with_limits(limits))
        .await
        .expect("fixture compiles")
}

fn lacks_http(rt: &dyn RuntimeHost) -> bool {
    let lacks = !rt.capabilities().wasi_http;
    if lacks {
        println!("skipped: the runtime lacks the capability `wasi_http`");
    }
    lacks
}

/// A GET of `path` on host `example.test`.
pub fn get(path: &str) -> HttpCall {
    request(http::Method::GET, path, empty_body())
}

/// A request with `body` on host `example.test`.
pub fn request(method: http::Method, path: &str, body: HttpBody) -> HttpCall {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "example.test")
        .body(body)
        .expect("a valid request");
    HttpCall::new(request)
}

/// A body fed through the returned sender, chunk by chunk; dropping the
/// sender ends it, sending an error fails it.
pub fn channel_body() -> (
    futures::channel::mpsc::Sender<Result<Bytes, BoxError>>,
    HttpBody,
) {
    let (tx, rx) = futures::channel::mpsc::channel(4);
    let body =
        StreamBody::new(rx.map(|chunk: Result<Bytes, BoxError>| chunk.map(http_body::Frame::data)));
    (tx, body.boxed_unsync())
}

/// The whole body of `response` as text.
pub async fn text(response: HttpResponse) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body completes")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("a UTF-8 body")
}

/// A hello component answers 200 with its body and header; a module that
/// does not serve HTTP says so as `NotFound`.
pub async fn http_components_answer_requests(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let m = load(
        h,
        http_components::hello("hello, world"),
        ResourceLimits::default(),
    )
    .await;
    assert!(m.serves_http());
    let response = m.serve_http(get("/")).await.expect("served");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(text(response).await, "hello, world");

    let plain = load(h, crate::fixtures::numeric(1), ResourceLimits::default()).await;
    assert!(!plain.serves_http());
    let e = plain.serve_http(get("/")).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// Components of any `wasi:http` 0.2 release are served.
pub async fn http_components_of_later_releases_are_served(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let handler = Handler::Respond {
        status: 201,
        body: "0.2.4".into(),
    };
    let m = load(
        h,
        http_components::handler_at(&handler, "0.2.4"),
        ResourceLimits::default(),
    )
    .await;
    let response = m.serve_http(get("/")).await.expect("served");
    assert_eq!(response.status(), 201);
    assert_eq!(text(response).await, "0.2.4");
}

/// The handler sees the method, scheme, authority, path with query,
/// headers and body the client sent.
pub async fn http_requests_reach_the_handler_whole(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let m = load(
        h,
        http_components::handler(&Handler::Reflect),
        ResourceLimits::default(),
    )
    .await;
    let mut call = request(http::Method::POST, "/a/b?q=1&r=2", full_body("payload"));
    call.request
        .headers_mut()
        .insert("x-test", http::HeaderValue::from_static("tested"));
    let call = call.with_scheme(http::uri::Scheme::HTTPS);
    let response = m.serve_http(call).await.expect("served");
    assert_eq!(
        text(response).await,
        "2 1 example.test /a/b?q=1&r=2 tested\npayload"
    );
    let response = m.serve_http(get("/")).await.expect("served");
    assert_eq!(text(response).await, "0 0 example.test / \n");
}

/// Bodies stream both ways: the echo's first chunk comes back before the
/// request body has ended.
pub async fn http_bodies_stream_both_ways(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let echo = Handler::Echo {
        prefix: "echo:".into(),
    };
    let m = load(
        h,
        http_components::handler(&echo),
        ResourceLimits::default(),
    )
    .await;
    let (mut tx, body) = channel_body();
    let response = m
        .serve_http(request(http::Method::POST, "/", body))
        .await
        .expect("the head comes before the body ends");
    let mut body = response.into_body();
    let mut seen = Vec::new();
    tx.send(Ok(Bytes::from_static(b"first")))
        .await
        .expect("sent");
    while seen.len() < b"echo:first".len() {
        let frame = body.frame().await.expect("a frame").expect("data");
        seen.extend_from_slice(&frame.into_data().expect("data"));
    }
    assert_eq!(
        seen, b"echo:first",
        "echoed while the request still streams"
    );
    tx.send(Ok(Bytes::from(vec![b'x'; 10_000])))
        .await
        .expect("sent");
    drop(tx);
    let rest = body.collect().await.expect("the body completes").to_bytes();
    assert_eq!(rest.len(), 10_000);
}

/// Every request runs in a fresh instance: a global written by one is
/// gone at the next.
pub async fn http_requests_get_fresh_instances(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let m = load(
        h,
        http_components::handler(&Handler::Counter),
        ResourceLimits::default(),
    )
    .await;
    for _ in 0..3 {
        let response = m.serve_http(get("/")).await.expect("served");
        assert_eq!(text(response).await, "1");
    }
}

/// A trap, a handler that never sets a response and one that runs past its
/// timeout are distinct errors, and the version keeps serving after each.
pub async fn http_failures_are_errors_and_the_version_keeps_serving(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let limits = ResourceLimits::default().with_timeout(Duration::from_millis(300));
    let trap = load(h, http_components::handler(&Handler::Trap), limits).await;
    let e = trap.serve_http(get("/")).await.unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e}");

    let silent = load(h, http_components::handler(&Handler::NoResponse), limits).await;
    let e = silent.serve_http(get("/")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Trap { message, .. } if message.contains("without setting a response")),
        "{e}"
    );

    let spin = load(h, http_components::handler(&Handler::Spin), limits).await;
    let e = spin.serve_http(get("/")).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");

    // The guest cannot read past the ingress's body limit.
    let length = load(h, http_components::handler(&Handler::Length), limits).await;
    let (mut tx, body) = channel_body();
    tx.send(Ok(Bytes::from_static(b"12345")))
        .await
        .expect("sent");
    tx.send(Err(Box::new(BodyTooLarge { limit: 5 })))
        .await
        .expect("sent");
    let e = length
        .serve_http(request(http::Method::POST, "/", body))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e}");

    let response = trap.serve_http(get("/")).await;
    assert!(
        matches!(response, Err(Error::Trap { .. })),
        "traps again, never hangs"
    );
    let response = length
        .serve_http(request(http::Method::POST, "/", full_body("abc")))
        .await
        .expect("served after failures");
    assert_eq!(text(response).await, "3");
}

/// Requests beyond a version's instance limit wait; beyond the queue they
/// are refused at once with `LimitExceeded`.
pub async fn http_over_capacity_is_refused(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let limits = ResourceLimits::default()
        .with_max_concurrent_instances(1)
        .with_timeout(Duration::from_millis(300));
    let m = load(h, http_components::handler(&Handler::Spin), limits).await;
    let requests = h.queue_capacity as usize + 2;
    let tasks: Vec<_> = (0..requests)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.serve_http(get("/")).await.map(|_| ()) })
        })
        .collect();
    let (mut timeouts, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Err(Error::Timeout { .. }) => timeouts += 1,
            Err(Error::LimitExceeded { .. }) => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((timeouts, refused), (requests - 1, 1));
}

/// On a runtime with one thread, a handler computing in a loop and one
/// waiting on a request body that never arrives both leave room for other
/// requests: hello is answered while both are still running.
pub async fn long_handlers_never_hold_up_others(h: &RuntimeHarness) {
    if lacks_http(&*h.runtime) {
        return;
    }
    let limits = ResourceLimits::default().with_timeout(Duration::from_secs(5));
    let spin = load(h, http_components::handler(&Handler::Spin), limits).await;
    let length = load(h, http_components::handler(&Handler::Length), limits).await;
    let hello = load(h, http_components::hello("hi"), limits).await;
    let outcome = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let spinning = tokio::spawn(async move { spin.serve_http(get("/")).await.map(|_| ()) });
            let (tx, body) = channel_body();
            let waiting = tokio::spawn(async move {
                length
                    .serve_http(request(http::Method::POST, "/", body))
                    .await
                    .map(|_| ())
            });
            // Let both start running on this one thread.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let response = hello.serve_http(get("/")).await.expect("served");
            let answered = text(response).await;
            let still_running = !spinning.is_finished() && !waiting.is_finished();
            drop(tx);
            spinning.abort();
            (answered, still_running)
        })
    })
    .join()
    .expect("the thread ends");
    assert_eq!(outcome, ("hi".to_owned(), true));
}

/// One `#[test]` per behaviour of the HTTP serving suite, for a factory of
/// [`RuntimeHarness`].
#[macro_export]
macro_rules! http_serving_suite {
    ($make:expr) => {
        mod http_serving_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__harness_tests!(
                $make,
                http_serving,
                [
                    http_components_answer_requests,
                    http_components_of_later_releases_are_served,
                    http_requests_reach_the_handler_whole,
                    http_bodies_stream_both_ways,
                    http_requests_get_fresh_instances,
                    http_failures_are_errors_and_the_version_keeps_serving,
                    http_over_capacity_is_refused,
                    long_handlers_never_hold_up_others,
                ]
            );
        }
    };
}

//! Traces and metrics across HTTP: every request served gets a server span,
//! a child of the caller's W3C trace context (`traceparent`), and is
//! counted and timed by its matched route; every request sent gets a client
//! span whose context travels in the headers. The propagator is
//! OpenTelemetry's global one, which binaries set to W3C trace context.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use hotswap_core::observe::{HTTP_REQUEST_DURATION, HTTP_REQUESTS, TraceLink};
use opentelemetry::propagation::{Extractor, Injector};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut reqwest::header::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(key.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// The counter and histogram of one (route, method, status), kept so a
/// request looks them up instead of building their labels.
struct RouteMetrics {
    route: String,
    method: String,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

type MetricsCache = RwLock<HashMap<u64, Vec<RouteMetrics>>>;

static ROUTE_METRICS: LazyLock<MetricsCache> = LazyLock::new(Default::default);

/// Count and time one request.
fn record(route: &str, method: &str, status: u16, elapsed: Duration) {
    let key = {
        let mut h = rustc_hash::FxHasher::default();
        (route, method, status).hash(&mut h);
        h.finish()
    };
    let same = |m: &RouteMetrics| m.status == status && m.route == route && m.method == method;
    if let Some(m) = ROUTE_METRICS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .and_then(|ms| ms.iter().find(|m| same(m)))
    {
        m.requests.increment(1);
        m.duration.record(elapsed.as_secs_f64());
        return;
    }
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    let m = RouteMetrics {
        route: route.to_owned(),
        method: method.to_owned(),
        status,
        requests: metrics::counter!(HTTP_REQUESTS, &labels),
        duration: metrics::histogram!(HTTP_REQUEST_DURATION, &labels),
    };
    m.requests.increment(1);
    m.duration.record(elapsed.as_secs_f64());
    ROUTE_METRICS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .push(m);
}

/// The server side of every request: span, trace context, metrics, and
/// the request timeout (answered with a problem).
pub(crate) async fn serve_observed(timeout: Duration, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!("http.server", otel.name = %format!("{method} {route}"),
        otel.kind = "server", http.request.method = %method, http.route = %route,
        url.path = %req.uri().path(), http.response.status_code = tracing::field::Empty);
    if !span.is_disabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
    }
    let start = Instant::now();
    let response = match tokio::time::timeout(timeout, next.run(req).instrument(span.clone())).await
    {
        Ok(response) => response,
        Err(_) => crate::server::timed_out(timeout),
    };
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    record(&route, method.as_str(), status, start.elapsed());
    response
}

/// A client span for a request to `url`, with its context in `headers`.
pub(crate) fn client_span(
    method: &str,
    url: &str,
    headers: &mut reqwest::header::HeaderMap,
) -> tracing::Span {
    let span = tracing::info_span!("http.client", otel.name = %method, otel.kind = "client",
        http.request.method = %method, url.full = %url, http.response.status_code = tracing::field::Empty);
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers))
    });
    span
}

/// [`TraceLink`] over OpenTelemetry's global propagator: W3C
/// `traceparent` text in, span parents out.
#[derive(Clone, Copy, Debug, Default)]
pub struct W3cTraceLink;

impl TraceLink for W3cTraceLink {
    fn current(&self) -> Option<String> {
        let cx = tracing::Span::current().context();
        let mut carrier: HashMap<String, String> = HashMap::new();
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
        carrier.remove("traceparent")
    }

    fn set_parent(&self, span: &tracing::Span, traceparent: &str) {
        let carrier: HashMap<String, String> =
            [("traceparent".to_owned(), traceparent.to_owned())].into();
        let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
        let _ = span.set_parent(cx);
    }
}

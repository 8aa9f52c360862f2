//! The HTTP ingress: a listener of its own, beside the agent or control
//! plane API. On an edge node it hands each request to the wasi:http
//! component its host and path route to, on the version the routing table
//! chooses for it; on a control plane it forwards requests to a node.
//!
//! Failures are answered with a problem (`application/problem+json`) and
//! never stop the node serving:
//!
//! | what happened | status |
//! |---|---|
//! | no route for the host and path | `404` |
//! | a pin header that is not a version | `400` |
//! | a body over the limit (`Content-Length` or streamed) | `413` |
//! | a trap, or a handler that set no response | `500`, without guest details |
//! | the handler ran past its timeout | `504` |
//! | no instance free, or the routed module not served here yet | `503` with `Retry-After` |

mod body;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER};
use http::{HeaderName, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use hotswap_core::error::{BoxError, Error};
use hotswap_core::runtime::http::{HttpCall, HttpResponse, HttpService, full_body};

use crate::problem::{PROBLEM_JSON, Problem};
use body::LimitedBody;

/// The default largest request body: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// How the ingress takes requests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngressConfig {
    /// The largest request body; larger ones are answered `413`.
    pub max_body_bytes: u64,
    /// Take the scheme the client used from this header (a TLS terminator
    /// in front sets `x-forwarded-proto`); without it, every request is
    /// `http`. Only set it when every client comes through that proxy.
    pub scheme_header: Option<HeaderName>,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
}

impl Default for IngressConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            scheme_header: None,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

impl IngressConfig {
    /// Answer bodies over `bytes` with `413`.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Trust header `name` for the client's scheme.
    #[must_use]
    pub fn with_scheme_header(mut self, name: HeaderName) -> Self {
        self.scheme_header = Some(name);
        self
    }
}

/// An HTTP listener in front of an [`HttpService`]: an edge host serving
/// its routes, or a control plane forwarding requests to nodes.
#[derive(Clone, Debug)]
pub struct Ingress {
    service: Arc<dyn HttpService>,
    config: Arc<IngressConfig>,
}

impl Ingress {
    /// An ingress answering with `service` (an `Arc<EdgeHost>` serves the
    /// node's HTTP routes).
    pub fn new(service: Arc<dyn HttpService>, config: IngressConfig) -> Self {
        Self {
            service,
            config: Arc::new(config),
        }
    }

    /// Answer one request: route, serve, and turn every failure into its
    /// problem response.
    pub async fn handle<B>(&self, request: http::Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let limit = self.config.max_body_bytes;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return problem(too_large(limit));
        }
        if request.uri().authority().is_none() && !request.headers().contains_key(HOST) {
            return problem(Problem::invalid(
                "host",
                "the request names no host (no Host header, no absolute URI)",
            ));
        }
        let scheme = self
            .config
            .scheme_header
            .as_ref()
            .and_then(|h| request.headers().get(h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<http::uri::Scheme>().ok())
            .unwrap_or(http::uri::Scheme::HTTP);
        let (parts, body) = request.into_parts();
        let (body, tripped) = LimitedBody::new(body, limit);
        let request = http::Request::from_parts(parts, body.boxed_unsync());
        let call = HttpCall::new(request).with_scheme(scheme);
        let outcome = self.service.serve_http(call).await;
        if tripped.is_set() {
            return problem(too_large(limit));
        }
        match outcome {
            Ok(response) => response,
            Err(e) => problem(error_problem(e)),
        }
    }

    /// Serve on `listener` until `shutdown` completes; connections then
    /// finish the requests they carry before this returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    // Out of file descriptors and the like: pause, go on.
                    Err(e) => {
                        tracing::warn!(error = %e, "ingress accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let ingress = self.clone();
            let service = hyper::service::service_fn(move |req| {
                let ingress = ingress.clone();
                async move { Ok::<_, std::convert::Infallible>(ingress.handle(req).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "ingress connection ended with an error");
                }
            });
        }
        graceful.shutdown().await;
        Ok(())
    }
}

fn too_large(limit: u64) -> Problem {
    let mut p = Problem::too_large(format!("the request body is larger than {limit} bytes"));
    p.limit = Some(hotswap_core::LimitKind::RequestBytes.to_string());
    p.amount = Some(limit);
    p
}

/// The problem answering a request that failed with `e`. What a guest
/// said when it failed (trap messages, backtraces) stays in the log.
fn error_problem(e: Error) -> Problem {
    let unavailable = |detail: String| {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        p.temporary = Some(true);
        p.retry_after_secs = Some(1);
        p
    };
    match e {
        Error::NotFound { .. } | Error::Invalid { .. } | Error::Timeout { .. } => Problem::from(e),
        Error::LimitExceeded { .. } => {
            unavailable("every instance of the module is busy; try again shortly".into())
        }
        Error::Unavailable { service, .. } => {
            unavailable(format!("{service} cannot take requests on this node now"))
        }
        other => {
            tracing::warn!(error = %other, "an HTTP handler failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "handler-failed",
                "the module failed before it answered the request",
            )
        }
    }
}

/// `p` as a response.
fn problem(p: Problem) -> HttpResponse {
    let status = p.status_code();
    let retry = p.retry_after_secs;
    let body = serde_json::to_vec(&p).unwrap_or_default();
    let mut response = http::Response::new(full_body(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(secs) = retry {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

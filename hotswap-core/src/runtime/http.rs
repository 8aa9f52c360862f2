//! HTTP requests for components that export `wasi:http/incoming-handler`.
//!
//! The types are `http`'s, with one boxed streaming body type both ways, so
//! a runtime adapter, the edge host and the HTTP ingress pass requests and
//! responses through without copying or buffering them.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};

use crate::error::BoxError;

/// A streamed request or response body.
pub type HttpBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request for a wasi:http handler.
pub type HttpRequest = http::Request<HttpBody>;

/// What a wasi:http handler answered; its body streams from the instance
/// that handled the request, which lives until the body ends or is dropped.
pub type HttpResponse = http::Response<HttpBody>;

/// The export a component serves HTTP requests through, without version.
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// Whether `export` names `wasi:http/incoming-handler` at a 0.2 version.
pub fn is_incoming_handler(export: &str) -> bool {
    export
        .strip_prefix(INCOMING_HANDLER)
        .and_then(|v| v.strip_prefix("@0.2."))
        .is_some()
}

/// The error a request body yields when it grows past the ingress's
/// limit; runtimes tell the guest its body was too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct BodyTooLarge {
    /// The limit in bytes.
    pub limit: u64,
}

/// A body of `bytes`, sent in one piece.
pub fn full_body(bytes: impl Into<Bytes>) -> HttpBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty_body() -> HttpBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// One HTTP request for a module version.
#[derive(Debug)]
#[non_exhaustive]
pub struct HttpCall {
    /// The request: method, URI (path and query; authority when the client
    /// sent an absolute URI), headers and the streamed body.
    pub request: HttpRequest,
    /// The scheme the client used (the ingress may sit behind a TLS
    /// terminator that says so in a header).
    pub scheme: http::uri::Scheme,
}

impl HttpCall {
    /// A call for `request` over plain HTTP.
    pub fn new(request: HttpRequest) -> Self {
        Self {
            request,
            scheme: http::uri::Scheme::HTTP,
        }
    }

    /// Set the scheme the client used.
    #[must_use]
    pub fn with_scheme(mut self, scheme: http::uri::Scheme) -> Self {
        self.scheme = scheme;
        self
    }
}

/// Something that answers HTTP requests: an edge host serving its routes,
/// or a control plane forwarding them to a node. An ingress listener
/// serves one.
#[async_trait::async_trait]
pub trait HttpService: Send + Sync + std::fmt::Debug + 'static {
    /// Answer `call`. Failures are errors the listener turns into problem
    /// responses: no route is `NotFound`, a full pool `LimitExceeded`, a
    /// guest that failed `Trap`, one past its time `Timeout`.
    async fn serve_http(&self, call: HttpCall) -> crate::Result<HttpResponse>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_handler_versions() {
        assert!(is_incoming_handler("wasi:http/incoming-handler@0.2.0"));
        assert!(is_incoming_handler("wasi:http/incoming-handler@0.2.4"));
        assert!(!is_incoming_handler("wasi:http/incoming-handler@0.3.0"));
        assert!(!is_incoming_handler("wasi:http/incoming-handler"));
        assert!(!is_incoming_handler("wasi:http/outgoing-handler@0.2.0"));
    }
}

//! Outbound HTTP of a component (`wasi:http/outgoing-handler`): every
//! request is checked against its version's grants before any connection
//! is opened; a denied one fails with `HTTP-request-denied`, is logged and
//! counted. Allowed ones go out under the grants' timeouts, with the
//! response body held to the grants' size. Redirects are not followed: the
//! guest gets the 3xx, and a request to its `location` is checked anew.

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::domain::{Denial, OutboundGrants};
use hotswap_core::observe::OUTBOUND_REQUESTS;
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// What one instance may send: its version's grants, and how many
/// requests it has sent so far.
#[derive(Clone, Debug)]
pub(crate) struct Outbound {
    grants: Arc<OutboundGrants>,
    label: Arc<str>,
    sent: u32,
}

impl Outbound {
    /// The grants of the version `label`, for one fresh instance.
    pub(crate) fn new(label: &str, grants: OutboundGrants) -> Self {
        Self {
            grants: Arc::new(grants),
            label: Arc::from(label),
            sent: 0,
        }
    }

    /// The same grants for another instance, with nothing sent yet.
    pub(crate) fn fresh(&self) -> Self {
        Self {
            sent: 0,
            ..self.clone()
        }
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(OUTBOUND_REQUESTS, "module" => self.label.to_string(), "outcome" => outcome)
            .increment(1);
    }

    /// Whether `request` may go out now.
    fn admit(&self, request: &http::Request<WasiBody>) -> Result<(), Denial> {
        if self.sent >= self.grants.max_requests {
            return Err(Denial::TooManyRequests(self.sent));
        }
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or_default();
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        self.grants.check(scheme, authority).map(drop)
    }

    /// The guest's timeouts, never longer than the grants'.
    fn options(&self, asked: Option<RequestOptions>) -> RequestOptions {
        let asked = asked.unwrap_or_default();
        let cap = |t: Option<Duration>, ms: u64| {
            let most = Duration::from_millis(ms);
            Some(t.map_or(most, |t| t.min(most)))
        };
        RequestOptions {
            connect_timeout: cap(asked.connect_timeout, self.grants.connect_timeout_ms),
            first_byte_timeout: cap(asked.first_byte_timeout, self.grants.timeout_ms),
            between_bytes_timeout: cap(asked.between_bytes_timeout, self.grants.timeout_ms),
        }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        if let Err(denial) = self.admit(&request) {
            self.count(denial.label());
            tracing::warn!(module = %self.label, uri = %request.uri(), reason = %denial,
                "outbound request denied");
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        self.sent += 1;
        self.count("sent");
        let options = self.options(options);
        let max = self.grants.max_response_bytes;
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let response = response.map(|body| capped(body, max));
            Ok((
                response,
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

/// `body` failing with `HTTP-response-body-size` past `max` bytes.
fn capped<B>(body: B, max: u64) -> WasiBody
where
    B: http_body::Body<Data = bytes::Bytes, Error = HttpError> + Send + 'static,
{
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    http_body_util::Limited::new(body, limit)
        .map_err(move |e| match e.downcast::<HttpError>() {
            Ok(inner) => *inner,
            Err(_) => HttpError::HttpResponseBodySize(Some(max)),
        })
        .boxed_unsync()
}

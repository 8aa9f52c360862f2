//! Outbound HTTP of a component (`wasi:http/outgoing-handler`): every
//! request is checked against its version's grants before any connection
//! is opened; a denied one fails with `HTTP-request-denied`, is logged and
//! counted. Allowed ones go out under the grants' timeouts, with the
//! response body held to the grants' size, over HTTP/1.1 and TLS verified
//! against the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` are
//! honored). Redirects are not followed: the guest gets the 3xx, and a
//! request to its `location` is checked anew. No proxy from the
//! environment is used.

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
    /// The version's connections (none without grants: nothing goes out).
    client: Option<reqwest::Client>,
    sent: u32,
}

impl Outbound {
    /// The grants of the version `label`, for one fresh instance.
    pub(crate) fn new(label: &str, grants: OutboundGrants) -> hotswap_core::Result<Self> {
        let client = if grants.is_empty() {
            None
        } else {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(Duration::from_millis(grants.connect_timeout_ms))
                .read_timeout(Duration::from_millis(grants.timeout_ms))
                .build()
                .map_err(|e| {
                    hotswap_core::Error::internal(format!("the outbound HTTP client: {e}"))
                })?;
            Some(client)
        };
        Ok(Self {
            grants: Arc::new(grants),
            label: Arc::from(label),
            client,
            sent: 0,
        })
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

    /// How long the response head may take: connecting and the first
    /// byte, each the guest's time when shorter than the grants'. (Between
    /// bytes, the grants' timeout holds.)
    fn head_timeout(&self, asked: Option<RequestOptions>) -> Duration {
        let asked = asked.unwrap_or_default();
        let cap = |t: Option<Duration>, ms: u64| {
            let most = Duration::from_millis(ms);
            t.map_or(most, |t| t.min(most))
        };
        cap(asked.connect_timeout, self.grants.connect_timeout_ms)
            + cap(asked.first_byte_timeout, self.grants.timeout_ms)
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
        let Some(client) = self.client.clone() else {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        };
        self.sent += 1;
        self.count("sent");
        let head = self.head_timeout(options);
        let max = self.grants.max_response_bytes;
        Box::new(async move {
            let response = send(&client, request, head).await?;
            let response = response.map(|body| capped(body.map_err(from_reqwest), max));
            Ok((
                response,
                Box::new(async { Ok(()) })
                    as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

/// Send `request` (its body streamed) and wait for the response head at
/// most `head`.
async fn send(
    client: &reqwest::Client,
    request: http::Request<WasiBody>,
    head: Duration,
) -> Result<http::Response<reqwest::Body>, HttpError> {
    let (parts, body) = request.into_parts();
    let url = reqwest::Url::parse(&parts.uri.to_string())
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let mut headers = parts.headers;
    headers.remove(http::header::HOST);
    let request = client
        .request(parts.method, url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    let response = tokio::time::timeout(head, request.send())
        .await
        .map_err(|_| HttpError::HttpResponseTimeout)?
        .map_err(from_reqwest)?;
    Ok(response.into())
}

/// A failure of the client as the guest's error code.
fn from_reqwest(e: reqwest::Error) -> HttpError {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = source {
        chain.push_str(&err.to_string().to_ascii_lowercase());
        chain.push(' ');
        source = err.source();
    }
    if chain.contains("certificate") || chain.contains("unknownissuer") {
        HttpError::TlsCertificateError
    } else if chain.contains("tls") || chain.contains("handshake") {
        HttpError::TlsProtocolError
    } else if e.is_timeout() {
        HttpError::ConnectionReadTimeout
    } else if e.is_connect() {
        if chain.contains("dns") || chain.contains("resolve") {
            HttpError::DnsError {
                rcode: Some(chain.trim().to_owned()),
                info_code: None,
            }
        } else {
            HttpError::ConnectionRefused
        }
    } else {
        HttpError::InternalError(Some(e.to_string()))
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

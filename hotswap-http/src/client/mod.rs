//! HTTP clients: [`HttpNodeControl`] (the control plane commanding edge
//! agents) and [`ControlPlaneClient`] (edge agents and the CLI calling the
//! control plane). Both send bearer tokens, time out, retry what is safe to
//! retry, and turn problem responses back into [`hotswap_core::Error`]s.

mod control_plane;
mod forward;
mod node;
mod sse;

pub use sse::IDLE_LIMIT;

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::clock::{Clock, SystemClock};
use hotswap_core::retry::RetryPolicy;
use hotswap_core::{Error, Result};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub use control_plane::{ControlPlaneClient, DeploymentAction};
pub use node::HttpNodeControl;

use crate::auth::TokenSource;
use crate::problem::Problem;

/// Timeouts and retries of a client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The most one request may take (function calls have their own).
    pub timeout: Duration,
    /// The most a function call may take.
    pub execute_timeout: Duration,
    /// The most connecting may take.
    pub connect_timeout: Duration,
    /// How requests are retried: any request that could not connect, and
    /// idempotent ones that timed out or met a `503` (the policy
    /// distribution uses too).
    pub retry: RetryPolicy,
    /// What the waits between attempts sleep on.
    pub clock: Arc<dyn Clock>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            execute_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(3),
            retry: RetryPolicy::new(3, Duration::from_millis(100), Duration::from_secs(2)),
            clock: Arc::new(SystemClock),
        }
    }
}

impl ClientConfig {
    /// Set the request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set the number of retries.
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retry.attempts = retries.saturating_add(1);
        self
    }

    /// Retry under `policy`, sleeping on `clock`.
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        self.retry = policy;
        self.clock = clock;
        self
    }
}

/// Whether a request may be sent again after it may have arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Only when it could not connect.
    OnConnect,
    /// Also after a timeout or a `503`.
    Idempotent,
}

/// The transport both clients share.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    token: TokenSource,
    config: ClientConfig,
}

impl Http {
    pub(crate) fn new(token: TokenSource, config: ClientConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::internal(format!("building the HTTP client failed: {e}")))?;
        Ok(Self {
            client,
            token,
            config,
        })
    }

    /// The same transport sending `token`.
    pub(crate) fn with_token(&self, token: TokenSource) -> Self {
        Self {
            client: self.client.clone(),
            token,
            config: self.config.clone(),
        }
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Send the request `build` makes (again for each attempt) to
    /// `service`, retrying per `retry` under the configured policy; a
    /// problem answer is its error.
    pub(crate) async fn send(
        &self,
        service: &str,
        retry: Retry,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let attempt = || async {
            let mut request = build(&self.client).build().map_err(|e| {
                Failed::Final(Error::internal(format!(
                    "building a request to {service} failed: {e}"
                )))
            })?;
            if let Some(token) = self.token.token().map_err(Failed::Final)? {
                let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| {
                        Failed::Final(Error::invalid("token", "is not a valid header value"))
                    })?;
                request
                    .headers_mut()
                    .insert(reqwest::header::AUTHORIZATION, value);
            }
            let (method, url) = (request.method().to_string(), request.url().to_string());
            let span = crate::observe::client_span(&method, &url, request.headers_mut());
            match self.client.execute(request).instrument(span.clone()).await {
                Ok(resp) => {
                    span.record("http.response.status_code", resp.status().as_u16());
                    match resp.status().is_success() {
                        true => Ok(resp),
                        false => Err(Failed::Status(resp)),
                    }
                }
                Err(e) => Err(Failed::Transport(e)),
            }
        };
        let retryable = |f: &Failed| {
            let again = match f {
                Failed::Status(resp) => {
                    retry == Retry::Idempotent && resp.status() == StatusCode::SERVICE_UNAVAILABLE
                }
                Failed::Transport(e) => {
                    e.is_connect() || (retry == Retry::Idempotent && e.is_timeout())
                }
                Failed::Final(_) => false,
            };
            if again {
                tracing::debug!(service, "retrying a request");
            }
            again
        };
        match self
            .config
            .retry
            .run(&self.config.clock, attempt, retryable)
            .await
        {
            Ok(resp) => Ok(resp),
            Err(Failed::Status(resp)) => Err(problem(service, resp).await),
            Err(Failed::Transport(e)) => Err(transport(service, e)),
            Err(Failed::Final(e)) => Err(e),
        }
    }
}

/// Why one attempt failed.
enum Failed {
    /// The server answered with a status other than success.
    Status(Response),
    /// The request did not get an answer.
    Transport(reqwest::Error),
    /// The request could not be made; retrying cannot help.
    Final(Error),
}

/// The body of a successful response as `T`.
pub(crate) async fn json<T: DeserializeOwned>(service: &str, resp: Response) -> Result<T> {
    let bytes = resp.bytes().await.map_err(|e| transport(service, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::internal(format!(
            "{service} answered with a body that does not parse: {e}"
        ))
    })
}

fn transport(service: &str, e: reqwest::Error) -> Error {
    let reason = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    Error::Unavailable {
        service: service.to_owned(),
        temporary: true,
        reason: format!("{reason}: {e}"),
        source: Some(Box::new(e)),
    }
}

async fn problem(service: &str, resp: Response) -> Error {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<Problem>(&text) {
        Ok(p) => p.into_error(service),
        Err(_)
            if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY =>
        {
            Error::Unavailable {
                service: service.to_owned(),
                temporary: true,
                reason: format!("answered {status}: {text}"),
                source: None,
            }
        }
        Err(_) => Error::internal(format!("{service} answered {status}: {text}")),
    }
}

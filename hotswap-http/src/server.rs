//! Serving a router: request body limits, a request timeout answered with
//! a problem, and graceful shutdown that lets requests in flight finish.

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::problem::Problem;

/// Limits every server applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Largest request body, except module uploads.
    pub body_bytes: usize,
    /// Largest module upload (a raw binary or a multipart form).
    pub upload_bytes: usize,
    /// The most a request may take before it is answered `503`.
    pub request_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            body_bytes: 4 * 1024 * 1024,
            upload_bytes: hotswap_core::inspect::DEFAULT_MAX_MODULE_BYTES + 1024 * 1024,
            request_timeout: Duration::from_secs(300),
        }
    }
}

impl ServerLimits {
    /// Accept uploads of modules up to `module_bytes` (plus form overhead).
    #[must_use]
    pub fn with_module_bytes(mut self, module_bytes: usize) -> Self {
        self.upload_bytes = module_bytes.saturating_add(1024 * 1024);
        self
    }

    /// Answer requests still running after `timeout` with `503`.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Set the body limit of requests other than uploads.
    #[must_use]
    pub fn with_body_bytes(mut self, bytes: usize) -> Self {
        self.body_bytes = bytes;
        self
    }
}

/// `router` with the body limit and the request timeout of `limits`
/// (routes that set their own body limit keep it), and a traced, counted
/// and timed server span for every request.
pub fn harden(router: Router, limits: ServerLimits) -> Router {
    let timeout = limits.request_timeout;
    router
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            crate::observe::serve_observed(timeout, req, next)
        }))
}

/// The answer to a request still running after `after`.
pub(crate) fn timed_out(after: Duration) -> Response {
    let mut p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the request did not finish within {} s", after.as_secs()),
    );
    p.retry_after_secs = Some(1);
    p.into_response()
}

/// Serve `router` on `listener` until `shutdown` completes; requests in
/// flight then finish before this returns, and responses that would last
/// as long as their subject (event streams) end, through the
/// [`ShuttingDown`] every request carries.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = watch::channel(false);
    let router = router.layer(Extension(ShuttingDown(rx)));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tx.send(true);
        })
        .await
}

/// In a request's extensions (under [`serve`]): completes when the server
/// begins to shut down, so a long response can end instead of holding
/// the shutdown back.
#[derive(Clone, Debug)]
pub struct ShuttingDown(watch::Receiver<bool>);

impl ShuttingDown {
    /// Completes once the server is shutting down (or gone).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|down| *down).await;
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

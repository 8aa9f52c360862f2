//! Logging for the binaries: `tracing` to stderr, filtered by `RUST_LOG`
//! (default `info`).

use hotswap_http::system::Metrics;

use crate::AppResult;

/// What was installed; shut down before the process exits.
#[derive(Debug)]
pub(crate) struct Telemetry {
    metrics: Metrics,
}

impl Telemetry {
    /// The metrics exposition for `/metrics`.
    pub(crate) fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Flush what is buffered.
    pub(crate) fn shutdown(&self) {}
}

/// Install logging for the process named `service`.
pub(crate) fn init(service: &str) -> AppResult<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    tracing::debug!(service, "telemetry installed");
    Ok(Telemetry {
        metrics: Metrics::none(),
    })
}

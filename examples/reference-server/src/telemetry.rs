//! What the binaries install: logs to stderr (`RUST_LOG`, default `info`),
//! the Prometheus recorder behind `/metrics` (every `*_seconds` metric a
//! histogram with hotswap's buckets), W3C trace-context propagation, and,
//! only when an OTLP endpoint is configured by the standard `OTEL_*`
//! variables, span export over OTLP/HTTP. Without a collector nothing is
//! exported and nothing fails.

use std::time::Duration;

use hotswap_core::observe::DURATION_BUCKETS;
use hotswap_http::system::Metrics;
use metrics_exporter_prometheus::PrometheusBuilder;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::AppResult;

/// What was installed; shut down before the process exits.
#[derive(Debug)]
pub(crate) struct Telemetry {
    metrics: Metrics,
    tracer: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// The metrics exposition for `/metrics`.
    pub(crate) fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Export the spans still buffered.
    pub(crate) fn shutdown(&self) {
        if let Some(t) = &self.tracer
            && let Err(e) = t.shutdown_with_timeout(Duration::from_secs(5))
        {
            tracing::debug!(error = %e, "span export did not finish");
        }
    }
}

/// Whether the standard variables ask for OTLP trace export.
fn otlp_configured() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    match std::env::var("OTEL_TRACES_EXPORTER").as_deref() {
        Ok("none") => false,
        Ok("otlp") => true,
        _ => set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    }
}

fn tracer(service: &str) -> AppResult<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OTLP span exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Install logging, tracing and, for servers (`metrics`), the recorder,
/// for the process named `service`.
pub(crate) fn init(service: &str, metrics: bool, log_level: &str) -> AppResult<Telemetry> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(log_level)),
        );
    let provider = if otlp_configured() {
        Some(tracer(service)?)
    } else {
        None
    };
    // Spans go to the exporter down to debug level (one per call), which
    // the log filter leaves out.
    let otel = provider.as_ref().map(|p| {
        let filter = std::env::var("HOTSWAP_TRACE_FILTER")
            .unwrap_or_else(|_| "info,hotswap_edge=debug".into());
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("hotswap"))
            .with_filter(EnvFilter::new(filter))
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(otel)
        .try_init();
    let metrics = if metrics {
        let handle = PrometheusBuilder::new()
            .set_buckets(DURATION_BUCKETS)
            .map_err(|e| format!("metric buckets: {e}"))?
            .install_recorder()
            .map_err(|e| format!("installing the metrics recorder: {e}"))?;
        hotswap_core::observe::describe();
        let upkeep = handle.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                upkeep.run_upkeep();
            }
        });
        Metrics::new(move || handle.render())
    } else {
        Metrics::none()
    };
    Ok(Telemetry {
        metrics,
        tracer: provider,
    })
}

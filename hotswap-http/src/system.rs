//! Routes every server has: liveness, readiness and the metrics
//! exposition (rendered by whatever recorder the binary installed).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::wire::HealthReport;

/// Renders the metrics exposition (Prometheus text); `None` serves 404.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<dyn Fn() -> String + Send + Sync>>);

impl Metrics {
    /// No metrics route content.
    pub fn none() -> Self {
        Self(None)
    }

    /// Serve what `render` returns.
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(render)))
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Metrics(rendered)"
        } else {
            "Metrics(none)"
        })
    }
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Alive", body = HealthReport)))]
pub(crate) async fn healthz() -> Json<HealthReport> {
    Json(HealthReport {
        status: "ok".into(),
        checks: BTreeMap::new(),
    })
}

/// The metrics in Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(m): State<Metrics>) -> Response {
    match &m.0 {
        Some(render) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render(),
        )
            .into_response(),
        None => Problem::not_found("no metrics recorder is installed").into_response(),
    }
}

/// Each backend check of `plane`; 503 naming the failures.
#[cfg(feature = "control-plane")]
pub(crate) async fn readiness(plane: &hotswap_control::ControlPlane) -> Response {
    let checks: BTreeMap<String, String> = plane
        .readiness()
        .await
        .into_iter()
        .map(|(name, outcome)| {
            let state = match outcome {
                Ok(()) => "ok".to_owned(),
                Err(e) => e.to_string(),
            };
            (name.to_owned(), state)
        })
        .collect();
    let ready = checks.values().all(|v| v == "ok");
    let report = HealthReport {
        status: if ready { "ok" } else { "unavailable" }.into(),
        checks,
    };
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

//! The control-plane API: every route under `/api/v1/wasm`, plus
//! `/healthz`, `/readyz`, `/metrics` and `/openapi.json`.

mod configs;
mod deployments;
mod execute;
mod follow;
mod http_routes;
mod interfaces;
mod modules;
mod nodes;
mod policies;
mod wit_body;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use hotswap_control::ControlPlane;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticator;
use crate::openapi::{self, ApiDoc};
use crate::server::{self, ServerLimits};
use crate::system::{self, Metrics};
use utoipa_axum::router::UtoipaMethodRouterExt;

pub use crate::API_PREFIX;

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The control plane.
    pub plane: Arc<ControlPlane>,
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// The metrics exposition.
    pub metrics: Metrics,
}

impl FromRef<ApiState> for Arc<Authenticator> {
    fn from_ref(s: &ApiState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<ApiState> for Metrics {
    fn from_ref(s: &ApiState) -> Self {
        s.metrics.clone()
    }
}

/// The API's routes with their OpenAPI document; uploads take bodies up
/// to `limits.upload_bytes`.
pub fn routes(limits: ServerLimits) -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(
            routes!(modules::upload, modules::list)
                .layer(DefaultBodyLimit::max(limits.upload_bytes)),
        )
        .routes(routes!(modules::get, modules::delete))
        .routes(routes!(deployments::create, deployments::list))
        .routes(routes!(deployments::get))
        .routes(
            routes!(follow::stream).layer(axum::Extension(std::sync::Arc::new(
                follow::Followed::default(),
            ))),
        )
        .routes(routes!(deployments::execute))
        .routes(routes!(deployments::rollback))
        .routes(routes!(deployments::pause))
        .routes(routes!(deployments::resume))
        .routes(routes!(deployments::promote))
        .routes(routes!(deployments::abort))
        .routes(
            routes!(interfaces::register, interfaces::list)
                .layer(DefaultBodyLimit::max(limits.upload_bytes)),
        )
        .routes(routes!(interfaces::get))
        .routes(routes!(interfaces::validate))
        .routes(
            routes!(interfaces::validate_package).layer(DefaultBodyLimit::max(limits.upload_bytes)),
        )
        .routes(routes!(interfaces::get_mode, interfaces::set_mode))
        .routes(routes!(interfaces::approve))
        .routes(routes!(nodes::register, nodes::list))
        .routes(routes!(nodes::get))
        .routes(routes!(nodes::health))
        .routes(routes!(nodes::heartbeat))
        .routes(routes!(execute::execute))
        .routes(routes!(configs::latest, configs::change))
        .routes(routes!(configs::revision))
        .routes(routes!(policies::list))
        .routes(routes!(policies::get, policies::put, policies::delete))
        .routes(routes!(http_routes::create, http_routes::list))
        .routes(routes!(http_routes::get, http_routes::delete))
        .routes(routes!(system::healthz))
        .routes(routes!(readyz))
        .routes(routes!(system::metrics))
}

/// The control-plane router, ready to serve: `/openapi.json`, problem
/// fallbacks, body limits and the request timeout.
pub fn router(state: ApiState, limits: ServerLimits) -> Router {
    let (router, doc) = routes(limits).split_for_parts();
    let router = router.merge(crate::console::routes());
    server::harden(openapi::finish(router, doc).with_state(state), limits)
}

/// The OpenAPI document of the control-plane API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::complete(routes(ServerLimits::default()).split_for_parts().1)
}

/// Ready when the repositories and the blob store answer.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, description = "Ready", body = crate::wire::HealthReport),
              (status = 503, description = "A backend is down", body = crate::wire::HealthReport)))]
async fn readyz(
    axum::extract::State(s): axum::extract::State<ApiState>,
) -> axum::response::Response {
    system::readiness(&s.plane).await
}

/// A refused multipart form as a problem (`413` past the body limit).
fn multipart_problem(e: axum::extract::multipart::MultipartError) -> crate::problem::Problem {
    use axum::http::StatusCode;
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        crate::problem::Problem::too_large(e.body_text())
    } else {
        crate::problem::Problem::invalid("body", e.body_text())
    }
}

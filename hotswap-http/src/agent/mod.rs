//! The edge agent each edge node serves: receive a module version (bytes
//! handed over and digest-checked, or fetched from storage by digest),
//! apply routing tables, execute, report state and health. Commands need
//! the `control_plane` role; execute and reads take `control_plane` or
//! `node` tokens.

mod heartbeat;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, Path, Request, State};
use axum::http::StatusCode;
use hotswap_core::domain::{
    Digest, HttpRouteSet, LoadedVersion, ModuleConfig, ModuleName, RoutingTable,
};
use hotswap_core::node::NodeState;
use hotswap_edge::EdgeAgent;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use heartbeat::{HeartbeatLoop, NodeMetricsSource};

use crate::auth::{Authenticator, Principal, Role};
use crate::extract::{JsonBody, body_bytes, path_param};
use crate::openapi::{self, ApiDoc};
use crate::problem::ApiResult;
use crate::server::{self, ServerLimits};
use crate::system::{self, Metrics};
use crate::wire::{AgentHealth, ExecuteRequest, ExecuteResponse, LoadRequest};
use utoipa_axum::router::UtoipaMethodRouterExt;

pub use crate::AGENT_PREFIX;

/// What the agent's handlers share.
#[derive(Clone, Debug)]
pub struct AgentState {
    /// The node's name.
    pub name: Arc<str>,
    /// The agent over the node's edge host.
    pub agent: Arc<EdgeAgent>,
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// The metrics exposition.
    pub metrics: Metrics,
}

impl FromRef<AgentState> for Arc<Authenticator> {
    fn from_ref(s: &AgentState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<AgentState> for Metrics {
    fn from_ref(s: &AgentState) -> Self {
        s.metrics.clone()
    }
}

/// The agent's own routes (under `/agent/v1`); handed-over blobs may be
/// `limits.upload_bytes` long.
pub fn agent_routes(limits: ServerLimits) -> OpenApiRouter<AgentState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(stage).layer(DefaultBodyLimit::max(limits.upload_bytes)))
        .routes(routes!(load))
        .routes(routes!(unload))
        .routes(routes!(route))
        .routes(routes!(put_http_routes, get_http_routes))
        .routes(routes!(state))
        .routes(routes!(execute))
        .routes(routes!(health))
}

/// Everything a standalone edge node serves: the agent's routes, `/healthz`
/// and `/metrics`.
pub fn routes(limits: ServerLimits) -> OpenApiRouter<AgentState> {
    agent_routes(limits)
        .routes(routes!(system::healthz))
        .routes(routes!(system::metrics))
}

/// The agent's router, ready to serve: `/openapi.json`, problem
/// fallbacks, body limits and the request timeout.
pub fn router(state: AgentState, limits: ServerLimits) -> Router {
    server::harden(unstated_router(limits).with_state(state), limits)
}

/// The agent's routes with `/openapi.json` and the problem fallbacks,
/// before a state is given. One process serving many agents (a load
/// harness) builds it once and gives each agent
/// `server::harden(r.clone().with_state(state), limits)`.
pub fn unstated_router(limits: ServerLimits) -> Router<AgentState> {
    let (router, doc) = routes(limits).split_for_parts();
    openapi::finish(router, doc)
}

/// The OpenAPI document of the edge agent.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::complete(routes(ServerLimits::default()).split_for_parts().1)
}

const COMMAND: &[Role] = &[Role::ControlPlane];
const READ: &[Role] = &[Role::ControlPlane, Role::Node];

/// Hand over a module binary ahead of its load; refused unless it hashes
/// to `digest`.
#[utoipa::path(put, path = "/agent/v1/blobs/{digest}", tag = "agent",
    params(("digest" = Digest, Path, description = "SHA-256 of the bytes, hex")),
    request_body(description = "The module binary", content(
        (Vec<u8> = "application/wasm"),
        (Vec<u8> = "application/octet-stream"))),
    responses((status = 204, description = "Staged")))]
async fn stage(
    State(s): State<AgentState>,
    who: Principal,
    Path(digest): Path<String>,
    req: Request,
) -> ApiResult<StatusCode> {
    who.require_any(COMMAND, "hand a module to a node")?;
    let digest: Digest = path_param("digest", &digest)?;
    let bytes = body_bytes(req, &s).await?;
    s.agent.stage(&digest, bytes)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Load a module version with its configuration revision: from staged
/// bytes, else from storage by digest; `404` (kind `module blob`) when the
/// node has neither.
#[utoipa::path(post, path = "/agent/v1/versions", tag = "agent",
    request_body = LoadRequest,
    responses((status = 200, description = "Loaded, with the verified digest", body = LoadedVersion)))]
async fn load(
    State(s): State<AgentState>,
    who: Principal,
    JsonBody(body): JsonBody<LoadRequest>,
) -> ApiResult<Json<LoadedVersion>> {
    who.require_any(COMMAND, "load a module version")?;
    body.module.validate()?;
    let config = body
        .config
        .unwrap_or_else(|| ModuleConfig::none(body.module.name.clone()));
    Ok(Json(s.agent.load(&body.module, &config).await?))
}

/// The path of one module version.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; the handler parses it itself.
struct VersionPath {
    /// Module name.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    module: String,
    /// Version.
    #[param(schema_with = hotswap_core::domain::schema::semver)]
    version: String,
}

/// Drop a version no routing table uses.
#[utoipa::path(delete, path = "/agent/v1/versions/{module}/{version}", tag = "agent",
    params(VersionPath),
    responses((status = 204, description = "Unloaded")))]
async fn unload(
    State(s): State<AgentState>,
    who: Principal,
    Path((module, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require_any(COMMAND, "unload a module version")?;
    let module = ModuleName::new(module).map_err(|e| e.within("module"))?;
    let version: semver::Version = path_param("version", &version)?;
    s.agent.unload(&module, &version)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish a routing table atomically; refused (changing nothing) when it
/// names a version not loaded here or is older than the one published.
#[utoipa::path(put, path = "/agent/v1/routing", tag = "agent",
    request_body = RoutingTable,
    responses((status = 204, description = "Published")))]
async fn route(
    State(s): State<AgentState>,
    who: Principal,
    JsonBody(table): JsonBody<RoutingTable>,
) -> ApiResult<StatusCode> {
    who.require_any(COMMAND, "apply a routing table")?;
    s.agent.apply_routing(table)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish the node's HTTP routes (host and path prefix to module) for its
/// ingress atomically; refused, changing nothing, when a route is invalid,
/// two clash, or the set is older than the one published.
#[utoipa::path(put, path = "/agent/v1/http-routes", tag = "agent",
    request_body = HttpRouteSet,
    responses((status = 204, description = "Published")))]
async fn put_http_routes(
    State(s): State<AgentState>,
    who: Principal,
    JsonBody(set): JsonBody<HttpRouteSet>,
) -> ApiResult<StatusCode> {
    who.require_any(COMMAND, "apply HTTP routes")?;
    s.agent.apply_http_routes(&set)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The HTTP routes the node's ingress serves.
#[utoipa::path(get, path = "/agent/v1/http-routes", tag = "agent",
    responses((status = 200, description = "The published routes", body = HttpRouteSet)))]
async fn get_http_routes(
    State(s): State<AgentState>,
    who: Principal,
) -> ApiResult<Json<HttpRouteSet>> {
    who.require_any(READ, "read a node's HTTP routes")?;
    Ok(Json(s.agent.host().http_routes()))
}

/// What the node has loaded, routes and has counted.
#[utoipa::path(get, path = "/agent/v1/state", tag = "agent",
    responses((status = 200, description = "The node's state", body = NodeState)))]
async fn state(State(s): State<AgentState>, who: Principal) -> ApiResult<Json<NodeState>> {
    who.require_any(READ, "read a node's state")?;
    Ok(Json(s.agent.state()))
}

/// Run a function here, routed by the node's table (or the pin).
#[utoipa::path(post, path = "/agent/v1/execute", tag = "agent",
    request_body = ExecuteRequest,
    responses((status = 200, description = "The call's result", body = ExecuteResponse)))]
async fn execute(
    State(s): State<AgentState>,
    who: Principal,
    JsonBody(req): JsonBody<ExecuteRequest>,
) -> ApiResult<Json<ExecuteResponse>> {
    who.require_any(READ, "execute on a node")?;
    let execution = req.execution()?;
    let int64 = execution.int64;
    let routed = s.agent.execute(execution).await?;
    Ok(Json(ExecuteResponse::new(&routed, None, int64)))
}

/// The node's health: loaded versions, calls in flight, draining.
#[utoipa::path(get, path = "/agent/v1/health", tag = "agent",
    responses((status = 200, description = "The node's health", body = AgentHealth)))]
async fn health(State(s): State<AgentState>, who: Principal) -> ApiResult<Json<AgentHealth>> {
    who.require_any(READ, "read a node's health")?;
    Ok(Json(AgentHealth {
        name: s.name.to_string(),
        loaded: s.agent.host().loaded(),
        in_flight: s.agent.host().in_flight(),
        draining: s.agent.is_draining(),
    }))
}

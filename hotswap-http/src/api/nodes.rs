//! `/nodes`: registration (nodes rejoin under their old id), list, read,
//! health, heartbeat. A node token may register and heartbeat only the
//! node its subject names.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_core::domain::{EdgeNode, Heartbeat, NodeId};
use hotswap_core::repository::NodeFilter;

use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, Query, path_param};
use crate::problem::{ApiResult, Problem};
use crate::wire::{
    NodeHealth, NodeListQuery, NodeRegistered, PageQuery, Paged, RegisterNode, parse_labels,
};

/// `403` unless `who` is an admin or the node named `name` itself.
fn require_self(who: &Principal, name: &str, action: &str) -> ApiResult<()> {
    who.require_any(&[Role::Node, Role::Admin], action)?;
    if !who.has(Role::Admin) && who.subject != name {
        return Err(Problem::forbidden(
            &format!("{action} for node {name} with a token for {}", who.subject),
            "admin",
        ));
    }
    Ok(())
}

/// Register a node, or take a restarted one back under its id; its
/// versions are brought back by reconciliation.
#[utoipa::path(post, path = "/api/v1/wasm/nodes", tag = "nodes",
    request_body = RegisterNode,
    responses((status = 201, description = "Registered", body = NodeRegistered)))]
pub(crate) async fn register(
    State(s): State<ApiState>,
    who: Principal,
    JsonBody(req): JsonBody<RegisterNode>,
) -> ApiResult<Response> {
    require_self(&who, &req.name, "register")?;
    let mut node = EdgeNode::new(
        req.name,
        req.region,
        req.endpoint,
        req.capabilities,
        s.plane.now(),
    );
    node.zone = req.zone;
    node.ingress = req.ingress;
    node.labels = req.labels;
    let node = s.plane.node_service().join(node).await?;
    tracing::info!(node = %node.name, id = %node.id, region = %node.region, endpoint = %node.endpoint, "node joined");
    let control_loop = s.plane.control_loop().clone();
    let joined = node.clone();
    tokio::spawn(async move {
        if let Err(e) = control_loop.reconcile(&joined).await {
            tracing::warn!(node = %joined.name, error = %e, "reconciling a joined node failed");
        }
    });
    let location = format!("{API_PREFIX}/nodes/{}", node.id);
    let body = NodeRegistered {
        node,
        heartbeat_interval_secs: s
            .plane
            .node_service()
            .config()
            .heartbeat_interval
            .as_secs()
            .max(1),
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// List nodes by name.
#[utoipa::path(get, path = "/api/v1/wasm/nodes", tag = "nodes",
    params(NodeListQuery),
    responses((status = 200, description = "A page of nodes", body = Paged<EdgeNode>)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<NodeListQuery>,
) -> ApiResult<Json<Paged<EdgeNode>>> {
    who.require(Role::Viewer, "list nodes")?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .request()?;
    let filter = NodeFilter {
        region: q
            .region
            .map(|r| hotswap_core::domain::Region::new(r).map_err(|e| e.within("query.region")))
            .transpose()?,
        status: q.status,
        labels: match &q.labels {
            Some(l) => parse_labels("query.labels", l)?,
            None => Default::default(),
        },
    };
    Ok(Json(s.plane.nodes(&filter, &page).await?.into()))
}

/// One node.
#[utoipa::path(get, path = "/api/v1/wasm/nodes/{id}", tag = "nodes",
    params(("id" = uuid::Uuid, Path, description = "Node id")),
    responses((status = 200, description = "The node", body = EdgeNode)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<EdgeNode>> {
    who.require(Role::Viewer, "read a node")?;
    let id: NodeId = path_param("id", &id)?;
    Ok(Json(s.plane.node(id).await?))
}

/// A node's health: status, silence, metrics, versions and statistics.
#[utoipa::path(get, path = "/api/v1/wasm/nodes/{id}/health", tag = "nodes",
    params(("id" = uuid::Uuid, Path, description = "Node id")),
    responses((status = 200, description = "The node's health", body = NodeHealth)))]
pub(crate) async fn health(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<NodeHealth>> {
    who.require(Role::Viewer, "read a node's health")?;
    let id: NodeId = path_param("id", &id)?;
    let n = s.plane.node(id).await?;
    let since = n.last_heartbeat.unwrap_or(n.registered_at);
    let silent = (s.plane.now() - since).num_seconds().max(0);
    Ok(Json(NodeHealth {
        name: n.name,
        status: n.status,
        last_heartbeat: n.last_heartbeat,
        silent_for_secs: u64::try_from(silent).unwrap_or(0),
        metrics: n.metrics,
        loaded: n.loaded,
        stats: n.stats,
    }))
}

/// A node's heartbeat: metrics, loaded versions and statistics.
#[utoipa::path(post, path = "/api/v1/wasm/nodes/{id}/heartbeat", tag = "nodes",
    params(("id" = uuid::Uuid, Path, description = "Node id")),
    request_body = Heartbeat,
    responses((status = 204, description = "Recorded")))]
pub(crate) async fn heartbeat(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
    JsonBody(beat): JsonBody<Heartbeat>,
) -> ApiResult<StatusCode> {
    who.require_any(&[Role::Node, Role::Admin], "heartbeat")?;
    let id: NodeId = path_param("id", &id)?;
    let node = s.plane.node(id).await?;
    require_self(&who, &node.name, "heartbeat")?;
    s.plane.node_service().heartbeat(id, beat).await?;
    Ok(StatusCode::NO_CONTENT)
}

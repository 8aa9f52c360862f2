//! `/routes`: the HTTP routes of the edge ingress (a host and path prefix
//! to a module). Changes need `developer`, reads `viewer`; every change is
//! pushed to the nodes at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_core::domain::{HttpRoute, HttpRouteSet, ModuleName, RouteId};

use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, Query, path_param};
use crate::problem::ApiResult;
use crate::wire::{CreateRoute, RouteChanged, RouteListQuery};

fn changed(c: hotswap_control::RoutesChanged) -> RouteChanged {
    RouteChanged {
        route: c.route,
        revision: c.revision,
        pushed: c.pushed.nodes,
        push_failed: c.pushed.failed,
    }
}

/// Route a host and path prefix to a registered module. A route at the
/// same host and prefix is refused (`409`), naming it.
#[utoipa::path(post, path = "/api/v1/wasm/routes", tag = "routes",
    request_body = CreateRoute,
    responses((status = 201, description = "Created and pushed", body = RouteChanged)))]
pub(crate) async fn create(
    State(s): State<ApiState>,
    who: Principal,
    JsonBody(req): JsonBody<CreateRoute>,
) -> ApiResult<Response> {
    who.require(Role::Developer, "create an HTTP route")?;
    let done = s
        .plane
        .http_routes()
        .create(&req.host, req.path_prefix.as_deref(), req.module)
        .await?;
    let location = format!("{API_PREFIX}/routes/{}", done.route.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(changed(done)),
    )
        .into_response())
}

/// Every route, ordered by host and prefix, with the routes' revision.
#[utoipa::path(get, path = "/api/v1/wasm/routes", tag = "routes",
    params(RouteListQuery),
    responses((status = 200, description = "The routes", body = HttpRouteSet)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<RouteListQuery>,
) -> ApiResult<Json<HttpRouteSet>> {
    who.require(Role::Viewer, "list HTTP routes")?;
    let module = q
        .module
        .map(|m| ModuleName::new(m).map_err(|e| e.within("query.module")))
        .transpose()?;
    Ok(Json(s.plane.http_routes().list(module.as_ref()).await?))
}

/// One route.
#[utoipa::path(get, path = "/api/v1/wasm/routes/{id}", tag = "routes",
    params(("id" = uuid::Uuid, Path, description = "Route id")),
    responses((status = 200, description = "The route", body = HttpRoute)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<HttpRoute>> {
    who.require(Role::Viewer, "read an HTTP route")?;
    let id: RouteId = path_param("id", &id)?;
    Ok(Json(s.plane.http_routes().get(id).await?))
}

/// Delete a route; its requests get `404` from then on.
#[utoipa::path(delete, path = "/api/v1/wasm/routes/{id}", tag = "routes",
    params(("id" = uuid::Uuid, Path, description = "Route id")),
    responses((status = 200, description = "Deleted and pushed", body = RouteChanged)))]
pub(crate) async fn delete(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<RouteChanged>> {
    who.require(Role::Developer, "delete an HTTP route")?;
    let id: RouteId = path_param("id", &id)?;
    Ok(Json(changed(s.plane.http_routes().delete(id).await?)))
}

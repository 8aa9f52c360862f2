//! `/interfaces`: register WIT package versions (checked against the
//! package's compatibility mode), list, read, validate a candidate, approve.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_control::interface::{Override, parse_wit};
use hotswap_core::domain::InterfaceId;
use hotswap_core::interface::{InterfaceFilter, PackageName, WitInterface};

use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, Query, path_param};
use crate::problem::{ApiResult, Problem};
use crate::wire::{
    InterfaceListQuery, PageQuery, Paged, RegisterInterface, ValidateInterface, ValidationReport,
};

/// Register a WIT package version; a version that breaks the package's
/// mode is `422` with every finding, unless an admin overrides it.
#[utoipa::path(post, path = "/api/v1/wasm/interfaces", tag = "interfaces",
    request_body = RegisterInterface,
    responses((status = 201, description = "Registered", body = WitInterface)))]
pub(crate) async fn register(
    State(s): State<ApiState>,
    who: Principal,
    JsonBody(req): JsonBody<RegisterInterface>,
) -> ApiResult<Response> {
    who.require(Role::Developer, "register an interface")?;
    let override_ = req.override_reason.map(|reason| Override { reason });
    let i = s
        .plane
        .interfaces()
        .register(&req.wit, &who.caller(), override_.as_ref(), s.plane.now())
        .await?;
    let location = format!("{API_PREFIX}/interfaces/{}", i.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(i)).into_response())
}

/// List interfaces by package, oldest first within one.
#[utoipa::path(get, path = "/api/v1/wasm/interfaces", tag = "interfaces",
    params(InterfaceListQuery),
    responses((status = 200, description = "A page of interfaces", body = Paged<WitInterface>)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<InterfaceListQuery>,
) -> ApiResult<Json<Paged<WitInterface>>> {
    who.require(Role::Viewer, "list interfaces")?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .request()?;
    let filter = InterfaceFilter {
        package: q
            .package
            .map(|p| PackageName::new(p).map_err(|e| e.within("query.package")))
            .transpose()?,
        approved: q.approved,
    };
    Ok(Json(s.plane.list_interfaces(&filter, &page).await?.into()))
}

/// One interface version.
#[utoipa::path(get, path = "/api/v1/wasm/interfaces/{id}", tag = "interfaces",
    params(("id" = uuid::Uuid, Path, description = "Interface id")),
    responses((status = 200, description = "The interface", body = WitInterface)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WitInterface>> {
    who.require(Role::Viewer, "read an interface")?;
    let id: InterfaceId = path_param("id", &id)?;
    Ok(Json(s.plane.interface(id).await?))
}

/// What registering `wit` as the next version of this interface's package
/// would find; stores nothing.
#[utoipa::path(post, path = "/api/v1/wasm/interfaces/{id}/validate", tag = "interfaces",
    params(("id" = uuid::Uuid, Path, description = "Interface id")),
    request_body = ValidateInterface,
    responses((status = 200, description = "The findings", body = ValidationReport)))]
pub(crate) async fn validate(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ValidateInterface>,
) -> ApiResult<Json<ValidationReport>> {
    who.require(Role::Developer, "validate an interface")?;
    let id: InterfaceId = path_param("id", &id)?;
    let base = s.plane.interface(id).await?;
    let (package, _) = parse_wit(&req.wit)?.name()?;
    if package != base.package {
        return Err(Problem::invalid(
            "wit",
            format!(
                "the candidate is package {package}, not {} of interface {id}",
                base.package
            ),
        ));
    }
    let findings = s.plane.interfaces().validate(&req.wit).await?;
    let mode = s.plane.compatibility_mode(&package).await?;
    Ok(Json(ValidationReport {
        compatible: findings.is_empty(),
        mode,
        findings,
    }))
}

/// Approve an interface version (admins); the first approval is kept.
#[utoipa::path(post, path = "/api/v1/wasm/interfaces/{id}/approve", tag = "interfaces",
    params(("id" = uuid::Uuid, Path, description = "Interface id")),
    responses((status = 200, description = "Approved", body = WitInterface)))]
pub(crate) async fn approve(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WitInterface>> {
    who.require(Role::Admin, "approve an interface")?;
    let id: InterfaceId = path_param("id", &id)?;
    let i = s
        .plane
        .interfaces()
        .approve(id, &who.caller(), s.plane.now())
        .await?;
    Ok(Json(i))
}

//! `/interfaces`: register WIT package versions with their dependencies
//! (checked against the package's compatibility mode), list, read,
//! validate a candidate, approve, and read or set a package's mode.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_control::interface::{Override, WitUpload, parse_wit};
use hotswap_core::domain::InterfaceId;
use hotswap_core::interface::{InterfaceFilter, PackageName, WitInterface};

use super::wit_body::wit_body;
use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, Query, path_param};
use crate::problem::{ApiResult, Problem};
use crate::wire::{
    InterfaceListQuery, PackageMode, PageQuery, Paged, RegisterInterface, RegisterInterfaceQuery,
    RegisteredVersion, SetPackageMode, ValidateInterface, ValidationReport,
};

/// Register a WIT package version with its dependencies: JSON
/// (`{"wit": …}`), WIT text, a tar.gz of a WIT directory with `deps/`, a
/// multipart form of its files, or a package encoded as wasm. Dependencies
/// not in the upload come from registered versions. A version already
/// registered is `409`; one that breaks the package's mode is `422` with
/// every finding, unless an admin overrides it.
#[utoipa::path(post, path = "/api/v1/wasm/interfaces", tag = "interfaces",
    params(RegisterInterfaceQuery),
    request_body(description = "The WIT package", content(
        (RegisterInterface = "application/json"),
        (String = "text/plain"),
        (Vec<u8> = "application/gzip"),
        (Vec<u8> = "multipart/form-data"),
        (Vec<u8> = "application/wasm"))),
    responses((status = 201, description = "Registered", body = WitInterface)))]
pub(crate) async fn register(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<RegisterInterfaceQuery>,
    req: Request,
) -> ApiResult<Response> {
    who.require(Role::Developer, "register an interface")?;
    let (upload, reason) = wit_body(req, &s, q.override_reason).await?;
    let override_ = reason.map(|reason| Override { reason });
    let i = s
        .plane
        .interfaces()
        .register(upload, &who.caller(), override_.as_ref(), s.plane.now())
        .await?;
    let location = format!("{API_PREFIX}/interfaces/{}", i.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(i)).into_response())
}

/// What registering this WIT package (in any form `POST /interfaces`
/// takes) as the next version of its package would find; stores nothing.
#[utoipa::path(post, path = "/api/v1/wasm/interfaces/validate", tag = "interfaces",
    request_body(description = "The WIT package", content(
        (ValidateInterface = "application/json"),
        (String = "text/plain"),
        (Vec<u8> = "application/gzip"),
        (Vec<u8> = "multipart/form-data"),
        (Vec<u8> = "application/wasm"))),
    responses((status = 200, description = "The findings", body = ValidationReport)))]
pub(crate) async fn validate_package(
    State(s): State<ApiState>,
    who: Principal,
    req: Request,
) -> ApiResult<Json<ValidationReport>> {
    who.require(Role::Developer, "validate an interface")?;
    let (upload, reason) = wit_body(req, &s, None).await?;
    if reason.is_some() {
        return Err(Problem::invalid(
            "override_reason",
            "validating stores nothing, so there is nothing to override",
        ));
    }
    report(&s, upload).await
}

async fn report(s: &ApiState, upload: WitUpload) -> ApiResult<Json<ValidationReport>> {
    let checked = s.plane.interfaces().validate(upload).await?;
    let (package, version) = checked.candidate.name()?;
    let mode = s.plane.compatibility_mode(&package).await?;
    Ok(Json(ValidationReport {
        package,
        version,
        compatible: checked.findings.is_empty(),
        mode,
        protects: mode.protects().to_vec(),
        findings: checked.findings,
        registered: checked.registered.map(|r| RegisteredVersion {
            id: r.id,
            same_text: r.same_text,
        }),
    }))
}

/// A package's compatibility mode and who it protects.
#[utoipa::path(get, path = "/api/v1/wasm/interfaces/packages/{package}/mode", tag = "interfaces",
    params(("package" = String, Path, description = "Package name, `namespace:name`")),
    responses((status = 200, description = "The mode", body = PackageMode)))]
pub(crate) async fn get_mode(
    State(s): State<ApiState>,
    who: Principal,
    Path(package): Path<String>,
) -> ApiResult<Json<PackageMode>> {
    who.require(Role::Viewer, "read a compatibility mode")?;
    let package = PackageName::new(package)?;
    let mode = s.plane.compatibility_mode(&package).await?;
    Ok(Json(PackageMode {
        package,
        mode,
        protects: mode.protects().to_vec(),
    }))
}

/// Set a package's compatibility mode (admins); later versions are
/// judged by it.
#[utoipa::path(put, path = "/api/v1/wasm/interfaces/packages/{package}/mode", tag = "interfaces",
    params(("package" = String, Path, description = "Package name, `namespace:name`")),
    request_body = SetPackageMode,
    responses((status = 200, description = "The mode now", body = PackageMode)))]
pub(crate) async fn set_mode(
    State(s): State<ApiState>,
    who: Principal,
    Path(package): Path<String>,
    JsonBody(req): JsonBody<SetPackageMode>,
) -> ApiResult<Json<PackageMode>> {
    who.require(Role::Admin, "set a compatibility mode")?;
    let package = PackageName::new(package)?;
    s.plane
        .interfaces()
        .set_mode(&package, req.mode, &who.caller())
        .await?;
    Ok(Json(PackageMode {
        package,
        mode: req.mode,
        protects: req.mode.protects().to_vec(),
    }))
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
    report(&s, WitUpload::Text(req.wit)).await
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

//! `/modules`: upload (raw or multipart), list, get, delete.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hotswap_control::Registration;
use hotswap_control::interface::Override;
use hotswap_core::domain::{
    ConfigKey, Digest, KeyValueGrants, ModuleId, ModuleName, OutboundGrants, ResourceLimits,
    WasmModule,
};
use hotswap_core::repository::ModuleFilter;

use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{Query, body_bytes, parse_json, path_param};
use crate::problem::{ApiResult, Problem};
use crate::wire::{ModuleListQuery, ModuleMetadata, Paged, UploadQuery, parse_labels};

/// Register a module version: the raw wasm body with name and version in
/// the query (or `x-hotswap-*` headers; limits and outbound grants as JSON
/// in `x-hotswap-limits` and `x-hotswap-outbound`), or `multipart/form-data` with a
/// `module` part and a JSON `metadata` part. An incompatible interface is
/// `422` with its findings; nothing is stored for a refused upload.
#[utoipa::path(post, path = "/api/v1/wasm/modules", tag = "modules",
    params(UploadQuery),
    request_body(description = "The wasm binary, or a multipart form", content(
        (Vec<u8> = "application/wasm"),
        (Vec<u8> = "application/octet-stream"),
        (ModuleMetadata = "multipart/form-data"))),
    responses((status = 201, description = "Registered", body = WasmModule)))]
pub(crate) async fn upload(
    State(s): State<ApiState>,
    who: Principal,
    Query(query): Query<UploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    who.require(Role::Developer, "register a module version")?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (meta, bytes) = if content_type.starts_with("multipart/form-data") {
        multipart(req, &s).await?
    } else if content_type.is_empty()
        || content_type.starts_with("application/wasm")
        || content_type.starts_with("application/octet-stream")
    {
        let meta = raw_metadata(&query, req.headers())?;
        (meta, body_bytes(req, &s).await?)
    } else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "send the module as application/wasm or multipart/form-data, not {content_type}"
            ),
        ));
    };
    let mut r = Registration::new(
        ModuleName::new(meta.name).map_err(|e| e.within("name"))?,
        semver::Version::parse(&meta.version)
            .map_err(|e| Problem::invalid("version", format!("{:?}: {e}", meta.version)))?,
        bytes,
    );
    r.limits = meta.limits;
    r.labels = meta.labels;
    r.outbound = meta.outbound.unwrap_or_default();
    r.keyvalue = meta.keyvalue.unwrap_or_default();
    r.config_keys = meta.config_keys;
    r.override_ = meta.override_reason.map(|reason| Override { reason });
    let module = s.plane.registrar().register(r, &who.caller()).await?;
    tracing::info!(module = %module.name, version = %module.version, by = %who.subject, "module version registered");
    let location = format!("{API_PREFIX}/modules/{}", module.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(module),
    )
        .into_response())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| Problem::invalid(name, "is not visible ASCII"))
        })
        .transpose()
}

fn raw_metadata(q: &UploadQuery, headers: &HeaderMap) -> ApiResult<ModuleMetadata> {
    let name = match (&q.name, header_text(headers, "x-hotswap-name")?) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.to_owned(),
        (None, None) => {
            return Err(Problem::invalid(
                "name",
                "give the module's name as ?name= or x-hotswap-name",
            ));
        }
    };
    let version = match (&q.version, header_text(headers, "x-hotswap-version")?) {
        (Some(v), _) => v.clone(),
        (None, Some(v)) => v.to_owned(),
        (None, None) => {
            return Err(Problem::invalid(
                "version",
                "give the version as ?version= or x-hotswap-version",
            ));
        }
    };
    let labels = match (&q.labels, header_text(headers, "x-hotswap-labels")?) {
        (Some(l), _) => parse_labels("labels", l)?,
        (None, Some(l)) => parse_labels("labels", l)?,
        (None, None) => Default::default(),
    };
    let limits = match header_text(headers, "x-hotswap-limits")? {
        Some(json) => {
            Some(parse_json::<ResourceLimits>(json.as_bytes()).map_err(|p| p.within("limits"))?)
        }
        None => query_limits(q)?,
    };
    let outbound = header_text(headers, "x-hotswap-outbound")?
        .map(|json| parse_json::<OutboundGrants>(json.as_bytes()).map_err(|p| p.within("outbound")))
        .transpose()?;
    let keyvalue = header_text(headers, "x-hotswap-keyvalue")?
        .map(|json| parse_json::<KeyValueGrants>(json.as_bytes()).map_err(|p| p.within("keyvalue")))
        .transpose()?;
    let config_keys = header_text(headers, "x-hotswap-config-keys")?
        .map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| ConfigKey::new(k).map_err(|e| e.within("config_keys")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(ModuleMetadata {
        name,
        version,
        limits,
        labels,
        outbound,
        keyvalue,
        config_keys,
        override_reason: q.override_reason.clone(),
    })
}

fn query_limits(q: &UploadQuery) -> ApiResult<Option<ResourceLimits>> {
    if q.max_memory_bytes.is_none()
        && q.fuel.is_none()
        && q.timeout_ms.is_none()
        && q.max_concurrent_instances.is_none()
        && q.max_stack_bytes.is_none()
    {
        return Ok(None);
    }
    let mut l = ResourceLimits::default();
    if let Some(v) = q.max_memory_bytes {
        l = l.with_max_memory_bytes(v);
    }
    if q.fuel.is_some() {
        l = l.with_fuel(q.fuel);
    }
    if let Some(v) = q.timeout_ms {
        l = l.with_timeout(std::time::Duration::from_millis(v));
    }
    if let Some(v) = q.max_concurrent_instances {
        l = l.with_max_concurrent_instances(v);
    }
    if let Some(v) = q.max_stack_bytes {
        l = l.with_max_stack_bytes(v);
    }
    l.validate().map_err(|e| e.within("limits"))?;
    Ok(Some(l))
}

async fn multipart(req: Request, s: &ApiState) -> ApiResult<(ModuleMetadata, Bytes)> {
    let mut form = Multipart::from_request(req, s)
        .await
        .map_err(|e| Problem::invalid("body", e.body_text()))?;
    let (mut meta, mut bytes) = (None, None);
    while let Some(field) = form.next_field().await.map_err(super::multipart_problem)? {
        match field.name().unwrap_or_default() {
            "metadata" => {
                let text = field.bytes().await.map_err(super::multipart_problem)?;
                meta = Some(parse_json::<ModuleMetadata>(&text).map_err(|p| p.within("metadata"))?);
            }
            "module" => bytes = Some(field.bytes().await.map_err(super::multipart_problem)?),
            other => {
                return Err(Problem::invalid(
                    "body",
                    format!("unknown form part {other:?}; send `module` and `metadata`"),
                ));
            }
        }
    }
    match (meta, bytes) {
        (Some(m), Some(b)) => Ok((m, b)),
        (None, _) => Err(Problem::invalid(
            "metadata",
            "the form has no metadata part",
        )),
        (_, None) => Err(Problem::invalid("module", "the form has no module part")),
    }
}

/// List module versions, by name then version order of registration.
#[utoipa::path(get, path = "/api/v1/wasm/modules", tag = "modules",
    params(ModuleListQuery),
    responses((status = 200, description = "A page of versions", body = Paged<WasmModule>)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<ModuleListQuery>,
) -> ApiResult<Json<Paged<WasmModule>>> {
    who.require(Role::Viewer, "list modules")?;
    let page = crate::wire::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .request()?;
    let filter = ModuleFilter {
        name: q
            .name
            .map(|n| ModuleName::new(n).map_err(|e| e.within("query.name")))
            .transpose()?,
        kind: q.kind,
        digest: q
            .digest
            .map(|d| path_param::<Digest>("query.digest", &d))
            .transpose()?,
        labels: match &q.labels {
            Some(l) => parse_labels("query.labels", l)?,
            None => Default::default(),
        },
    };
    let found = s.plane.modules(&filter, &page).await?;
    Ok(Json(found.into()))
}

/// One module version.
#[utoipa::path(get, path = "/api/v1/wasm/modules/{id}", tag = "modules",
    params(("id" = uuid::Uuid, Path, description = "Module version id")),
    responses((status = 200, description = "The version", body = WasmModule)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WasmModule>> {
    who.require(Role::Viewer, "read a module")?;
    let id: ModuleId = path_param("id", &id)?;
    Ok(Json(s.plane.module(id).await?))
}

/// Delete a module version (admins); refused with `409` while a deployment
/// uses it or the module serves it.
#[utoipa::path(delete, path = "/api/v1/wasm/modules/{id}", tag = "modules",
    params(("id" = uuid::Uuid, Path, description = "Module version id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require(Role::Admin, "delete a module version")?;
    let id: ModuleId = path_param("id", &id)?;
    let gone = s.plane.delete_module(id).await?;
    tracing::info!(module = %gone.name, version = %gone.version, by = %who.subject, "module version deleted");
    Ok(StatusCode::NO_CONTENT)
}

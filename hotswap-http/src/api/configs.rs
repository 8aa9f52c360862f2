//! `/configs/{module}`: a module's configuration revisions. Changes need
//! `developer`, reads `viewer`. Secrets are write-only: every read shows
//! them by name and the revision that set them, never their values.

use axum::Json;
use axum::extract::{Path, State};
use hotswap_core::domain::{ConfigPatch, ConfigView, ModuleName};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiState;
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, path_param};
use crate::problem::ApiResult;

/// The module of a configuration path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ModulePath {
    /// Module name.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    module: String,
}

/// The module and revision of a configuration path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RevisionPath {
    /// Module name.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    module: String,
    /// Revision, from 1.
    #[param(value_type = u64)]
    revision: String,
}

fn module(name: &str) -> ApiResult<ModuleName> {
    Ok(ModuleName::new(name).map_err(|e| e.within("module"))?)
}

/// The module's latest revision (revision 0 when nothing is set).
#[utoipa::path(get, path = "/api/v1/wasm/configs/{module}", tag = "configs",
    params(ModulePath),
    responses((status = 200, description = "The latest revision", body = ConfigView)))]
pub(crate) async fn latest(
    State(s): State<ApiState>,
    who: Principal,
    Path(ModulePath { module: name }): Path<ModulePath>,
) -> ApiResult<Json<ConfigView>> {
    who.require(Role::Viewer, "read a module's configuration")?;
    let config = s.plane.configs().latest(&module(&name)?).await?;
    Ok(Json(ConfigView::from(&config)))
}

/// Change the configuration: the patch applies to the latest revision
/// and makes the next one, which deployments created from now on run
/// with. Secrets need the control plane's secrets key.
#[utoipa::path(patch, path = "/api/v1/wasm/configs/{module}", tag = "configs",
    params(ModulePath),
    request_body = ConfigPatch,
    responses((status = 200, description = "The new revision", body = ConfigView)))]
pub(crate) async fn change(
    State(s): State<ApiState>,
    who: Principal,
    Path(ModulePath { module: name }): Path<ModulePath>,
    JsonBody(patch): JsonBody<ConfigPatch>,
) -> ApiResult<Json<ConfigView>> {
    who.require(Role::Developer, "change a module's configuration")?;
    let config = s
        .plane
        .configs()
        .set(&module(&name)?, patch, &who.subject)
        .await?;
    Ok(Json(ConfigView::from(&config)))
}

/// One revision.
#[utoipa::path(get, path = "/api/v1/wasm/configs/{module}/{revision}", tag = "configs",
    params(RevisionPath),
    responses((status = 200, description = "The revision", body = ConfigView)))]
pub(crate) async fn revision(
    State(s): State<ApiState>,
    who: Principal,
    Path(RevisionPath {
        module: name,
        revision,
    }): Path<RevisionPath>,
) -> ApiResult<Json<ConfigView>> {
    who.require(Role::Viewer, "read a module's configuration")?;
    let revision: u64 = path_param("revision", &revision)?;
    let config = s.plane.configs().get(&module(&name)?, revision).await?;
    Ok(Json(ConfigView::from(&config)))
}

//! `/policies`: each module's deployment policy per environment, which
//! fills what a deployment's creation leaves unset (strategy, health
//! criteria with their analysis checks, target, stale-node policy) and
//! adds its webhooks. Reads need `viewer`; changes `developer`, or `admin`
//! for production.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hotswap_core::domain::{DeploymentPolicy, Environment, ModuleName};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiState;
use super::deployments::driving_role;
use crate::auth::{Principal, Role};
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};
use crate::wire::PolicyBody;

/// The module and environment of a policy path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PolicyPath {
    /// Module name.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    module: String,
    /// `development`, `staging` or `production`.
    #[param(value_type = Environment)]
    environment: String,
}

fn parts(p: &PolicyPath) -> ApiResult<(ModuleName, Environment)> {
    let module = ModuleName::new(p.module.clone()).map_err(|e| e.within("module"))?;
    let environment = serde_json::from_value(serde_json::Value::String(p.environment.clone()))
        .map_err(|_| {
            Problem::invalid(
                "environment",
                format!(
                    "{:?} is not development, staging or production",
                    p.environment
                ),
            )
        })?;
    Ok((module, environment))
}

/// Every policy, by module, then environment.
#[utoipa::path(get, path = "/api/v1/wasm/policies", tag = "policies",
    responses((status = 200, description = "Every policy", body = Vec<DeploymentPolicy>)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
) -> ApiResult<Json<Vec<DeploymentPolicy>>> {
    who.require(Role::Viewer, "read deployment policies")?;
    Ok(Json(s.plane.policies().await?))
}

/// One module's policy in one environment.
#[utoipa::path(get, path = "/api/v1/wasm/policies/{module}/{environment}", tag = "policies",
    params(PolicyPath),
    responses((status = 200, description = "The policy", body = DeploymentPolicy)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(path): Path<PolicyPath>,
) -> ApiResult<Json<DeploymentPolicy>> {
    who.require(Role::Viewer, "read a deployment policy")?;
    let (module, environment) = parts(&path)?;
    let policy = s.plane.policy(&module, environment).await?;
    Ok(Json(policy.ok_or_else(|| {
        hotswap_core::repository::policy_not_found(&module, environment)
    })?))
}

/// Set a policy, replacing the module's in that environment.
#[utoipa::path(put, path = "/api/v1/wasm/policies/{module}/{environment}", tag = "policies",
    params(PolicyPath),
    request_body = PolicyBody,
    responses((status = 200, description = "The stored policy", body = DeploymentPolicy)))]
pub(crate) async fn put(
    State(s): State<ApiState>,
    who: Principal,
    Path(path): Path<PolicyPath>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> ApiResult<Json<DeploymentPolicy>> {
    let (module, environment) = parts(&path)?;
    who.require(driving_role(environment), "set a deployment policy")?;
    let mut policy = DeploymentPolicy::new(module, environment, who.subject.clone(), s.plane.now());
    policy.strategy = body.strategy;
    policy.health = body.health;
    policy.target = body.target;
    policy.stale_nodes = body.stale_nodes;
    policy.hooks = body.hooks;
    s.plane.set_policy(&policy).await?;
    tracing::info!(module = %policy.module, environment = ?environment, by = %who.subject, "deployment policy set");
    Ok(Json(policy))
}

/// Remove a policy.
#[utoipa::path(delete, path = "/api/v1/wasm/policies/{module}/{environment}", tag = "policies",
    params(PolicyPath),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn delete(
    State(s): State<ApiState>,
    who: Principal,
    Path(path): Path<PolicyPath>,
) -> ApiResult<StatusCode> {
    let (module, environment) = parts(&path)?;
    who.require(driving_role(environment), "remove a deployment policy")?;
    s.plane.delete_policy(&module, environment).await?;
    Ok(StatusCode::NO_CONTENT)
}

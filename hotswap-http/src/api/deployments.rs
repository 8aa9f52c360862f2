//! `/deployments`: create, list, read with progress and events, and the
//! operator's actions. Driving a production deployment forward (execute,
//! promote) needs the admin role; stopping one (pause, rollback, abort)
//! only the developer role, so whoever sees trouble can act.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_control::Operation;
use hotswap_core::Error;
use hotswap_core::domain::{DeploymentId, Environment, ModuleDeployment, Unset};
use hotswap_core::repository::DeploymentFilter;

use super::{API_PREFIX, ApiState};
use crate::auth::{Principal, Role};
use crate::extract::{JsonBody, OptionalJson, Query, path_param};
use crate::problem::{ApiResult, Problem};
use crate::wire::{
    CreateDeployment, DeploymentListQuery, DeploymentView, PageQuery, Paged, PromoteRequest,
};

fn version(field: &str, text: &str) -> ApiResult<semver::Version> {
    semver::Version::parse(text).map_err(|e| Problem::invalid(field, format!("{text:?}: {e}")))
}

/// The role driving a deployment of `environment` forward needs.
pub(crate) fn driving_role(environment: Environment) -> Role {
    if environment == Environment::Production {
        Role::Admin
    } else {
        Role::Developer
    }
}

/// Create a deployment (pending, or started with `start: true`). The old
/// version defaults to the one the module serves now.
#[utoipa::path(post, path = "/api/v1/wasm/deployments", tag = "deployments",
    request_body = CreateDeployment,
    responses((status = 201, description = "Created", body = ModuleDeployment)))]
pub(crate) async fn create(
    State(s): State<ApiState>,
    who: Principal,
    JsonBody(req): JsonBody<CreateDeployment>,
) -> ApiResult<Response> {
    who.require(Role::Developer, "create a deployment")?;
    if req.start {
        who.require(
            driving_role(req.environment),
            "start a production deployment",
        )?;
    }
    let to = version("to_version", &req.to_version)?;
    let from = match &req.from_version {
        Some(v) => Some(version("from_version", v)?),
        None => s.plane.serving_version(&req.module).await?,
    };
    let unset = Unset {
        strategy: req.strategy.is_none(),
        health: req.health.is_none(),
        target: req.target.is_none(),
        stale_nodes: req.stale_nodes.is_none(),
    };
    let mut d = ModuleDeployment::new(
        req.module,
        from,
        to,
        req.strategy.unwrap_or_default(),
        req.environment,
        who.subject.clone(),
        s.plane.now(),
    );
    d.target = req.target.unwrap_or_default();
    d.health = req.health.unwrap_or_default();
    d.stale_nodes = req.stale_nodes.unwrap_or_default();
    d.hooks = req.hooks;
    if let Some(revision) = req.config_revision {
        if revision == 0 {
            return Err(Error::invalid(
                "config_revision",
                "revisions start at 1; omit it for the latest",
            )
            .into());
        }
        d.config_revision = revision;
    }
    let mut d = s.plane.create_deployment_under_policy(d, unset).await?;
    tracing::info!(deployment = %d.id, module = %d.module, to = %d.to_version, strategy = d.strategy.name(), by = %who.subject, "deployment created");
    if req.start {
        d = s.plane.orchestrator().execute(d.id).await?;
    }
    let location = format!("{API_PREFIX}/deployments/{}", d.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(d)).into_response())
}

/// List deployments, oldest first.
#[utoipa::path(get, path = "/api/v1/wasm/deployments", tag = "deployments",
    params(DeploymentListQuery),
    responses((status = 200, description = "A page of deployments", body = Paged<ModuleDeployment>)))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    who: Principal,
    Query(q): Query<DeploymentListQuery>,
) -> ApiResult<Json<Paged<ModuleDeployment>>> {
    who.require(Role::Viewer, "list deployments")?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .request()?;
    let filter = DeploymentFilter {
        module: q
            .module
            .map(|m| hotswap_core::domain::ModuleName::new(m).map_err(|e| e.within("query.module")))
            .transpose()?,
        phase: q.phase,
        environment: q.environment,
    };
    Ok(Json(s.plane.deployments(&filter, &page).await?.into()))
}

/// A deployment: phase, progress, per-node state and the event log.
#[utoipa::path(get, path = "/api/v1/wasm/deployments/{id}", tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    responses((status = 200, description = "The deployment", body = DeploymentView)))]
pub(crate) async fn get(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentView>> {
    who.require(Role::Viewer, "read a deployment")?;
    let id: DeploymentId = path_param("id", &id)?;
    Ok(Json(view(&s, id).await?))
}

pub(super) async fn view(s: &ApiState, id: DeploymentId) -> ApiResult<DeploymentView> {
    let (deployment, events) = s.plane.orchestrator().status(id).await?;
    let nodes = s.plane.orchestrator().node_progress(id).await?;
    Ok(DeploymentView {
        percent: hotswap_control::strategy::percent_done(&deployment),
        deployment,
        nodes,
        events,
    })
}

/// What an operator asks.
#[derive(Debug)]
enum Act {
    /// Start a pending deployment.
    Execute,
    /// Act on a started one.
    Op(Operation),
}

/// Check `who` may act on `id`, then act; returns the new view.
async fn operate(
    s: &ApiState,
    who: &Principal,
    id: &str,
    act: Act,
    needs: impl Fn(&ModuleDeployment) -> (Role, &'static str),
) -> ApiResult<Json<DeploymentView>> {
    who.require(Role::Developer, "operate a deployment")?;
    let id: DeploymentId = path_param("id", id)?;
    let current = s.plane.deployment(id).await?;
    let (role, action) = needs(&current);
    who.require(role, action)?;
    tracing::info!(deployment = %id, act = ?act, by = %who.subject, "deployment operation");
    match act {
        Act::Execute => s.plane.orchestrator().execute(id).await?,
        Act::Op(op) => s.plane.orchestrator().operate(id, op, &who.subject).await?,
    };
    Ok(Json(view(s, id).await?))
}

macro_rules! operation {
    ($(#[$doc:meta])* $name:ident, $path:literal, $op:expr, $needs:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "deployments",
            params(("id" = uuid::Uuid, Path, description = "Deployment id")),
            responses((status = 200, description = "The deployment after the operation", body = DeploymentView)))]
        pub(crate) async fn $name(
            State(s): State<ApiState>,
            who: Principal,
            Path(id): Path<String>,
        ) -> ApiResult<Json<DeploymentView>> {
            operate(&s, &who, &id, $op, $needs).await
        }
    };
}

operation!(
    /// Start a pending deployment (admins for production).
    execute, "/api/v1/wasm/deployments/{id}/execute", Act::Execute,
    |d| (driving_role(d.environment), "execute a production deployment")
);
operation!(
    /// Return to the old version and stop.
    rollback, "/api/v1/wasm/deployments/{id}/rollback", Act::Op(Operation::Rollback),
    |_| (Role::Developer, "roll back a deployment")
);
operation!(
    /// Stop at the current step.
    pause, "/api/v1/wasm/deployments/{id}/pause", Act::Op(Operation::Pause),
    |_| (Role::Developer, "pause a deployment")
);
operation!(
    /// Go on from a pause (admins for production).
    resume, "/api/v1/wasm/deployments/{id}/resume", Act::Op(Operation::Resume),
    |d| (driving_role(d.environment), "resume a production deployment")
);
operation!(
    /// Stop; routing returns to the old version.
    abort, "/api/v1/wasm/deployments/{id}/abort", Act::Op(Operation::Abort),
    |_| (Role::Developer, "abort a deployment")
);

/// Take the next step now, finish now (`full`), or end an A/B test with a
/// variant (admins for production).
#[utoipa::path(post, path = "/api/v1/wasm/deployments/{id}/promote", tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    request_body(content = Option<PromoteRequest>, description = "Empty for one step"),
    responses((status = 200, description = "The deployment after the promotion", body = DeploymentView)))]
pub(crate) async fn promote(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<PromoteRequest>,
) -> ApiResult<Json<DeploymentView>> {
    let req = body.unwrap_or_default();
    let op = Act::Op(match req.variant {
        Some(v) => Operation::PromoteVariant(v),
        None => Operation::Promote { full: req.full },
    });
    operate(&s, &who, &id, op, |d| {
        (
            driving_role(d.environment),
            "promote a production deployment",
        )
    })
    .await
}

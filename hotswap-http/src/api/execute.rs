//! `POST /execute`: run a function somewhere in the fleet.

use axum::Json;
use axum::extract::State;

use super::ApiState;
use crate::auth::{Principal, Role};
use crate::extract::JsonBody;
use crate::problem::ApiResult;
use crate::wire::{ExecuteRequest, ExecuteResponse};

/// Run a function on a healthy node that has the module (the pinned
/// version when `version` is set), preferring `region`, then the least
/// busy node; an unreachable node is skipped, and `503` names every node
/// tried.
#[utoipa::path(post, path = "/api/v1/wasm/execute", tag = "execute",
    request_body = ExecuteRequest,
    responses((status = 200, description = "The call's result", body = ExecuteResponse)))]
pub(crate) async fn execute(
    State(s): State<ApiState>,
    who: Principal,
    JsonBody(req): JsonBody<ExecuteRequest>,
) -> ApiResult<Json<ExecuteResponse>> {
    who.require(Role::Developer, "execute a function")?;
    let execution = req.execution()?;
    let done = s.plane.execute(&execution).await?;
    Ok(Json(ExecuteResponse::new(
        &done.outcome,
        Some(done.node_name),
        execution.int64,
    )))
}

//! `POST /execute`: run a function somewhere in the fleet.

use axum::Json;
use axum::extract::State;

use hotswap_core::Error;
use hotswap_core::repository::{ModuleFilter, PageRequest};

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
    match s.plane.router.execute(&execution).await {
        Ok(done) => Ok(Json(ExecuteResponse::new(
            &done.routed,
            Some(done.node_name),
        ))),
        Err(e @ Error::Unavailable { .. }) => {
            // Nothing serves it: say 404 when no such module is registered.
            let filter = ModuleFilter::name(execution.module.clone());
            let page = s
                .plane
                .backends
                .modules
                .list(&filter, &PageRequest::first(1))
                .await?;
            match page.items.is_empty() {
                true => Err(Error::not_found("module", &execution.module).into()),
                false => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

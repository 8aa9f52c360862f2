//! `GET /deployments/{id}/stream`: a deployment as server-sent events, for
//! the console and `hotswap deploy|rollout --watch`. The store is read
//! every [`POLL`], so a change any replica makes is seen; a `view` event
//! (the deployment's [`DeploymentView`]) is sent now and at each change,
//! the stream ends after the view of a finished deployment, and a comment
//! every 15 s keeps an idle connection open.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use hotswap_core::domain::DeploymentId;

use super::ApiState;
use super::deployments::view;
use crate::auth::{Principal, Role};
use crate::extract::path_param;
use crate::problem::ApiResult;
use crate::wire::DeploymentView;

/// How often a followed deployment is read.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// Follow a deployment: a `view` event with its view now and at each
/// change, until it ends (then the stream closes); an `error` event with a
/// problem if it can no longer be read.
#[utoipa::path(get, path = "/api/v1/wasm/deployments/{id}/stream", tag = "deployments",
    params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    responses((status = 200, content_type = "text/event-stream",
        description = "Server-sent events: `view` (data: a DeploymentView as JSON) at each change, `error` (data: a problem)",
        body = String)))]
pub(crate) async fn stream(
    State(s): State<ApiState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    who.require(Role::Viewer, "follow a deployment")?;
    let id: DeploymentId = path_param("id", &id)?;
    // An unknown deployment is a 404 before the stream starts.
    let first = view(&s, id).await?;
    let state = Follow {
        s,
        id,
        next: Some(first),
        last: String::new(),
        done: false,
    };
    let events = futures::stream::unfold(state, |mut f| async move {
        f.next_event().await.map(|e| (Ok(e), f))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

struct Follow {
    s: ApiState,
    id: DeploymentId,
    /// A view read but not compared yet.
    next: Option<DeploymentView>,
    /// The JSON last sent.
    last: String,
    done: bool,
}

impl Follow {
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            let view = match self.next.take() {
                Some(v) => v,
                None => {
                    tokio::time::sleep(POLL).await;
                    match view(&self.s, self.id).await {
                        Ok(v) => v,
                        Err(problem) => {
                            self.done = true;
                            let data = serde_json::to_string(&problem).unwrap_or_default();
                            return Some(Event::default().event("error").data(data));
                        }
                    }
                }
            };
            let json = serde_json::to_string(&view).unwrap_or_default();
            if json == self.last {
                continue;
            }
            self.done = view.deployment.phase.is_terminal();
            self.last = json;
            return Some(
                Event::default()
                    .event("view")
                    .id(view.events.len().to_string())
                    .data(self.last.clone()),
            );
        }
    }
}

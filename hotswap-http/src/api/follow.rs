//! `GET /deployments/{id}/stream`: a deployment as server-sent events, for
//! the console and `hotswap deploy|rollout --watch`. The store is read
//! every [`POLL`], once per deployment however many follow it, so a change
//! any replica makes is seen; a `view` event
//! (the deployment's [`DeploymentView`]) is sent now and at each change,
//! the stream ends after the view of a finished deployment, and a comment
//! every 15 s keeps an idle connection open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Future, Stream, StreamExt};
use hotswap_core::domain::DeploymentId;
use tokio::sync::watch;

use super::ApiState;
use super::deployments::view;
use crate::auth::{Principal, Role};
use crate::extract::path_param;
use crate::problem::ApiResult;
use crate::server::ShuttingDown;
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
    Extension(followed): Extension<Arc<Followed>>,
    shutting_down: Option<Extension<ShuttingDown>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    who.require(Role::Viewer, "follow a deployment")?;
    let id: DeploymentId = path_param("id", &id)?;
    // An unknown deployment is a 404 before the stream starts.
    let first = view(&s, id).await?;
    let read = move || {
        let s = s.clone();
        async move {
            match view(&s, id).await {
                Ok(v) => Latest::of(&v),
                Err(problem) => {
                    Latest::Failed(serde_json::to_string(&problem).unwrap_or_default().into())
                }
            }
        }
    };
    let latest = followed.subscribe(id, Latest::of(&first), read);
    let events = futures::stream::unfold((latest, None), |(mut latest, sent)| async move {
        next_event(&mut latest, sent)
            .await
            .map(|(e, sent)| (Ok(e), (latest, sent)))
    });
    // A server shutting down ends the stream (followers follow again,
    // through another replica) rather than wait for the deployment.
    let down = async move {
        match shutting_down {
            Some(Extension(s)) => s.wait().await,
            None => std::future::pending().await,
        }
    };
    let events = events.take_until(Box::pin(down));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// What the store last said of a followed deployment.
#[derive(Clone, Debug, PartialEq)]
enum Latest {
    /// Its view as JSON, the number of its events, and whether it ended.
    View {
        json: Arc<str>,
        events: usize,
        ended: bool,
    },
    /// It could no longer be read: the problem, as JSON.
    Failed(Arc<str>),
}

impl Latest {
    fn of(view: &DeploymentView) -> Self {
        Latest::View {
            json: serde_json::to_string(view).unwrap_or_default().into(),
            events: view.events.len(),
            ended: view.deployment.phase.is_terminal(),
        }
    }

    fn is_last(&self) -> bool {
        matches!(self, Latest::Failed(_) | Latest::View { ended: true, .. })
    }

    fn event(&self) -> Event {
        match self {
            Latest::View { json, events, .. } => Event::default()
                .event("view")
                .id(events.to_string())
                .data(json.as_ref()),
            Latest::Failed(problem) => Event::default().event("error").data(problem.as_ref()),
        }
    }
}

/// The next event for one follower: the latest state once it differs
/// from what it was `sent`; `None` after the last.
async fn next_event(
    latest: &mut watch::Receiver<Latest>,
    sent: Option<Latest>,
) -> Option<(Event, Option<Latest>)> {
    if sent.as_ref().is_some_and(Latest::is_last) {
        return None;
    }
    loop {
        let now = latest.borrow_and_update().clone();
        if sent.as_ref() != Some(&now) {
            return Some((now.event(), Some(now)));
        }
        // The poller ends only after publishing a last state, seen above.
        latest.changed().await.ok()?;
    }
}

/// The deployments being followed: one task reads each from the store
/// every [`POLL`], however many follow it, and stops when none does.
#[derive(Debug, Default)]
pub(crate) struct Followed(Mutex<HashMap<DeploymentId, watch::Receiver<Latest>>>);

impl Followed {
    /// Follow `id`, whose state is `now`: the channel of its poller,
    /// started (reading with `read`) when nobody followed it yet.
    fn subscribe<F, Fut>(
        self: &Arc<Self>,
        id: DeploymentId,
        now: Latest,
        read: F,
    ) -> watch::Receiver<Latest>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Latest> + Send + 'static,
    {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = map.get(&id) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(now);
        map.insert(id, rx.clone());
        tokio::spawn(self.clone().poll(id, tx, read));
        rx
    }

    /// Whether `id`'s poller should stop: nobody but the map follows it,
    /// or it published its last state; the map forgets it if so.
    fn done(&self, id: DeploymentId, tx: &watch::Sender<Latest>) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let done = tx.receiver_count() <= 1 || tx.borrow().is_last();
        if done {
            map.remove(&id);
        }
        done
    }

    async fn poll<F, Fut>(self: Arc<Self>, id: DeploymentId, tx: watch::Sender<Latest>, read: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Latest>,
    {
        while !self.done(id, &tx) {
            tokio::time::sleep(POLL).await;
            let now = read().await;
            tx.send_if_modified(|latest| {
                let changed = *latest != now;
                *latest = now;
                changed
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn state(n: usize, last: usize) -> Latest {
        Latest::View {
            json: n.to_string().into(),
            events: n,
            ended: n >= last,
        }
    }

    /// Every state a follower sees, in order.
    async fn seen(mut rx: watch::Receiver<Latest>) -> Vec<usize> {
        let mut sent = None;
        let mut out = Vec::new();
        while let Some((_, now)) = next_event(&mut rx, sent).await {
            if let Some(Latest::View { events, .. }) = &now {
                out.push(*events);
            }
            sent = now;
        }
        out
    }

    #[tokio::test]
    async fn followers_of_one_deployment_share_one_reader_until_it_ends() {
        let followed = Arc::new(Followed::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let read = {
            let reads = reads.clone();
            move || {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                async move { state(n, 4) }
            }
        };
        let id = DeploymentId::new();
        let a = followed.subscribe(id, state(0, 4), read.clone());
        let b = followed.subscribe(id, state(0, 4), read);
        let (a, b) = tokio::join!(seen(a), seen(b));
        assert_eq!(a.last(), Some(&4), "{a:?}");
        assert_eq!(b.last(), Some(&4), "{b:?}");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            4,
            "one read per poll for both"
        );
        tokio::time::sleep(POLL).await;
        assert!(followed.0.lock().unwrap().is_empty(), "the poller ended");

        // A follower that leaves stops the reads.
        let reads = Arc::new(AtomicUsize::new(0));
        let read = {
            let reads = reads.clone();
            move || {
                reads.fetch_add(1, Ordering::SeqCst);
                async { state(1, usize::MAX) }
            }
        };
        let c = followed.subscribe(id, state(0, usize::MAX), read);
        let events = futures::stream::unfold((c, None), |(mut rx, sent)| async move {
            next_event(&mut rx, sent).await.map(|(e, s)| (e, (rx, s)))
        });
        assert_eq!(events.take(2).count().await, 2);
        tokio::time::sleep(POLL * 3).await;
        let after = reads.load(Ordering::SeqCst);
        tokio::time::sleep(POLL * 3).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            after,
            "no reads once nobody follows"
        );
        assert!(followed.0.lock().unwrap().is_empty());
    }
}

//! A deployment's webhooks in its rollout: the gating points (before it
//! starts, before a decision raises the new version's traffic, before the
//! one that ends it successfully) call their hooks first, and a hook that
//! does not answer 2xx holds the deployment paused, asked again at its
//! `Retry-After` (or [`RECHECK`]); the hooks after the end are called
//! without holding anything, their answers appended to the log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hotswap_core::domain::{
    DeploymentEvent, DeploymentPhase, EventKind, HookPoint, ModuleDeployment, ReasonCode,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::observe::WEBHOOK_CALLS;
use serde_json::{Value as Json, json};

use super::{Fleet, Orchestrator, observed};
use crate::strategy::Decision;

/// How soon a refusing gate is asked again when it does not say.
pub(crate) const RECHECK: Duration = Duration::from_secs(10);

/// The longest a gate may ask to be left alone (`Retry-After`).
const MAX_RECHECK: Duration = Duration::from_secs(300);

/// A gate's refusal: why, and when to ask again.
pub(super) struct Refusal {
    pub(super) why: String,
    pub(super) retry: Duration,
}

/// The gating point `decision` reaches in `d`, if any.
pub(super) fn gate_point(d: &ModuleDeployment, decision: &Decision) -> Option<HookPoint> {
    match &decision.transition {
        Some((DeploymentPhase::Succeeded, ..)) => Some(HookPoint::ConfirmPromotion),
        Some(_) => None,
        None if decision.progress.traffic_percent > d.progress.traffic_percent => {
            Some(HookPoint::Step)
        }
        None => None,
    }
}

/// The `step` part of a hook's payload: where `d` stands, and where the
/// decision about to be taken would move it.
pub(super) fn step_of(d: &ModuleDeployment, next: Option<&Decision>) -> Json {
    json!({
        "index": d.progress.step,
        "stage": d.progress.stage(),
        "traffic_percent": d.progress.traffic_percent,
        "next_traffic_percent": next.map(|n| n.progress.traffic_percent),
    })
}

impl Orchestrator {
    /// Call `d`'s hooks at `point` (one after another) about `step`; the
    /// events of the calls, and at a gating point the first refusal.
    pub(super) async fn gate(
        &self,
        d: &ModuleDeployment,
        point: HookPoint,
        step: Json,
        fleet: &Fleet,
    ) -> (Vec<DeploymentEvent>, Option<Refusal>) {
        let now = self.clock.now();
        let mut events = Vec::new();
        for hook in d.hooks.iter().filter(|h| h.point == point) {
            let Some(sender) = &self.hooks else {
                let why = format!(
                    "hook {} at {point} cannot be called: this control plane has no webhook secret",
                    hook.name
                );
                return (
                    events,
                    Some(Refusal {
                        why,
                        retry: RECHECK,
                    }),
                );
            };
            let payload = json!({
                "hook": hook.name,
                "point": point,
                "deployment": d,
                "step": step,
                "observations": observed(fleet),
            });
            let answer = sender.call(hook, &payload).await;
            let allowed = answer.allows();
            let outcome = match (point.gates(), allowed, answer.status) {
                (true, true, _) => "allowed",
                (true, false, Some(_)) => "refused",
                (false, _, Some(_)) => "answered",
                (_, _, None) => "failed",
            };
            metrics::counter!(WEBHOOK_CALLS, "point" => point.as_str(), "outcome" => outcome)
                .increment(1);
            let message = format!("hook {} at {point} {}", hook.name, answer.describe());
            events.push(
                DeploymentEvent::new(EventKind::Hook, d.phase, message.clone(), now).with_data(
                    json!({
                        "hook": hook.name,
                        "point": point,
                        "url": hook.url,
                        "status": answer.status,
                        "attempts": answer.attempts,
                        "allowed": allowed,
                    }),
                ),
            );
            if point.gates() && !allowed {
                let retry = answer
                    .retry_after
                    .unwrap_or(RECHECK)
                    .clamp(Duration::from_secs(1), MAX_RECHECK);
                return (
                    events,
                    Some(Refusal {
                        why: message,
                        retry,
                    }),
                );
            }
        }
        (events, None)
    }

    /// Hold `d` paused at `point` for `refusal`, storing `events` with it.
    pub(super) async fn hold(
        &self,
        mut d: ModuleDeployment,
        point: HookPoint,
        refusal: Refusal,
        mut events: Vec<DeploymentEvent>,
    ) -> Result<ModuleDeployment> {
        let now = self.clock.now();
        if d.phase == DeploymentPhase::Paused {
            // Still held: say why now, and when it is asked again.
            d.reason.message = refusal.why;
        } else {
            events.push(d.transition(
                DeploymentPhase::Paused,
                ReasonCode::HookRejected,
                refusal.why,
                now,
            )?);
        }
        d.progress.held_at = Some(point);
        d.progress.next_check = Some(now + recheck(refusal.retry));
        d.updated_at = now.max(d.updated_at);
        self.store(&d, events).await
    }

    /// Ask the gate holding `d` again; when it allows, go on with the
    /// decision it held.
    pub(super) async fn recheck(
        &self,
        mut d: ModuleDeployment,
        point: HookPoint,
    ) -> Result<ModuleDeployment> {
        let fleet = self.fleet(&d).await?;
        let (mut events, refused) = self.gate(&d, point, step_of(&d, None), &fleet).await;
        if let Some(refusal) = refused {
            return self.hold(d, point, refusal, events).await;
        }
        let now = self.clock.now();
        events.push(d.transition(
            DeploymentPhase::Progressing,
            ReasonCode::StepAdvanced,
            format!("the hooks at {point} allow it now"),
            now,
        )?);
        d.progress.held_at = None;
        d.progress.next_check = Some(now);
        self.step(d, Some(point), events).await
    }

    /// Call the hooks of `d`'s end (post-rollout after success, rollback
    /// otherwise) on their own task, appending their answers to the log.
    pub(super) fn after_end(&self, d: &ModuleDeployment) {
        let point = match d.phase {
            DeploymentPhase::Succeeded => HookPoint::PostRollout,
            _ => HookPoint::Rollback,
        };
        if !d.hooks.iter().any(|h| h.point == point) {
            return;
        }
        let (this, d) = (self.clone(), d.clone());
        tokio::spawn(async move {
            let fleet = match this.fleet(&d).await {
                Ok(fleet) => fleet,
                Err(e) => {
                    tracing::warn!(deployment = %d.id, error = %e, "hooks of the end not called");
                    return;
                }
            };
            let (events, _) = this.gate(&d, point, step_of(&d, None), &fleet).await;
            if let Err(e) = this.append(&d, &events).await {
                tracing::warn!(deployment = %d.id, error = %e, "hook answers not recorded");
            }
        });
    }

    /// Append `events` to `d`'s log, whatever its revision is now.
    async fn append(&self, d: &ModuleDeployment, events: &[DeploymentEvent]) -> Result<()> {
        for _ in 0..8 {
            let current = self.deployments.get(d.id).await?;
            match self.deployments.update(&current, events).await {
                Ok(_) => return Ok(()),
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::conflict(
            format!("deployment {}", d.id),
            "kept changing",
        ))
    }
}

fn recheck(retry: Duration) -> chrono::Duration {
    chrono::Duration::from_std(retry).unwrap_or(chrono::Duration::seconds(10))
}

/// Whether a held deployment is due for its gate to be asked again.
pub(super) fn held_due(d: &ModuleDeployment, now: DateTime<Utc>) -> Option<HookPoint> {
    let point = d.progress.held_at?;
    (d.phase == DeploymentPhase::Paused && d.progress.next_check.is_some_and(|at| at <= now))
        .then_some(point)
}

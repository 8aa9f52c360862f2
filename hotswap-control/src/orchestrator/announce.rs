//! What a stored decision means to people: the notifications its events
//! make (a step, a pause, the end), handed to the notifier.

use hotswap_core::domain::{DeploymentEvent, DeploymentPhase, EventKind, ModuleDeployment};
use hotswap_core::notify::{Notification, NotificationEvent};
use serde_json::json;

use super::Orchestrator;

/// The notification an event of a stored decision makes, if any.
fn event_of(e: &DeploymentEvent, ends: bool) -> Option<NotificationEvent> {
    Some(match (e.kind, e.phase) {
        // The decision that ends a rollout also moves its traffic: the
        // end says it.
        (EventKind::StepStarted | EventKind::TrafficShifted, DeploymentPhase::Progressing)
            if !ends =>
        {
            NotificationEvent::DeploymentStep
        }
        (EventKind::PhaseChanged, DeploymentPhase::Paused) => NotificationEvent::DeploymentPaused,
        (EventKind::PhaseChanged, DeploymentPhase::Succeeded) => {
            NotificationEvent::DeploymentPromoted
        }
        (EventKind::PhaseChanged, DeploymentPhase::RolledBack) => {
            NotificationEvent::DeploymentRolledBack
        }
        (EventKind::PhaseChanged, DeploymentPhase::Aborted) => NotificationEvent::DeploymentAborted,
        (EventKind::PhaseChanged, DeploymentPhase::Failed) => NotificationEvent::DeploymentFailed,
        _ => return None,
    })
}

impl Orchestrator {
    /// Tell the notifier what `events`, just stored with `d`, mean.
    pub(super) fn announce(&self, d: &ModuleDeployment, events: &[DeploymentEvent]) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let ends = events
            .iter()
            .any(|e| e.kind == EventKind::PhaseChanged && e.phase.is_terminal());
        for e in events {
            if let Some(event) = event_of(e, ends) {
                notifier.notify(self.notification(d, event, &e.message));
            }
        }
    }

    /// Tell the notifier `event` of `d`, saying `message`.
    pub(super) fn tell(&self, d: &ModuleDeployment, event: NotificationEvent, message: &str) {
        if let Some(notifier) = &self.notifier {
            notifier.notify(self.notification(d, event, message));
        }
    }

    fn notification(
        &self,
        d: &ModuleDeployment,
        event: NotificationEvent,
        message: &str,
    ) -> Notification {
        let from = d
            .from_version
            .as_ref()
            .map_or_else(|| "nothing".to_owned(), ToString::to_string);
        Notification::new(
            event,
            self.clock.now(),
            d.module.to_string(),
            format!("{} {from} -> {}: {message}", d.module, d.to_version),
            json!({
                "deployment": d.id,
                "module": d.module,
                "from_version": d.from_version.as_ref().map(ToString::to_string),
                "to_version": d.to_version.to_string(),
                "environment": d.environment,
                "phase": d.phase,
                "reason": d.reason,
                "traffic_percent": d.progress.traffic_percent,
                "step": d.progress.step,
            }),
        )
    }
}

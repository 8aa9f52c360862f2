//! Telling people what happened: deployment and node events handed to a
//! [`Notifier`], which delivers them (chat, incident tools, webhooks) on
//! its own time. A notifier never blocks a rollout, and one that fails
//! loses only its own deliveries.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotificationEvent {
    /// A deployment started.
    #[serde(rename = "deployment.started")]
    DeploymentStarted,
    /// A deployment took a step (more traffic on the new version).
    #[serde(rename = "deployment.step")]
    DeploymentStep,
    /// A deployment paused (an operator, an inconclusive check, a gate).
    #[serde(rename = "deployment.paused")]
    DeploymentPaused,
    /// A deployment finished: the new version serves everywhere.
    #[serde(rename = "deployment.promoted")]
    DeploymentPromoted,
    /// A deployment rolled back.
    #[serde(rename = "deployment.rolled_back")]
    DeploymentRolledBack,
    /// A deployment was aborted.
    #[serde(rename = "deployment.aborted")]
    DeploymentAborted,
    /// A deployment failed.
    #[serde(rename = "deployment.failed")]
    DeploymentFailed,
    /// A node stopped heartbeating and takes no new traffic.
    #[serde(rename = "node.unhealthy")]
    NodeUnhealthy,
    /// A node has been silent long enough to be left out of rollouts.
    #[serde(rename = "node.offline")]
    NodeOffline,
}

impl NotificationEvent {
    /// Every event, in order.
    pub const ALL: [NotificationEvent; 9] = [
        Self::DeploymentStarted,
        Self::DeploymentStep,
        Self::DeploymentPaused,
        Self::DeploymentPromoted,
        Self::DeploymentRolledBack,
        Self::DeploymentAborted,
        Self::DeploymentFailed,
        Self::NodeUnhealthy,
        Self::NodeOffline,
    ];

    /// Its name (`deployment.rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeploymentStarted => "deployment.started",
            Self::DeploymentStep => "deployment.step",
            Self::DeploymentPaused => "deployment.paused",
            Self::DeploymentPromoted => "deployment.promoted",
            Self::DeploymentRolledBack => "deployment.rolled_back",
            Self::DeploymentAborted => "deployment.aborted",
            Self::DeploymentFailed => "deployment.failed",
            Self::NodeUnhealthy => "node.unhealthy",
            Self::NodeOffline => "node.offline",
        }
    }
}

impl fmt::Display for NotificationEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing to tell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// What happened.
    pub event: NotificationEvent,
    /// When.
    pub at: DateTime<Utc>,
    /// Whom it concerns: the module (`calc`) or the node (`eu-1`).
    pub subject: String,
    /// One line for a person.
    pub message: String,
    /// The details: the deployment, its step, the node.
    pub data: serde_json::Value,
}

impl Notification {
    /// A notification of `event` about `subject`.
    pub fn new(
        event: NotificationEvent,
        at: DateTime<Utc>,
        subject: impl Into<String>,
        message: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            event,
            at,
            subject: subject.into(),
            message: message.into(),
            data,
        }
    }
}

/// Delivers notifications.
///
/// Contract: `notify` returns at once (it queues); delivery, retries and
/// failures are the notifier's own, counted in its metrics, and never
/// reach the caller.
pub trait Notifier: Send + Sync + fmt::Debug + 'static {
    /// Queue `notification` for delivery.
    fn notify(&self, notification: Notification);
}

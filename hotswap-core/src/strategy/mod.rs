//! Deployment strategies: pure functions from a deployment's state, what
//! the fleet reports, and the time, to the next decision. They do no I/O;
//! the orchestrator applies their decisions and records each one.

use std::fmt;

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::domain::{
    DeploymentPhase, DeploymentProgress, ModuleDeployment, NodeId, NodeStatus, ReasonCode, Region,
    RoutingTable, VersionStats,
};
use crate::error::Result;

/// What the orchestrator knows about one target node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeObservation {
    /// The node.
    pub node: NodeId,
    /// Its region.
    pub region: Region,
    /// Its status.
    pub status: NodeStatus,
    /// Whether it reports the new version loaded (digest verified).
    pub has_new_version: bool,
    /// The revision of the routing table it applied for the module.
    pub routing_revision: Option<u64>,
}

/// Everything a strategy may look at besides the deployment itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Observations {
    /// The target nodes.
    pub nodes: Vec<NodeObservation>,
    /// Statistics of the new version since the current step started,
    /// merged over the nodes.
    pub new_version: Option<VersionStats>,
    /// Statistics of the old version over the same period.
    pub old_version: Option<VersionStats>,
}

/// One thing the orchestrator must do for a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Bring a version onto nodes (with retries and digest checks).
    Load {
        /// Where.
        nodes: Vec<NodeId>,
        /// Which version of the deployment's module.
        version: Version,
    },
    /// Apply a routing table on nodes.
    Route {
        /// Where.
        nodes: Vec<NodeId>,
        /// The table.
        table: RoutingTable,
    },
    /// Drop a version from nodes.
    Unload {
        /// Where.
        nodes: Vec<NodeId>,
        /// Which version.
        version: Version,
    },
}

/// A strategy's answer for one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Decision {
    /// Work to apply, in order.
    pub actions: Vec<Action>,
    /// The new progress.
    pub progress: DeploymentProgress,
    /// A phase change, with its reason.
    pub transition: Option<(DeploymentPhase, ReasonCode, String)>,
    /// When to evaluate again (`None`: only on an external event).
    pub next_check: Option<DateTime<Utc>>,
    /// Why, for the event log.
    pub note: String,
}

impl Decision {
    /// Do nothing until `next_check`.
    pub fn wait(
        progress: DeploymentProgress,
        next_check: DateTime<Utc>,
        note: impl Into<String>,
    ) -> Self {
        Self {
            actions: Vec::new(),
            progress,
            transition: None,
            next_check: Some(next_check),
            note: note.into(),
        }
    }
}

/// A deployment strategy.
///
/// Contract: `decide` is pure and deterministic — the same deployment,
/// observations and time give the same decision — and never does I/O. It
/// refuses a deployment whose strategy config is not its own with `Invalid`.
pub trait DeploymentStrategy: Send + Sync + fmt::Debug + 'static {
    /// The strategy's name (`canary`, `blue_green`, ...).
    fn name(&self) -> &'static str;

    /// The next decision for `deployment`.
    fn decide(
        &self,
        deployment: &ModuleDeployment,
        observations: &Observations,
        now: DateTime<Utc>,
    ) -> Result<Decision>;
}

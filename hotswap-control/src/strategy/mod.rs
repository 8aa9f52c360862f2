//! Deployment strategies: pure functions from a deployment's state, what
//! the fleet reports, and the time, to the next decision. They do no I/O;
//! the orchestrator applies their decisions and records each one.

mod ab_test;
mod blue_green;
mod canary;
mod plan;
mod regional;
mod rolling;

use std::fmt;

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

pub use ab_test::AbTest;
pub use blue_green::BlueGreen;
pub use canary::Canary;
pub use plan::{abort, restart_step, rollback};
pub use regional::Regional;
pub use rolling::Rolling;

use hotswap_core::domain::{
    DeploymentPhase, DeploymentProgress, HealthVerdict, ModuleDeployment, NodeId, NodeStatus,
    ReasonCode, Region, RoutingTable, StrategyConfig, VersionStats,
};
use hotswap_core::error::Result;

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
    /// Versions of the module it reports loaded (digests verified).
    pub loaded: Vec<Version>,
}

impl NodeObservation {
    /// A node in `region` with `status` and nothing loaded.
    pub fn new(node: NodeId, region: Region, status: NodeStatus) -> Self {
        Self {
            node,
            region,
            status,
            loaded: Vec::new(),
        }
    }

    /// Whether it reports `version` loaded.
    pub fn has(&self, version: &Version) -> bool {
        self.loaded.contains(version)
    }
}

/// Everything a strategy may look at besides the deployment itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Observations {
    /// The target nodes, in id order.
    pub nodes: Vec<NodeObservation>,
    /// Cumulative statistics of each version of the module, merged over
    /// the target nodes.
    pub stats: Vec<VersionStats>,
    /// What the deployment's analysis checks say of the current step
    /// (`None`: it has none, or no step is under way).
    pub analysis: Option<HealthVerdict>,
}

impl Observations {
    /// Observations of `nodes` (sorted here by id) with `stats`.
    pub fn new(mut nodes: Vec<NodeObservation>, stats: Vec<VersionStats>) -> Self {
        nodes.sort_by_key(|n| n.node);
        Self {
            nodes,
            stats,
            analysis: None,
        }
    }

    /// With the analysis checks' verdict.
    #[must_use]
    pub fn with_analysis(mut self, analysis: Option<HealthVerdict>) -> Self {
        self.analysis = analysis;
        self
    }

    /// The merged statistics of `version`, if any node counted calls.
    pub fn stats_of(&self, version: &Version) -> Option<&VersionStats> {
        self.stats.iter().find(|s| &s.version == version)
    }

    /// The observations of the nodes in `region` only.
    pub fn in_region(&self, region: &Region) -> Observations {
        Observations {
            nodes: self
                .nodes
                .iter()
                .filter(|n| &n.region == region)
                .cloned()
                .collect(),
            stats: self.stats.clone(),
            analysis: self.analysis.clone(),
        }
    }
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

    /// Every `(node, version)` its `Load` actions ask for, when it changes
    /// no phase (a decision that ends the deployment has nothing to follow).
    pub fn loads(&self) -> Vec<(NodeId, Version)> {
        if self.transition.is_some() {
            return Vec::new();
        }
        self.actions
            .iter()
            .flat_map(|a| match a {
                Action::Load { nodes, version } => nodes
                    .iter()
                    .map(|n| (*n, version.clone()))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect()
    }
}

/// The strategy that runs `config`, holding it: the one place the
/// configuration is matched.
pub fn for_config(config: &StrategyConfig) -> Box<dyn DeploymentStrategy> {
    match config {
        StrategyConfig::Canary(c) => Box::new(Canary(c.clone())),
        StrategyConfig::BlueGreen(c) => Box::new(BlueGreen(c.clone())),
        StrategyConfig::Rolling(c) => Box::new(Rolling(c.clone())),
        StrategyConfig::Regional(c) => Box::new(Regional(c.clone())),
        StrategyConfig::AbTest(c) => Box::new(AbTest(c.clone())),
    }
}

/// How far `d` has come, in percent of what its strategy planned (100
/// once it succeeded).
pub fn percent_done(d: &ModuleDeployment) -> u8 {
    if d.phase == DeploymentPhase::Succeeded {
        return 100;
    }
    let done = for_config(&d.strategy).done(&d.progress);
    (done * 100.0).clamp(0.0, 99.0) as u8
}

/// The share of its steps `progress` has taken, 0.0..=1.0.
pub(crate) fn steps_done(progress: &DeploymentProgress) -> f64 {
    f64::from(progress.step) / f64::from(progress.total_steps.max(1))
}

/// The next decision for `deployment` by its own strategy.
pub fn decide(
    deployment: &ModuleDeployment,
    observations: &Observations,
    now: DateTime<Utc>,
) -> Result<Decision> {
    for_config(&deployment.strategy).decide(deployment, observations, now)
}

/// A deployment strategy, holding its configuration (see [`for_config`]).
///
/// Contract: `decide` is pure and deterministic — the same deployment,
/// observations and time give the same decision — and never does I/O; it
/// decides by the configuration it holds, not by `deployment.strategy`.
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

    /// Every version `deployment` may route to: the new one, the old one,
    /// and whatever else the strategy serves (an A/B test's variants).
    fn versions(&self, deployment: &ModuleDeployment) -> Vec<Version> {
        let mut out = vec![deployment.to_version.clone()];
        out.extend(deployment.from_version.iter().cloned());
        out
    }

    /// The health evaluations' lengths in seconds, with the field of the
    /// configuration each comes from (`evaluation_period_secs`, ...).
    fn evaluation_periods(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// The share of its plan `progress` has done, 0.0..=1.0.
    fn done(&self, progress: &DeploymentProgress) -> f64 {
        steps_done(progress)
    }
}

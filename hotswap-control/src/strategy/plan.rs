//! What the strategies share: which nodes serve, loading before routing,
//! stamping routing revisions, health over the current step's window, and
//! the shapes of their decisions.

use chrono::{DateTime, Duration, Utc};
use semver::Version;

use super::{Action, Decision, NodeObservation, Observations};
use hotswap_core::domain::{
    DeploymentPhase, DeploymentProgress, HealthVerdict, InconclusivePolicy, ModuleDeployment,
    NodeId, ReasonCode, RegionalState, RoutingTable, StrategyState, VersionStats,
};

/// How soon to look again while versions are being loaded.
pub(crate) const LOAD_RECHECK: Duration = Duration::seconds(5);

/// A decision being built from a deployment, its observations and the time.
pub(crate) struct Plan<'a> {
    pub(crate) d: &'a ModuleDeployment,
    pub(crate) obs: &'a Observations,
    pub(crate) now: DateTime<Utc>,
    pub(crate) progress: DeploymentProgress,
    actions: Vec<Action>,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(d: &'a ModuleDeployment, obs: &'a Observations, now: DateTime<Utc>) -> Self {
        Self {
            d,
            obs,
            now,
            progress: d.progress.clone(),
            actions: Vec::new(),
        }
    }

    /// Target nodes that take traffic, in id order.
    pub(crate) fn serving(&self) -> Vec<&'a NodeObservation> {
        self.obs
            .nodes
            .iter()
            .filter(|n| n.status.accepts_traffic())
            .collect()
    }

    /// Load `version` on those of `nodes` that lack it; whether all have it.
    pub(crate) fn ensure_loaded(&mut self, nodes: &[&NodeObservation], version: &Version) -> bool {
        let missing: Vec<NodeId> = nodes
            .iter()
            .filter(|n| !n.has(version))
            .map(|n| n.node)
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.actions.push(Action::Load {
            nodes: missing,
            version: version.clone(),
        });
        false
    }

    /// A table for the deployment's module with `stable`, stamped with the
    /// next revision (above the last one and at least the clock's
    /// microseconds, so a later deployment's tables outrank this one's).
    pub(crate) fn table(&mut self, stable: &Version) -> RoutingTable {
        let revision = (self.progress.routing_revision + 1)
            .max(u64::try_from(self.now.timestamp_micros()).unwrap_or(0));
        self.progress.routing_revision = revision;
        let mut table = RoutingTable::new(self.d.module.clone(), stable.clone());
        table.revision = revision;
        table
    }

    /// Apply `table` on `nodes` (nothing when there are none).
    pub(crate) fn route(&mut self, nodes: Vec<NodeId>, table: RoutingTable) {
        if !nodes.is_empty() {
            self.actions.push(Action::Route { nodes, table });
        }
    }

    /// Drop `version` from `nodes` that have it.
    pub(crate) fn unload(&mut self, nodes: &[&NodeObservation], version: &Version) {
        let nodes: Vec<NodeId> = nodes
            .iter()
            .filter(|n| n.has(version))
            .map(|n| n.node)
            .collect();
        if !nodes.is_empty() {
            self.actions.push(Action::Unload {
                nodes,
                version: version.clone(),
            });
        }
    }

    /// Add actions decided elsewhere (an inner strategy's).
    pub(crate) fn extend(&mut self, actions: Vec<Action>) {
        self.actions.extend(actions);
    }

    /// Start a step now: its evaluation period and its statistics window.
    pub(crate) fn begin_step(&mut self) {
        self.progress.step_started_at = Some(self.now);
        self.progress.baseline = self.obs.stats.clone();
    }

    /// Whether `secs` have passed since the step began.
    pub(crate) fn step_elapsed(&self, secs: u64) -> bool {
        self.step_ends(secs).is_some_and(|end| self.now >= end)
    }

    /// When the current step's period of `secs` ends.
    pub(crate) fn step_ends(&self, secs: u64) -> Option<DateTime<Utc>> {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self.progress
            .step_started_at
            .map(|at| at + Duration::seconds(secs))
    }

    /// `version`'s statistics counted since the step began.
    pub(crate) fn window(&self, version: &Version) -> Option<VersionStats> {
        let now = self.obs.stats_of(version)?;
        Some(
            match self
                .progress
                .baseline
                .iter()
                .find(|b| &b.version == version)
            {
                Some(base) => now.since(base),
                None => now.clone(),
            },
        )
    }

    /// The health of `version` over the step's window, compared with the
    /// deployment's old version on the same nodes; for the new version, and
    /// the deployment's analysis checks' verdict too.
    pub(crate) fn verdict_of(&self, version: &Version) -> HealthVerdict {
        let stats = match self.window(version) {
            None => HealthVerdict::too_few(0),
            Some(new) => {
                let stable = self
                    .d
                    .from_version
                    .as_ref()
                    .filter(|v| *v != version)
                    .and_then(|v| self.window(v));
                self.d.health.judge(&new, stable.as_ref())
            }
        };
        match &self.obs.analysis {
            Some(analysis) if *version == self.d.to_version => stats.and(analysis.clone()),
            _ => stats,
        }
    }

    /// The health of the new version.
    pub(crate) fn verdict(&self) -> HealthVerdict {
        self.verdict_of(&self.d.to_version)
    }

    /// Nodes by id.
    pub(crate) fn ids(nodes: &[&NodeObservation]) -> Vec<NodeId> {
        nodes.iter().map(|n| n.node).collect()
    }

    fn decision(
        self,
        transition: Option<(DeploymentPhase, ReasonCode, String)>,
        next_check: Option<DateTime<Utc>>,
        note: String,
    ) -> Decision {
        Decision {
            actions: self.actions,
            progress: self.progress,
            transition,
            next_check,
            note,
        }
    }

    /// Carry on; look again at `next_check` (or on an event).
    pub(crate) fn go_on(
        self,
        next_check: Option<DateTime<Utc>>,
        note: impl Into<String>,
    ) -> Decision {
        self.decision(None, next_check, note.into())
    }

    /// Wait for versions to load, then look again.
    pub(crate) fn loading(self, what: &str) -> Decision {
        let at = self.now + LOAD_RECHECK;
        self.go_on(Some(at), format!("waiting for {what} to load"))
    }

    /// Move to `phase`.
    pub(crate) fn end(
        self,
        phase: DeploymentPhase,
        code: ReasonCode,
        note: impl Into<String>,
    ) -> Decision {
        let note = note.into();
        self.decision(Some((phase, code, note.clone())), None, note)
    }

    /// The new version takes everything on every serving node; the old
    /// one is dropped.
    pub(crate) fn complete(mut self, code: ReasonCode, note: impl Into<String>) -> Decision {
        let serving = self.serving();
        let table = self.table(&self.d.to_version);
        self.route(Self::ids(&serving), table);
        if let Some(old) = &self.d.from_version {
            self.unload(&serving, old);
        }
        self.progress.traffic_percent = 100;
        self.progress.nodes_updated = count(serving.len());
        self.end(DeploymentPhase::Succeeded, code, note)
    }

    /// Act on an inconclusive verdict (`samples` calls seen, or `reason`)
    /// per the deployment's policy.
    pub(crate) fn inconclusive(self, samples: u64, reason: Option<String>) -> Decision {
        let why = reason.unwrap_or_else(|| {
            format!(
                "only {samples} calls on {} in the evaluation window, {} needed",
                self.d.to_version, self.d.health.min_samples
            )
        });
        match self.d.health.on_inconclusive {
            InconclusivePolicy::Pause => {
                self.end(DeploymentPhase::Paused, ReasonCode::Inconclusive, why)
            }
            InconclusivePolicy::Rollback => {
                let (d, obs, now) = (self.d, self.obs, self.now);
                rollback_from(Plan::new(d, obs, now), ReasonCode::Inconclusive, why)
            }
        }
    }

    /// Roll back: everything to the old version on every observed node, the
    /// new version dropped.
    pub(crate) fn rollback(self, code: ReasonCode, why: impl Into<String>) -> Decision {
        rollback_from(self, code, why.into())
    }
}

/// A node count as stored in progress.
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn revert(plan: &mut Plan<'_>) {
    let nodes: Vec<&NodeObservation> = plan.obs.nodes.iter().collect();
    if let Some(old) = &plan.d.from_version {
        // Nodes that dropped the old version (a region already done) load
        // it again before their routing returns to it.
        let serving: Vec<&NodeObservation> = plan.serving();
        plan.ensure_loaded(&serving, old);
        let table = plan.table(old);
        plan.route(Plan::ids(&serving), table);
    }
    plan.unload(&nodes, &plan.d.to_version.clone());
    plan.progress.traffic_percent = 0;
    plan.progress.nodes_updated = 0;
}

fn rollback_from(mut plan: Plan<'_>, code: ReasonCode, why: String) -> Decision {
    revert(&mut plan);
    plan.end(DeploymentPhase::RolledBack, code, why)
}

/// Roll `deployment` back by an operator (or the orchestrator): the old
/// version takes everything again on every observed node that has it, the
/// new version is dropped, and the deployment ends `RolledBack`.
pub fn rollback(
    deployment: &ModuleDeployment,
    observations: &Observations,
    now: DateTime<Utc>,
    code: ReasonCode,
    why: impl Into<String>,
) -> Decision {
    Plan::new(deployment, observations, now).rollback(code, why)
}

/// Abort `deployment`: routing returns to the old version as in
/// [`rollback`], and the deployment ends `Aborted`.
pub fn abort(
    deployment: &ModuleDeployment,
    observations: &Observations,
    now: DateTime<Utc>,
    why: impl Into<String>,
) -> Decision {
    let mut plan = Plan::new(deployment, observations, now);
    revert(&mut plan);
    plan.end(DeploymentPhase::Aborted, ReasonCode::ManualAbort, why)
}

/// Restart the current step's evaluation at `now` (an operator resumed
/// the deployment): a new evaluation period and a statistics window that
/// begins now, for the step and for an inner strategy's step.
pub fn restart_step(
    progress: &mut DeploymentProgress,
    observations: &Observations,
    now: DateTime<Utc>,
) {
    if progress.step_started_at.is_some() {
        progress.step_started_at = Some(now);
        progress.baseline = observations.stats.clone();
    }
    // The analysis checks judge the new window afresh.
    progress.analysis.clear();
    if let StrategyState::Regional(RegionalState {
        inner: Some(inner), ..
    }) = &mut progress.state
    {
        restart_step(inner, observations, now);
    }
}

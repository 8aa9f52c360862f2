//! Deployments: rolling a module from one version to another.

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

use super::analysis::{AnalysisCheck, AnalysisProgress, validate_checks};
use super::hooks::{HookPoint, Webhook, validate_hooks};
use super::module::validate_actor;
use super::{
    DeploymentId, EdgeNode, Labels, ModuleName, NodeId, NodeStatus, Region, StrategyConfig,
    VersionStats,
};
use crate::error::{Error, Result};

/// The environment a deployment targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Development.
    Development,
    /// Staging.
    Staging,
    /// Production.
    Production,
}

/// Where a deployment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeploymentPhase {
    /// Created, not started.
    Pending,
    /// Moving through its steps.
    Progressing,
    /// Stopped by an operator or an inconclusive health check; resumable.
    Paused,
    /// Finished: the new version is stable everywhere. Terminal.
    Succeeded,
    /// Rolled back to the old version. Terminal.
    RolledBack,
    /// Could not proceed or roll back cleanly. Terminal.
    Failed,
    /// Stopped by an operator; routing returns to the old version. Terminal.
    Aborted,
}

impl DeploymentPhase {
    /// The phase's name as in JSON and metric labels (`rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Progressing => "progressing",
            Self::Paused => "paused",
            Self::Succeeded => "succeeded",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }

    /// Whether no further transition is possible.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::RolledBack | Self::Failed | Self::Aborted
        )
    }

    /// Whether a deployment may move from `self` to `next`.
    ///
    /// `Progressing -> Progressing` is allowed (a step advances);
    /// terminal phases allow nothing.
    pub fn can_transition_to(self, next: Self) -> bool {
        use DeploymentPhase::*;
        match self {
            Pending => matches!(next, Progressing | Failed | Aborted),
            Progressing => matches!(
                next,
                Progressing | Paused | Succeeded | RolledBack | Failed | Aborted
            ),
            Paused => matches!(next, Progressing | RolledBack | Failed | Aborted),
            Succeeded | RolledBack | Failed | Aborted => false,
        }
    }
}

/// Machine-readable cause of the current phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// Just created.
    Created,
    /// The orchestrator started it.
    Started,
    /// A step finished healthy and the next began.
    StepAdvanced,
    /// Health criteria were breached.
    HealthCheckFailed,
    /// Too few samples to judge, and the policy says pause or roll back.
    Inconclusive,
    /// An operator paused it.
    ManualPause,
    /// An operator resumed it.
    ManualResume,
    /// An operator promoted it.
    ManualPromote,
    /// An operator rolled it back.
    ManualRollback,
    /// An operator aborted it.
    ManualAbort,
    /// Every step completed.
    Completed,
    /// The version could not be brought onto the target nodes.
    DistributionFailed,
    /// No node matches the target selector and can run the module.
    NoEligibleNodes,
    /// A newer deployment of the same module replaced it.
    Superseded,
    /// A target node stopped heartbeating and the policy pauses.
    NodeUnhealthy,
    /// The stored progress does not fit the strategy (a step past its
    /// last, say): rolled back rather than guessed at.
    InvalidProgress,
    /// A gating webhook did not allow the next step; it is asked again.
    HookRejected,
}

/// Why a deployment is in its phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseReason {
    /// Machine-readable code.
    pub code: ReasonCode,
    /// Human-readable detail.
    pub message: String,
}

/// Which nodes a deployment targets. Empty lists match every node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TargetSelector {
    /// Regions to include (all when empty).
    pub regions: Vec<Region>,
    /// Labels every target node must carry.
    pub labels: Labels,
}

impl TargetSelector {
    /// Whether `node` is targeted.
    pub fn matches(&self, node: &EdgeNode) -> bool {
        (self.regions.is_empty() || self.regions.contains(&node.region))
            && node.labels.matches(&self.labels)
    }
}

/// What to do when a health evaluation has too few samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InconclusivePolicy {
    /// Pause and wait for an operator.
    #[default]
    Pause,
    /// Roll back.
    Rollback,
}

/// The outcome of judging a version's statistics against [`HealthCriteria`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum HealthVerdict {
    /// Within the criteria.
    Healthy,
    /// Outside the criteria.
    Unhealthy {
        /// Which criterion failed, with figures.
        reason: String,
    },
    /// Fewer calls than the minimum sample size, or an analysis check
    /// without a conclusive value.
    Inconclusive {
        /// How many calls were seen.
        samples: u64,
        /// What was inconclusive, when it was not the call count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl HealthVerdict {
    /// Too few calls: `samples` were seen.
    pub fn too_few(samples: u64) -> Self {
        Self::Inconclusive {
            samples,
            reason: None,
        }
    }

    /// Both verdicts at once: unhealthy if either is, else inconclusive if
    /// either is, else healthy.
    #[must_use]
    pub fn and(self, other: HealthVerdict) -> HealthVerdict {
        match (self, other) {
            (u @ Self::Unhealthy { .. }, _) | (_, u @ Self::Unhealthy { .. }) => u,
            (i @ Self::Inconclusive { .. }, _) | (_, i @ Self::Inconclusive { .. }) => i,
            _ => Self::Healthy,
        }
    }
}

/// When a new version counts as healthy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthCriteria {
    /// Highest acceptable share of failed calls, 0.0..=1.0.
    pub max_error_rate: f64,
    /// Highest acceptable p99 latency in milliseconds.
    pub max_p99_ms: u64,
    /// Calls needed before a verdict other than inconclusive.
    pub min_samples: u64,
    /// How far the new version's error rate may exceed the stable
    /// version's on the same nodes over the same window (absolute, 0..=1);
    /// applied when the stable version has `min_samples` calls too.
    pub max_error_rate_increase: f64,
    /// How many times the stable version's p99 the new version's p99 may
    /// be, on the same nodes over the same window; applied like the above.
    pub max_p99_ratio: f64,
    /// What to do when inconclusive at the end of a step.
    pub on_inconclusive: InconclusivePolicy,
    /// Metric checks that must pass too (Prometheus queries, web values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analysis: Vec<AnalysisCheck>,
}

impl Default for HealthCriteria {
    fn default() -> Self {
        Self {
            max_error_rate: 0.01,
            max_p99_ms: 1_000,
            min_samples: 100,
            max_error_rate_increase: 0.01,
            max_p99_ratio: 2.0,
            on_inconclusive: InconclusivePolicy::Pause,
            analysis: Vec::new(),
        }
    }
}

impl HealthCriteria {
    /// Refuse rates outside 0..=1 and zero thresholds.
    pub fn validate(&self) -> Result<()> {
        if !self.max_error_rate.is_finite() || !(0.0..=1.0).contains(&self.max_error_rate) {
            return Err(Error::invalid(
                "max_error_rate",
                format!("{} is outside 0.0..=1.0", self.max_error_rate),
            ));
        }
        if self.max_p99_ms == 0 {
            return Err(Error::invalid("max_p99_ms", "must not be zero"));
        }
        if self.min_samples == 0 {
            return Err(Error::invalid("min_samples", "must be at least 1"));
        }
        if !self.max_error_rate_increase.is_finite()
            || !(0.0..=1.0).contains(&self.max_error_rate_increase)
        {
            return Err(Error::invalid(
                "max_error_rate_increase",
                format!("{} is outside 0.0..=1.0", self.max_error_rate_increase),
            ));
        }
        if !self.max_p99_ratio.is_finite() || self.max_p99_ratio < 1.0 {
            return Err(Error::invalid(
                "max_p99_ratio",
                format!("{} must be a number of at least 1.0", self.max_p99_ratio),
            ));
        }
        validate_checks(&self.analysis)
    }

    /// Judge `stats` (merged across the nodes that ran the version).
    pub fn evaluate(&self, stats: &VersionStats) -> HealthVerdict {
        if stats.calls < self.min_samples {
            return HealthVerdict::too_few(stats.calls);
        }
        let rate = stats.error_rate();
        if rate > self.max_error_rate {
            return HealthVerdict::Unhealthy {
                reason: format!(
                    "error rate {:.4} ({} of {} calls) exceeds {:.4}",
                    rate, stats.errors, stats.calls, self.max_error_rate
                ),
            };
        }
        let p99_us = stats.latency.quantile_us(0.99);
        if p99_us > self.max_p99_ms.saturating_mul(1000) {
            return HealthVerdict::Unhealthy {
                reason: format!(
                    "p99 latency {:.3} ms exceeds {} ms",
                    p99_us as f64 / 1000.0,
                    self.max_p99_ms
                ),
            };
        }
        HealthVerdict::Healthy
    }

    /// Judge the new version's `new` statistics against the thresholds
    /// ([`HealthCriteria::evaluate`]) and, when the stable version has
    /// enough calls over the same window on the same nodes, against it:
    /// an error rate more than `max_error_rate_increase` above it, or a p99
    /// more than `max_p99_ratio` times its p99, is unhealthy.
    pub fn judge(&self, new: &VersionStats, stable: Option<&VersionStats>) -> HealthVerdict {
        let verdict = self.evaluate(new);
        let Some(stable) = stable.filter(|s| s.calls >= self.min_samples) else {
            return verdict;
        };
        if verdict != HealthVerdict::Healthy {
            return verdict;
        }
        let (rate, base) = (new.error_rate(), stable.error_rate());
        if rate > base + self.max_error_rate_increase {
            return HealthVerdict::Unhealthy {
                reason: format!(
                    "error rate {rate:.4} exceeds the stable version's {base:.4} by more than {:.4}",
                    self.max_error_rate_increase
                ),
            };
        }
        let (p99, base_p99) = (
            new.latency.quantile_us(0.99),
            stable.latency.quantile_us(0.99),
        );
        if base_p99 > 0 && p99 as f64 > base_p99 as f64 * self.max_p99_ratio {
            return HealthVerdict::Unhealthy {
                reason: format!(
                    "p99 latency {:.3} ms is more than {} times the stable version's {:.3} ms",
                    p99 as f64 / 1000.0,
                    self.max_p99_ratio,
                    base_p99 as f64 / 1000.0
                ),
            };
        }
        HealthVerdict::Healthy
    }
}

/// What an operator asked a running deployment to do; the strategy acts on
/// it at its next decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "request", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OperatorRequest {
    /// Move on without waiting for the evaluation: to the next step, or
    /// (`full`) straight to the end.
    Promote {
        /// Finish the rollout instead of taking one step.
        full: bool,
    },
    /// End an A/B test with this variant as the stable version.
    PromoteVariant {
        /// The variant's name.
        name: String,
    },
}

/// What a rollout does when a target node stops heartbeating mid-rollout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StaleNodePolicy {
    /// Leave it out and go on with the nodes that remain.
    #[default]
    Exclude,
    /// Pause until an operator resumes.
    Pause,
}

/// How far a deployment has come; owned by its strategy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct DeploymentProgress {
    /// Index of the current step (0-based).
    pub step: u32,
    /// Number of steps the strategy planned.
    pub total_steps: u32,
    /// When the current step started.
    pub step_started_at: Option<DateTime<Utc>>,
    /// Percent of traffic on the new version now.
    pub traffic_percent: u8,
    /// Target nodes found.
    pub nodes_targeted: u32,
    /// Target nodes that run the new version.
    pub nodes_updated: u32,
    /// The revision of the last routing table sent; the next is higher.
    pub routing_revision: u64,
    /// An operator request not acted on yet.
    pub request: Option<OperatorRequest>,
    /// Cumulative statistics per version when the current step began;
    /// health is judged on what was counted since.
    pub baseline: Vec<VersionStats>,
    /// When the orchestrator should evaluate the deployment again
    /// (`None`: only on an event such as an operator's request).
    pub next_check: Option<DateTime<Utc>>,
    /// What only the deployment's strategy keeps.
    pub state: StrategyState,
    /// How each analysis check has fared in the current step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analysis: Vec<AnalysisProgress>,
    /// The gating point whose webhooks hold the deployment paused, asked
    /// again at `next_check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_at: Option<HookPoint>,
}

impl DeploymentProgress {
    /// The current stage (the region of a regional rollout; 0 for
    /// strategies without stages).
    pub fn stage(&self) -> u32 {
        self.regional().map_or(0, |r| r.stage)
    }

    /// A regional rollout's state, if this is one.
    pub fn regional(&self) -> Option<&RegionalState> {
        match &self.state {
            StrategyState::Regional(r) => Some(r),
            _ => None,
        }
    }

    /// A regional rollout's state, started empty if there is none yet.
    pub fn regional_mut(&mut self) -> &mut RegionalState {
        if !matches!(self.state, StrategyState::Regional(_)) {
            self.state = StrategyState::Regional(RegionalState::default());
        }
        match &mut self.state {
            StrategyState::Regional(r) => r,
            _ => unreachable!("set just above"),
        }
    }

    /// A blue-green deployment's state, if this is one.
    pub fn blue_green(&self) -> Option<&BlueGreenState> {
        match &self.state {
            StrategyState::BlueGreen(b) => Some(b),
            _ => None,
        }
    }

    /// A blue-green deployment's state, started empty if there is none yet.
    pub fn blue_green_mut(&mut self) -> &mut BlueGreenState {
        if !matches!(self.state, StrategyState::BlueGreen(_)) {
            self.state = StrategyState::BlueGreen(BlueGreenState::default());
        }
        match &mut self.state {
            StrategyState::BlueGreen(b) => b,
            _ => unreachable!("set just above"),
        }
    }
}

/// What a strategy keeps beyond the steps every strategy reports. Canary,
/// rolling and A/B tests keep nothing more; blue-green keeps its switch,
/// a regional rollout its stages and the inner strategy's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "strategy", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StrategyState {
    /// Steps only (canary, rolling, A/B test, and any strategy before its
    /// first decision).
    #[default]
    Steps,
    /// A blue-green deployment's switch.
    BlueGreen(BlueGreenState),
    /// A regional rollout's stages.
    Regional(RegionalState),
}

/// What a blue-green deployment keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct BlueGreenState {
    /// When the new version took all traffic.
    pub switched_at: Option<DateTime<Utc>>,
}

/// What a regional rollout keeps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct RegionalState {
    /// Index of the current region.
    pub stage: u32,
    /// Regions planned.
    pub total_stages: u32,
    /// The inner strategy's progress in the current region.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub inner: Option<Box<DeploymentProgress>>,
}

/// One rollout of a module from one version to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ModuleDeployment {
    /// Identity.
    pub id: DeploymentId,
    /// The module.
    pub module: ModuleName,
    /// The version being replaced (`None` for a first deployment).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver_or_null))]
    pub from_version: Option<Version>,
    /// The version being rolled out.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub to_version: Version,
    /// The configuration revision `to_version` runs with (0: none).
    #[serde(default)]
    pub config_revision: u64,
    /// The revision `from_version` runs with; a rollback keeps it.
    #[serde(default)]
    pub from_config_revision: u64,
    /// How.
    pub strategy: StrategyConfig,
    /// Where.
    #[serde(default)]
    pub target: TargetSelector,
    /// When the new version counts as healthy.
    #[serde(default)]
    pub health: HealthCriteria,
    /// What to do when a target node goes stale mid-rollout.
    #[serde(default)]
    pub stale_nodes: StaleNodePolicy,
    /// Webhooks called at points of the rollout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Webhook>,
    /// Environment.
    pub environment: Environment,
    /// Where it stands.
    pub phase: DeploymentPhase,
    /// Why it stands there.
    pub reason: PhaseReason,
    /// Strategy progress.
    #[serde(default)]
    pub progress: DeploymentProgress,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every stored update; the compare-and-set token.
    #[serde(default)]
    pub revision: u64,
    /// The W3C `traceparent` of the deployment's span, so every evaluation,
    /// on any replica, is traced as its child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<String>,
}

impl ModuleDeployment {
    /// A pending deployment with default target and health criteria.
    pub fn new(
        module: ModuleName,
        from_version: Option<Version>,
        to_version: Version,
        strategy: StrategyConfig,
        environment: Environment,
        created_by: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: DeploymentId::new(),
            module,
            from_version,
            to_version,
            config_revision: 0,
            from_config_revision: 0,
            strategy,
            target: TargetSelector::default(),
            health: HealthCriteria::default(),
            stale_nodes: StaleNodePolicy::default(),
            hooks: Vec::new(),
            environment,
            phase: DeploymentPhase::Pending,
            reason: PhaseReason {
                code: ReasonCode::Created,
                message: "deployment created".into(),
            },
            progress: DeploymentProgress::default(),
            created_by: created_by.into(),
            created_at: now,
            updated_at: now,
            revision: 0,
            trace_context: None,
        }
    }

    /// The configuration revision `version` runs with in this deployment:
    /// `to_version`'s or `from_version`'s, else 0.
    pub fn config_of(&self, version: &Version) -> u64 {
        if *version == self.to_version {
            self.config_revision
        } else if self.from_version.as_ref() == Some(version) {
            self.from_config_revision
        } else {
            0
        }
    }

    /// Refuse an inconsistent deployment, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.from_version.as_ref() == Some(&self.to_version) {
            return Err(Error::invalid(
                "to_version",
                format!("{} is already the from_version", self.to_version),
            ));
        }
        self.strategy.validate()?;
        if let StrategyConfig::AbTest(ab) = &self.strategy
            && !ab.variants.iter().any(|v| v.version == self.to_version)
        {
            return Err(Error::invalid(
                "strategy.variants",
                format!("no variant runs to_version {}", self.to_version),
            ));
        }
        self.health.validate().map_err(|e| e.within("health"))?;
        validate_hooks(&self.hooks)?;
        validate_actor("created_by", &self.created_by)?;
        if self.updated_at < self.created_at {
            return Err(Error::invalid("updated_at", "is before created_at"));
        }
        Ok(())
    }

    /// Move to `next`, recording why, and return the event to append.
    ///
    /// Refuses (with `Conflict`) a transition the phase machine does not
    /// allow, leaving `self` unchanged.
    pub fn transition(
        &mut self,
        next: DeploymentPhase,
        code: ReasonCode,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Result<DeploymentEvent> {
        if !self.phase.can_transition_to(next) {
            return Err(Error::conflict(
                format!("deployment {}", self.id),
                format!("cannot move from {:?} to {:?}", self.phase, next),
            ));
        }
        let message = message.into();
        self.phase = next;
        self.reason = PhaseReason {
            code,
            message: message.clone(),
        };
        self.updated_at = at.max(self.updated_at);
        Ok(DeploymentEvent::new(
            EventKind::PhaseChanged,
            next,
            message,
            at,
        ))
    }
}

/// What a deployment event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The phase changed.
    PhaseChanged,
    /// A strategy step began.
    StepStarted,
    /// Traffic weights changed.
    TrafficShifted,
    /// A node loaded the version.
    VersionLoaded,
    /// A node failed to load the version.
    LoadFailed,
    /// Health was judged.
    HealthEvaluated,
    /// A routing table was applied to nodes.
    RoutingApplied,
    /// An analysis check ran: its query, value and verdict.
    Analysis,
    /// A webhook was called: its point, answer and whether it let the
    /// deployment go on.
    Hook,
    /// Anything else worth recording.
    Note,
}

/// One entry of a deployment's append-only event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeploymentEvent {
    /// Position in the log, 1-based and contiguous; assigned on append.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// The phase after it.
    pub phase: DeploymentPhase,
    /// Human-readable detail.
    pub message: String,
    /// Structured detail (node ids, weights, verdicts).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl DeploymentEvent {
    /// An event not yet appended (`seq` 0).
    pub fn new(
        kind: EventKind,
        phase: DeploymentPhase,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            seq: 0,
            at,
            kind,
            phase,
            message: message.into(),
            data: serde_json::Value::Null,
        }
    }

    /// Attach structured detail.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Where one target node of a deployment stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct NodeProgress {
    /// The node.
    pub node: NodeId,
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its status.
    pub status: NodeStatus,
    /// Whether it has the new version loaded.
    pub has_new: bool,
    /// Whether it has the old version loaded.
    pub has_old: bool,
}

impl NodeProgress {
    /// Where `node` stands in `deployment`.
    pub fn of(node: &EdgeNode, deployment: &ModuleDeployment) -> Self {
        Self {
            node: node.id,
            name: node.name.clone(),
            region: node.region.to_string(),
            status: node.status,
            has_new: node.has_loaded(&deployment.module, &deployment.to_version),
            has_old: deployment
                .from_version
                .as_ref()
                .is_some_and(|v| node.has_loaded(&deployment.module, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LatencyHistogram;

    fn deployment() -> ModuleDeployment {
        ModuleDeployment::new(
            ModuleName::new("echo").unwrap(),
            Some(Version::new(1, 0, 0)),
            Version::new(1, 1, 0),
            StrategyConfig::default(),
            Environment::Production,
            "alice",
            Utc::now(),
        )
    }

    #[test]
    fn transitions_follow_the_phase_machine() {
        let mut d = deployment();
        let now = Utc::now();
        d.transition(DeploymentPhase::Progressing, ReasonCode::Started, "go", now)
            .unwrap();
        d.transition(
            DeploymentPhase::Paused,
            ReasonCode::ManualPause,
            "wait",
            now,
        )
        .unwrap();
        d.transition(
            DeploymentPhase::RolledBack,
            ReasonCode::ManualRollback,
            "back",
            now,
        )
        .unwrap();
        let before = d.clone();
        let e = d
            .transition(
                DeploymentPhase::Progressing,
                ReasonCode::ManualResume,
                "again",
                now,
            )
            .unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e}");
        assert_eq!(d, before);
    }

    #[test]
    fn validation_names_fields() {
        let mut d = deployment();
        d.validate().unwrap();
        d.to_version = Version::new(1, 0, 0);
        assert!(
            d.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid to_version")
        );
        let mut d = deployment();
        d.health.max_error_rate = 2.0;
        assert!(
            d.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid health.max_error_rate")
        );
        let mut d = deployment();
        d.created_by = " ".into();
        assert!(
            d.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid created_by")
        );
    }

    #[test]
    fn health_criteria_judge_stats() {
        let c = HealthCriteria {
            min_samples: 10,
            max_error_rate: 0.1,
            max_p99_ms: 50,
            ..Default::default()
        };
        let mut s = VersionStats::new(ModuleName::new("m").unwrap(), Version::new(1, 0, 0));
        s.calls = 5;
        assert_eq!(c.evaluate(&s), HealthVerdict::too_few(5));
        s.calls = 100;
        s.errors = 5;
        s.latency = LatencyHistogram::new();
        s.latency.record_n(10_000, 100);
        assert_eq!(c.evaluate(&s), HealthVerdict::Healthy);
        s.errors = 20;
        assert!(
            matches!(c.evaluate(&s), HealthVerdict::Unhealthy { reason } if reason.starts_with("error rate 0.2000"))
        );
        s.errors = 0;
        s.latency.record_n(80_000, 5);
        assert!(
            matches!(c.evaluate(&s), HealthVerdict::Unhealthy { reason } if reason.contains("p99"))
        );
    }
}

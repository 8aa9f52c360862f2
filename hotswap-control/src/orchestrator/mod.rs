//! The orchestrator: deployments as a persisted state machine. Every
//! evaluation takes the deployment's lease, observes the target nodes,
//! asks the strategy for a decision, applies its actions through
//! [`NodeControl`], and stores the new state together with the decision's
//! events in one compare-and-set. A restarted control plane (a new
//! orchestrator on the same repository) resumes where the log ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Future, StreamExt};
use semver::Version;
use serde_json::json;
use tracing::Instrument;

mod announce;
mod gates;

use super::analysis;
use super::distribution::load_with_retries;
use crate::hooks::WebhookSender;
use crate::locks::{Held, KeyedLocks};
use crate::strategy::{self, Action, Decision, NodeObservation, Observations};
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    ConfigKey, DeploymentEvent, DeploymentId, DeploymentPhase, EdgeNode, EventKind, HookPoint,
    LoadedVersion, ModuleConfig, ModuleDeployment, NodeId, NodeProgress, NodeStatus,
    OperatorRequest, ReasonCode, StaleNodePolicy, VersionStats, WasmModule,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::node::NodeControl;
use hotswap_core::notify::{NotificationEvent, Notifier};
use hotswap_core::observe::{NoTraceLink, TraceLink};
use hotswap_core::repository::memory::MemoryConfigRepository;
use hotswap_core::repository::{
    ConfigRepository, DeploymentFilter, DeploymentRepository, DeploymentRepositoryExt,
    ModuleRepository, NodeFilter, NodeRepository, NodeRepositoryExt,
};
use hotswap_core::retry::RetryPolicy;
use hotswap_core::secrets;

/// How an orchestrator identifies itself and how patient it is.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OrchestratorConfig {
    /// This replica's id, the owner of the leases it takes.
    pub replica: String,
    /// How long a lease lasts without renewal; another replica takes over
    /// a deployment after this when this one stops.
    pub lease_ttl: Duration,
    /// How loads are retried.
    pub retry: RetryPolicy,
    /// Nodes reporting at least this many calls in flight have no room
    /// for another version and are left out of rollouts (`None`: no cap).
    pub max_in_flight: Option<u64>,
    /// Makes each evaluation's span a child of its deployment's.
    pub trace: Arc<dyn TraceLink>,
    /// Requests to nodes in flight at once for one action (a load, a
    /// routing table) of a rollout.
    pub fanout: usize,
    /// How long an operator's request waits for another replica's
    /// evaluation of the same deployment to end before it is refused
    /// (`Conflict`). An evaluation takes one tick's work; a replica that
    /// died holding the lease holds it for `lease_ttl`.
    pub operator_wait: Duration,
}

/// Requests to nodes a rollout's action keeps in flight at once by default:
/// over 5,000 loopback nodes, 64 routes a step as fast as no bound at all
/// and needs a third of the memory (docs/PERFORMANCE.md).
pub const DEFAULT_FANOUT: usize = 64;

impl OrchestratorConfig {
    /// A replica named `replica` with a 30 s lease and default retries.
    pub fn new(replica: impl Into<String>) -> Self {
        Self {
            replica: replica.into(),
            lease_ttl: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_in_flight: None,
            trace: Arc::new(NoTraceLink),
            fanout: DEFAULT_FANOUT,
            operator_wait: Duration::from_secs(10),
        }
    }
}

impl OrchestratorConfig {
    /// Set how loads are retried.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Leave out nodes with `max` or more calls in flight.
    #[must_use]
    pub fn with_max_in_flight(mut self, max: u64) -> Self {
        self.max_in_flight = Some(max);
        self
    }

    /// Link evaluation spans to their deployments through `trace`.
    #[must_use]
    pub fn with_trace_link(mut self, trace: Arc<dyn TraceLink>) -> Self {
        self.trace = trace;
        self
    }

    /// Keep at most `fanout` requests to nodes in flight per action.
    #[must_use]
    pub fn with_fanout(mut self, fanout: usize) -> Self {
        self.fanout = fanout;
        self
    }

    /// Set the lease's time to live.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Set how long an operator's request waits for another replica's
    /// evaluation.
    #[must_use]
    pub fn with_operator_wait(mut self, wait: Duration) -> Self {
        self.operator_wait = wait;
        self
    }
}

/// What an operator asks of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Stop at the current step.
    Pause,
    /// Go on from a pause, evaluating the current step afresh.
    Resume,
    /// Take the next step now, or (`full`) finish now.
    Promote {
        /// Finish instead of one step.
        full: bool,
    },
    /// End an A/B test with the named variant.
    PromoteVariant(String),
    /// Return to the old version and stop.
    Rollback,
    /// Stop; routing returns to the old version.
    Abort,
}

/// Drives deployments over the repositories and the nodes.
#[derive(Debug, Clone)]
pub struct Orchestrator {
    deployments: Arc<dyn DeploymentRepository>,
    nodes: Arc<dyn NodeRepository>,
    modules: Arc<dyn ModuleRepository>,
    configs: Arc<dyn ConfigRepository>,
    control: Arc<dyn NodeControl>,
    clock: Arc<dyn Clock>,
    config: OrchestratorConfig,
    /// One lock per deployment, so two tasks of this replica (a request and
    /// the control loop) never act on one deployment at once; the lease
    /// does the same between replicas.
    local: Arc<KeyedLocks<DeploymentId>>,
    /// Reads the values of deployments' analysis checks.
    analysis: Option<Arc<dyn AnalysisProvider>>,
    /// Calls deployments' webhooks, signed.
    hooks: Option<Arc<WebhookSender>>,
    /// Tells people what rollouts do.
    notifier: Option<Arc<dyn Notifier>>,
}

/// The target nodes of a deployment with what they report.
struct Fleet {
    nodes: Vec<EdgeNode>,
    observations: Observations,
}

impl Fleet {
    /// The target nodes among `ids`, in the order of `ids`.
    fn members(&self, ids: &[NodeId]) -> Vec<&EdgeNode> {
        let by_id: HashMap<NodeId, &EdgeNode> = self.nodes.iter().map(|n| (n.id, n)).collect();
        ids.iter().filter_map(|id| by_id.get(id).copied()).collect()
    }
}

impl Orchestrator {
    /// An orchestrator over these repositories and nodes.
    pub fn new(
        deployments: Arc<dyn DeploymentRepository>,
        nodes: Arc<dyn NodeRepository>,
        modules: Arc<dyn ModuleRepository>,
        control: Arc<dyn NodeControl>,
        clock: Arc<dyn Clock>,
        config: OrchestratorConfig,
    ) -> Self {
        Self {
            deployments,
            nodes,
            modules,
            configs: Arc::new(MemoryConfigRepository::new()),
            control,
            clock,
            config,
            local: Arc::default(),
            analysis: None,
            hooks: None,
            notifier: None,
        }
    }

    /// Call deployments' webhooks through `sender`; without one, a
    /// deployment with hooks is refused.
    #[must_use]
    pub fn with_webhooks(mut self, sender: Arc<WebhookSender>) -> Self {
        self.hooks = Some(sender);
        self
    }

    /// Tell `notifier` what rollouts do.
    #[must_use]
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Run deployments' analysis checks through `provider` (without one,
    /// every check is inconclusive).
    #[must_use]
    pub fn with_analysis(mut self, provider: Arc<dyn AnalysisProvider>) -> Self {
        self.analysis = Some(provider);
        self
    }

    /// Take the modules' configuration revisions from `configs` (by
    /// default an empty in-memory repository).
    #[must_use]
    pub fn with_configs(mut self, configs: Arc<dyn ConfigRepository>) -> Self {
        self.configs = configs;
        self
    }

    /// The configuration revision `version` runs with in `d`.
    async fn config_for(&self, d: &ModuleDeployment, version: &Version) -> Result<ModuleConfig> {
        match d.config_of(version) {
            0 => Ok(ModuleConfig::none(d.module.clone())),
            revision => self.configs.get(&d.module, revision).await,
        }
    }

    /// A secret of the revision `module` (the new version) runs with that
    /// it declared, if any: only nodes with the secrets key can run it.
    async fn secret_read(
        &self,
        d: &ModuleDeployment,
        module: &WasmModule,
    ) -> Result<Option<ConfigKey>> {
        if module.config_keys.is_empty() {
            return Ok(None);
        }
        let config = self.config_for(d, &module.version).await?;
        Ok(module
            .config_keys
            .iter()
            .find(|k| config.secrets.contains_key(*k))
            .cloned())
    }

    /// Bind `d` to configuration: `to_version` runs with the revision it
    /// names (0: the latest at creation), which must set every key the
    /// version declares; `from_version` keeps the revision the module's
    /// last finished deployment left it with.
    async fn bind_config(
        &self,
        d: &mut ModuleDeployment,
        earlier: &[ModuleDeployment],
    ) -> Result<()> {
        if d.config_revision == 0 {
            d.config_revision = self
                .configs
                .latest(&d.module)
                .await?
                .map_or(0, |c| c.revision);
        }
        let config = self.config_for(d, &d.to_version.clone()).await?;
        let module = self.module(d, &d.to_version).await?;
        if let Some(key) = secrets::first_missing(&config, &module.config_keys) {
            return Err(Error::invalid(
                "config_revision",
                format!(
                    "{} reads the configuration key {key} (config_keys), and revision {} of {} does not set it",
                    module.reference(),
                    config.revision,
                    d.module
                ),
            ));
        }
        d.from_config_revision = earlier
            .iter()
            .rev()
            .find(|e| e.phase.is_terminal())
            .and_then(|last| {
                let (version, revision) = if last.phase == DeploymentPhase::Succeeded {
                    (&last.to_version, last.config_revision)
                } else {
                    (last.from_version.as_ref()?, last.from_config_revision)
                };
                (d.from_version.as_ref() == Some(version)).then_some(revision)
            })
            .unwrap_or(0);
        Ok(())
    }

    /// Store a new pending deployment after checking that its versions
    /// are registered and that no other deployment of the module is still
    /// running.
    ///
    /// The repository holds both across replicas: of two creations at
    /// once, the second to be stored is refused with a `Conflict` naming
    /// the first, and a version deleted meanwhile is `NotFound`. These
    /// checks answer first, before the configuration and the targets.
    pub async fn create(&self, mut deployment: ModuleDeployment) -> Result<ModuleDeployment> {
        deployment.validate()?;
        if !deployment.hooks.is_empty() && self.hooks.is_none() {
            return Err(Error::invalid(
                "hooks",
                "this control plane signs webhooks with a secret it was not given (--webhook-secret-file)",
            ));
        }
        for v in strategy::for_config(&deployment.strategy).versions(&deployment) {
            self.module(&deployment, &v).await?;
        }
        let running = self
            .deployments
            .all_deployments(&DeploymentFilter::module(deployment.module.clone()))
            .await?;
        if let Some(other) = running.iter().find(|d| !d.phase.is_terminal()) {
            return Err(other.still_open());
        }
        self.bind_config(&mut deployment, &running).await?;
        self.check_targets(&deployment).await?;
        let event = DeploymentEvent::new(
            EventKind::PhaseChanged,
            DeploymentPhase::Pending,
            format!(
                "{} created a {} deployment of {} to {}",
                deployment.created_by,
                deployment.strategy.name(),
                deployment.module,
                deployment.to_version
            ),
            deployment.created_at,
        );
        self.deployments.create(&deployment, &[event]).await
    }

    /// Start a pending deployment and take its first decision.
    pub async fn execute(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        let lease = self.lease(id).await?;
        let result = self.execute_leased(id).await;
        self.release(lease).await;
        result
    }

    async fn execute_leased(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        let mut d = self.deployments.get(id).await?;
        if d.phase != DeploymentPhase::Pending {
            return Err(Error::conflict(
                format!("deployment {id}"),
                format!("only a pending deployment starts, and it is {:?}", d.phase),
            ));
        }
        let now = self.clock.now();
        let started = d.transition(
            DeploymentPhase::Progressing,
            ReasonCode::Started,
            "started",
            now,
        )?;
        d.progress.next_check = Some(now);
        let d = self.store(&d, vec![started]).await?;
        self.tell(&d, NotificationEvent::DeploymentStarted, "started");
        let fleet = self.fleet(&d).await?;
        let (events, refused) = self
            .gate(&d, HookPoint::PreRollout, gates::step_of(&d, None), &fleet)
            .await;
        match refused {
            Some(refusal) => self.hold(d, HookPoint::PreRollout, refusal, events).await,
            None => self.step(d, None, events).await,
        }
    }

    /// Evaluate `id` if it is progressing and due; returns its state.
    pub async fn tick(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        let lease = self.lease(id).await?;
        let result = self.tick_leased(id).await;
        self.release(lease).await;
        result
    }

    async fn tick_leased(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        let d = self.deployments.get(id).await?;
        let now = self.clock.now();
        if let Some(point) = gates::held_due(&d, now) {
            return self.recheck(d, point).await;
        }
        let due = d.progress.next_check.is_some_and(|at| at <= now);
        if d.phase != DeploymentPhase::Progressing || !due {
            return Ok(d);
        }
        self.step(d, None, Vec::new()).await
    }

    /// Evaluate every progressing deployment that is due, and ask the
    /// hooks holding paused ones again when they are due; returns how many
    /// were evaluated. Deployments another replica holds are skipped.
    pub async fn run_due(&self) -> Result<usize> {
        let mut due = self
            .deployments
            .all_deployments(&DeploymentFilter::phase(DeploymentPhase::Progressing))
            .await?;
        let paused = self
            .deployments
            .all_deployments(&DeploymentFilter::phase(DeploymentPhase::Paused))
            .await?;
        due.extend(paused.into_iter().filter(|d| d.progress.held_at.is_some()));
        let now = self.clock.now();
        let mut evaluated = 0;
        for d in due {
            if d.progress.next_check.is_none_or(|at| at > now) {
                continue;
            }
            match self.tick(d.id).await {
                Ok(_) => evaluated += 1,
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(evaluated)
    }

    /// Apply an operator's `operation` by `by`; returns the new state.
    /// Any replica may take it; while another replica evaluates the
    /// deployment, it waits for the lease up to
    /// [`operator_wait`](OrchestratorConfig::operator_wait), then is refused
    /// (`Conflict` naming the holder).
    pub async fn operate(
        &self,
        id: DeploymentId,
        operation: Operation,
        by: &str,
    ) -> Result<ModuleDeployment> {
        let waited = std::time::Instant::now();
        let mut pause = Duration::from_millis(10);
        let lease = loop {
            match self.lease(id).await {
                Err(Error::Conflict { .. }) if waited.elapsed() < self.config.operator_wait => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                other => break other?,
            }
        };
        let result = self.operate_leased(id, operation, by).await;
        self.release(lease).await;
        result
    }

    async fn operate_leased(
        &self,
        id: DeploymentId,
        operation: Operation,
        by: &str,
    ) -> Result<ModuleDeployment> {
        let mut d = self.deployments.get(id).await?;
        let now = self.clock.now();
        let refuse = |what: &str, d: &ModuleDeployment| {
            Error::conflict(
                format!("deployment {}", d.id),
                format!("cannot {what} a deployment that is {:?}", d.phase),
            )
        };
        match operation {
            Operation::Pause => {
                let e = d.transition(
                    DeploymentPhase::Paused,
                    ReasonCode::ManualPause,
                    format!("paused by {by}"),
                    now,
                )?;
                d.progress.held_at = None;
                self.store(&d, vec![e]).await
            }
            Operation::Resume => {
                if d.phase != DeploymentPhase::Paused {
                    return Err(refuse("resume", &d));
                }
                let fleet = self.fleet(&d).await?;
                let e = d.transition(
                    DeploymentPhase::Progressing,
                    ReasonCode::ManualResume,
                    format!("resumed by {by}"),
                    now,
                )?;
                strategy::restart_step(&mut d.progress, &fleet.observations, now);
                d.progress.next_check = Some(now);
                d.progress.held_at = None;
                let d = self.store(&d, vec![e]).await?;
                self.step(d, None, Vec::new()).await
            }
            Operation::Promote { .. } | Operation::PromoteVariant(_) => {
                if d.phase.is_terminal() || d.phase == DeploymentPhase::Pending {
                    return Err(refuse("promote", &d));
                }
                let (request, what) = match operation {
                    Operation::PromoteVariant(name) => {
                        let what = format!("variant {name}");
                        (OperatorRequest::PromoteVariant { name }, what)
                    }
                    Operation::Promote { full } => (
                        OperatorRequest::Promote { full },
                        if full {
                            "to the end".to_owned()
                        } else {
                            "one step".to_owned()
                        },
                    ),
                    _ => unreachable!("matched above"),
                };
                let mut events = Vec::new();
                if d.phase == DeploymentPhase::Paused {
                    events.push(d.transition(
                        DeploymentPhase::Progressing,
                        ReasonCode::ManualPromote,
                        format!("promoted {what} by {by}"),
                        now,
                    )?);
                } else {
                    events.push(DeploymentEvent::new(
                        EventKind::Note,
                        d.phase,
                        format!("promotion {what} requested by {by}"),
                        now,
                    ));
                }
                d.progress.request = Some(request);
                d.progress.next_check = Some(now);
                d.progress.held_at = None;
                let d = self.store(&d, events).await?;
                self.step(d, None, Vec::new()).await
            }
            Operation::Rollback | Operation::Abort => {
                if d.phase.is_terminal() {
                    return Err(refuse("roll back or abort", &d));
                }
                let fleet = self.fleet(&d).await?;
                let decision = if operation == Operation::Rollback {
                    strategy::rollback(
                        &d,
                        &fleet.observations,
                        now,
                        ReasonCode::ManualRollback,
                        format!("rolled back by {by}"),
                    )
                } else {
                    strategy::abort(&d, &fleet.observations, now, format!("aborted by {by}"))
                };
                self.apply(d, &fleet, decision, Vec::new()).await
            }
        }
    }

    /// Where each target node of `id` stands: its status and whether it
    /// has the old and the new version loaded.
    pub async fn node_progress(&self, id: DeploymentId) -> Result<Vec<NodeProgress>> {
        let d = self.deployments.get(id).await?;
        let fleet = self.fleet(&d).await?;
        Ok(fleet
            .nodes
            .iter()
            .map(|n| NodeProgress::of(n, &d))
            .collect())
    }

    /// The deployment and its whole event log.
    pub async fn status(
        &self,
        id: DeploymentId,
    ) -> Result<(ModuleDeployment, Vec<DeploymentEvent>)> {
        let d = self.deployments.get(id).await?;
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &DeploymentEvent| e.seq);
            let page = self.deployments.events(id, after, 1000).await?;
            let done = page.len() < 1000;
            events.extend(page);
            if done {
                return Ok((d, events));
            }
        }
    }

    /// Hold deployment `id` for one evaluation or operation: this
    /// replica's lock on it, then its lease. The lease is given up when
    /// the work is done ([`Self::release`]), so any replica may take the
    /// next one; a replica that dies holding it holds it until the lease
    /// lapses, `lease_ttl` after it was last renewed.
    async fn lease(&self, id: DeploymentId) -> Result<Held<'_, DeploymentId>> {
        let held = self.local.hold(id).await;
        self.renew(id).await?;
        Ok(held)
    }

    /// Take or renew the lease of `id` for another `lease_ttl`.
    async fn renew(&self, id: DeploymentId) -> Result<()> {
        self.deployments
            .acquire_lease(
                id,
                &self.config.replica,
                self.clock.now(),
                self.config.lease_ttl,
            )
            .await
            .map(drop)
    }

    /// Give up what [`Self::lease`] took. A release that fails is logged:
    /// the lease lapses by itself.
    async fn release(&self, held: Held<'_, DeploymentId>) {
        let id = *held.key();
        if let Err(e) = self
            .deployments
            .release_lease(id, &self.config.replica)
            .await
        {
            tracing::warn!(deployment = %id, error = %e, "lease not released; it lapses by itself");
        }
    }

    async fn module(&self, d: &ModuleDeployment, version: &Version) -> Result<WasmModule> {
        // A version that is not registered is `404 module version not
        // found`: the request is well formed, what it names is missing.
        self.modules.get_version(&d.module, version).await
    }

    /// Refuse a deployment whose selector matches nodes none of which can
    /// run the new version, naming what each one lacks. A selector that
    /// matches no node yet is taken: nodes may join later.
    async fn check_targets(&self, d: &ModuleDeployment) -> Result<()> {
        let module = self.module(d, &d.to_version).await?;
        let secret = self.secret_read(d, &module).await?;
        let matched: Vec<EdgeNode> = self
            .nodes
            .all_nodes(&NodeFilter::default())
            .await?
            .into_iter()
            .filter(|n| n.status != NodeStatus::Offline && d.target.matches(n))
            .collect();
        let mut lacking = Vec::new();
        for n in &matched {
            match can_run(n, &module, secret.as_ref()) {
                Ok(()) => return Ok(()),
                Err(why) => lacking.push(format!("{}: {why}", n.name)),
            }
        }
        if lacking.is_empty() {
            return Ok(());
        }
        lacking.truncate(5);
        Err(Error::invalid(
            "to_version",
            format!(
                "no target node can run {}: {}",
                module.reference(),
                lacking.join("; ")
            ),
        ))
    }

    /// The deployment's target nodes: matched by the selector, able to run
    /// the new version (runtime capabilities and memory), not offline.
    async fn fleet(&self, d: &ModuleDeployment) -> Result<Fleet> {
        let module = self.module(d, &d.to_version).await?;
        let secret = self.secret_read(d, &module).await?;
        let nodes = self.nodes.all_nodes(&NodeFilter::default()).await?;
        let nodes: Vec<EdgeNode> = nodes
            .into_iter()
            .filter(|n| {
                n.status != NodeStatus::Offline
                    && d.target.matches(n)
                    && can_run(n, &module, secret.as_ref()).is_ok()
                    && self
                        .config
                        .max_in_flight
                        .is_none_or(|max| n.metrics.in_flight < max)
            })
            .collect();
        let mut stats: BTreeMap<Version, VersionStats> = BTreeMap::new();
        let observed = nodes
            .iter()
            .map(|n| {
                for s in n.stats.iter().filter(|s| s.module == d.module) {
                    match stats.get_mut(&s.version) {
                        Some(merged) => {
                            let _ = merged.merge(s);
                        }
                        None => {
                            stats.insert(s.version.clone(), s.clone());
                        }
                    }
                }
                let mut o = NodeObservation::new(n.id, n.region.clone(), n.status);
                o.loaded = n
                    .loaded
                    .iter()
                    .filter(|l| {
                        l.module == d.module && l.config_revision == d.config_of(&l.version)
                    })
                    .map(|l| l.version.clone())
                    .collect();
                o
            })
            .collect();
        Ok(Fleet {
            nodes,
            observations: Observations::new(observed, stats.into_values().collect())
                .with_analysis(analysis::verdict(d)),
        })
    }

    /// One evaluation of a progressing deployment: its due analysis
    /// checks, then its strategy's decision, held back when a gate's hooks
    /// refuse it (`passed`: the gate whose hooks just allowed it). The
    /// events are stored after `earlier` ones.
    async fn step(
        &self,
        mut d: ModuleDeployment,
        passed: Option<HookPoint>,
        mut analysed: Vec<DeploymentEvent>,
    ) -> Result<ModuleDeployment> {
        let now = self.clock.now();
        analysed.extend(analysis::run_due(self.analysis.as_deref(), &mut d, now).await);
        let fleet = self.fleet(&d).await?;
        if d.stale_nodes == StaleNodePolicy::Pause {
            let stale: Vec<&str> = fleet
                .nodes
                .iter()
                .filter(|n| !n.status.accepts_traffic() && n.has_loaded(&d.module, &d.to_version))
                .map(|n| n.name.as_str())
                .collect();
            if !stale.is_empty() {
                let mut d = d;
                let why = format!(
                    "nodes running {} stopped heartbeating: {}",
                    d.to_version,
                    stale.join(", ")
                );
                let e =
                    d.transition(DeploymentPhase::Paused, ReasonCode::NodeUnhealthy, why, now)?;
                analysed.push(e);
                return self.store(&d, analysed).await;
            }
        }
        let decision = strategy::decide(&d, &fleet.observations, now)?;
        // Only a first deployment chains: later ones pace their steps by
        // their own clocks, and the load is a small part of a step.
        let mut loading = match d.from_version {
            None => decision.loads(),
            Some(_) => Vec::new(),
        };
        let mut d = self
            .apply_gated(d, &fleet, decision, analysed, passed)
            .await?;
        // A first deployment goes on at once when every load landed (the
        // nodes' records say so) instead of at the next check, so it routes
        // as soon as its version is loaded.
        for _ in 0..MAX_CHAINED_DECISIONS {
            if loading.is_empty() || d.phase != DeploymentPhase::Progressing {
                break;
            }
            let fleet = self.fleet(&d).await?;
            let landed = loading.iter().all(|(node, version)| {
                fleet
                    .observations
                    .nodes
                    .iter()
                    .any(|n| n.node == *node && n.has(version))
            });
            if !landed {
                break;
            }
            let decision = strategy::decide(&d, &fleet.observations, self.clock.now())?;
            loading = decision.loads();
            d = self
                .apply_gated(d, &fleet, decision, Vec::new(), None)
                .await?;
        }
        Ok(d)
    }

    /// [`Self::apply`] `decision`, unless it reaches a gate (not `passed`)
    /// whose hooks refuse it: then hold the deployment there.
    async fn apply_gated(
        &self,
        d: ModuleDeployment,
        fleet: &Fleet,
        decision: Decision,
        mut earlier: Vec<DeploymentEvent>,
        passed: Option<HookPoint>,
    ) -> Result<ModuleDeployment> {
        if let Some(point) = gates::gate_point(&d, &decision).filter(|p| Some(*p) != passed) {
            let step = gates::step_of(&d, Some(&decision));
            let (events, refused) = self.gate(&d, point, step, fleet).await;
            earlier.extend(events);
            if let Some(refusal) = refused {
                return self.hold(d, point, refusal, earlier).await;
            }
        }
        self.apply(d, fleet, decision, earlier).await
    }

    /// Store `d` with `events` (compare-and-set), tell the notifier what
    /// they mean, and call the hooks of an ending.
    pub(super) async fn store(
        &self,
        d: &ModuleDeployment,
        events: Vec<DeploymentEvent>,
    ) -> Result<ModuleDeployment> {
        let stored = self.deployments.update(d, &events).await?;
        self.announce(&stored, &events);
        if events
            .iter()
            .any(|e| e.kind == EventKind::PhaseChanged && e.phase.is_terminal())
        {
            self.after_end(&stored);
        }
        Ok(stored)
    }

    /// Carry out `decision` on the nodes and store it with its events
    /// after `earlier` ones (the analysis runs it was made after), inside
    /// a `deployment.step` span that is a child of the deployment's.
    async fn apply(
        &self,
        d: ModuleDeployment,
        fleet: &Fleet,
        decision: Decision,
        earlier: Vec<DeploymentEvent>,
    ) -> Result<ModuleDeployment> {
        let span = tracing::info_span!("deployment.step", deployment = %d.id, module = %d.module,
            to_version = %d.to_version, strategy = d.strategy.name(), step = decision.progress.step,
            stage = decision.progress.stage(), traffic_percent = decision.progress.traffic_percent,
            note = %decision.note, phase = tracing::field::Empty, outcome = tracing::field::Empty);
        if let Some(parent) = &d.trace_context {
            self.config.trace.set_parent(&span, parent);
        }
        let strategy = d.strategy.name();
        let result = self
            .apply_in(d, fleet, decision, earlier)
            .instrument(span.clone())
            .await;
        span.record("outcome", hotswap_core::observe::outcome(&result));
        if let Ok(d) = &result {
            span.record("phase", tracing::field::debug(d.phase));
            if d.phase.is_terminal() {
                metrics::counter!(hotswap_core::observe::DEPLOYMENTS_EXECUTED, "strategy" => strategy, "outcome" => d.phase.as_str())
                    .increment(1);
            }
        }
        result
    }

    async fn apply_in(
        &self,
        mut d: ModuleDeployment,
        fleet: &Fleet,
        decision: Decision,
        earlier: Vec<DeploymentEvent>,
    ) -> Result<ModuleDeployment> {
        let now = self.clock.now();
        let mut events = earlier;
        let replica = &self.config.replica;
        events.push(decision_event(&d, fleet, &decision, now, replica));
        let mut failed_loads = Vec::new();
        let mut loads = 0usize;
        for action in &decision.actions {
            // Each action may take a while over many nodes: keep the lease
            // for its length, or stop here if another replica took it.
            self.renew(d.id).await?;
            let (kind, message, data) = match action {
                Action::Load { nodes, version } => {
                    let module = self.module(&d, version).await?;
                    let config = self.config_for(&d, version).await?;
                    let targets = fleet.members(nodes);
                    let requests = targets.iter().map(|n| self.load(n, &module, &config));
                    let results = self.fan_out(requests.collect()).await;
                    let failed = node_failures(&targets, &results);
                    loads += targets.len();
                    if failed.is_empty() {
                        (
                            EventKind::VersionLoaded,
                            format!("{version} loaded on {} nodes", targets.len()),
                            json!({"version": version.to_string(), "nodes": targets.len()}),
                        )
                    } else {
                        let message = format!(
                            "{version} failed to load on {} of {} nodes: {}",
                            failed.len(),
                            targets.len(),
                            summarize(&failed)
                        );
                        let data = json!({"version": version.to_string(), "failures": failed});
                        failed_loads.extend(failed);
                        (EventKind::LoadFailed, message, data)
                    }
                }
                Action::Route { nodes, table } => {
                    let targets = fleet.members(nodes);
                    let routes = targets.iter().map(|n| self.control.apply_routing(n, table));
                    let results = self.fan_out(routes.collect()).await;
                    let failed = node_failures(&targets, &results);
                    (
                        EventKind::RoutingApplied,
                        format!(
                            "routing revision {} applied on {} of {} nodes",
                            table.revision,
                            targets.len() - failed.len(),
                            targets.len()
                        ),
                        json!({"table": table, "failures": failed}),
                    )
                }
                Action::Unload { nodes, version } => {
                    let targets = fleet.members(nodes);
                    let unloads = targets
                        .iter()
                        .map(|n| self.control.unload(n, &d.module, version));
                    let results = self.fan_out(unloads.collect()).await;
                    let failed = results.iter().filter(|r| r.is_err()).count();
                    (
                        EventKind::Note,
                        format!(
                            "{version} unloaded from {} of {} nodes",
                            targets.len() - failed,
                            targets.len()
                        ),
                        json!({"version": version.to_string()}),
                    )
                }
            };
            events.push(DeploymentEvent::new(kind, d.phase, message, now).with_data(data));
        }
        let window = analysis::window_start(&d.progress);
        d.progress = decision.progress;
        d.progress.next_check = decision.next_check;
        if analysis::window_start(&d.progress) != window {
            // A new step: its checks start afresh.
            d.progress.analysis.clear();
        }
        d.updated_at = now.max(d.updated_at);
        if loads > 0 && failed_loads.len() == loads && decision.transition.is_none() {
            let e = d.transition(
                DeploymentPhase::Failed,
                ReasonCode::DistributionFailed,
                format!(
                    "the new version could not be loaded on any target node: {}",
                    summarize(&failed_loads)
                ),
                now,
            )?;
            events.push(e);
        } else if let Some((phase, code, why)) = decision.transition {
            events.push(d.transition(phase, code, why, now)?);
        }
        if d.phase.is_terminal() {
            d.progress.next_check = None;
        } else if d.phase == DeploymentPhase::Progressing
            && let Some(due) = analysis::next_due(&d)
        {
            // Evaluate again when the next check is due, too.
            d.progress.next_check = Some(d.progress.next_check.map_or(due, |at| at.min(due)));
        }
        self.store(&d, events).await
    }

    /// Run `requests` (one per node), at most `fanout` at once; their
    /// results in order.
    async fn fan_out<T>(&self, requests: Vec<impl Future<Output = Result<T>>>) -> Vec<Result<T>> {
        futures::stream::iter(requests)
            .buffered(self.config.fanout.max(1))
            .collect()
            .await
    }

    /// Load `module` on `node` and record what the node verified, so the
    /// next observation sees it without waiting for a heartbeat.
    async fn load(
        &self,
        node: &EdgeNode,
        module: &WasmModule,
        config: &ModuleConfig,
    ) -> Result<LoadedVersion> {
        let retry = self.config.retry;
        let loaded =
            load_with_retries(&*self.control, &self.clock, retry, node, module, config).await?;
        for _ in 0..8 {
            let mut current = self.nodes.get(node.id).await?;
            if current.loaded.contains(&loaded) {
                break;
            }
            current
                .loaded
                .retain(|l| l.module != loaded.module || l.version != loaded.version);
            current.loaded.push(loaded.clone());
            match self.nodes.update(&current).await {
                Ok(_) => break,
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(loaded)
    }
}

/// Decisions taken one after another in one evaluation while each only
/// waited for loads that landed.
const MAX_CHAINED_DECISIONS: usize = 3;

/// What `fleet` shows, as a decision's event and a hook's payload record
/// it: the nodes, those serving, each version's statistics.
fn observed(fleet: &Fleet) -> serde_json::Value {
    let serving = fleet
        .observations
        .nodes
        .iter()
        .filter(|n| n.status.accepts_traffic())
        .count();
    let stats: Vec<_> = fleet
        .observations
        .stats
        .iter()
        .map(|s| json!({"version": s.version.to_string(), "calls": s.calls, "errors": s.errors, "p99_us": s.latency.quantile_us(0.99)}))
        .collect();
    json!({"nodes": fleet.observations.nodes.len(), "serving": serving, "stats": stats})
}

/// The event recording a decision: its note, the observations it was
/// made from, and the replica that made it.
fn decision_event(
    d: &ModuleDeployment,
    fleet: &Fleet,
    decision: &Decision,
    now: DateTime<Utc>,
    replica: &str,
) -> DeploymentEvent {
    let kind = if decision.progress.step != d.progress.step
        || decision.progress.stage() != d.progress.stage()
    {
        EventKind::StepStarted
    } else if decision.progress.traffic_percent != d.progress.traffic_percent {
        EventKind::TrafficShifted
    } else {
        EventKind::HealthEvaluated
    };
    let mut data = observed(fleet);
    data["step"] = json!(decision.progress.step);
    data["stage"] = json!(decision.progress.stage());
    data["traffic_percent"] = json!(decision.progress.traffic_percent);
    data["next_check"] = json!(decision.next_check);
    data["replica"] = json!(replica);
    DeploymentEvent::new(kind, d.phase, decision.note.clone(), now).with_data(data)
}

/// Why one node refused an action, as recorded in the event log.
#[derive(Debug, serde::Serialize)]
struct NodeFailure {
    node: String,
    node_id: NodeId,
    reason: String,
}

/// The nodes of `targets` whose result failed, with each one's reason.
fn node_failures<T>(targets: &[&EdgeNode], results: &[Result<T>]) -> Vec<NodeFailure> {
    targets
        .iter()
        .zip(results)
        .filter_map(|(n, r)| {
            r.as_ref().err().map(|e| NodeFailure {
                node: n.name.clone(),
                node_id: n.id,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// `node: reason` for the first few failures, and how many more there are.
fn summarize(failures: &[NodeFailure]) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<String> = failures
        .iter()
        .take(SHOWN)
        .map(|f| format!("{}: {}", f.node, f.reason))
        .collect();
    if failures.len() > SHOWN {
        out.push(format!("and {} more", failures.len() - SHOWN));
    }
    out.join("; ")
}

/// Whether `node` can run `module`: its capabilities (runtime, WASI,
/// features, key-value store, the secrets key when `secret` names a secret
/// the version reads) and memory; the error names what is missing.
fn can_run(node: &EdgeNode, module: &WasmModule, secret: Option<&ConfigKey>) -> Result<()> {
    node.capabilities.runs(module)?;
    if let Some(key) = secret
        && !node.capabilities.secrets
    {
        return Err(Error::invalid(
            "capabilities.secrets",
            format!(
                "the node has no secrets key (--secrets-key-file), and {} reads the secret {key}",
                module.reference()
            ),
        ));
    }
    if node.capabilities.memory_bytes < module.limits.max_memory_bytes {
        return Err(Error::invalid(
            "capabilities.memory_bytes",
            format!(
                "the node offers {} bytes, and {} needs {}",
                node.capabilities.memory_bytes,
                module.reference(),
                module.limits.max_memory_bytes
            ),
        ));
    }
    Ok(())
}

//! A whole control plane assembled from its backends: the registrar, the
//! node service, the orchestrator, the execution router, the interface
//! service and the control loop, wired once, plus the operations an API
//! needs that span several of them (deleting a version only when nothing
//! uses it, the version a module serves now).

use std::sync::Arc;
use std::time::Duration;

use semver::Version;

use super::{
    AlertHook, ControlLoop, ControlLoopConfig, ExecutionRouter, ModuleRegistrar, NodeControl,
    NodeHealthConfig, NodeService, Orchestrator, OrchestratorConfig, Reconciler, RetryPolicy,
};
use crate::clock::Clock;
use crate::domain::{
    DeploymentPhase, ModuleDeployment, ModuleId, ModuleName, StrategyConfig, WasmModule,
};
use crate::error::{Error, Result};
use crate::inspect::InspectOptions;
use crate::interface::{InterfaceRegistry, InterfaceService};
use crate::observe::{NoTraceLink, TraceLink};
use crate::repository::{
    DeploymentFilter, DeploymentRepository, ModuleRepository, NodeRepository, all_items,
};
use crate::storage::ModuleStorage;
use tracing::Instrument;

/// What a control plane stores in and talks to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Backends {
    /// Module versions.
    pub modules: Arc<dyn ModuleRepository>,
    /// Edge nodes.
    pub nodes: Arc<dyn NodeRepository>,
    /// Deployments and their events.
    pub deployments: Arc<dyn DeploymentRepository>,
    /// WIT interfaces.
    pub interfaces: Arc<dyn InterfaceRegistry>,
    /// Module blobs.
    pub storage: Arc<dyn ModuleStorage>,
    /// How nodes are reached.
    pub control: Arc<dyn NodeControl>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Backends {
    /// Gather the backends.
    pub fn new(
        modules: Arc<dyn ModuleRepository>,
        nodes: Arc<dyn NodeRepository>,
        deployments: Arc<dyn DeploymentRepository>,
        interfaces: Arc<dyn InterfaceRegistry>,
        storage: Arc<dyn ModuleStorage>,
        control: Arc<dyn NodeControl>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            modules,
            nodes,
            deployments,
            interfaces,
            storage,
            control,
            clock,
        }
    }
}

/// How a control plane behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ControlPlaneConfig {
    /// This replica's name (the owner of deployment leases).
    pub replica: String,
    /// Heartbeat interval and silence thresholds.
    pub node_health: NodeHealthConfig,
    /// Tick and reconciliation intervals.
    pub control_loop: ControlLoopConfig,
    /// How loads on nodes are retried.
    pub retry: RetryPolicy,
    /// How long a deployment lease lasts.
    pub lease_ttl: Duration,
    /// Largest module binary accepted.
    pub max_module_bytes: usize,
    /// Told about node status changes.
    pub alerts: Vec<Arc<dyn AlertHook>>,
    /// Carries deployments' trace contexts to their evaluations.
    pub trace: Arc<dyn TraceLink>,
}

impl ControlPlaneConfig {
    /// Defaults for a replica named `replica`.
    pub fn new(replica: impl Into<String>) -> Self {
        Self {
            replica: replica.into(),
            node_health: NodeHealthConfig::default(),
            control_loop: ControlLoopConfig::default(),
            retry: RetryPolicy::default(),
            lease_ttl: Duration::from_secs(30),
            max_module_bytes: InspectOptions::default().max_bytes,
            alerts: Vec::new(),
            trace: Arc::new(NoTraceLink),
        }
    }

    /// Trace deployments' evaluations as children of their creation.
    #[must_use]
    pub fn with_trace_link(mut self, trace: Arc<dyn TraceLink>) -> Self {
        self.trace = trace;
        self
    }

    /// Use these node health thresholds.
    #[must_use]
    pub fn with_node_health(mut self, health: NodeHealthConfig) -> Self {
        self.node_health = health;
        self
    }

    /// Use these loop intervals.
    #[must_use]
    pub fn with_control_loop(mut self, control_loop: ControlLoopConfig) -> Self {
        self.control_loop = control_loop;
        self
    }

    /// Retry loads under `retry`.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Accept binaries of at most `bytes`.
    #[must_use]
    pub fn with_max_module_bytes(mut self, bytes: usize) -> Self {
        self.max_module_bytes = bytes;
        self
    }

    /// Tell `hook` about node status changes.
    #[must_use]
    pub fn with_alerts(mut self, hook: Arc<dyn AlertHook>) -> Self {
        self.alerts.push(hook);
        self
    }
}

/// A control plane: every service over one set of backends.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ControlPlane {
    /// The backends.
    pub backends: Backends,
    /// Registers module versions (with interface checks).
    pub registrar: ModuleRegistrar,
    /// Registers nodes and takes their heartbeats.
    pub nodes: NodeService,
    /// Drives deployments.
    pub orchestrator: Orchestrator,
    /// Routes executions to nodes.
    pub router: ExecutionRouter,
    /// Registers and checks interfaces.
    pub interfaces: InterfaceService,
    /// The background loop.
    pub control_loop: ControlLoop,
    trace: Arc<dyn TraceLink>,
}

impl ControlPlane {
    /// Wire every service over `backends` under `config`.
    pub fn new(backends: Backends, config: ControlPlaneConfig) -> Self {
        let b = &backends;
        let interfaces = InterfaceService::new(b.interfaces.clone());
        let registrar = ModuleRegistrar::new(b.storage.clone(), b.modules.clone(), b.clock.clone())
            .with_interfaces(interfaces.clone())
            .with_inspect_options(InspectOptions {
                max_bytes: config.max_module_bytes,
            });
        let mut nodes = NodeService::new(b.nodes.clone(), b.clock.clone())
            .with_config(config.node_health)
            .with_modules(b.modules.clone());
        for hook in &config.alerts {
            nodes = nodes.with_alerts(hook.clone());
        }
        let orchestrator = Orchestrator::new(
            b.deployments.clone(),
            b.nodes.clone(),
            b.modules.clone(),
            b.control.clone(),
            b.clock.clone(),
            OrchestratorConfig::new(config.replica.clone())
                .with_retry(config.retry)
                .with_lease_ttl(config.lease_ttl)
                .with_trace_link(config.trace.clone()),
        );
        let router = ExecutionRouter::new(b.nodes.clone(), b.control.clone());
        let reconciler = Reconciler::new(
            b.deployments.clone(),
            b.modules.clone(),
            b.control.clone(),
            b.clock.clone(),
        )
        .with_retry(config.retry);
        let control_loop = ControlLoop::new(
            orchestrator.clone(),
            nodes.clone(),
            b.deployments.clone(),
            reconciler,
            b.clock.clone(),
            config.control_loop,
        );
        Self {
            registrar,
            nodes,
            orchestrator,
            router,
            interfaces,
            control_loop,
            backends,
            trace: config.trace,
        }
    }

    /// Store a new pending deployment (see [`Orchestrator::create`]) after
    /// checking that each health evaluation lasts at least two heartbeat
    /// intervals: a shorter one would be judged before the nodes reported
    /// the calls it served.
    pub async fn create_deployment(&self, mut d: ModuleDeployment) -> Result<ModuleDeployment> {
        let span = tracing::info_span!("deployment", deployment = %d.id, module = %d.module,
            to_version = %d.to_version, strategy = d.strategy.name(), environment = ?d.environment,
            outcome = tracing::field::Empty);
        d.trace_context = span.in_scope(|| self.trace.current());
        let result = self.check_and_create(d).instrument(span.clone()).await;
        span.record("outcome", crate::observe::outcome(&result));
        result
    }

    async fn check_and_create(&self, d: ModuleDeployment) -> Result<ModuleDeployment> {
        let beat = self.nodes.config().heartbeat_interval.as_secs();
        let mut periods = Vec::new();
        evaluation_periods(&d.strategy, "strategy", &mut periods);
        if let Some((field, secs)) = periods.into_iter().find(|(_, secs)| *secs < 2 * beat) {
            return Err(Error::invalid(
                field,
                format!(
                    "{secs} s is shorter than two heartbeat intervals (2 x {beat} s): the nodes' statistics would not arrive in time to judge it"
                ),
            ));
        }
        self.orchestrator.create(d).await
    }

    async fn deployments_of(&self, module: &ModuleName) -> Result<Vec<ModuleDeployment>> {
        let filter = DeploymentFilter::module(module.clone());
        all_items(|page| {
            let repo = self.backends.deployments.clone();
            let filter = filter.clone();
            async move { repo.list(&filter, &page).await }
        })
        .await
    }

    /// The version `module` serves now: the outcome of its latest finished
    /// deployment (the new version after success, the old one after a
    /// rollback, abort or failure), or the old version of a running one.
    pub async fn serving_version(&self, module: &ModuleName) -> Result<Option<Version>> {
        // Lists are in creation order: the last one is the latest.
        let latest = self.deployments_of(module).await?.into_iter().next_back();
        Ok(latest.and_then(|d| match d.phase {
            DeploymentPhase::Succeeded => Some(d.to_version),
            DeploymentPhase::Pending => None,
            _ => d.from_version,
        }))
    }

    /// Delete module version `id` and, when no other version has the same
    /// bytes, its blob. Refused with `Conflict` while a deployment that is
    /// not finished names the version, or while the module serves it.
    pub async fn delete_module(&self, id: ModuleId) -> Result<WasmModule> {
        let module = self.backends.modules.get(id).await?;
        // No deployment of the module is created while this checks and
        // deletes (within this replica).
        let _held = self.orchestrator.hold_module(&module.name).await;
        let deployments = self.deployments_of(&module.name).await?;
        if let Some(d) = deployments.iter().find(|d| {
            !d.phase.is_terminal()
                && (d.to_version == module.version
                    || d.from_version.as_ref() == Some(&module.version))
        }) {
            return Err(Error::conflict(
                format!("module {}", module.reference()),
                format!("deployment {} ({:?}) uses this version", d.id, d.phase),
            ));
        }
        if self.serving_version(&module.name).await?.as_ref() == Some(&module.version) {
            return Err(Error::conflict(
                format!("module {}", module.reference()),
                "this is the version the module serves now; deploy another one first",
            ));
        }
        self.backends.modules.delete(id).await?;
        if self
            .backends
            .modules
            .count_by_digest(&module.digest)
            .await?
            == 0
        {
            // A blob left behind here is an orphan the sweep removes.
            if let Err(e) = self.backends.storage.delete(&module.digest).await {
                tracing::warn!(digest = %module.digest, error = %e, "blob of a deleted version not removed; the orphan sweep will");
            }
        }
        Ok(module)
    }
}

/// The health-evaluation periods of `strategy` with their fields (a
/// rolling batch of 0 s is not evaluated and is left out).
fn evaluation_periods(strategy: &StrategyConfig, at: &str, out: &mut Vec<(String, u64)>) {
    match strategy {
        StrategyConfig::Canary(c) => {
            out.push((
                format!("{at}.evaluation_period_secs"),
                c.evaluation_period_secs,
            ));
        }
        StrategyConfig::Rolling(r) if r.evaluation_period_secs > 0 => {
            out.push((
                format!("{at}.evaluation_period_secs"),
                r.evaluation_period_secs,
            ));
        }
        StrategyConfig::Regional(r) => evaluation_periods(&r.inner, &format!("{at}.inner"), out),
        StrategyConfig::AbTest(ab) => {
            if let Some(secs) = ab.duration_secs {
                out.push((format!("{at}.duration_secs"), secs));
            }
        }
        _ => {}
    }
}

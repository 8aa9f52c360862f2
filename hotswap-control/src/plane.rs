//! A whole control plane assembled from its backends: the registrar, the
//! node service, the orchestrator, the execution router, the interface
//! service and the control loop, wired once, plus the operations an API
//! needs that span several of them (deleting a version only when nothing
//! uses it, the version a module serves now).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use semver::Version;

use super::{
    AlertHook, ConfigService, ControlLoop, ControlLoopConfig, Executed, ExecutionRouter,
    HttpRouteService, ModuleRegistrar, NodeHealthConfig, NodeService, Orchestrator,
    OrchestratorConfig, Reconciler,
};
use crate::hooks::WebhookSender;
use crate::interface::InterfaceService;
use crate::notify::NodeAlerts;
use crate::strategy;
use hotswap_core::ResourceKind;
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    DeploymentId, DeploymentPolicy, Digest, EdgeNode, Environment, InterfaceId, ModuleDeployment,
    ModuleId, ModuleName, NodeId, StrategyConfig, Unset, WasmModule, serving_version,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::inspect::InspectOptions;
use hotswap_core::interface::{
    CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, WitInterface,
};
use hotswap_core::node::{Execution, NodeControl};
use hotswap_core::notify::Notifier;
use hotswap_core::observe::TraceLink;
use hotswap_core::repository::{
    ConfigRepository, DeploymentFilter, DeploymentRepository, DeploymentRepositoryExt,
    HttpRouteRepository, ModuleFilter, ModuleRepository, NodeFilter, NodeRepository, Page,
    PageRequest, PolicyRepository, memory::MemoryConfigRepository,
    memory::MemoryHttpRouteRepository, memory::MemoryPolicyRepository,
};
use hotswap_core::secrets::SecretsKey;
use hotswap_core::storage::ModuleStorage;
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
    /// HTTP routes (in memory unless set with
    /// [`with_http_routes`](Self::with_http_routes)).
    pub http_routes: Arc<dyn HttpRouteRepository>,
    /// Configuration revisions (in memory unless set with
    /// [`with_configs`](Self::with_configs)).
    pub configs: Arc<dyn ConfigRepository>,
    /// Deployment policies (in memory unless set with
    /// [`with_policies`](Self::with_policies)).
    pub policies: Arc<dyn PolicyRepository>,
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
            http_routes: Arc::new(MemoryHttpRouteRepository::new()),
            configs: Arc::new(MemoryConfigRepository::new()),
            policies: Arc::new(MemoryPolicyRepository::new()),
        }
    }

    /// Keep deployment policies in `policies`.
    #[must_use]
    pub fn with_policies(mut self, policies: Arc<dyn PolicyRepository>) -> Self {
        self.policies = policies;
        self
    }

    /// Keep configuration revisions in `configs`.
    #[must_use]
    pub fn with_configs(mut self, configs: Arc<dyn ConfigRepository>) -> Self {
        self.configs = configs;
        self
    }

    /// Keep HTTP routes in `routes`.
    #[must_use]
    pub fn with_http_routes(mut self, routes: Arc<dyn HttpRouteRepository>) -> Self {
        self.http_routes = routes;
        self
    }
}

/// How a control plane behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ControlPlaneConfig {
    /// The orchestrator's: this replica's name (the owner of deployment
    /// leases), the lease's time to live, how loads are retried (also by
    /// the reconciler), the in-flight cap of node selection, and the trace
    /// link of deployments.
    pub orchestrator: OrchestratorConfig,
    /// Heartbeat interval and silence thresholds.
    pub node_health: NodeHealthConfig,
    /// Tick and reconciliation intervals.
    pub control_loop: ControlLoopConfig,
    /// Largest module binary accepted.
    pub max_module_bytes: usize,
    /// Told about node status changes.
    pub alerts: Vec<Arc<dyn AlertHook>>,
    /// Seals configuration secrets; without one, secrets are refused.
    pub secrets_key: Option<Arc<SecretsKey>>,
    /// Reads deployments' analysis checks; without one, every check is
    /// inconclusive.
    pub analysis: Option<Arc<dyn AnalysisProvider>>,
    /// Calls deployments' webhooks; without one, hooks are refused.
    pub webhooks: Option<Arc<WebhookSender>>,
    /// Told about deployment and node events.
    pub notifier: Option<Arc<dyn Notifier>>,
}

impl ControlPlaneConfig {
    /// Defaults for a replica named `replica`.
    pub fn new(replica: impl Into<String>) -> Self {
        Self {
            orchestrator: OrchestratorConfig::new(replica),
            node_health: NodeHealthConfig::default(),
            control_loop: ControlLoopConfig::default(),
            max_module_bytes: InspectOptions::default().max_bytes,
            alerts: Vec::new(),
            secrets_key: None,
            analysis: None,
            webhooks: None,
            notifier: None,
        }
    }

    /// Call deployments' webhooks through `sender`.
    #[must_use]
    pub fn with_webhooks(mut self, sender: WebhookSender) -> Self {
        self.webhooks = Some(Arc::new(sender));
        self
    }

    /// Tell `notifier` about deployment events and nodes going unhealthy
    /// or offline.
    #[must_use]
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Run deployments' analysis checks through `provider`.
    #[must_use]
    pub fn with_analysis(mut self, provider: Arc<dyn AnalysisProvider>) -> Self {
        self.analysis = Some(provider);
        self
    }

    /// Seal configuration secrets with `key`.
    #[must_use]
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Self {
        self.secrets_key = Some(Arc::new(key));
        self
    }

    /// Use this orchestrator configuration (it names the replica).
    #[must_use]
    pub fn with_orchestrator(mut self, orchestrator: OrchestratorConfig) -> Self {
        self.orchestrator = orchestrator;
        self
    }

    /// Trace deployments' evaluations as children of their creation.
    #[must_use]
    pub fn with_trace_link(mut self, trace: Arc<dyn TraceLink>) -> Self {
        self.orchestrator = self.orchestrator.with_trace_link(trace);
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

/// A control plane: every service over one set of backends. Its fields
/// are private: an API reads through the queries below and acts through
/// the services, never on a repository.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    backends: Backends,
    registrar: ModuleRegistrar,
    nodes: NodeService,
    orchestrator: Orchestrator,
    router: ExecutionRouter,
    interfaces: InterfaceService,
    http_routes: HttpRouteService,
    configs: ConfigService,
    control_loop: ControlLoop,
    trace: Arc<dyn TraceLink>,
    /// Whether deployments may have webhooks (a secret signs them).
    webhooks: bool,
}

impl ControlPlane {
    /// Wire every service over `backends` under `config`.
    pub fn new(backends: Backends, config: ControlPlaneConfig) -> Self {
        let b = &backends;
        let interfaces = InterfaceService::new(b.interfaces.clone());
        let registrar = ModuleRegistrar::new(b.storage.clone(), b.modules.clone(), b.clock.clone())
            .with_interfaces(interfaces.clone())
            .with_nodes(b.nodes.clone())
            .with_inspect_options(InspectOptions::with_max_bytes(config.max_module_bytes));
        let mut nodes = NodeService::new(b.nodes.clone(), b.clock.clone())
            .with_config(config.node_health)
            .with_modules(b.modules.clone());
        for hook in &config.alerts {
            nodes = nodes.with_alerts(hook.clone());
        }
        if let Some(notifier) = &config.notifier {
            nodes = nodes.with_alerts(Arc::new(NodeAlerts(notifier.clone())));
        }
        let mut orchestrator = Orchestrator::new(
            b.deployments.clone(),
            b.nodes.clone(),
            b.modules.clone(),
            b.control.clone(),
            b.clock.clone(),
            config.orchestrator.clone(),
        )
        .with_configs(b.configs.clone());
        if let Some(provider) = &config.analysis {
            orchestrator = orchestrator.with_analysis(provider.clone());
        }
        if let Some(sender) = &config.webhooks {
            orchestrator = orchestrator.with_webhooks(sender.clone());
        }
        if let Some(notifier) = &config.notifier {
            orchestrator = orchestrator.with_notifier(notifier.clone());
        }
        let configs = ConfigService::new(
            b.configs.clone(),
            b.modules.clone(),
            b.clock.clone(),
            config.secrets_key.clone(),
        );
        let router = ExecutionRouter::new(b.nodes.clone(), b.control.clone());
        let http_routes = HttpRouteService::new(
            b.http_routes.clone(),
            b.modules.clone(),
            b.nodes.clone(),
            b.control.clone(),
            b.clock.clone(),
        );
        let reconciler = Reconciler::new(
            b.deployments.clone(),
            b.modules.clone(),
            b.control.clone(),
            b.clock.clone(),
        )
        .with_retry(config.orchestrator.retry)
        .with_http_routes(http_routes.clone())
        .with_configs(b.configs.clone());
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
            http_routes,
            configs,
            control_loop,
            backends,
            trace: config.orchestrator.trace,
            webhooks: config.webhooks.is_some(),
        }
    }

    /// Writes and reads modules' configuration revisions.
    pub fn configs(&self) -> &ConfigService {
        &self.configs
    }

    /// Registers module versions (with interface checks).
    pub fn registrar(&self) -> &ModuleRegistrar {
        &self.registrar
    }

    /// Registers nodes and takes their heartbeats.
    pub fn node_service(&self) -> &NodeService {
        &self.nodes
    }

    /// Drives deployments.
    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// Routes executions to nodes.
    pub fn router(&self) -> &ExecutionRouter {
        &self.router
    }

    /// Registers and checks interfaces.
    pub fn interfaces(&self) -> &InterfaceService {
        &self.interfaces
    }

    /// Keeps HTTP routes, pushes them to nodes, forwards requests.
    pub fn http_routes(&self) -> &HttpRouteService {
        &self.http_routes
    }

    /// The background loop.
    pub fn control_loop(&self) -> &ControlLoop {
        &self.control_loop
    }

    /// The control plane's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.backends.clock.now()
    }

    /// A module version.
    pub async fn module(&self, id: ModuleId) -> Result<WasmModule> {
        self.backends.modules.get(id).await
    }

    /// A page of module versions.
    pub async fn modules(
        &self,
        filter: &ModuleFilter,
        page: &PageRequest,
    ) -> Result<Page<WasmModule>> {
        self.backends.modules.list(filter, page).await
    }

    /// A node.
    pub async fn node(&self, id: NodeId) -> Result<EdgeNode> {
        self.backends.nodes.get(id).await
    }

    /// A page of nodes.
    pub async fn nodes(&self, filter: &NodeFilter, page: &PageRequest) -> Result<Page<EdgeNode>> {
        self.backends.nodes.list(filter, page).await
    }

    /// A deployment (without its events; see [`Orchestrator::status`]).
    pub async fn deployment(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        self.backends.deployments.get(id).await
    }

    /// A page of deployments.
    pub async fn deployments(
        &self,
        filter: &DeploymentFilter,
        page: &PageRequest,
    ) -> Result<Page<ModuleDeployment>> {
        self.backends.deployments.list(filter, page).await
    }

    /// A registered interface version.
    pub async fn interface(&self, id: InterfaceId) -> Result<WitInterface> {
        self.backends.interfaces.get(id).await
    }

    /// A page of registered interface versions.
    pub async fn list_interfaces(
        &self,
        filter: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Page<WitInterface>> {
        self.backends.interfaces.list(filter, page).await
    }

    /// The compatibility mode `package` is held to.
    pub async fn compatibility_mode(&self, package: &PackageName) -> Result<CompatibilityMode> {
        self.backends.interfaces.compatibility_mode(package).await
    }

    /// Run `execution` on a node (see [`ExecutionRouter::execute`]). When no
    /// node can serve it because no such module is registered, the answer
    /// is `NotFound` for the module rather than `Unavailable`.
    pub async fn execute(&self, execution: &Execution) -> Result<Executed> {
        match self.router.execute(execution).await {
            Err(e @ Error::Unavailable { .. }) => {
                let filter = ModuleFilter::name(execution.module.clone());
                let page = self.modules(&filter, &PageRequest::first(1)).await?;
                match page.items.is_empty() {
                    true => Err(Error::not_found(ResourceKind::Module, &execution.module)),
                    false => Err(e),
                }
            }
            other => other,
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
        span.record("outcome", hotswap_core::observe::outcome(&result));
        result
    }

    async fn check_and_create(&self, d: ModuleDeployment) -> Result<ModuleDeployment> {
        self.check_periods(&d.strategy)
            .map_err(|e| e.within("strategy"))?;
        self.orchestrator.create(d).await
    }

    /// Refuse a strategy whose health evaluations last less than two
    /// heartbeat intervals (the field named without `strategy.`).
    fn check_periods(&self, s: &StrategyConfig) -> Result<()> {
        let beat = self.nodes.config().heartbeat_interval.as_secs();
        let periods = strategy::for_config(s).evaluation_periods();
        if let Some((field, secs)) = periods.into_iter().find(|(_, secs)| *secs < 2 * beat) {
            return Err(Error::invalid(
                field,
                format!(
                    "{secs} s is shorter than two heartbeat intervals (2 x {beat} s): the nodes' statistics would not arrive in time to judge it"
                ),
            ));
        }
        Ok(())
    }

    /// Create `d` under its module's policy for its environment: what the
    /// request left unset (`unset`) the policy fills, and its hooks come
    /// before `d`'s (see [`Self::create_deployment`]).
    pub async fn create_deployment_under_policy(
        &self,
        mut d: ModuleDeployment,
        unset: Unset,
    ) -> Result<ModuleDeployment> {
        if let Some(policy) = self.backends.policies.get(&d.module, d.environment).await? {
            policy.apply(&mut d, &unset)?;
        }
        self.create_deployment(d).await
    }

    /// The policy of `module` in `environment`, if one is set.
    pub async fn policy(
        &self,
        module: &ModuleName,
        environment: Environment,
    ) -> Result<Option<DeploymentPolicy>> {
        self.backends.policies.get(module, environment).await
    }

    /// Every deployment policy, by module, then environment.
    pub async fn policies(&self) -> Result<Vec<DeploymentPolicy>> {
        self.backends.policies.list().await
    }

    /// Set a deployment policy (replacing its module's in its
    /// environment). Hooks are refused when this control plane cannot
    /// sign them, and each evaluation period must last two heartbeats.
    pub async fn set_policy(&self, policy: &DeploymentPolicy) -> Result<()> {
        policy.validate()?;
        if !policy.hooks.is_empty() && !self.webhooks {
            return Err(Error::invalid(
                "hooks",
                "this control plane signs webhooks with a secret it was not given (--webhook-secret-file)",
            ));
        }
        if let Some(s) = &policy.strategy {
            self.check_periods(s).map_err(|e| e.within("strategy"))?;
        }
        self.backends.policies.put(policy).await
    }

    /// Remove the policy of `module` in `environment`.
    pub async fn delete_policy(&self, module: &ModuleName, environment: Environment) -> Result<()> {
        self.backends.policies.delete(module, environment).await
    }

    /// Whether each backend answers: the module and node repositories and
    /// the blob storage, by name.
    pub async fn readiness(&self) -> Vec<(&'static str, Result<()>)> {
        let b = &self.backends;
        let (one, modules, nodes) = (
            PageRequest::first(1),
            ModuleFilter::default(),
            NodeFilter::default(),
        );
        let probe = Digest::of(b"readiness");
        let (modules, nodes, storage) = tokio::join!(
            b.modules.list(&modules, &one),
            b.nodes.list(&nodes, &one),
            b.storage.exists(&probe),
        );
        vec![
            ("modules", modules.map(drop)),
            ("nodes", nodes.map(drop)),
            ("storage", storage.map(drop)),
        ]
    }

    async fn deployments_of(&self, module: &ModuleName) -> Result<Vec<ModuleDeployment>> {
        self.backends
            .deployments
            .all_deployments(&DeploymentFilter::module(module.clone()))
            .await
    }

    /// The version `module` serves now: the outcome of its latest finished
    /// deployment (the new version after success, the old one after a
    /// rollback, abort or failure), or the old version of a running one.
    pub async fn serving_version(&self, module: &ModuleName) -> Result<Option<Version>> {
        // Lists are in creation order: the last one is the latest.
        let latest = self.deployments_of(module).await?.into_iter().next_back();
        Ok(serving_version(latest.as_ref()))
    }

    /// Delete module version `id` and, when no other version has the same
    /// bytes, its blob. The repository refuses it with `Conflict` while a
    /// deployment that is not finished names the version, or while the
    /// module serves it, whichever replica created that deployment.
    pub async fn delete_module(&self, id: ModuleId) -> Result<WasmModule> {
        let module = self.backends.modules.get(id).await?;
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

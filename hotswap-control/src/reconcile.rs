//! Reconciliation: bring a node's reported state back to what the
//! control plane wants after the node restarted empty or missed a push
//! (module versions, routing tables, HTTP routes).
//! The desired state of a module comes from its latest deployment: a
//! finished one wants its outcome version loaded and routed; a running one
//! wants both versions loaded, and a node without a table routes to the
//! old version until the strategy's next step moves it on.

use std::sync::Arc;

use semver::Version;

use super::HttpRouteService;
use super::distribution::load_with_retries;
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    DeploymentPhase, EdgeNode, ModuleConfig, ModuleDeployment, ModuleName, RoutingTable,
};
use hotswap_core::error::Result;
use hotswap_core::node::NodeControl;
use hotswap_core::repository::memory::MemoryConfigRepository;
use hotswap_core::repository::{
    ConfigRepository, DeploymentFilter, DeploymentRepository, DeploymentRepositoryExt,
    ModuleRepository,
};
use hotswap_core::retry::RetryPolicy;

/// What one reconciliation of a node changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconciled {
    /// Versions loaded, as `module@version`.
    pub loaded: Vec<String>,
    /// Modules whose routing table was applied.
    pub routed: Vec<ModuleName>,
    /// The revision of the HTTP routes pushed, when the node's were older.
    pub http_routes: Option<u64>,
    /// What could not be repaired, with the reason.
    pub failed: Vec<String>,
}

/// Compares nodes with the deployments and repairs the difference.
#[derive(Clone, Debug)]
pub struct Reconciler {
    deployments: Arc<dyn DeploymentRepository>,
    modules: Arc<dyn ModuleRepository>,
    configs: Arc<dyn ConfigRepository>,
    control: Arc<dyn NodeControl>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    http_routes: Option<HttpRouteService>,
}

/// A module's desired state on a node.
struct Desired {
    module: ModuleName,
    /// Each version with the configuration revision it runs with.
    load: Vec<(Version, u64)>,
    stable: Version,
    /// Replace the node's table even when it has one.
    enforce: bool,
}

fn desired(d: &ModuleDeployment) -> Option<Desired> {
    let (load, stable, enforce) = match d.phase {
        DeploymentPhase::Succeeded => (vec![d.to_version.clone()], d.to_version.clone(), true),
        DeploymentPhase::RolledBack | DeploymentPhase::Aborted | DeploymentPhase::Failed => {
            let old = d.from_version.clone()?;
            (vec![old.clone()], old, true)
        }
        DeploymentPhase::Progressing | DeploymentPhase::Paused => {
            let mut load = vec![d.to_version.clone()];
            load.extend(d.from_version.iter().cloned());
            let stable = d
                .from_version
                .clone()
                .unwrap_or_else(|| d.to_version.clone());
            (load, stable, false)
        }
        DeploymentPhase::Pending => return None,
    };
    Some(Desired {
        module: d.module.clone(),
        load: load
            .into_iter()
            .map(|v| {
                let revision = d.config_of(&v);
                (v, revision)
            })
            .collect(),
        stable,
        enforce,
    })
}

impl Reconciler {
    /// A reconciler over the deployments and modules, reaching nodes
    /// through `control`.
    pub fn new(
        deployments: Arc<dyn DeploymentRepository>,
        modules: Arc<dyn ModuleRepository>,
        control: Arc<dyn NodeControl>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            deployments,
            modules,
            configs: Arc::new(MemoryConfigRepository::new()),
            control,
            clock,
            retry: RetryPolicy::default(),
            http_routes: None,
        }
    }

    /// Also bring nodes' HTTP routes up to date.
    #[must_use]
    pub fn with_http_routes(mut self, routes: HttpRouteService) -> Self {
        self.http_routes = Some(routes);
        self
    }

    /// Take configuration revisions from `configs` (by default an empty
    /// in-memory repository).
    #[must_use]
    pub fn with_configs(mut self, configs: Arc<dyn ConfigRepository>) -> Self {
        self.configs = configs;
        self
    }

    /// Retry loads under `retry`.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Repair `node`: load what its modules' latest deployments want and
    /// is missing (digests checked), and apply the wanted routing where
    /// the node's table differs (or is missing).
    pub async fn reconcile(&self, node: &EdgeNode) -> Result<Reconciled> {
        let all = self
            .deployments
            .all_deployments(&DeploymentFilter::default())
            .await?;
        // Lists are in creation order: the last of each module is its latest.
        let mut latest: Vec<&ModuleDeployment> = Vec::new();
        for d in all.iter().rev() {
            if !latest.iter().any(|l| l.module == d.module) {
                latest.push(d);
            }
        }
        let state = self.control.state(node).await?;
        let mut out = Reconciled::default();
        if let Some(routes) = &self.http_routes {
            match routes.repair(node, state.http_routes).await {
                Ok(pushed) => out.http_routes = pushed,
                Err(e) => out.failed.push(format!("http routes: {e}")),
            }
        }
        for want in latest.into_iter().filter_map(desired) {
            let mut ready = true;
            for (v, revision) in &want.load {
                if state.loaded.iter().any(|l| {
                    l.module == want.module && &l.version == v && l.config_revision == *revision
                }) {
                    continue;
                }
                let module = self.modules.get_version(&want.module, v).await?;
                let config = match revision {
                    0 => ModuleConfig::none(want.module.clone()),
                    r => self.configs.get(&want.module, *r).await?,
                };
                let (control, clock) = (&*self.control, &self.clock);
                match load_with_retries(control, clock, self.retry, node, &module, &config).await {
                    Ok(_) => out.loaded.push(module.reference()),
                    Err(e) => {
                        ready = false;
                        out.failed.push(format!("{}: {e}", module.reference()));
                    }
                }
            }
            let held = state.routing.iter().find(|t| t.module == want.module);
            let off = match held {
                None => true,
                Some(t) => want.enforce && (t.stable != want.stable || t.candidate.is_some()),
            };
            if !off || !ready {
                continue;
            }
            let mut table = RoutingTable::new(want.module.clone(), want.stable.clone());
            let now = u64::try_from(self.clock.now().timestamp_micros()).unwrap_or(0);
            table.revision = now.max(held.map_or(0, |t| t.revision + 1));
            match self.control.apply_routing(node, &table).await {
                Ok(()) => out.routed.push(want.module),
                Err(e) => out.failed.push(format!("routing of {}: {e}", want.module)),
            }
        }
        Ok(out)
    }
}

//! A whole control plane in one process for tests and benchmarks: the
//! orchestrator and node service over in-memory repositories, the
//! simulated fleet, and a manual clock.

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::{NodeService, Orchestrator, OrchestratorConfig, RetryPolicy};
use hotswap_core::clock::{Clock, ManualClock};
use hotswap_core::domain::{
    DeploymentEvent, DeploymentPhase, EdgeNode, Environment, ModuleDeployment, StrategyConfig,
};
use hotswap_core::repository::memory::{
    MemoryConfigRepository, MemoryDeploymentRepository, MemoryModuleRepository,
    MemoryNodeRepository,
};
use hotswap_core::repository::{DeploymentRepository, ModuleRepository, NodeRepository};
use semver::Version;

use crate::fleet::SimFleet;
use crate::sample;

fn v(s: &str) -> Version {
    sample::version(s)
}

/// How far the clock moves per round of [`Simulation::drive`].
pub const TICK: Duration = Duration::from_secs(10);

/// A control plane over in-memory repositories, a simulated fleet and a
/// manual clock, with echo 1.0.0 and 2.0.0 registered.
pub struct Simulation {
    /// See the type.
    pub clock: ManualClock,
    /// See the type.
    pub deployments: Arc<MemoryDeploymentRepository>,
    /// See the type.
    pub nodes: Arc<MemoryNodeRepository>,
    /// See the type.
    pub modules: Arc<MemoryModuleRepository>,
    /// See the type.
    pub configs: Arc<MemoryConfigRepository>,
    /// See the type.
    pub fleet: SimFleet,
    /// See the type.
    pub service: NodeService,
    /// See the type.
    pub members: Vec<EdgeNode>,
    /// Traffic goes to every n-th node only (1: all), so simulations of
    /// many nodes keep few statistics.
    pub traffic_every: usize,
}

impl Simulation {
    /// Nodes in `regions`, echo 1.0.0 and 2.0.0 registered, and 1.0.0
    /// deployed everywhere.
    pub async fn new(regions: &[&str], per_region: usize) -> Self {
        let clock = ManualClock::new(sample::time(1_000_000));
        let nodes = Arc::new(MemoryNodeRepository::new());
        let modules = MemoryModuleRepository::new();
        let w = Self {
            deployments: Arc::new(MemoryDeploymentRepository::holding(&modules)),
            service: NodeService::new(nodes.clone(), Arc::new(clock.clone())),
            nodes,
            modules: Arc::new(modules),
            configs: Arc::new(MemoryConfigRepository::new()),
            fleet: SimFleet::new(),
            members: Vec::new(),
            traffic_every: 1,
            clock,
        };
        for version in ["1.0.0", "2.0.0"] {
            let mut m = sample::module("echo", version);
            m.limits = hotswap_core::domain::ResourceLimits::default();
            w.modules.create(&m).await.expect("simulation step");
        }
        let members = w
            .fleet
            .spawn(&*w.nodes, regions, per_region, w.clock.now())
            .await
            .expect("simulation step");
        let mut w = Self { members, ..w };
        let first = w.deploy(None, "1.0.0", StrategyConfig::default()).await;
        let done = w.drive(&w.orchestrator("cp-1"), first.id, 10).await;
        assert_eq!(done.phase, DeploymentPhase::Succeeded);
        w.members = w.nodes_now().await;
        w
    }

    /// An orchestrator replica over this simulation (no retry waits).
    pub fn orchestrator(&self, replica: &str) -> Orchestrator {
        Orchestrator::new(
            self.deployments.clone(),
            self.nodes.clone(),
            self.modules.clone(),
            Arc::new(self.fleet.clone()),
            Arc::new(self.clock.clone()),
            OrchestratorConfig::new(replica).with_retry(RetryPolicy::new(
                3,
                Duration::ZERO,
                Duration::ZERO,
            )),
        )
        .with_configs(self.configs.clone())
    }

    /// The members as the node repository holds them now.
    pub async fn nodes_now(&self) -> Vec<EdgeNode> {
        let mut out = Vec::new();
        for n in &self.members {
            out.push(self.nodes.get(n.id).await.expect("simulation step"));
        }
        out
    }

    /// A deployment of echo by alice to production, not stored, with the
    /// default health criteria.
    pub fn pending(
        &self,
        from: Option<&str>,
        to: &str,
        strategy: StrategyConfig,
    ) -> ModuleDeployment {
        ModuleDeployment::new(
            sample::name("echo"),
            from.map(v),
            v(to),
            strategy,
            Environment::Production,
            "alice",
            self.clock.now(),
        )
    }

    /// Create and start a deployment of echo (min 100 samples, 5 % errors).
    pub async fn deploy(
        &self,
        from: Option<&str>,
        to: &str,
        strategy: StrategyConfig,
    ) -> ModuleDeployment {
        let mut d = self.pending(from, to, strategy);
        d.health.min_samples = 100;
        d.health.max_error_rate = 0.05;
        let d = self
            .orchestrator("cp-1")
            .create(d)
            .await
            .expect("simulation step");
        self.orchestrator("cp-1")
            .execute(d.id)
            .await
            .expect("simulation step")
    }

    /// Up to `rounds` rounds of: traffic, heartbeats, due evaluations, and
    /// the clock moving on one tick.
    pub async fn drive(
        &self,
        orch: &Orchestrator,
        id: hotswap_core::domain::DeploymentId,
        rounds: usize,
    ) -> ModuleDeployment {
        for _ in 0..rounds {
            let d = self.deployments.get(id).await.expect("simulation step");
            if d.phase != DeploymentPhase::Progressing {
                return d;
            }
            self.fleet
                .traffic_sampled(&sample::name("echo"), 100, self.traffic_every);
            self.fleet
                .heartbeat(&self.service, self.clock.now())
                .await
                .expect("simulation step");
            self.service.check_health().await.expect("simulation step");
            orch.run_due().await.expect("simulation step");
            self.clock.advance(TICK);
        }
        self.deployments.get(id).await.expect("simulation step")
    }

    /// Every member's (region, stable, candidate weight) for echo.
    pub fn tables(&self) -> Vec<(String, Version, Option<u8>)> {
        self.members
            .iter()
            .map(|n| {
                let t = self
                    .fleet
                    .routing(n.id, &sample::name("echo"))
                    .expect("routed");
                (
                    n.region.to_string(),
                    t.stable,
                    t.candidate.map(|c| c.weight),
                )
            })
            .collect()
    }

    /// The whole event log of `id`.
    pub async fn events(&self, id: hotswap_core::domain::DeploymentId) -> Vec<DeploymentEvent> {
        self.orchestrator("reader")
            .status(id)
            .await
            .expect("simulation step")
            .1
    }

    /// The first event of `kind` in the log of `id`; panics when there is
    /// none.
    pub async fn event(
        &self,
        id: hotswap_core::domain::DeploymentId,
        kind: hotswap_core::domain::EventKind,
    ) -> DeploymentEvent {
        self.events(id)
            .await
            .into_iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} event in the log of {id}"))
    }
}

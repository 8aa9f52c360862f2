//! The control loop: what a running control plane does on its own, every
//! tick: mark silent nodes, evaluate the deployments that are due, publish
//! the fleet's gauges; and beside the ticks, now and then, reconcile every
//! live node with what its modules' deployments want. A failing tick (a
//! database away) is logged and the next one tries again.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::gauges::Gauges;
use super::{NodeService, Orchestrator, Reconciler};
use hotswap_core::clock::Clock;
use hotswap_core::domain::{DeploymentPhase, EdgeNode, ModuleDeployment, NodeStatus};
use hotswap_core::error::Result;
use hotswap_core::repository::{DeploymentFilter, DeploymentRepository, DeploymentRepositoryExt};

/// How often the loop acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ControlLoopConfig {
    /// Time between ticks.
    pub tick: Duration,
    /// Time between reconciliations of every live node.
    pub reconcile_every: Duration,
}

impl Default for ControlLoopConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            reconcile_every: Duration::from_secs(30),
        }
    }
}

impl ControlLoopConfig {
    /// Tick every `tick`, reconcile every `reconcile_every`.
    pub fn new(tick: Duration, reconcile_every: Duration) -> Self {
        Self {
            tick,
            reconcile_every,
        }
    }
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TickReport {
    /// Deployments evaluated.
    pub evaluated: usize,
    /// Nodes whose status the health monitor changed.
    pub status_changes: usize,
    /// Nodes reconciled (0 on ticks without reconciliation).
    pub reconciled: usize,
}

/// Drives a control plane's background work.
#[derive(Clone, Debug)]
pub struct ControlLoop {
    orchestrator: Orchestrator,
    nodes: NodeService,
    deployments: Arc<dyn DeploymentRepository>,
    reconciler: Reconciler,
    clock: Arc<dyn Clock>,
    config: ControlLoopConfig,
    gauges: Arc<Gauges>,
}

/// Reconciliations running at once.
const RECONCILE_CONCURRENCY: usize = 16;

impl ControlLoop {
    /// A loop over these services.
    pub fn new(
        orchestrator: Orchestrator,
        nodes: NodeService,
        deployments: Arc<dyn DeploymentRepository>,
        reconciler: Reconciler,
        clock: Arc<dyn Clock>,
        config: ControlLoopConfig,
    ) -> Self {
        Self {
            orchestrator,
            nodes,
            deployments,
            reconciler,
            clock,
            config,
            gauges: Arc::default(),
        }
    }

    /// One tick: due deployments, node health, and (when `reconcile`)
    /// every live node's reconciliation.
    pub async fn tick(&self, reconcile: bool) -> Result<TickReport> {
        let mut nodes = self.nodes.all().await?;
        let status_changes = self.nodes.check_listed(&mut nodes).await?.len();
        self.gauges.publish_nodes(&nodes);
        let evaluated = self.orchestrator.run_due().await?;
        let (progressing, paused) = (
            self.deployments_in(DeploymentPhase::Progressing).await?,
            self.deployments_in(DeploymentPhase::Paused).await?,
        );
        self.gauges
            .publish_deployments(&progressing, &paused, self.clock.now());
        let reconciled = if reconcile {
            self.reconcile_all(&nodes).await
        } else {
            0
        };
        Ok(TickReport {
            evaluated,
            status_changes,
            reconciled,
        })
    }

    async fn deployments_in(&self, phase: DeploymentPhase) -> Result<Vec<ModuleDeployment>> {
        self.deployments
            .all_deployments(&DeploymentFilter::phase(phase))
            .await
    }

    /// Reconcile one node, logging what was repaired and what was not.
    pub async fn reconcile(&self, node: &EdgeNode) -> Result<()> {
        let done = self.reconciler.reconcile(node).await?;
        if !done.loaded.is_empty() || !done.routed.is_empty() || done.http_routes.is_some() {
            tracing::info!(node = %node.name, loaded = ?done.loaded, routed = ?done.routed,
                http_routes = ?done.http_routes, "node reconciled");
        }
        if !done.failed.is_empty() {
            tracing::warn!(node = %node.name, failed = ?done.failed, "node reconciliation incomplete");
        }
        Ok(())
    }

    async fn reconcile_all(&self, nodes: &[EdgeNode]) -> usize {
        let live: Vec<&EdgeNode> = nodes
            .iter()
            .filter(|n| matches!(n.status, NodeStatus::Healthy | NodeStatus::Registering))
            .collect();
        let count = live.len();
        futures::stream::iter(live)
            .for_each_concurrent(RECONCILE_CONCURRENCY, |node| async move {
                if let Err(e) = self.reconcile(node).await {
                    tracing::warn!(node = %node.name, error = %e, "node reconciliation failed");
                }
            })
            .await;
        count
    }

    /// Tick forever (until the future is dropped), and reconcile every
    /// live node every `reconcile_every` beside the ticks, so a slow node
    /// never holds up the evaluations and the health monitor; a failed
    /// tick is logged.
    pub async fn run(self) {
        let ticks = async {
            loop {
                if let Err(e) = self.tick(false).await {
                    tracing::warn!(error = %e, "control loop tick failed; retrying at the next tick");
                }
                self.clock.sleep(self.config.tick).await;
            }
        };
        let reconciliations = async {
            loop {
                match self.nodes.all().await {
                    Ok(nodes) => {
                        self.reconcile_all(&nodes).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciliation skipped: nodes unreadable")
                    }
                }
                self.clock.sleep(self.config.reconcile_every).await;
            }
        };
        tokio::join!(ticks, reconciliations);
    }
}

//! The node service: registration with capability checks, heartbeat
//! processing, and the health monitor that marks silent nodes unhealthy
//! and then offline, telling an alert hook about every transition.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use hotswap_core::clock::Clock;
use hotswap_core::domain::{EdgeNode, Heartbeat, NodeId, NodeStatus};
use hotswap_core::error::{Error, Result};
use hotswap_core::repository::{ModuleRepository, NodeFilter, NodeRepository, NodeRepositoryExt};

/// Told about every node status change.
pub trait AlertHook: Send + Sync + fmt::Debug + 'static {
    /// `node` moved from `from` to its current status, at `at`.
    fn node_status_changed(&self, node: &EdgeNode, from: NodeStatus, at: DateTime<Utc>);
}

/// How often nodes report and how soon silence counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeHealthConfig {
    /// How often a node heartbeats (what nodes are told at registration).
    pub heartbeat_interval: Duration,
    /// Silence after which a node is unhealthy (takes no new traffic).
    pub unhealthy_after: Duration,
    /// Silence after which a node is offline (left out of rollouts).
    pub offline_after: Duration,
}

impl Default for NodeHealthConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(30),
            unhealthy_after: Duration::from_secs(120),
            offline_after: Duration::from_secs(600),
        }
    }
}

impl NodeHealthConfig {
    /// Set the thresholds; `unhealthy_after` must be shorter than
    /// `offline_after`, and both longer than the heartbeat interval.
    pub fn new(
        heartbeat: Duration,
        unhealthy_after: Duration,
        offline_after: Duration,
    ) -> Result<Self> {
        if unhealthy_after <= heartbeat || offline_after <= unhealthy_after {
            return Err(Error::invalid(
                "node_health",
                "need heartbeat_interval < unhealthy_after < offline_after",
            ));
        }
        Ok(Self {
            heartbeat_interval: heartbeat,
            unhealthy_after,
            offline_after,
        })
    }
}

/// Registers nodes, takes their heartbeats, watches their health.
#[derive(Clone, Debug)]
pub struct NodeService {
    nodes: Arc<dyn NodeRepository>,
    modules: Option<Arc<dyn ModuleRepository>>,
    clock: Arc<dyn Clock>,
    config: NodeHealthConfig,
    alerts: Vec<Arc<dyn AlertHook>>,
}

/// Attempts at a compare-and-set before giving up with the conflict.
const CAS_ATTEMPTS: usize = 8;

impl NodeService {
    /// A service over `nodes` with default thresholds.
    pub fn new(nodes: Arc<dyn NodeRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            nodes,
            modules: None,
            clock,
            config: NodeHealthConfig::default(),
            alerts: Vec::new(),
        }
    }

    /// Use these thresholds.
    #[must_use]
    pub fn with_config(mut self, config: NodeHealthConfig) -> Self {
        self.config = config;
        self
    }

    /// Check reported loaded versions against the registered digests.
    #[must_use]
    pub fn with_modules(mut self, modules: Arc<dyn ModuleRepository>) -> Self {
        self.modules = Some(modules);
        self
    }

    /// Tell `hook` about status changes.
    #[must_use]
    pub fn with_alerts(mut self, hook: Arc<dyn AlertHook>) -> Self {
        self.alerts.push(hook);
        self
    }

    /// The thresholds.
    pub fn config(&self) -> NodeHealthConfig {
        self.config
    }

    /// Register `node`: its capabilities must name a runtime, the WASI
    /// versions it provides without repeats, and at least one wasm page of
    /// memory; the name must be free. It starts `Registering` until its
    /// first heartbeat.
    pub async fn register(&self, mut node: EdgeNode) -> Result<EdgeNode> {
        node.status = NodeStatus::Registering;
        node.last_heartbeat = None;
        node.registered_at = self.clock.now();
        node.validate()?;
        self.nodes.create(&node).await
    }

    /// Register `node`, or, when a node of that name is registered already,
    /// take it back under its old id: a restarted node comes back with the
    /// address, region and capabilities it reports now and nothing loaded,
    /// `Registering` until its first heartbeat.
    pub async fn join(&self, node: EdgeNode) -> Result<EdgeNode> {
        match self.register(node.clone()).await {
            Err(Error::AlreadyExists { .. }) => {}
            other => return other,
        }
        let id = self.nodes.get_by_name(&node.name).await?.id;
        let now = self.clock.now();
        self.update(id, |n| {
            n.region = node.region.clone();
            n.zone = node.zone.clone();
            n.labels = node.labels.clone();
            n.endpoint = node.endpoint.clone();
            n.ingress = node.ingress.clone();
            n.capabilities = node.capabilities.clone();
            n.status = NodeStatus::Registering;
            n.loaded.clear();
            n.stats.clear();
            n.metrics = Default::default();
            n.registered_at = now;
        })
        .await
    }

    /// Record a heartbeat of node `id`: metrics, per-version statistics and
    /// loaded versions (those whose digest differs from the registered
    /// version's are dropped and the error says which), and the status it
    /// implies (healthy, or draining when the node says so).
    pub async fn heartbeat(&self, id: NodeId, beat: Heartbeat) -> Result<EdgeNode> {
        beat.validate()?;
        let now = self.clock.now();
        let mut mismatched = Vec::new();
        let mut loaded = Vec::with_capacity(beat.loaded.len());
        for l in beat.loaded {
            if let Some(modules) = &self.modules
                && let Ok(m) = modules.get_version(&l.module, &l.version).await
                && m.digest != l.digest
            {
                mismatched.push(format!("{}@{}", l.module, l.version));
                continue;
            }
            loaded.push(l);
        }
        let status = if beat.draining {
            NodeStatus::Draining
        } else {
            NodeStatus::Healthy
        };
        let node = self
            .update(id, |n| {
                n.metrics = beat.metrics.clone();
                n.stats = beat.stats.clone();
                n.loaded = loaded.clone();
                n.last_heartbeat = Some(now);
                n.status = status;
            })
            .await?;
        if !mismatched.is_empty() {
            return Err(Error::invalid(
                "loaded",
                format!(
                    "{} reports {} with digests that differ from the registered versions; they are not counted as loaded",
                    node.name,
                    mismatched.join(", ")
                ),
            ));
        }
        Ok(node)
    }

    /// Mark nodes silent past the thresholds unhealthy or offline; returns
    /// the nodes that changed.
    pub async fn check_health(&self) -> Result<Vec<EdgeNode>> {
        let mut nodes = self.all().await?;
        self.check_listed(&mut nodes).await
    }

    /// Every registered node.
    pub async fn all(&self) -> Result<Vec<EdgeNode>> {
        self.nodes.all_nodes(&NodeFilter::default()).await
    }

    /// [`NodeService::check_health`] over `nodes` as listed, which are
    /// updated in place; returns the nodes that changed.
    pub async fn check_listed(&self, nodes: &mut [EdgeNode]) -> Result<Vec<EdgeNode>> {
        let now = self.clock.now();
        let mut changed = Vec::new();
        for node in nodes.iter_mut() {
            let silent_since = node.last_heartbeat.unwrap_or(node.registered_at);
            let silence = (now - silent_since).to_std().unwrap_or_default();
            let due = if silence >= self.config.offline_after {
                NodeStatus::Offline
            } else if silence >= self.config.unhealthy_after {
                NodeStatus::Unhealthy
            } else {
                continue;
            };
            if node.status == due || node.status == NodeStatus::Offline {
                continue;
            }
            let stored = self.update(node.id, |n| n.status = due).await?;
            *node = stored.clone();
            changed.push(stored);
        }
        Ok(changed)
    }

    /// Run the health monitor until the returned future is dropped,
    /// checking every heartbeat interval.
    pub async fn monitor(self) -> Result<()> {
        loop {
            self.clock.sleep(self.config.heartbeat_interval).await;
            self.check_health().await?;
        }
    }

    /// Change node `id` with `f` by compare-and-set, retried on conflict,
    /// telling the alert hooks when the status changed.
    async fn update(&self, id: NodeId, f: impl Fn(&mut EdgeNode)) -> Result<EdgeNode> {
        let mut last = None;
        for _ in 0..CAS_ATTEMPTS {
            let mut node = self.nodes.get(id).await?;
            let before = node.status;
            f(&mut node);
            match self.nodes.update(&node).await {
                Ok(stored) => {
                    if stored.status != before {
                        for hook in &self.alerts {
                            hook.node_status_changed(&stored, before, self.clock.now());
                        }
                    }
                    return Ok(stored);
                }
                Err(e @ Error::Conflict { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::internal("node update retried without a conflict")))
    }
}

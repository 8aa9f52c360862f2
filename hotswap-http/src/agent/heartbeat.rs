//! An edge node's link to its control plane: register (rejoining under its
//! old id after a restart), then heartbeat at the interval the control
//! plane asks for, registering again when the control plane no longer
//! knows the node. Given several replicas of the control plane, a request
//! that cannot reach one goes to the next. Failures are logged and
//! retried; the loop never ends on its own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::domain::{NodeId, NodeMetrics};
use hotswap_edge::EdgeAgent;

use crate::client::ControlPlaneClient;
use crate::wire::RegisterNode;

/// Reports the node's resource use for heartbeats.
pub trait NodeMetricsSource: Send + Sync + fmt::Debug + 'static {
    /// Metrics as of now (the in-flight count is filled in by the agent).
    fn sample(&self) -> NodeMetrics;
}

/// Registers the node and keeps heartbeating.
#[derive(Debug)]
pub struct HeartbeatLoop {
    /// The control plane's replicas; `current` is the one in use.
    clients: Vec<ControlPlaneClient>,
    current: usize,
    agent: Arc<EdgeAgent>,
    registration: RegisterNode,
    metrics: Arc<dyn NodeMetricsSource>,
    /// Used until the control plane names its own interval.
    interval: Duration,
    retry: Duration,
    wake: Arc<tokio::sync::Notify>,
}

impl HeartbeatLoop {
    /// A loop announcing `registration` to `client` for `agent`.
    pub fn new(
        client: ControlPlaneClient,
        agent: Arc<EdgeAgent>,
        registration: RegisterNode,
        metrics: Arc<dyn NodeMetricsSource>,
    ) -> Self {
        Self {
            clients: vec![client],
            current: 0,
            agent,
            registration,
            metrics,
            interval: Duration::from_secs(30),
            retry: Duration::from_secs(1),
            wake: Arc::default(),
        }
    }

    /// Notify this to send the next heartbeat at once (for example the one
    /// that says the node is draining).
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Also reach the control plane through `client` (another replica),
    /// when the ones before it cannot be reached.
    #[must_use]
    pub fn with_replica(mut self, client: ControlPlaneClient) -> Self {
        self.clients.push(client);
        self
    }

    /// The replica in use.
    fn client(&self) -> &ControlPlaneClient {
        &self.clients[self.current % self.clients.len()]
    }

    /// After `e`, move on to the next replica if `e` says this one could
    /// not be reached.
    fn next_replica_after(&mut self, e: &Error) {
        if self.clients.len() > 1 && matches!(e, Error::Unavailable { .. }) {
            self.current = (self.current + 1) % self.clients.len();
            tracing::warn!(
                control_plane = self.client().base(),
                "trying the next control-plane replica"
            );
        }
    }

    /// Heartbeat every `interval` whatever the control plane says (tests).
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    async fn register(&mut self) -> NodeId {
        loop {
            match self.client().register_node(&self.registration).await {
                Ok(r) => {
                    tracing::info!(node = %r.node.name, id = %r.node.id, control_plane = self.client().base(), "registered with the control plane");
                    self.interval = self
                        .interval
                        .min(Duration::from_secs(r.heartbeat_interval_secs.max(1)));
                    return r.node.id;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "registration failed; retrying");
                    self.next_replica_after(&e);
                    tokio::time::sleep(self.retry).await;
                }
            }
        }
    }

    /// Send one heartbeat now.
    pub async fn beat(&self, id: NodeId) -> hotswap_core::Result<()> {
        let beat = self
            .agent
            .heartbeat(chrono::Utc::now(), self.metrics.sample());
        self.client().heartbeat(id, &beat).await
    }

    /// Register, then heartbeat until the future is dropped.
    pub async fn run(mut self) {
        let mut id = self.register().await;
        loop {
            match self.beat(id).await {
                Ok(()) => {}
                Err(Error::NotFound { .. }) => {
                    tracing::warn!("the control plane does not know this node; registering again");
                    id = self.register().await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "heartbeat failed");
                    self.next_replica_after(&e);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}

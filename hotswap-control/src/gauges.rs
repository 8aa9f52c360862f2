//! The fleet and deployment gauges a control plane publishes each tick:
//! nodes by region and status, versions loaded per node, deployments
//! progressing and paused, and how long the longest pause has lasted.
//! Label sets that disappear are set to zero, so a gauge never keeps a
//! stale value.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use hotswap_core::domain::{DeploymentPhase, EdgeNode, ModuleDeployment, NodeStatus};
use hotswap_core::observe::{
    DEPLOYMENT_PAUSED_LONGEST, DEPLOYMENTS_ACTIVE, EDGE_NODES, EDGE_NODES_HEALTHY,
    MODULES_DEPLOYED_PER_NODE,
};

const STATUSES: &[(NodeStatus, &str)] = &[
    (NodeStatus::Registering, "registering"),
    (NodeStatus::Healthy, "healthy"),
    (NodeStatus::Unhealthy, "unhealthy"),
    (NodeStatus::Draining, "draining"),
    (NodeStatus::Offline, "offline"),
];

/// Remembers the label sets published, to zero the ones that go away.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    regions: Mutex<BTreeSet<String>>,
    nodes: Mutex<BTreeSet<(String, String)>>,
}

impl Gauges {
    pub(crate) fn publish_nodes(&self, nodes: &[EdgeNode]) {
        let mut regions = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        let mut counts: BTreeMap<(String, NodeStatus), u64> = BTreeMap::new();
        for n in nodes {
            regions.insert(n.region.to_string());
            *counts.entry((n.region.to_string(), n.status)).or_default() += 1;
        }
        for region in regions.iter() {
            for (status, label) in STATUSES {
                let count = counts.get(&(region.clone(), *status)).copied().unwrap_or(0);
                metrics::gauge!(EDGE_NODES, "region" => region.clone(), "status" => *label)
                    .set(count as f64);
                if *status == NodeStatus::Healthy {
                    metrics::gauge!(EDGE_NODES_HEALTHY, "region" => region.clone())
                        .set(count as f64);
                }
            }
        }
        let mut seen = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<(String, String)> = nodes
            .iter()
            .map(|n| (n.name.clone(), n.region.to_string()))
            .collect();
        for gone in seen.difference(&now) {
            metrics::gauge!(MODULES_DEPLOYED_PER_NODE, "node" => gone.0.clone(), "region" => gone.1.clone())
                .set(0.0);
        }
        for n in nodes {
            metrics::gauge!(MODULES_DEPLOYED_PER_NODE, "node" => n.name.clone(), "region" => n.region.to_string())
                .set(n.loaded.len() as f64);
        }
        *seen = now;
    }

    pub(crate) fn publish_deployments(
        &self,
        progressing: &[ModuleDeployment],
        paused: &[ModuleDeployment],
        now: DateTime<Utc>,
    ) {
        for (phase, list) in [
            (DeploymentPhase::Progressing, progressing),
            (DeploymentPhase::Paused, paused),
        ] {
            metrics::gauge!(DEPLOYMENTS_ACTIVE, "phase" => phase.as_str()).set(list.len() as f64);
        }
        let longest = paused
            .iter()
            .map(|d| (now - d.updated_at).num_milliseconds().max(0))
            .max()
            .unwrap_or(0);
        metrics::gauge!(DEPLOYMENT_PAUSED_LONGEST).set(longest as f64 / 1000.0);
    }
}

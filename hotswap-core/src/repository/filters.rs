//! List filters, shared by every backend (SQL backends translate them; the
//! in-memory ones call `matches`).

use serde::{Deserialize, Serialize};

use crate::domain::{
    DeploymentPhase, Digest, EdgeNode, Environment, Labels, ModuleDeployment, ModuleKind,
    ModuleName, NodeStatus, Region, WasmModule,
};

/// Which module versions to list. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleFilter {
    /// Only this module.
    pub name: Option<ModuleName>,
    /// Only this kind.
    pub kind: Option<ModuleKind>,
    /// Only versions with these bytes.
    pub digest: Option<Digest>,
    /// Only versions carrying all these labels.
    pub labels: Labels,
}

impl ModuleFilter {
    /// Every version of `name`.
    pub fn name(name: ModuleName) -> Self {
        Self {
            name: Some(name),
            ..Self::default()
        }
    }

    /// Whether `m` passes.
    pub fn matches(&self, m: &WasmModule) -> bool {
        self.name.as_ref().is_none_or(|n| n == &m.name)
            && self.kind.is_none_or(|k| k == m.kind)
            && self.digest.is_none_or(|d| d == m.digest)
            && m.labels.matches(&self.labels)
    }
}

/// Which nodes to list. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeFilter {
    /// Only this region.
    pub region: Option<Region>,
    /// Only this status.
    pub status: Option<NodeStatus>,
    /// Only nodes carrying all these labels.
    pub labels: Labels,
}

impl NodeFilter {
    /// Nodes in `region`.
    pub fn region(region: Region) -> Self {
        Self {
            region: Some(region),
            ..Self::default()
        }
    }

    /// Nodes with `status`.
    pub fn status(status: NodeStatus) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Whether `n` passes.
    pub fn matches(&self, n: &EdgeNode) -> bool {
        self.region.as_ref().is_none_or(|r| r == &n.region)
            && self.status.is_none_or(|s| s == n.status)
            && n.labels.matches(&self.labels)
    }
}

/// Which deployments to list. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentFilter {
    /// Only deployments of this module.
    pub module: Option<ModuleName>,
    /// Only deployments in this phase.
    pub phase: Option<DeploymentPhase>,
    /// Only deployments to this environment.
    pub environment: Option<Environment>,
}

impl DeploymentFilter {
    /// Deployments in `phase`.
    pub fn phase(phase: DeploymentPhase) -> Self {
        Self {
            phase: Some(phase),
            ..Self::default()
        }
    }

    /// Deployments of `module`.
    pub fn module(module: ModuleName) -> Self {
        Self {
            module: Some(module),
            ..Self::default()
        }
    }

    /// Whether `d` passes.
    pub fn matches(&self, d: &ModuleDeployment) -> bool {
        self.module.as_ref().is_none_or(|m| m == &d.module)
            && self.phase.is_none_or(|p| p == d.phase)
            && self.environment.is_none_or(|e| e == d.environment)
    }
}

//! The control plane: how it reaches edge nodes, brings versions onto
//! them, and drives deployments.

mod distribution;
mod driver;
mod gauges;
mod locks;
mod nodes;
mod orchestrator;
mod plane;
mod reconcile;
mod registration;
mod router;

pub use distribution::{RetryPolicy, load_with_retries};
pub use driver::{ControlLoop, ControlLoopConfig, TickReport};
pub use nodes::{AlertHook, NodeHealthConfig, NodeService};
pub use orchestrator::{NodeProgress, Operation, Orchestrator, OrchestratorConfig};
pub use plane::{Backends, ControlPlane, ControlPlaneConfig};
pub use reconcile::{Reconciled, Reconciler};
pub use registration::{ModuleRegistrar, Registration};
pub use router::{Executed, ExecutionRouter};

use std::fmt;

use async_trait::async_trait;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::domain::{
    EdgeNode, LoadedVersion, ModuleName, Region, RoutingTable, VersionStats, WasmModule,
};
use crate::edge::Routed;
use crate::error::Result;
use crate::runtime::Invocation;

/// What a node reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct NodeState {
    /// Versions loaded, with the digests the node verified.
    pub loaded: Vec<LoadedVersion>,
    /// Routing tables applied, one per module.
    pub routing: Vec<RoutingTable>,
    /// Cumulative per-version statistics.
    pub stats: Vec<VersionStats>,
}

/// Commands the control plane sends to an edge node, in-process or over
/// HTTP.
///
/// Contract:
/// - `load` is idempotent: loading a loaded version succeeds. The node
///   verifies the module's digest before it serves it and reports the
///   verified digest back; a mismatch is `DigestMismatch`.
/// - `apply_routing` is refused with `Invalid` when the table names a
///   version the node has not loaded, and with `Conflict` when the node
///   already holds a newer revision; a refused table changes nothing.
/// - An unreachable node is `Unavailable { temporary: true }`.
#[async_trait]
pub trait NodeControl: Send + Sync + fmt::Debug + 'static {
    /// Load a module version on `node`.
    async fn load(&self, node: &EdgeNode, module: &WasmModule) -> Result<LoadedVersion>;

    /// Drop a version from `node` once no call uses it.
    async fn unload(&self, node: &EdgeNode, module: &ModuleName, version: &Version) -> Result<()>;

    /// Replace the node's routing table for `table.module`.
    async fn apply_routing(&self, node: &EdgeNode, table: &RoutingTable) -> Result<()>;

    /// What the node has loaded, routes and has counted.
    async fn state(&self, node: &EdgeNode) -> Result<NodeState>;

    /// Run `execution` on `node`, which picks the version by its routing
    /// table (or the pin); returns the version that served and why. An
    /// unreachable or full node is `Unavailable` or `LimitExceeded`, so the
    /// caller may try another.
    async fn execute(&self, node: &EdgeNode, execution: &Execution) -> Result<Routed>;
}

/// A call to run somewhere in the fleet.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Execution {
    /// The module.
    pub module: ModuleName,
    /// The function and its input.
    pub call: Invocation,
    /// A version the caller asks for.
    pub pin: Option<Version>,
    /// The caller's routing key, for sticky splits.
    pub key: Option<String>,
    /// The caller's region, preferred when choosing a node.
    pub region: Option<Region>,
    /// Request headers as `(name, value)`, for header routing rules.
    pub headers: Vec<(String, String)>,
}

impl Execution {
    /// `call` on `module`, without pin, key or region.
    pub fn new(module: ModuleName, call: Invocation) -> Self {
        Self {
            module,
            call,
            pin: None,
            key: None,
            region: None,
            headers: Vec::new(),
        }
    }
}

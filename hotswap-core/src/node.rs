//! The node protocol: what the control plane asks of an edge node, and
//! what a node answers. The edge host implements it in-process
//! (`hotswap-edge`), the HTTP client over the agent API (`hotswap-http`);
//! the control plane (`hotswap-control`) only speaks it.

use std::fmt;

use async_trait::async_trait;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::domain::{
    EdgeNode, HttpRouteSet, Int64Json, LoadedVersion, ModuleConfig, ModuleName, Region,
    RouteReason, RoutingTable, VersionStats, WasmModule,
};
use crate::error::Result;
use crate::runtime::http::{HttpCall, HttpResponse};
use crate::runtime::{CallOutput, Invocation};

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
    /// The revision of the HTTP routes it holds (0: none yet).
    pub http_routes: u64,
}

impl NodeState {
    /// A node's loaded versions, routing tables and statistics.
    pub fn new(
        loaded: Vec<LoadedVersion>,
        routing: Vec<RoutingTable>,
        stats: Vec<VersionStats>,
    ) -> Self {
        Self {
            loaded,
            routing,
            stats,
            http_routes: 0,
        }
    }

    /// Say the node holds HTTP routes at `revision`.
    #[must_use]
    pub fn with_http_routes(mut self, revision: u64) -> Self {
        self.http_routes = revision;
        self
    }
}

/// Commands the control plane sends to an edge node, in-process or over
/// HTTP.
///
/// Contract:
/// - `load` is idempotent: loading a loaded version with the same
///   configuration revision succeeds. The node verifies the module's
///   digest before it serves it and reports the verified digest back; a
///   mismatch is `DigestMismatch`. The version runs with `config` (its
///   secrets still sealed; the node opens them) and the node reports the
///   revision back; loading a loaded version with another revision
///   replaces it when no routing table uses it, and is a `Conflict`
///   otherwise.
/// - `apply_routing` is refused with `Invalid` when the table names a
///   version the node has not loaded, and with `Conflict` when the node
///   already holds a newer revision; a refused table changes nothing.
/// - An unreachable node is `Unavailable { temporary: true }`.
#[async_trait]
pub trait NodeControl: Send + Sync + fmt::Debug + 'static {
    /// Load a module version on `node`, to run with `config`.
    async fn load(
        &self,
        node: &EdgeNode,
        module: &WasmModule,
        config: &ModuleConfig,
    ) -> Result<LoadedVersion>;

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
    async fn execute(&self, node: &EdgeNode, execution: &Execution) -> Result<CallOutcome>;

    /// Replace the node's HTTP routes with `set`; refused (`Conflict`)
    /// when the node holds a newer set.
    async fn apply_http_routes(&self, node: &EdgeNode, set: &HttpRouteSet) -> Result<()>;

    /// Hand an HTTP request to `node`'s ingress, which routes it by its
    /// own host and path routes. An unreachable node is `Unavailable`.
    async fn serve_http(&self, node: &EdgeNode, call: HttpCall) -> Result<HttpResponse>;
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
    /// How 64-bit integer results are written.
    pub int64: Int64Json,
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
            int64: Int64Json::default(),
        }
    }
}

/// What a call run on a node gave: the version that served it, why that
/// version, and its output.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CallOutcome {
    /// The version that served it.
    pub version: Version,
    /// Why that version.
    pub reason: RouteReason,
    /// Its output.
    pub output: CallOutput,
}

impl CallOutcome {
    /// `output` of `version`, chosen for `reason`.
    pub fn new(version: Version, reason: RouteReason, output: CallOutput) -> Self {
        Self {
            version,
            reason,
            output,
        }
    }
}

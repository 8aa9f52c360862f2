//! An edge node's command side: what the control plane asks of a node
//! (load, unload, route, report, execute) carried out on an [`EdgeHost`].
//! Module bytes are handed over (staged by digest, checked) or fetched from
//! storage by digest. [`LocalNodes`] is the in-process [`NodeControl`]
//! over agents; the HTTP edge agent serves the same methods over the wire.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use semver::Version;

use super::{CallRoute, EdgeHost};
use hotswap_core::LimitKind;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{
    Digest, EdgeNode, Heartbeat, HttpRouteSet, LoadedVersion, ModuleConfig, ModuleName,
    NodeMetrics, RoutingTable, WasmModule,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::node::{CallOutcome, Execution, NodeControl, NodeState};
use hotswap_core::runtime::http::{HttpCall, HttpResponse};
use hotswap_core::secrets::{SecretsKey, open_config};
use hotswap_core::storage::ModuleStorage;

/// The most bytes of staged (handed over, not yet loaded) blobs kept.
pub const DEFAULT_STAGING_BYTES: usize = 256 * 1024 * 1024;

/// Blobs handed to the node ahead of their load, oldest first.
#[derive(Debug, Default)]
struct Staged {
    blobs: VecDeque<(Digest, Bytes)>,
    bytes: usize,
}

/// One edge node's agent over its edge host.
#[derive(Debug)]
pub struct EdgeAgent {
    host: Arc<EdgeHost>,
    storage: Option<Arc<dyn ModuleStorage>>,
    staged: Mutex<Staged>,
    staging_cap: usize,
    draining: AtomicBool,
    secrets: Option<SecretsKey>,
}

impl EdgeAgent {
    /// An agent over `host` that fetches missing blobs from `storage` when
    /// given one, and otherwise only loads bytes handed to it.
    pub fn new(host: Arc<EdgeHost>, storage: Option<Arc<dyn ModuleStorage>>) -> Self {
        Self {
            host,
            storage,
            staged: Mutex::default(),
            staging_cap: DEFAULT_STAGING_BYTES,
            draining: Default::default(),
            secrets: None,
        }
    }

    /// Open the secrets of the configurations it loads with `key` (the
    /// operator's, as the control plane sealed them). Without a key, a
    /// version that reads a secret does not load.
    #[must_use]
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Self {
        self.secrets = Some(key);
        self
    }

    /// The edge host.
    pub fn host(&self) -> &Arc<EdgeHost> {
        &self.host
    }

    fn staged(&self) -> MutexGuard<'_, Staged> {
        // Every change under this lock is one push or removal.
        self.staged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `bytes` for a later load after checking they hash to
    /// `expected` (`DigestMismatch` otherwise); the oldest staged blobs
    /// make room. Blobs larger than the staging room are refused.
    pub fn stage(&self, expected: &Digest, bytes: Bytes) -> Result<()> {
        let actual = Digest::of(&bytes);
        if actual != *expected {
            return Err(Error::DigestMismatch {
                expected: *expected,
                actual,
            });
        }
        if bytes.len() > self.staging_cap {
            return Err(Error::limit_exceeded(
                LimitKind::StagingBytes,
                format!(
                    "a blob of {} bytes is larger than the {} bytes of staging room",
                    bytes.len(),
                    self.staging_cap
                ),
            ));
        }
        let mut staged = self.staged();
        if staged.blobs.iter().any(|(d, _)| d == expected) {
            return Ok(());
        }
        while staged.bytes + bytes.len() > self.staging_cap {
            match staged.blobs.pop_front() {
                Some((_, old)) => staged.bytes -= old.len(),
                None => break,
            }
        }
        staged.bytes += bytes.len();
        staged.blobs.push_back((*expected, bytes));
        Ok(())
    }

    fn take_staged(&self, digest: &Digest) -> Option<Bytes> {
        let mut staged = self.staged();
        let at = staged.blobs.iter().position(|(d, _)| d == digest)?;
        let (_, bytes) = staged.blobs.remove(at)?;
        staged.bytes -= bytes.len();
        Some(bytes)
    }

    /// Load `module` to run with `config`: nothing to do when it is loaded
    /// so; otherwise from the staged bytes of its digest, or from storage.
    /// Neither is `NotFound { kind: ResourceKind::ModuleBlob }`; the
    /// runtime checks the bytes against the digest before it serves them.
    /// The declared keys of `config` are opened here (secrets with the
    /// node's key); a configuration of another module is `Invalid`.
    pub async fn load(&self, module: &WasmModule, config: &ModuleConfig) -> Result<LoadedVersion> {
        if config.module != module.name {
            return Err(Error::invalid(
                "config.module",
                format!(
                    "is {}, and the version is {}",
                    config.module,
                    module.reference()
                ),
            ));
        }
        if let Some(loaded) = self.host.loaded().into_iter().find(|l| {
            l.module == module.name
                && l.version == module.version
                && l.config_revision == config.revision
        }) {
            if loaded.digest != module.digest {
                return Err(Error::conflict(
                    module.reference(),
                    format!(
                        "loaded with digest {}, refusing other bytes ({})",
                        loaded.digest, module.digest
                    ),
                ));
            }
            return Ok(loaded);
        }
        let bytes = match self.take_staged(&module.digest) {
            Some(bytes) => bytes,
            None => match &self.storage {
                Some(storage) => storage.get(&module.digest).await?,
                None => return Err(Error::not_found(ResourceKind::ModuleBlob, module.digest)),
            },
        };
        let values = open_config(config, &module.config_keys, self.secrets.as_ref())?;
        self.host.load_with_config(module, bytes, values).await
    }

    /// Drop a version that no routing table uses.
    pub fn unload(&self, module: &ModuleName, version: &Version) -> Result<()> {
        self.host.unload(module, version)
    }

    /// Publish a routing table (see [`EdgeHost::apply_routing`]).
    pub fn apply_routing(&self, table: RoutingTable) -> Result<()> {
        self.host.apply_routing(table)
    }

    /// Publish the node's HTTP routes.
    pub fn apply_http_routes(&self, set: &HttpRouteSet) -> Result<()> {
        self.host.apply_http_routes(set)
    }

    /// What the node has loaded, routes and has counted.
    pub fn state(&self) -> NodeState {
        NodeState::new(self.host.loaded(), self.host.routing(), self.host.stats())
            .with_http_routes(self.host.http_routes().revision)
    }

    /// Route and run `execution` here.
    pub async fn execute(&self, execution: Execution) -> Result<CallOutcome> {
        let headers: Vec<(&str, &str)> = execution
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let route = CallRoute {
            headers: &headers,
            key: execution.key.as_deref(),
            pin: execution.pin.as_ref(),
        };
        self.host
            .invoke(&execution.module, route, execution.call)
            .await
    }

    /// From now on, heartbeats say the node is shutting down.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether [`EdgeAgent::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// A heartbeat of this node as of `now`, with `metrics` (the in-flight
    /// count is filled in here).
    pub fn heartbeat(&self, now: DateTime<Utc>, mut metrics: NodeMetrics) -> Heartbeat {
        metrics.in_flight = self.host.in_flight();
        let mut beat = Heartbeat::new(now);
        beat.metrics = metrics;
        beat.loaded = self.host.loaded();
        beat.stats = self.host.stats();
        beat.draining = self.is_draining();
        beat
    }
}

/// In-process nodes behind [`NodeControl`], found by node name: the edge
/// node of an all-in-one server, or a fleet in tests.
#[derive(Clone, Debug, Default)]
pub struct LocalNodes {
    agents: Arc<RwLock<HashMap<String, Arc<EdgeAgent>>>>,
}

impl LocalNodes {
    /// No nodes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve the node named `name` with `agent`.
    pub fn insert(&self, name: impl Into<String>, agent: Arc<EdgeAgent>) {
        self.agents
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.into(), agent);
    }

    fn agent(&self, node: &EdgeNode) -> Result<Arc<EdgeAgent>> {
        self.agents
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&node.name)
            .cloned()
            .ok_or_else(|| Error::Unavailable {
                service: format!("node {}", node.name),
                temporary: true,
                reason: "no such node in this process".into(),
                source: None,
            })
    }
}

#[async_trait]
impl NodeControl for LocalNodes {
    async fn load(
        &self,
        node: &EdgeNode,
        module: &WasmModule,
        config: &ModuleConfig,
    ) -> Result<LoadedVersion> {
        self.agent(node)?.load(module, config).await
    }

    async fn unload(&self, node: &EdgeNode, module: &ModuleName, version: &Version) -> Result<()> {
        self.agent(node)?.unload(module, version)
    }

    async fn apply_routing(&self, node: &EdgeNode, table: &RoutingTable) -> Result<()> {
        self.agent(node)?.apply_routing(table.clone())
    }

    async fn state(&self, node: &EdgeNode) -> Result<NodeState> {
        Ok(self.agent(node)?.state())
    }

    async fn execute(&self, node: &EdgeNode, execution: &Execution) -> Result<CallOutcome> {
        self.agent(node)?.execute(execution.clone()).await
    }

    async fn apply_http_routes(&self, node: &EdgeNode, set: &HttpRouteSet) -> Result<()> {
        self.agent(node)?.apply_http_routes(set)
    }

    async fn serve_http(&self, node: &EdgeNode, call: HttpCall) -> Result<HttpResponse> {
        self.agent(node)?.host().serve_http(call).await
    }
}

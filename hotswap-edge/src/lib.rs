//! The edge host: loaded module versions, per-call version choice, atomic
//! hot swap and per-version statistics, over any [`RuntimeHost`].
//!
//! - Loading compiles off the hot path and changes no routing.
//! - [`EdgeHost::apply_routing`] publishes a new routing table with one
//!   atomic pointer swap; calls that started before it finish on the version
//!   they started with (they hold it), calls that start after it see the new
//!   table.
//! - Versions leave memory only when no routing table, retention slot or
//!   running call holds them; the last few routed versions stay loaded for
//!   instant rollback.
//!
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod agent;
mod http;
mod metrics;
mod stats;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use rustc_hash::FxHashMap;
use semver::Version;
use tracing::Instrument;

pub use agent::{DEFAULT_STAGING_BYTES, EdgeAgent, LocalNodes};
use hotswap_core::ResourceKind;
use hotswap_core::domain::{
    ConfigValues, Digest, HttpRouteTable, LoadedVersion, ModuleName, RouteContext, RouteReason,
    RoutingTable, VersionStats, WasmModule,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_core::node::CallOutcome;
use hotswap_core::runtime::{CompiledModule, Invocation, ModuleSource, RuntimeHost};
pub use http::{HttpRouting, StickyKey};
use stats::Counters;

/// How the edge host keeps versions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeHostConfig {
    /// Versions that were routed before and are kept loaded for instant
    /// rollback, per module.
    pub retain_versions: usize,
    /// The node's name, recorded on load and invocation spans.
    pub node_name: String,
    /// How HTTP requests choose their version.
    pub http: HttpRouting,
}

impl Default for EdgeHostConfig {
    fn default() -> Self {
        Self {
            retain_versions: 2,
            node_name: "edge".into(),
            http: HttpRouting::default(),
        }
    }
}

impl EdgeHostConfig {
    /// Name the node in spans.
    #[must_use]
    pub fn with_node_name(mut self, name: impl Into<String>) -> Self {
        self.node_name = name.into();
        self
    }

    /// Choose HTTP requests' versions by `routing`.
    #[must_use]
    pub fn with_http_routing(mut self, routing: HttpRouting) -> Self {
        self.http = routing;
        self
    }
}

/// One loaded module version.
#[derive(Debug)]
struct Entry {
    module: ModuleName,
    version: Version,
    digest: Digest,
    config_revision: u64,
    compiled: Arc<dyn CompiledModule>,
    counters: Counters,
    metrics: metrics::VersionMetrics,
}

/// A published routing table with the versions it routes to.
#[derive(Debug)]
struct Route {
    table: RoutingTable,
    targets: FxHashMap<Version, Arc<Entry>>,
}

impl Route {
    /// The loaded version the table chooses for `ctx`.
    fn choose(&self, ctx: &RouteContext<'_>) -> Result<(&Arc<Entry>, RouteReason)> {
        let (version, reason) = self.table.choose(ctx)?;
        let entry = self
            .targets
            .get(version)
            .ok_or_else(|| Error::internal("a routed version is missing from its route"))?;
        Ok((entry, reason))
    }
}

#[derive(Debug, Default)]
struct ModuleState {
    versions: BTreeMap<Version, Arc<Entry>>,
    /// Versions that were routed, most recent last.
    routed: VecDeque<Version>,
}

/// What the caller asked for besides the call itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallRoute<'a> {
    /// Request headers as `(name, value)`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Routing key (user, tenant, session) for sticky splits.
    pub key: Option<&'a str>,
    /// A version to pin.
    pub pin: Option<&'a Version>,
}

/// Loaded module versions and their routing on one edge node.
#[derive(Debug)]
pub struct EdgeHost {
    runtime: Arc<dyn RuntimeHost>,
    config: EdgeHostConfig,
    state: Mutex<HashMap<ModuleName, ModuleState>>,
    /// Fx-hashed maps: read on every call, keyed by names the control
    /// plane chose, not by callers.
    routes: ArcSwap<FxHashMap<ModuleName, Arc<Route>>>,
    /// The ingress's host and path routes.
    http_routes: ArcSwap<HttpRouteTable>,
    /// The node's key-value store, which versions reach per their grants.
    keyvalue: Option<Arc<dyn KeyValueStore>>,
}

impl EdgeHost {
    /// An edge host with no modules.
    pub fn new(runtime: Arc<dyn RuntimeHost>, config: EdgeHostConfig) -> Self {
        Self {
            runtime,
            config,
            state: Mutex::default(),
            routes: ArcSwap::default(),
            http_routes: ArcSwap::default(),
            keyvalue: None,
        }
    }

    /// Give the versions this host loads the node's key-value `store`,
    /// each reaching the buckets its grants name.
    #[must_use]
    pub fn with_keyvalue(mut self, store: Arc<dyn KeyValueStore>) -> Self {
        self.keyvalue = Some(store);
        self
    }

    /// The node's key-value store, if it has one.
    pub fn keyvalue(&self) -> Option<&Arc<dyn KeyValueStore>> {
        self.keyvalue.as_ref()
    }

    /// The runtime it runs modules on.
    pub fn runtime(&self) -> &Arc<dyn RuntimeHost> {
        &self.runtime
    }

    fn state(&self) -> MutexGuard<'_, HashMap<ModuleName, ModuleState>> {
        // Every change under this lock is applied in one step after all
        // checks, so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compile `bytes` as `module` and keep it loaded; routing is unchanged.
    ///
    /// Idempotent for the same version. The runtime checks the bytes against
    /// `module.digest` when it compiles them (`DigestMismatch`), and loading
    /// a loaded version under another digest is a `Conflict`: versions are
    /// immutable.
    pub async fn load(&self, module: &WasmModule, bytes: Bytes) -> Result<LoadedVersion> {
        self.load_with_config(module, bytes, ConfigValues::default())
            .await
    }

    /// [`load`](Self::load) with the configuration its calls read. A
    /// loaded version with another configuration revision is replaced when
    /// no routing table uses it, and is a `Conflict` otherwise: a routed
    /// version keeps the values it was rolled out with.
    pub async fn load_with_config(
        &self,
        module: &WasmModule,
        bytes: Bytes,
        config: ConfigValues,
    ) -> Result<LoadedVersion> {
        let loaded = LoadedVersion {
            module: module.name.clone(),
            version: module.version.clone(),
            digest: module.digest,
            config_revision: config.revision,
        };
        if let Some(existing) = self.entry(&module.name, &module.version) {
            check_same(&existing, module)?;
            if existing.config_revision == config.revision {
                return Ok(loaded);
            }
            self.unload(&module.name, &module.version)
                .map_err(|e| match e {
                    Error::Conflict { .. } => Error::conflict(
                        module.reference(),
                        format!(
                            "runs with configuration revision {} and is routed; a routed version keeps its configuration (revision {} refused)",
                            existing.config_revision, config.revision
                        ),
                    ),
                    other => other,
                })?;
        }
        let config_revision = config.revision;
        // The runtime checks the bytes against the digest when it compiles.
        let mut source = ModuleSource::new_unchecked(bytes, module.digest)
            .with_limits(module.limits)
            .with_outbound(module.reference(), module.outbound.clone())
            .with_config(config);
        if let Some(store) = &self.keyvalue {
            source = source.with_keyvalue(store.clone(), module.keyvalue.clone());
        }
        let span = tracing::info_span!("module.load", module = %module.name, version = %module.version,
            node = %self.config.node_name, digest = %module.digest, outcome = tracing::field::Empty);
        let start = Instant::now();
        let compiled = self.runtime.compile(source).instrument(span.clone()).await;
        let outcome = hotswap_core::observe::outcome(&compiled);
        span.record("outcome", outcome);
        ::metrics::histogram!(hotswap_core::observe::MODULE_LOAD_DURATION, "module" => module.name.to_string(), "outcome" => outcome)
            .record(start.elapsed().as_secs_f64());
        let compiled = compiled?;
        // Build the export table now, off the hot path, not on the first call.
        let _ = compiled.functions();
        let mut state = self.state();
        let versions = &mut state.entry(module.name.clone()).or_default().versions;
        if let Some(existing) = versions.get(&module.version) {
            // Another task loaded it meanwhile.
            check_same(existing, module)?;
            if existing.config_revision != config_revision {
                return Err(Error::conflict(
                    module.reference(),
                    format!(
                        "was loaded meanwhile with configuration revision {}",
                        existing.config_revision
                    ),
                ));
            }
            return Ok(loaded);
        }
        versions.insert(
            module.version.clone(),
            Arc::new(Entry {
                module: module.name.clone(),
                version: module.version.clone(),
                digest: module.digest,
                config_revision,
                compiled,
                counters: Counters::default(),
                metrics: metrics::VersionMetrics::new(&module.name, &module.version),
            }),
        );
        tracing::info!(module = %module.name, version = %module.version, digest = %module.digest,
            config_revision, "version loaded");
        Ok(loaded)
    }

    fn entry(&self, module: &ModuleName, version: &Version) -> Option<Arc<Entry>> {
        self.state().get(module)?.versions.get(version).cloned()
    }

    /// Publish `table` for its module atomically.
    ///
    /// Refused, changing nothing, when the table is invalid or names a
    /// version that is not loaded (`Invalid`), or when its revision is older
    /// than the published one (`Conflict`). Re-applying the published
    /// revision is a no-op.
    pub fn apply_routing(&self, table: RoutingTable) -> Result<()> {
        table.validate()?;
        let mut state = self.state();
        let current = self.routes.load();
        if let Some(published) = current.get(&table.module) {
            if table.revision < published.table.revision {
                return Err(Error::conflict(
                    format!("routing of {}", table.module),
                    format!(
                        "revision {} is older than the published revision {}",
                        table.revision, published.table.revision
                    ),
                ));
            }
            if table.revision == published.table.revision && table == published.table {
                return Ok(());
            }
        }
        let module = state.get_mut(&table.module).ok_or_else(|| {
            Error::invalid(
                "module",
                format!("no version of {} is loaded", table.module),
            )
        })?;
        let mut targets = FxHashMap::default();
        for version in table.versions() {
            let entry = module.versions.get(version).ok_or_else(|| {
                Error::invalid(
                    "version",
                    format!("{}@{version} is not loaded on this node", table.module),
                )
            })?;
            targets.insert(version.clone(), entry.clone());
        }
        let mut next = FxHashMap::clone(&current);
        next.insert(
            table.module.clone(),
            Arc::new(Route {
                table: table.clone(),
                targets,
            }),
        );
        self.routes.store(Arc::new(next));
        tracing::info!(module = %table.module, stable = %table.stable, revision = table.revision, "routing published");

        // Retention: keep what this table routes to plus the last few
        // versions routed before it; versions that were routed once and fall
        // outside that leave the loaded set (a call still running on one
        // keeps it alive until it returns). Versions loaded but never routed,
        // like a blue-green preview, stay.
        let in_table: Vec<Version> = table.versions().into_iter().cloned().collect();
        for v in &in_table {
            module.routed.retain(|r| r != v);
            module.routed.push_back(v.clone());
        }
        let mut keep = in_table.clone();
        keep.extend(
            module
                .routed
                .iter()
                .rev()
                .filter(|v| !in_table.contains(v))
                .take(self.config.retain_versions)
                .cloned(),
        );
        let dropped: Vec<Version> = module
            .routed
            .iter()
            .filter(|v| !keep.contains(v))
            .cloned()
            .collect();
        module.routed.retain(|v| keep.contains(v));
        for v in dropped {
            module.versions.remove(&v);
            tracing::info!(module = %table.module, version = %v, "version dropped after retention");
        }
        Ok(())
    }

    /// Load `module` and route all its traffic to it in one step; the
    /// simplest hot swap.
    pub async fn deploy(&self, module: &WasmModule, bytes: Bytes) -> Result<LoadedVersion> {
        let loaded = self.load(module, bytes).await?;
        let revision = self
            .routes
            .load()
            .get(&module.name)
            .map_or(1, |r| r.table.revision + 1);
        let mut table = RoutingTable::new(module.name.clone(), module.version.clone());
        table.revision = revision;
        self.apply_routing(table)?;
        Ok(loaded)
    }

    /// Inspect and hash `bytes` as version `version` of module `name`, then
    /// [`deploy`](Self::deploy) it: what an embedder that has only a file
    /// calls. Bytes that are not valid wasm are `Invalid`, and change
    /// nothing.
    pub async fn deploy_bytes(
        &self,
        name: &ModuleName,
        version: Version,
        bytes: impl Into<Bytes>,
    ) -> Result<WasmModule> {
        let bytes = bytes.into();
        let module = inspect(&bytes, &InspectOptions::default())?.into_module(
            name.clone(),
            version,
            self.config.node_name.clone(),
            chrono::Utc::now(),
        );
        self.deploy(&module, bytes).await?;
        Ok(module)
    }

    /// The version `module` serves: the stable version of its routing
    /// table, or `None` when nothing routes it.
    pub fn serving(&self, module: &ModuleName) -> Option<Version> {
        self.routes
            .load()
            .get(module)
            .map(|r| r.table.stable.clone())
    }

    /// Drop a version that no routing table uses.
    pub fn unload(&self, module: &ModuleName, version: &Version) -> Result<()> {
        let mut state = self.state();
        if self
            .routes
            .load()
            .get(module)
            .is_some_and(|route| route.targets.contains_key(version))
        {
            return Err(Error::conflict(
                format!("{module}@{version}"),
                "the published routing table still routes to it",
            ));
        }
        let m = state.get_mut(module).ok_or_else(|| {
            Error::not_found(ResourceKind::ModuleVersion, format!("{module}@{version}"))
        })?;
        m.routed.retain(|v| v != version);
        m.versions.remove(version).map(drop).ok_or_else(|| {
            Error::not_found(ResourceKind::ModuleVersion, format!("{module}@{version}"))
        })
    }

    /// Run one call on the version the routing table chooses, with no
    /// headers, key or pin: [`invoke`](Self::invoke) with the default route.
    pub async fn call(&self, module: &ModuleName, call: Invocation) -> Result<CallOutcome> {
        self.invoke(module, CallRoute::default(), call).await
    }

    /// Route and run one call.
    pub async fn invoke(
        &self,
        module: &ModuleName,
        route: CallRoute<'_>,
        call: Invocation,
    ) -> Result<CallOutcome> {
        // The guard keeps the published routes, and so the chosen version,
        // alive until the call returns, without touching a reference count
        // that every caller shares.
        let routes = self.routes.load();
        let published = routes.get(module).ok_or_else(|| self.unrouted(module))?;
        let ctx = RouteContext {
            headers: route.headers,
            key: route.key,
            pin: route.pin,
            roll: fastrand::u32(..),
        };
        let (entry, reason) = published.choose(&ctx)?;
        // Disabled unless a subscriber wants debug spans: then nearly free.
        let span = tracing::debug_span!("function.invoke", module = %module, version = %entry.version,
            node = %self.config.node_name, function = %call.function, outcome = tracing::field::Empty);
        let start = Instant::now();
        let running = entry.counters.start();
        let compiled = &*entry.compiled;
        let outcome = if span.is_disabled() {
            compiled.invoke_now(call).finish(compiled).await
        } else {
            let now = span.in_scope(|| compiled.invoke_now(call));
            let outcome = now.finish(compiled).instrument(span.clone()).await;
            span.record("outcome", hotswap_core::observe::call_outcome(&outcome));
            outcome
        };
        drop(running);
        let elapsed = start.elapsed();
        entry.counters.record(elapsed, &outcome);
        entry
            .metrics
            .record(hotswap_core::observe::call_outcome_index(&outcome), elapsed);
        Ok(CallOutcome::new(entry.version.clone(), reason, outcome?))
    }

    /// The published routing tables.
    pub fn routing(&self) -> Vec<RoutingTable> {
        let mut tables: Vec<_> = self
            .routes
            .load()
            .values()
            .map(|r| r.table.clone())
            .collect();
        tables.sort_by(|a, b| a.module.cmp(&b.module));
        tables
    }

    /// The loaded versions with their digests.
    pub fn loaded(&self) -> Vec<LoadedVersion> {
        self.entries()
            .iter()
            .map(|e| LoadedVersion {
                module: e.module.clone(),
                version: e.version.clone(),
                digest: e.digest,
                config_revision: e.config_revision,
            })
            .collect()
    }

    /// Cumulative statistics of every loaded version, for heartbeats.
    pub fn stats(&self) -> Vec<VersionStats> {
        self.entries()
            .iter()
            .map(|e| e.counters.snapshot(&e.module, &e.version))
            .collect()
    }

    /// Calls running now on loaded versions (for heartbeats).
    pub fn in_flight(&self) -> u64 {
        self.entries().iter().map(|e| e.counters.in_flight()).sum()
    }

    /// Why a call to `module` finds no route: a module loaded here but not
    /// yet routed is being rolled out, which is temporary (`Unavailable`,
    /// so callers retry); one never loaded is `NotFound`.
    pub(crate) fn unrouted(&self, module: &ModuleName) -> Error {
        if self
            .state()
            .get(module)
            .is_some_and(|m| !m.versions.is_empty())
        {
            Error::Unavailable {
                service: format!("module {module}"),
                temporary: true,
                reason:
                    "it is loaded on this node but not routed yet (a rollout is bringing it in)"
                        .into(),
                source: None,
            }
        } else {
            Error::not_found(ResourceKind::RoutedModule, module)
        }
    }

    fn entries(&self) -> Vec<Arc<Entry>> {
        self.state()
            .values()
            .flat_map(|m| m.versions.values().cloned())
            .collect()
    }
}

fn check_same(existing: &Entry, module: &WasmModule) -> Result<()> {
    if existing.digest == module.digest {
        Ok(())
    } else {
        Err(Error::conflict(
            module.reference(),
            format!(
                "loaded with digest {}, refusing other bytes ({}): versions are immutable",
                existing.digest, module.digest
            ),
        ))
    }
}

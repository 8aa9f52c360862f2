//! A simulated fleet: N in-process edge nodes behind [`NodeControl`], with
//! injectable faults (error rate and latency per version, dead nodes,
//! failed loads, lost heartbeats), all deterministic, so orchestrator tests
//! driven by a manual clock give the same event log every run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hotswap_control::NodeService;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{
    EdgeNode, Heartbeat, LoadedVersion, ModuleConfig, ModuleName, NodeCapabilities, NodeId,
    NodeStatus, Region, RouteContext, RoutingTable, RuntimeKind, Value, VersionStats, WasiVersion,
    WasmModule,
};
use hotswap_core::node::CallOutcome;
use hotswap_core::node::{Execution, NodeControl, NodeState};
use hotswap_core::repository::NodeRepository;
use hotswap_core::runtime::CallOutput;
use hotswap_core::runtime::http::{HttpCall, HttpResponse, full_body};
use hotswap_core::{Error, Result};
use semver::Version;

/// Faults to inject.
#[derive(Debug, Default)]
struct Faults {
    error_rate: BTreeMap<Version, f64>,
    node_error_rate: BTreeMap<(NodeId, Version), f64>,
    latency_us: BTreeMap<Version, u64>,
    dead: BTreeSet<NodeId>,
    silent: BTreeSet<NodeId>,
    failing_loads: BTreeMap<NodeId, u32>,
    refusing: BTreeSet<NodeId>,
    in_flight: BTreeMap<NodeId, u64>,
    corrupt: BTreeSet<NodeId>,
}

#[derive(Debug, Default)]
struct SimNode {
    loaded: BTreeMap<(ModuleName, Version), LoadedVersion>,
    routing: BTreeMap<ModuleName, RoutingTable>,
    stats: BTreeMap<(ModuleName, Version), VersionStats>,
    http: hotswap_core::domain::HttpRouteSet,
}

#[derive(Debug, Default)]
struct State {
    nodes: BTreeMap<NodeId, SimNode>,
    faults: Faults,
    load_calls: u64,
}

impl State {
    /// The simulation of `node`, or the error a caller of a dead node sees.
    fn live(&mut self, node: &EdgeNode) -> Result<&mut SimNode> {
        if self.faults.dead.contains(&node.id) {
            return Err(unreachable_node(node));
        }
        self.nodes
            .get_mut(&node.id)
            .ok_or_else(|| Error::not_found(ResourceKind::Node, node.id.to_string()))
    }
}

/// The simulated fleet; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct SimFleet {
    state: Arc<Mutex<State>>,
}

fn unreachable_node(node: &EdgeNode) -> Error {
    Error::Unavailable {
        service: format!("node {}", node.name),
        temporary: true,
        reason: "connection refused".into(),
        source: None,
    }
}

impl SimFleet {
    /// An empty fleet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `per_region` wasmtime nodes (components, WASI 1 and 0.2,
    /// 1 GiB) in each of `regions` in `repo`, healthy as of `now`, named
    /// `<region>-<n>`.
    pub async fn spawn(
        &self,
        repo: &dyn NodeRepository,
        regions: &[&str],
        per_region: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<EdgeNode>> {
        let mut out = Vec::new();
        for r in regions {
            for i in 0..per_region {
                let caps = NodeCapabilities::new(RuntimeKind::Wasmtime, 1 << 30)
                    .with_wasi(WasiVersion::Preview1)
                    .with_wasi(WasiVersion::Preview2)
                    .with_components(true);
                let mut node = EdgeNode::new(
                    format!("{r}-{i}"),
                    Region::new(*r)?,
                    format!("http://{r}-{i}.sim:8080"),
                    caps,
                    now,
                );
                node.status = NodeStatus::Healthy;
                node.last_heartbeat = Some(now);
                let node = repo.create(&node).await?;
                self.lock().nodes.insert(node.id, SimNode::default());
                out.push(node);
            }
        }
        Ok(out)
    }

    /// Calls of `version` fail at `rate` (0.0..=1.0) from now on.
    pub fn set_error_rate(&self, version: &Version, rate: f64) {
        self.lock().faults.error_rate.insert(version.clone(), rate);
    }

    /// Calls of `version` on `nodes` fail at `rate`, overriding the
    /// fleet-wide rate there.
    pub fn set_error_rate_on(&self, nodes: &[NodeId], version: &Version, rate: f64) {
        let mut state = self.lock();
        for n in nodes {
            state
                .faults
                .node_error_rate
                .insert((*n, version.clone()), rate);
        }
    }

    /// Calls of `version` take `micros` from now on (default 1 ms).
    pub fn set_latency(&self, version: &Version, micros: u64) {
        self.lock()
            .faults
            .latency_us
            .insert(version.clone(), micros);
    }

    /// Kill a node: it answers nothing and sends no heartbeats.
    pub fn kill(&self, node: NodeId) {
        self.lock().faults.dead.insert(node);
    }

    /// Bring a killed node back as it was.
    pub fn revive(&self, node: NodeId) {
        self.lock().faults.dead.remove(&node);
    }

    /// Restart a node: it comes back with nothing loaded or routed and its
    /// counters at zero.
    pub fn restart(&self, node: NodeId) {
        let mut state = self.lock();
        state.faults.dead.remove(&node);
        state.nodes.insert(node, SimNode::default());
    }

    /// The node's heartbeats stop reaching the control plane (it still
    /// answers commands).
    pub fn silence(&self, node: NodeId) {
        self.lock().faults.silent.insert(node);
    }

    /// The next `times` loads on `node` fail.
    pub fn fail_loads(&self, node: NodeId, times: u32) {
        self.lock().faults.failing_loads.insert(node, times);
    }

    /// `node` can never load the module (its runtime refuses the bytes, as
    /// for a feature it does not accept): every load is `Invalid`.
    pub fn refuse_modules(&self, node: NodeId) {
        self.lock().faults.refusing.insert(node);
    }

    /// `node` loads damaged bytes: it reports a digest other than the
    /// version's.
    pub fn corrupt_loads(&self, node: NodeId) {
        self.lock().faults.corrupt.insert(node);
    }

    /// `node` reports `calls` in flight in its heartbeats.
    pub fn set_in_flight(&self, node: NodeId, calls: u64) {
        self.lock().faults.in_flight.insert(node, calls);
    }

    /// Load commands received so far.
    pub fn load_calls(&self) -> u64 {
        self.lock().load_calls
    }

    /// The routing table `node` holds for `module`.
    pub fn routing(&self, node: NodeId, module: &ModuleName) -> Option<RoutingTable> {
        self.lock().nodes.get(&node)?.routing.get(module).cloned()
    }

    /// The versions of `module` loaded on `node`.
    pub fn loaded(&self, node: NodeId, module: &ModuleName) -> Vec<Version> {
        self.lock()
            .nodes
            .get(&node)
            .map(|n| {
                n.loaded
                    .keys()
                    .filter(|(m, _)| m == module)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The versions of `module` loaded on `node`, each with the
    /// configuration revision it was loaded with, by version.
    pub fn loaded_configs(&self, node: NodeId, module: &ModuleName) -> Vec<(Version, u64)> {
        self.lock()
            .nodes
            .get(&node)
            .map(|n| {
                n.loaded
                    .values()
                    .filter(|l| &l.module == module)
                    .map(|l| (l.version.clone(), l.config_revision))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Serve `calls` calls of `module` on every live node, split across
    /// versions exactly by its routing table's weights and bucket rules,
    /// failing and taking time as the faults say.
    pub fn traffic(&self, module: &ModuleName, calls: u64) {
        self.traffic_sampled(module, calls, 1);
    }

    /// [`SimFleet::traffic`] on every `every`-th node only (in id order).
    pub fn traffic_sampled(&self, module: &ModuleName, calls: u64, every: usize) {
        let mut state = self.lock();
        let State { nodes, faults, .. } = &mut *state;
        for (i, (id, node)) in nodes.iter_mut().enumerate() {
            if faults.dead.contains(id) || i % every.max(1) != 0 {
                continue;
            }
            let Some(table) = node.routing.get(module) else {
                continue;
            };
            for (version, share) in split(table, calls) {
                if share == 0 {
                    continue;
                }
                let rate = faults
                    .node_error_rate
                    .get(&(*id, version.clone()))
                    .or_else(|| faults.error_rate.get(&version))
                    .copied()
                    .unwrap_or(0.0);
                let errors = ((share as f64) * rate).round() as u64;
                let latency = faults.latency_us.get(&version).copied().unwrap_or(1_000);
                let stats = node
                    .stats
                    .entry((module.clone(), version.clone()))
                    .or_insert_with(|| VersionStats::new(module.clone(), version.clone()));
                stats.calls += share;
                stats.errors += errors.min(share);
                stats.traps += errors.min(share);
                stats.latency.record_n(latency, share);
            }
        }
    }

    /// Send a heartbeat from every live, heard node to `service`, with
    /// what the node has loaded and counted, sent at `now`.
    pub async fn heartbeat(&self, service: &NodeService, now: DateTime<Utc>) -> Result<()> {
        let reports: Vec<(NodeId, u64, Vec<LoadedVersion>, Vec<VersionStats>)> = {
            let state = self.lock();
            state
                .nodes
                .iter()
                .filter(|(id, _)| {
                    !state.faults.dead.contains(id) && !state.faults.silent.contains(id)
                })
                .map(|(id, n)| {
                    (
                        *id,
                        state.faults.in_flight.get(id).copied().unwrap_or(0),
                        n.loaded.values().cloned().collect(),
                        n.stats.values().cloned().collect(),
                    )
                })
                .collect()
        };
        for (id, in_flight, loaded, stats) in reports {
            let mut beat = Heartbeat::new(now);
            beat.metrics.in_flight = in_flight;
            beat.loaded = loaded;
            beat.stats = stats;
            service.heartbeat(id, beat).await?;
        }
        Ok(())
    }
}

/// How `calls` calls divide over the versions of `table`: bucket rules by
/// their width, the candidate by its weight of the rest, the stable version
/// the remainder.
fn split(table: &RoutingTable, calls: u64) -> Vec<(Version, u64)> {
    use hotswap_core::domain::RouteMatch;
    let mut out = Vec::new();
    let mut rest_percent = 100u64;
    for rule in &table.rules {
        if let RouteMatch::Buckets { from, to } = rule.when {
            let width = u64::from(to - from);
            out.push((rule.version.clone(), calls * width / 100));
            rest_percent -= width.min(rest_percent);
        }
    }
    let rest = calls - out.iter().map(|(_, n)| n).sum::<u64>();
    let candidate = table
        .candidate
        .as_ref()
        .map_or(0, |c| rest * u64::from(c.weight) / 100);
    if let Some(c) = &table.candidate {
        out.push((c.version.clone(), candidate));
    }
    if rest_percent > 0 {
        out.push((table.stable.clone(), rest - candidate));
    }
    out
}

#[async_trait]
impl NodeControl for SimFleet {
    async fn load(
        &self,
        node: &EdgeNode,
        module: &WasmModule,
        config: &ModuleConfig,
    ) -> Result<LoadedVersion> {
        let mut state = self.lock();
        state.load_calls += 1;
        state.live(node)?;
        if state.faults.refusing.contains(&node.id) {
            return Err(Error::invalid(
                "wasm",
                format!(
                    "node {} cannot load {}@{}: gc types are disallowed",
                    node.name, module.name, module.version
                ),
            ));
        }
        if let Some(left) = state.faults.failing_loads.get_mut(&node.id)
            && *left > 0
        {
            *left -= 1;
            return Err(Error::internal(format!(
                "{} could not compile the module",
                node.name
            )));
        }
        let digest = if state.faults.corrupt.contains(&node.id) {
            hotswap_core::domain::Digest::of(b"damaged in transit")
        } else {
            module.digest
        };
        let sim = state.live(node)?;
        let loaded = LoadedVersion {
            module: module.name.clone(),
            version: module.version.clone(),
            digest,
            config_revision: config.revision,
        };
        sim.loaded.insert(
            (module.name.clone(), module.version.clone()),
            loaded.clone(),
        );
        Ok(loaded)
    }

    async fn unload(&self, node: &EdgeNode, module: &ModuleName, version: &Version) -> Result<()> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        if sim
            .routing
            .get(module)
            .is_some_and(|t| t.versions().contains(&version))
        {
            return Err(Error::conflict(
                format!("{module}@{version}"),
                "the routing table still sends calls to it",
            ));
        }
        sim.loaded.remove(&(module.clone(), version.clone()));
        Ok(())
    }

    async fn apply_routing(&self, node: &EdgeNode, table: &RoutingTable) -> Result<()> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        table.validate()?;
        for v in table.versions() {
            if !sim.loaded.contains_key(&(table.module.clone(), v.clone())) {
                return Err(Error::invalid(
                    "table",
                    format!("{}@{v} is not loaded on {}", table.module, node.name),
                ));
            }
        }
        if let Some(held) = sim.routing.get(&table.module)
            && (held.revision > table.revision
                || (held.revision == table.revision && held != table))
        {
            return Err(Error::conflict(
                format!("routing of {}", table.module),
                format!(
                    "revision {} is not newer than {}",
                    table.revision, held.revision
                ),
            ));
        }
        sim.routing.insert(table.module.clone(), table.clone());
        Ok(())
    }

    async fn execute(&self, node: &EdgeNode, execution: &Execution) -> Result<CallOutcome> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        let table = sim
            .routing
            .get(&execution.module)
            .ok_or_else(|| Error::not_found(ResourceKind::Module, execution.module.to_string()))?;
        let ctx = RouteContext {
            key: execution.key.as_deref(),
            pin: execution.pin.as_ref(),
            ..RouteContext::default()
        };
        let (version, reason) = table.choose(&ctx)?;
        Ok(CallOutcome::new(
            version.clone(),
            reason,
            CallOutput::from_values(vec![
                Value::String(node.name.clone()),
                Value::String(version.to_string()),
            ]),
        ))
    }

    async fn state(&self, node: &EdgeNode) -> Result<NodeState> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        let mut out = NodeState::default();
        out.loaded = sim.loaded.values().cloned().collect();
        out.routing = sim.routing.values().cloned().collect();
        out.stats = sim.stats.values().cloned().collect();
        out.http_routes = sim.http.revision;
        Ok(out)
    }

    async fn apply_http_routes(
        &self,
        node: &EdgeNode,
        set: &hotswap_core::domain::HttpRouteSet,
    ) -> Result<()> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        set.validate()?;
        if set.revision < sim.http.revision {
            return Err(Error::conflict(
                "http routes",
                format!(
                    "revision {} is older than {}",
                    set.revision, sim.http.revision
                ),
            ));
        }
        sim.http = set.clone();
        Ok(())
    }

    /// Answers `200` with `"<node> <version>"`, routed as a real node
    /// routes: host and path to module, then the module's table.
    async fn serve_http(&self, node: &EdgeNode, call: HttpCall) -> Result<HttpResponse> {
        let mut state = self.lock();
        let sim = state.live(node)?;
        let routes = hotswap_core::domain::HttpRouteTable::new(&sim.http)?;
        let route = routes.route_of(&call.request)?;
        let table = sim
            .routing
            .get(&route.module)
            .ok_or_else(|| Error::not_found(ResourceKind::RoutedModule, &route.module))?;
        let (version, _) = table.choose(&RouteContext::default())?;
        Ok(http::Response::new(full_body(format!(
            "{} {version}",
            node.name
        ))))
    }
}

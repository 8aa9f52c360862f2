//! Many edge agents in one process. Each is a real `EdgeHost` and
//! `EdgeAgent` (on [`NoWasmRuntime`]) served by the real agent router on a
//! loopback port of its own, registering and heartbeating through the real
//! `HeartbeatLoop`. A probe layer on each router marks when a node took a
//! routing table or a version, so a harness sees a step reach its last
//! node without polling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::Request;
use axum::middleware::{self, Next};
use hotswap_core::domain::{NodeCapabilities, NodeMetrics, Region};
use hotswap_core::runtime::RuntimeHost;
use hotswap_core::{Error, Result};
use hotswap_edge::{EdgeAgent, EdgeHost, EdgeHostConfig};
use hotswap_http::agent::{self, AgentState, HeartbeatLoop, NodeMetricsSource};
use hotswap_http::auth::{AuthConfig, Authenticator, Role, TokenSigner, TokenSource, VerifyKey};
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_http::server::{self, ServerLimits};
use hotswap_http::system::Metrics;
use hotswap_http::wire::RegisterNode;

use crate::NoWasmRuntime;

/// How many agents, where their control plane is, how they report.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AgentsConfig {
    /// How many agents.
    pub count: usize,
    /// The control plane's URL (or its replicas' URLs).
    pub control_planes: Vec<String>,
    /// The HS256 secret tokens are signed and checked with.
    pub secret: String,
    /// Time between a node's heartbeats.
    pub heartbeat: Duration,
    /// Agents start (register, then heartbeat) spread evenly over this, as
    /// a fleet's nodes do, rather than all at once.
    pub ramp: Duration,
    /// Regions the agents are spread over (`region-0`, ...).
    pub regions: usize,
}

impl AgentsConfig {
    /// `count` agents of `control_plane`, heartbeating every `heartbeat`,
    /// started over one heartbeat interval, in 4 regions.
    pub fn new(count: usize, control_plane: &str, secret: &str, heartbeat: Duration) -> Self {
        Self {
            count,
            control_planes: vec![control_plane.to_owned()],
            secret: secret.to_owned(),
            heartbeat,
            ramp: heartbeat,
            regions: 4,
        }
    }
}

/// When each agent last took a routing table and a version, and how many
/// heartbeats all agents sent. Times are microseconds since the harness
/// started (0: never).
#[derive(Debug)]
pub struct Marks {
    epoch: Instant,
    epoch_wall: SystemTime,
    routed: Vec<AtomicU64>,
    loaded: Vec<AtomicU64>,
    heartbeats: AtomicU64,
}

impl Marks {
    fn new(count: usize) -> Self {
        Self {
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
            routed: (0..count).map(|_| AtomicU64::new(0)).collect(),
            loaded: (0..count).map(|_| AtomicU64::new(0)).collect(),
            heartbeats: AtomicU64::new(0),
        }
    }

    /// Now, in the marks' time.
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The wall-clock time of mark `at`.
    pub fn wall_time(&self, at: u64) -> SystemTime {
        self.epoch_wall + Duration::from_micros(at)
    }

    /// How many agents took a routing table after `since`, and when the
    /// last of them did.
    pub fn routed_after(&self, since: u64) -> (usize, u64) {
        after(&self.routed, since)
    }

    /// How many agents loaded a version after `since`, and when the last
    /// of them did.
    pub fn loaded_after(&self, since: u64) -> (usize, u64) {
        after(&self.loaded, since)
    }

    /// Heartbeats sent so far by every agent.
    pub fn heartbeats(&self) -> u64 {
        self.heartbeats.load(Ordering::Relaxed)
    }
}

fn after(marks: &[AtomicU64], since: u64) -> (usize, u64) {
    marks
        .iter()
        .map(|m| m.load(Ordering::Relaxed))
        .filter(|&t| t > since)
        .fold((0, since), |(n, last), t| (n + 1, last.max(t)))
}

/// Counts heartbeats; reports an idle node.
#[derive(Debug)]
struct Counting(Arc<Marks>);

impl NodeMetricsSource for Counting {
    fn sample(&self) -> NodeMetrics {
        self.0.heartbeats.fetch_add(1, Ordering::Relaxed);
        let mut metrics = NodeMetrics::default();
        metrics.memory_total_bytes = 1 << 30;
        metrics
    }
}

/// Running agents; dropping this stops them.
#[derive(Debug)]
pub struct Agents {
    /// The agents' edge hosts, in order (`node-00000`, ...).
    pub hosts: Vec<Arc<EdgeHost>>,
    /// When each took what.
    pub marks: Arc<Marks>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Agents {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The name of agent `i`.
pub fn node_name(i: usize) -> String {
    format!("node-{i:05}")
}

impl Agents {
    /// Start `config.count` agents: each listens on a loopback port of its
    /// own and starts registering at its place in the ramp.
    pub async fn start(config: &AgentsConfig) -> Result<Agents> {
        if config.count == 0 || config.control_planes.is_empty() || config.regions == 0 {
            return Err(Error::invalid(
                "agents",
                "need at least one agent, control plane and region",
            ));
        }
        let marks = Arc::new(Marks::new(config.count));
        let auth: Arc<Authenticator> = Arc::new(
            AuthConfig::new()
                .with_key(VerifyKey::Hs256 {
                    kid: None,
                    secret: config.secret.as_bytes().to_vec(),
                })
                .build()?,
        );
        let signer = TokenSigner::hs256(config.secret.as_bytes())?;
        // One client (one connection pool) per control-plane replica for
        // every agent's heartbeats, each agent with a token of its own.
        let clients = config
            .control_planes
            .iter()
            .map(|url| ControlPlaneClient::new(url, TokenSource::None, ClientConfig::default()))
            .collect::<Result<Vec<_>>>()?;
        let limits = ServerLimits::default();
        let routes = agent::unstated_router(limits);
        let runtime: Arc<dyn RuntimeHost> = Arc::new(NoWasmRuntime);
        let caps = NodeCapabilities::of_runtime(&runtime.capabilities(), 1 << 30);
        let regions: Vec<Region> = (0..config.regions)
            .map(|r| Region::new(format!("region-{r}")))
            .collect::<Result<_>>()?;
        let step = config.ramp / u32::try_from(config.count).unwrap_or(u32::MAX);
        let mut out = Agents {
            hosts: Vec::with_capacity(config.count),
            marks: marks.clone(),
            tasks: Vec::with_capacity(2 * config.count),
        };
        for i in 0..config.count {
            let name = node_name(i);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| Error::unavailable("loopback", false, e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| Error::unavailable("loopback", false, e))?;
            let host = Arc::new(EdgeHost::new(
                runtime.clone(),
                EdgeHostConfig::default().with_node_name(name.clone()),
            ));
            let agent = Arc::new(EdgeAgent::new(host.clone(), None));
            let state = AgentState {
                name: name.clone().into(),
                agent: agent.clone(),
                auth: auth.clone(),
                metrics: Metrics::none(),
            };
            let probe = marks.clone();
            let app = server::harden(routes.clone().with_state(state), limits).layer(
                middleware::from_fn(move |req: Request, next: Next| {
                    let probe = probe.clone();
                    async move { mark(&probe, i, req, next).await }
                }),
            );
            out.tasks.push(tokio::spawn(async move {
                let _ = server::serve(listener, app, std::future::pending()).await;
            }));
            let registration = RegisterNode {
                name,
                region: regions[i % regions.len()].clone(),
                zone: None,
                labels: Default::default(),
                endpoint: format!("http://{addr}"),
                ingress: None,
                capabilities: caps.clone(),
            };
            let token = TokenSource::Static(signer.issue(
                &registration.name,
                &[Role::Node],
                Duration::from_secs(24 * 3600),
            )?);
            let mut beats = HeartbeatLoop::new(
                clients[0].with_token(token.clone()),
                agent,
                registration,
                Arc::new(Counting(marks.clone())),
            )
            .with_interval(config.heartbeat);
            for c in &clients[1..] {
                beats = beats.with_replica(c.with_token(token.clone()));
            }
            let start = step * u32::try_from(i).unwrap_or(u32::MAX);
            out.tasks.push(tokio::spawn(async move {
                tokio::time::sleep(start).await;
                beats.run().await;
            }));
            out.hosts.push(host);
        }
        Ok(out)
    }
}

/// Record when agent `i` answered a routing table or a load with success.
async fn mark(marks: &Marks, i: usize, req: Request, next: Next) -> axum::response::Response {
    let path = req.uri().path();
    let slot = match (req.method().as_str(), path) {
        ("PUT", "/agent/v1/routing") => Some(&marks.routed[i]),
        ("POST", "/agent/v1/versions") => Some(&marks.loaded[i]),
        _ => None,
    };
    let resp = next.run(req).await;
    if let Some(slot) = slot
        && resp.status().is_success()
    {
        slot.store(marks.now(), Ordering::Relaxed);
    }
    resp
}

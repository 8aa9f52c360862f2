//! One measured run against a control plane: the agents register, the
//! fleet heartbeats for a window, then a first deployment and a canary
//! roll out over every node, each step promoted by the harness so that
//! what is measured is the control plane applying it, not a strategy's
//! evaluation period.

use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use hotswap_core::domain::{DeploymentId, DeploymentPhase, ModuleDeployment, NodeStatus};
use hotswap_core::{Error, Result};
use hotswap_http::auth::{Role, TokenSigner, TokenSource};
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_http::wire::{CreateDeployment, ModuleMetadata, NodeListQuery, PromoteRequest};
use serde::Serialize;
use serde_json::json;

use crate::agents::{Agents, Marks};
use crate::process;

/// What a run measured.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Figures {
    /// Nodes in the fleet.
    pub nodes: usize,
    /// Heartbeat interval of every node, seconds.
    pub heartbeat_secs: f64,
    /// From the first agent's start to every node healthy, seconds (the
    /// agents start spread over `ramp`).
    pub all_healthy_secs: f64,
    /// The heartbeat window.
    pub heartbeats: HeartbeatFigures,
    /// Each rollout phase, in order.
    pub phases: Vec<PhaseFigures>,
    /// The control plane's resident memory at the end, bytes.
    pub control_plane_rss_bytes: u64,
    /// The harness's resident memory per node, bytes.
    pub harness_rss_per_node_bytes: u64,
}

/// A window with nothing but heartbeats.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct HeartbeatFigures {
    /// Its length, seconds.
    pub window_secs: f64,
    /// Heartbeats the agents sent per second.
    pub per_sec: f64,
    /// The control plane's CPU, percent of one core.
    pub control_plane_cpu_percent: f64,
    /// Its CPU time per heartbeat, microseconds.
    pub control_plane_cpu_us_per_heartbeat: f64,
    /// PostgreSQL's CPU (every `postgres` process), percent of one core.
    pub database_cpu_percent: f64,
}

/// One phase of a rollout: a version loaded on every node, or a routing
/// step applied to every node.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct PhaseFigures {
    /// What it was (`load 2.0.0`, `route 50 %`).
    pub what: String,
    /// Nodes it reached.
    pub nodes: usize,
    /// From the control plane's decision (its event) to the last node,
    /// seconds.
    pub decision_to_last_node_secs: f64,
    /// The control plane's CPU time over the phase divided by the nodes,
    /// microseconds.
    pub control_plane_cpu_us_per_node: f64,
}

/// A control plane under test and the fleet harness in front of it.
#[derive(Debug)]
pub struct Scenario {
    /// An admin client of the control plane.
    pub client: ControlPlaneClient,
    /// The control plane's process.
    pub control_plane_pid: u32,
    /// The agents.
    pub agents: Agents,
    /// Their heartbeat interval.
    pub heartbeat: Duration,
}

const MODULE: &str = "calc";

impl Scenario {
    /// A scenario of `agents` in front of the control plane at `url`
    /// (process `pid`), acting as an admin with a token signed by
    /// `secret`.
    pub fn new(
        url: &str,
        pid: u32,
        secret: &str,
        agents: Agents,
        heartbeat: Duration,
    ) -> Result<Self> {
        let admin = TokenSigner::hs256(secret.as_bytes())?.issue(
            "fleet-harness",
            &[Role::Admin],
            Duration::from_secs(24 * 3600),
        )?;
        let client = ControlPlaneClient::new(
            url,
            TokenSource::Static(admin),
            ClientConfig::default().with_timeout(Duration::from_secs(300)),
        )?;
        Ok(Self {
            client,
            control_plane_pid: pid,
            agents,
            heartbeat,
        })
    }
}

/// A core module distinct per `version` (its constant differs).
fn module_bytes(version: i32) -> Result<Vec<u8>> {
    wat::parse_str(format!(
        r#"(module (func (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.add i32.const {version} i32.add))"#
    ))
    .map_err(|e| Error::internal(format!("fixture: {e}")))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Scenario {
    fn marks(&self) -> &Marks {
        &self.agents.marks
    }

    fn nodes(&self) -> usize {
        self.agents.hosts.len()
    }

    fn cpu(&self) -> Duration {
        process::cpu_time(self.control_plane_pid).unwrap_or_default()
    }

    /// How many registered nodes are healthy.
    pub async fn healthy(&self) -> Result<usize> {
        let mut query = NodeListQuery {
            status: Some(NodeStatus::Healthy),
            limit: Some(500),
            ..NodeListQuery::default()
        };
        let mut n = 0;
        loop {
            let page = self.client.list_nodes(&query).await?;
            n += page.items.len();
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => return Ok(n),
            }
        }
    }

    /// Wait until every node is healthy; how long it took from `started`.
    pub async fn wait_healthy(&self, started: Instant, limit: Duration) -> Result<Duration> {
        loop {
            let healthy = self.healthy().await?;
            if healthy >= self.nodes() {
                return Ok(started.elapsed());
            }
            eprintln!("{healthy} of {} nodes healthy", self.nodes());
            if started.elapsed() > limit {
                return Err(Error::unavailable(
                    "fleet",
                    true,
                    format!(
                        "only {} of {} nodes healthy after {limit:?}",
                        self.healthy().await?,
                        self.nodes()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Measure `window` of heartbeats alone.
    pub async fn heartbeat_window(&self, window: Duration) -> HeartbeatFigures {
        let (beats, cpu, db) = (
            self.marks().heartbeats(),
            self.cpu(),
            process::cpu_time_of_all("postgres"),
        );
        let start = Instant::now();
        tokio::time::sleep(window).await;
        let took = start.elapsed();
        let beats = self.marks().heartbeats() - beats;
        let cpu = self.cpu().saturating_sub(cpu);
        let db = process::cpu_time_of_all("postgres").saturating_sub(db);
        HeartbeatFigures {
            window_secs: secs(took),
            per_sec: beats as f64 / secs(took),
            control_plane_cpu_percent: 100.0 * secs(cpu) / secs(took),
            control_plane_cpu_us_per_heartbeat: 1e6 * secs(cpu) / (beats.max(1) as f64),
            database_cpu_percent: 100.0 * secs(db) / secs(took),
        }
    }

    /// Register `calc@version`.
    async fn push(&self, version: i32) -> Result<()> {
        let meta = ModuleMetadata {
            name: MODULE.into(),
            version: format!("{version}.0.0"),
            ..ModuleMetadata::default()
        };
        self.client
            .upload_module(&meta, module_bytes(version)?.into())
            .await
            .map(drop)
    }

    async fn create(&self, version: i32, steps: &[u8]) -> Result<ModuleDeployment> {
        let req: CreateDeployment = serde_json::from_value(json!({
            "module": MODULE,
            "to_version": format!("{version}.0.0"),
            "start": true,
            // Promoted by the harness: the period only keeps the strategy
            // from moving on by itself.
            "strategy": {"type": "canary", "steps": steps, "evaluation_period_secs": 3600},
        }))
        .map_err(|e| Error::internal(e.to_string()))?;
        self.client.create_deployment(&req).await
    }

    /// When the control plane decided what reached the nodes: the time of
    /// the `nth` event of `kinds` in the deployment's log, once stored (a
    /// decision is stored when it has reached every node).
    async fn decided_at(
        &self,
        id: DeploymentId,
        kinds: &[&str],
        nth: usize,
    ) -> Result<DateTime<Utc>> {
        for _ in 0..3000 {
            let view = self.client.deployment(id).await?;
            let events =
                serde_json::to_value(&view.events).map_err(|e| Error::internal(e.to_string()))?;
            let at = events
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| kinds.iter().any(|k| e["kind"] == *k))
                .nth(nth)
                .and_then(|e| e["at"].as_str()?.parse().ok());
            if let Some(at) = at {
                return Ok(at);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::internal(format!(
            "no event {nth} of {kinds:?} in deployment {id}"
        )))
    }

    /// Wait until every node has marked something after `since` (by
    /// `count`), then measure the phase from the decision that sent it:
    /// event `nth` of `kinds` of deployment `id`.
    async fn phase(
        &self,
        what: String,
        (since, cpu_before): (u64, Duration),
        count: impl Fn(&Marks, u64) -> (usize, u64),
        (id, kinds, nth): (DeploymentId, &[&str], usize),
        limit: Duration,
    ) -> Result<PhaseFigures> {
        let start = Instant::now();
        let (reached, last) = loop {
            let (n, last) = count(self.marks(), since);
            if n >= self.nodes() {
                break (n, last);
            }
            if start.elapsed() > limit {
                return Err(Error::unavailable(
                    "fleet",
                    true,
                    format!("{what}: {n} of {} nodes after {limit:?}", self.nodes()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let cpu = self.cpu().saturating_sub(cpu_before);
        let last_at = self.marks().wall_time(last);
        let decided: SystemTime = self.decided_at(id, kinds, nth).await?.into();
        let took = last_at.duration_since(decided).unwrap_or_default();
        eprintln!("{what}: {reached} nodes, {took:?} after the decision");
        Ok(PhaseFigures {
            what,
            nodes: reached,
            decision_to_last_node_secs: secs(took),
            control_plane_cpu_us_per_node: 1e6 * secs(cpu) / reached as f64,
        })
    }

    fn mark(&self) -> (u64, Duration) {
        (self.marks().now(), self.cpu())
    }

    /// A first deployment of 1.0.0, then a canary of 2.0.0 through
    /// `steps` (ending at 100), each step promoted once the previous one
    /// reached every node. `limit` bounds each phase.
    pub async fn rollout(&self, steps: &[u8], limit: Duration) -> Result<Vec<PhaseFigures>> {
        self.push(1).await?;
        self.push(2).await?;
        let mut phases = Vec::new();

        const ROUTED: &[&str] = &["traffic_shifted", "step_started"];
        let start = self.mark();
        let first = self.create(1, &[100]).await?;
        // From its first decision (the loads) to the last node routed.
        let what = "first deployment 1.0.0, loaded and routed".to_owned();
        let loads = &["health_evaluated"];
        phases.push(
            self.phase(
                what,
                start,
                Marks::routed_after,
                (first.id, loads, 0),
                limit,
            )
            .await?,
        );
        self.wait_finished(first.id, limit).await?;
        let start = self.mark();
        let canary = self.create(2, steps).await?;
        let what = "load 2.0.0".to_owned();
        phases.push(
            self.phase(
                what,
                start,
                Marks::loaded_after,
                (canary.id, loads, 0),
                limit,
            )
            .await?,
        );
        for (i, weight) in steps.iter().enumerate() {
            // The first step is routed when the canary sees the loads
            // landed (its own recheck), the later ones on promotion.
            let start = self.mark();
            if i > 0 {
                self.client
                    .promote(canary.id, &PromoteRequest::default())
                    .await?;
            }
            let what = format!("route {weight} % to 2.0.0");
            phases.push(
                self.phase(
                    what,
                    start,
                    Marks::routed_after,
                    (canary.id, ROUTED, i),
                    limit,
                )
                .await?,
            );
        }
        let done = self.wait_finished(canary.id, limit).await?;
        if done.phase != DeploymentPhase::Succeeded {
            return Err(Error::internal(format!(
                "the canary ended {:?}: {}",
                done.phase, done.reason.message
            )));
        }
        Ok(phases)
    }

    /// Wait until deployment `id` has finished (its last decision is
    /// stored once it reached every node).
    async fn wait_finished(&self, id: DeploymentId, limit: Duration) -> Result<ModuleDeployment> {
        let start = Instant::now();
        loop {
            let d = self.client.deployment(id).await?.deployment;
            if d.phase.is_terminal() {
                return Ok(d);
            }
            if start.elapsed() > limit {
                return Err(Error::unavailable(
                    "fleet",
                    true,
                    format!("deployment {id} is still {:?} after {limit:?}", d.phase),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The whole run: healthy fleet, a heartbeat `window`, the rollout.
    pub async fn run(&self, started: Instant, window: Duration, steps: &[u8]) -> Result<Figures> {
        let limit = Duration::from_secs(600);
        let all_healthy = self.wait_healthy(started, limit).await?;
        eprintln!("{} nodes healthy after {all_healthy:?}", self.nodes());
        let heartbeats = self.heartbeat_window(window).await;
        eprintln!("heartbeat window measured: {heartbeats:?}");
        let phases = self.rollout(steps, limit).await?;
        let harness = process::rss_bytes(std::process::id()).unwrap_or_default();
        Ok(Figures {
            nodes: self.nodes(),
            heartbeat_secs: secs(self.heartbeat),
            all_healthy_secs: secs(all_healthy),
            heartbeats,
            phases,
            control_plane_rss_bytes: process::rss_bytes(self.control_plane_pid).unwrap_or_default(),
            harness_rss_per_node_bytes: harness / self.nodes() as u64,
        })
    }
}

impl Figures {
    /// The figures as a Markdown table.
    pub fn markdown(&self) -> String {
        let h = &self.heartbeats;
        let mut out = format!(
            "{} nodes, heartbeat every {} s: all healthy after {:.1} s\n\n\
             | heartbeats | per second | control plane CPU | per heartbeat | PostgreSQL CPU |\n\
             |---|---|---|---|---|\n\
             | {:.0} s window | {:.1} | {:.1} % of a core | {:.0} µs | {:.1} % of a core |\n\n\
             | phase | nodes | decision to last node | control-plane CPU per node |\n\
             |---|---|---|---|\n",
            self.nodes,
            self.heartbeat_secs,
            self.all_healthy_secs,
            h.window_secs,
            h.per_sec,
            h.control_plane_cpu_percent,
            h.control_plane_cpu_us_per_heartbeat,
            h.database_cpu_percent,
        );
        for p in &self.phases {
            out.push_str(&format!(
                "| {} | {} | {:.2} s | {:.0} µs |\n",
                p.what, p.nodes, p.decision_to_last_node_secs, p.control_plane_cpu_us_per_node
            ));
        }
        out.push_str(&format!(
            "\ncontrol plane resident memory {:.0} MiB; harness {:.1} KiB per node\n",
            self.control_plane_rss_bytes as f64 / (1 << 20) as f64,
            self.harness_rss_per_node_bytes as f64 / 1024.0
        ));
        out
    }
}

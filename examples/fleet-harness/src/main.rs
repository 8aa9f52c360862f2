//! `hotswap-fleet`: start a `hotswap control-plane` on PostgreSQL, put N
//! harness agents in front of it, and measure registration, heartbeat
//! ingest and a rollout over every node; for each `--nodes`, a Markdown
//! table on stdout and the figures as JSON lines in `--out`.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Parser;
use fleet_harness::{Agents, AgentsConfig, ControlPlane, ControlPlaneConfig, Figures, Scenario};

type AnyResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const SECRET: &str = "the fleet harness's secret, long enough for HS256";

#[derive(Debug, Parser)]
#[command(about = "Measure a hotswap control plane in front of thousands of edge agents")]
struct Args {
    /// The `hotswap` binary.
    #[arg(long)]
    hotswap: String,
    /// PostgreSQL; each run gets a schema of its own.
    #[arg(long, env = "HOTSWAP_DATABASE_URL")]
    database_url: String,
    /// Fleet sizes, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    nodes: Vec<usize>,
    /// Seconds between each node's heartbeats.
    #[arg(long, default_value_t = 30)]
    heartbeat_secs: u64,
    /// Seconds the agents' starts are spread over (one heartbeat interval
    /// by default).
    #[arg(long)]
    ramp_secs: Option<u64>,
    /// Seconds of heartbeats alone that are measured.
    #[arg(long, default_value_t = 60)]
    window_secs: u64,
    /// The canary's steps, ending at 100.
    #[arg(long, value_delimiter = ',', default_value = "10,50,100")]
    steps: Vec<u8>,
    /// Append each run's figures, one JSON object per line, to this file.
    #[arg(long)]
    out: Option<String>,
    /// More options for `hotswap control-plane` (after `--`).
    #[arg(last = true)]
    control_plane_args: Vec<String>,
}

async fn run_one(args: &Args, nodes: usize) -> AnyResult<Figures> {
    let dir = std::env::temp_dir().join(format!("hotswap-fleet-{}-{nodes}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut config = ControlPlaneConfig::new(
        &args.hotswap,
        &args.database_url,
        format!("fleet_{nodes}_{}", std::process::id()),
        dir.join("blobs").display().to_string(),
        SECRET,
    );
    config.heartbeat_secs = args.heartbeat_secs;
    config.args = args.control_plane_args.clone();
    let cp = ControlPlane::start(&config).await?;
    let heartbeat = Duration::from_secs(args.heartbeat_secs);
    let mut fleet = AgentsConfig::new(nodes, &cp.url, SECRET, heartbeat);
    fleet.ramp = args.ramp_secs.map_or(heartbeat, Duration::from_secs);
    let started = Instant::now();
    let agents = Agents::start(&fleet).await?;
    let scenario = Scenario::new(&cp.url, cp.pid(), SECRET, agents, heartbeat)?;
    let window = Duration::from_secs(args.window_secs);
    let figures = scenario.run(started, window, &args.steps).await?;
    drop(scenario);
    drop(cp);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

#[tokio::main]
async fn main() -> AnyResult<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    for &nodes in &args.nodes {
        let figures = run_one(&args, nodes).await?;
        println!("{}", figures.markdown());
        if let Some(out) = &args.out {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out)?;
            writeln!(file, "{}", serde_json::to_string(&figures)?)?;
        }
    }
    Ok(())
}

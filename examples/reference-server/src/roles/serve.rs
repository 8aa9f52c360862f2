//! `hotswap serve`: a control plane and one local edge node in one
//! process, on SQLite and a folder under the data directory. The local
//! node is driven in process; its agent API is served beside the
//! control-plane API, its HTTP ingress on an address of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hotswap_control::ControlPlane;
use hotswap_core::domain::{EdgeNode, NodeCapabilities, Region};
use hotswap_edge::{EdgeAgent, EdgeHost, EdgeHostConfig, LocalNodes};
use hotswap_http::agent::{AgentState, NodeMetricsSource};
use hotswap_http::api::ApiState;
use hotswap_http::auth::Role;
use hotswap_http::server::{self, ServerLimits};

use super::{http_routing, listen, spawn_control_loop, start_ingress};
use crate::AppResult;
use crate::assemble;
use crate::cli::{RuntimeChoice, ServeArgs, StorageArgs};
use crate::node_metrics::ProcMetrics;
use crate::telemetry;

/// Where `serve` keeps its data unless told otherwise.
pub(crate) const DEFAULT_DATA_DIR: &str = "./hotswap-data";
/// Where it listens unless told otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:7070";
/// Where its HTTP ingress listens unless told otherwise.
pub(crate) const DEFAULT_INGRESS: &str = "127.0.0.1:7080";
/// The name of the local edge node.
const LOCAL_NODE: &str = "local";
/// Seconds between the local node's heartbeats unless told otherwise.
const LOCAL_HEARTBEAT_SECS: u64 = 2;
/// How long the printed development admin token lasts.
const DEV_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The development secret in `dir`, created (random, mode 0600) when missing.
fn dev_secret(dir: &Path) -> AppResult<Vec<u8>> {
    let path = dir.join("dev-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    let secret: String = (0..48).map(|_| fastrand::alphanumeric()).collect();
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

/// The path of the secrets key in `dir`, created (random, mode 0600)
/// when missing.
fn dev_secrets_key(dir: &Path) -> AppResult<PathBuf> {
    let path = dir.join("secrets.key");
    if !path.exists() {
        write_private(&path, &hotswap_core::secrets::SecretsKey::generate_hex())?;
    }
    Ok(path)
}

fn write_private(path: &Path, text: &str) -> AppResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())?;
    Ok(())
}

pub(crate) async fn run(args: ServeArgs) -> AppResult<()> {
    let telemetry = telemetry::init("hotswap-serve", true, "info")?;
    let data: PathBuf = args
        .data_dir
        .clone()
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    std::fs::create_dir_all(&data)?;
    let fallback = dev_secret(&data)?;
    let secret = assemble::secret(&args.auth, Some(&fallback))?;
    let auth = assemble::authenticator(&args.auth, secret.as_deref())?;
    let signer = assemble::signer(&args.auth, secret.as_deref())?
        .ok_or("serve needs a secret or signing key")?;

    let db = assemble::database(&data.join("hotswap.db").to_string_lossy(), None, None).await?;
    let storage = assemble::storage(&StorageArgs::default(), Some(&data.join("modules")))?
        .ok_or("no storage")?;

    let choice = args.runtime.unwrap_or(RuntimeChoice::Wasmtime);
    let runtime = assemble::runtime(choice, Some(data.join("artifacts")))?;
    let caps = runtime.capabilities();
    let keyvalue =
        assemble::keyvalue(args.keyvalue.as_deref(), Some(&data.join("keyvalue.redb"))).await?;
    let mut host = EdgeHost::new(
        runtime,
        EdgeHostConfig::default()
            .with_node_name(LOCAL_NODE)
            .with_http_routing(http_routing(&args.ingress)?),
    );
    if let Some(store) = &keyvalue {
        host = host.with_keyvalue(store.clone());
    }
    let host = Arc::new(host);
    let secrets_key = match &args.secrets_key_file {
        Some(path) => assemble::secrets_key(Some(path))?,
        None => assemble::secrets_key(Some(&dev_secrets_key(&data)?))?,
    }
    .ok_or("no secrets key")?;
    let agent = Arc::new(
        EdgeAgent::new(host.clone(), Some(storage.clone())).with_secrets_key(secrets_key.clone()),
    );
    let ingress = start_ingress(&args.ingress, Some(DEFAULT_INGRESS), host).await?;
    let local = LocalNodes::new();
    local.insert(LOCAL_NODE, agent.clone());

    // The local node heartbeats in process, so often is cheap, and short
    // evaluation periods work.
    let mut timing = args.timing.clone();
    timing.heartbeat_secs = timing.heartbeat_secs.or(Some(LOCAL_HEARTBEAT_SECS));
    let config = assemble::control_plane_config("serve", &timing)?.with_secrets_key(secrets_key);
    let config = assemble::delivery(config, &args.delivery)?;
    let backends = assemble::sql_backends(&db, storage, Arc::new(local));
    let plane = Arc::new(ControlPlane::new(backends, config));

    let listener = listen(args.listen.as_deref().unwrap_or(DEFAULT_LISTEN)).await?;
    let addr = listener.local_addr()?;
    let mut capabilities =
        NodeCapabilities::of_runtime(&caps, ProcMetrics::total_memory_bytes().unwrap_or(1 << 30));
    capabilities.keyvalue = keyvalue.as_ref().map(|s| s.backend().to_owned());
    capabilities.secrets = true;
    let mut node = EdgeNode::new(
        LOCAL_NODE,
        Region::new(LOCAL_NODE)?,
        format!("http://{addr}"),
        capabilities,
        plane.now(),
    );
    node.ingress = ingress.as_ref().map(|i| i.url.clone());
    let node = plane.node_service().join(node).await?;
    plane.control_loop().reconcile(&node).await?;

    // The local node's heartbeats go straight to the node service.
    let metrics = ProcMetrics::new();
    let (service, beating, node_id) = (plane.node_service().clone(), agent.clone(), node.id);
    let interval = service.config().heartbeat_interval;
    tokio::spawn(async move {
        loop {
            let beat = beating.heartbeat(chrono::Utc::now(), metrics.sample());
            if let Err(e) = service.heartbeat(node_id, beat).await {
                tracing::warn!(error = %e, "local heartbeat failed");
            }
            tokio::time::sleep(interval).await;
        }
    });
    let loop_task = spawn_control_loop(&plane);

    let token = signer.issue("dev-admin", &[Role::Admin], DEV_TOKEN_TTL)?;
    write_private(&data.join("admin-token"), &token)?;
    let limits = ServerLimits::default();
    let app = hotswap_http::combined_router(
        ApiState {
            plane: plane.clone(),
            auth: auth.clone(),
            metrics: telemetry.metrics(),
        },
        AgentState {
            name: LOCAL_NODE.into(),
            agent: agent.clone(),
            auth,
            metrics: telemetry.metrics(),
        },
        limits,
    );
    println!("hotswap serving on http://{addr}");
    println!("web console on http://{addr}/ui/ (sign in with the token below)");
    if let Some(i) = &ingress {
        println!("HTTP ingress on {}", i.url);
    }
    println!("data in {}", data.display());
    println!(
        "development admin token (also in {}):",
        data.join("admin-token").display()
    );
    println!("export HOTSWAP_URL=http://{addr} HOTSWAP_TOKEN={token}");
    server::serve(listener, app, server::shutdown_signal()).await?;
    agent.drain();
    if let Some(i) = ingress {
        i.task.await??;
    }
    loop_task.abort();
    telemetry.shutdown();
    Ok(())
}

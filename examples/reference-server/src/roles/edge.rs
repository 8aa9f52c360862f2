//! `hotswap edge`: an edge node. It serves its agent API, fetches module
//! blobs from storage when it has one (else the control plane hands them
//! over), registers with the control plane and heartbeats; with
//! `--ingress` it serves wasi:http components on their HTTP routes. On SIGTERM it
//! reports itself draining, lets calls in flight finish, and stops.

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::domain::{NodeCapabilities, Region};
use hotswap_edge::{EdgeAgent, EdgeHost, EdgeHostConfig};
use hotswap_http::agent::{self, AgentState, HeartbeatLoop};
use hotswap_http::auth::{Role, TokenSource};
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_http::server::{self, ServerLimits};
use hotswap_http::wire::{RegisterNode, parse_labels};

use super::{http_routing, listen, start_ingress};
use crate::AppResult;
use crate::assemble;
use crate::cli::{EdgeArgs, RuntimeChoice};
use crate::node_metrics::ProcMetrics;
use crate::telemetry;

const DEFAULT_LISTEN: &str = "127.0.0.1:7071";

pub(crate) async fn run(args: EdgeArgs) -> AppResult<()> {
    let telemetry = telemetry::init("hotswap-edge", true, "info")?;
    let control_plane = args
        .control_plane
        .as_deref()
        .ok_or("give the control plane's URL with --control-plane")?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => std::env::var("HOSTNAME").map_err(|_| "give the node's name with --name")?,
    };
    let region = Region::new(
        args.region
            .clone()
            .ok_or("give the node's region with --region")?,
    )?;
    let choice = args.runtime.unwrap_or(RuntimeChoice::Wasmtime);
    let runtime = assemble::runtime(choice, args.artifact_dir.clone())?;
    let caps = runtime.capabilities();
    let storage = assemble::storage(&args.storage, None)?;
    let keyvalue = assemble::keyvalue(args.keyvalue.as_deref(), None).await?;
    let mut host = EdgeHost::new(
        runtime,
        EdgeHostConfig::default()
            .with_node_name(name.clone())
            .with_http_routing(http_routing(&args.ingress)?),
    );
    if let Some(store) = &keyvalue {
        host = host.with_keyvalue(store.clone());
    }
    let host = Arc::new(host);
    let mut agent = EdgeAgent::new(host.clone(), storage);
    let secrets_key = assemble::secrets_key(args.secrets_key_file.as_deref())?;
    let has_secrets_key = secrets_key.is_some();
    if let Some(key) = secrets_key {
        agent = agent.with_secrets_key(key);
    }
    let agent = Arc::new(agent);
    let ingress = start_ingress(&args.ingress, None, host).await?;

    let secret = assemble::secret(&args.auth, None)?;
    let auth = assemble::authenticator(&args.auth, secret.as_deref())?;
    let token = match (
        &args.token,
        assemble::signer(&args.auth, secret.as_deref())?,
    ) {
        (Some(t), _) => TokenSource::Static(t.clone()),
        (None, Some(signer)) => {
            TokenSource::minted(signer, &name, &[Role::Node], Duration::from_secs(3600))
        }
        (None, None) => {
            return Err("give the node's token (--token) or a secret or key to mint one".into());
        }
    };

    let listener = listen(args.listen.as_deref().unwrap_or(DEFAULT_LISTEN)).await?;
    let addr = listener.local_addr()?;
    let advertise = args
        .advertise
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let mut capabilities = NodeCapabilities::of_runtime(
        &caps,
        args.memory_bytes
            .or_else(ProcMetrics::total_memory_bytes)
            .unwrap_or(1 << 30),
    );
    capabilities.keyvalue = keyvalue.as_ref().map(|s| s.backend().to_owned());
    capabilities.secrets = has_secrets_key;
    let registration = RegisterNode {
        name: name.clone(),
        region,
        zone: args.zone.clone(),
        labels: match &args.labels {
            Some(l) => parse_labels("labels", l)?,
            None => Default::default(),
        },
        endpoint: advertise.clone(),
        ingress: ingress.as_ref().map(|i| i.url.clone()),
        capabilities,
    };
    // Several replicas' URLs, separated by commas, are tried in turn.
    let mut replicas = control_plane.split(',').map(str::trim);
    let first = replicas.next().unwrap_or_default();
    let client = |url: &str| ControlPlaneClient::new(url, token.clone(), ClientConfig::default());
    let mut beats = HeartbeatLoop::new(
        client(first)?,
        agent.clone(),
        registration,
        Arc::new(ProcMetrics::new()),
    );
    for url in replicas {
        beats = beats.with_replica(client(url)?);
    }
    if let Some(secs) = args.heartbeat_secs {
        beats = beats.with_interval(Duration::from_secs(secs.max(1)));
    }
    let wake = beats.waker();
    let heartbeat = tokio::spawn(beats.run());

    let app = agent::router(
        AgentState {
            name: name.clone().into(),
            agent: agent.clone(),
            auth,
            metrics: telemetry.metrics(),
        },
        ServerLimits::default(),
    );
    println!(
        "hotswap edge node {name} on {advertise} (listening on {addr}), control plane {control_plane}"
    );
    if let Some(i) = &ingress {
        println!("HTTP ingress on {}", i.url);
    }
    let draining = agent.clone();
    server::serve(listener, app, async move {
        server::shutdown_signal().await;
        // Tell the control plane first, so it routes elsewhere.
        draining.drain();
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(300)).await;
    })
    .await?;
    heartbeat.abort();
    if let Some(i) = ingress {
        i.task.await??;
    }
    telemetry.shutdown();
    Ok(())
}

//! `hotswap control-plane`: the API, deployments and node health over
//! Postgres (or SQLite) and S3 (or a folder); edge nodes are reached over
//! HTTP with tokens of the `control_plane` role. With `--forward` it also
//! forwards HTTP requests to the nodes' ingress by their routes.

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::ControlPlane;
use hotswap_http::api::{self, ApiState};
use hotswap_http::auth::{Role, TokenSource};
use hotswap_http::client::{ClientConfig, HttpNodeControl};
use hotswap_http::ingress::{Ingress, IngressConfig};
use hotswap_http::server::{self, ServerLimits};

use super::{listen, spawn_control_loop};
use crate::AppResult;
use crate::assemble;
use crate::cli::ControlPlaneArgs;
use crate::telemetry;

/// Where a control plane listens unless told otherwise.
const DEFAULT_LISTEN: &str = "127.0.0.1:7070";

pub(crate) async fn run(args: ControlPlaneArgs) -> AppResult<()> {
    let telemetry = telemetry::init("hotswap-control-plane", true, "info")?;
    let url = args
        .database_url
        .as_deref()
        .ok_or("give the database with --database-url (or HOTSWAP_DATABASE_URL)")?;
    let db = assemble::database(
        url,
        args.database_schema.as_deref(),
        args.database_max_connections,
    )
    .await?;
    let storage = assemble::storage(&args.storage, None)?
        .ok_or("give the blob store with --s3-bucket (and --s3-endpoint) or --storage-dir")?;
    let secret = assemble::secret(&args.auth, None)?;
    let auth = assemble::authenticator(&args.auth, secret.as_deref())?;
    let signer = assemble::signer(&args.auth, secret.as_deref())?.ok_or(
        "the control plane signs its calls to edge nodes: give --jwt-secret or --jwt-signing-key",
    )?;
    let replica = args.replica.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "control-plane".into());
        format!("{host}-{}", std::process::id())
    });
    let token = TokenSource::minted(
        signer,
        &replica,
        &[Role::ControlPlane],
        Duration::from_secs(3600),
    );
    let control =
        HttpNodeControl::new(token, ClientConfig::default())?.with_storage(storage.clone());
    let config = assemble::control_plane_config(replica.clone(), &args.timing)?;
    let mut config = assemble::delivery(config, &args.delivery)?;
    if let Some(key) = assemble::secrets_key(args.secrets_key_file.as_deref())? {
        config = config.with_secrets_key(key);
    }
    let backends = assemble::sql_backends(&db, storage, Arc::new(control));
    let plane = Arc::new(ControlPlane::new(backends, config));
    let loop_task = spawn_control_loop(&plane);
    let forward = match &args.forward {
        Some(addr) => {
            let listener = listen(addr).await?;
            println!(
                "forwarding HTTP requests on http://{}",
                listener.local_addr()?
            );
            let service = Arc::new(plane.http_routes().clone());
            let forwarder = Ingress::new(service, IngressConfig::default());
            Some(tokio::spawn(
                forwarder.serve(listener, server::shutdown_signal()),
            ))
        }
        None => None,
    };
    let listener = listen(args.listen.as_deref().unwrap_or(DEFAULT_LISTEN)).await?;
    let addr = listener.local_addr()?;
    let app = api::router(
        ApiState {
            plane,
            auth,
            metrics: telemetry.metrics(),
        },
        ServerLimits::default(),
    );
    println!("hotswap control plane {replica} on http://{addr} (web console at /ui/)");
    server::serve(listener, app, server::shutdown_signal()).await?;
    loop_task.abort();
    if let Some(task) = forward {
        task.await??;
    }
    telemetry.shutdown();
    Ok(())
}

//! A service that serves calls to a wasm plugin and hot-swaps it, with no
//! failed call, whenever a newer `plugin-<semver>.wasm` appears in a watched
//! folder. Usage: `embed-runtime <folder> [listen address]`; then
//! `curl -d '[2, 3]' http://127.0.0.1:8080/call/add`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Json, Path as Url, State};
use axum::http::StatusCode;
use axum::{Router, routing::post};
use hotswap_core::domain::{Digest, ModuleName, WasmModule};
use hotswap_core::edge::{CallRoute, EdgeHost, EdgeHostConfig};
use hotswap_core::{Error, inspect::inspect, runtime::Invocation};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use notify::{RecursiveMode, Watcher};
use serde_json::{Value as Json_, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: embed-runtime <folder> [listen address]")?,
    );
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    std::fs::create_dir_all(&dir)?;

    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default())?;
    let host = Arc::new(EdgeHost::new(Arc::new(runtime), EdgeHostConfig::default()));

    // Swap in what the folder holds now, then every plugin file that appears.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        event
            .map(|e| e.paths.into_iter().for_each(|p| drop(tx.send(p))))
            .ok();
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    for entry in std::fs::read_dir(&dir)? {
        swap_in(&host, &entry?.path()).await;
    }
    let swapper = host.clone();
    tokio::spawn(async move {
        while let Some(path) = rx.recv().await {
            swap_in(&swapper, &path).await;
        }
    });

    let app = Router::new()
        .route("/call/{function}", post(call))
        .with_state(host);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    say(format_args!("listening on {}", listener.local_addr()?));
    axum::serve(listener, app).await?;
    Ok(())
}

/// A line on stdout; a closed stdout must not stop the service.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn plugin() -> ModuleName {
    ModuleName::new("plugin").expect("a valid constant name")
}

/// Deploy `plugin-<version>.wasm` when it is newer than the plugin served.
async fn swap_in(host: &EdgeHost, path: &Path) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some(version) = name
        .strip_prefix("plugin-")
        .and_then(|n| n.strip_suffix(".wasm"))
        .and_then(|v| semver::Version::parse(v).ok())
    else {
        return;
    };
    if host.routing().first().is_some_and(|t| t.stable >= version) {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let kind = match inspect(&bytes, &Default::default()) {
        Ok(info) => info.kind,
        Err(e) => return say(format_args!("skipping {name}: {e}")),
    };
    let digest = Digest::of(&bytes);
    let size = bytes.len() as u64;
    let module = WasmModule::new(
        plugin(),
        version,
        digest,
        size,
        kind,
        "folder",
        chrono::Utc::now(),
    );
    match host.deploy(&module, bytes.into()).await {
        Ok(_) => say(format_args!("serving plugin {}", module.version)),
        Err(e) => say(format_args!("refused {name}: {e}")),
    }
}

/// `POST /call/{function}` with JSON arguments.
async fn call(
    State(host): State<Arc<EdgeHost>>,
    Url(function): Url<String>,
    Json(args): Json<Json_>,
) -> Result<Json<Json_>, (StatusCode, String)> {
    let invocation = Invocation::json(function, args);
    match host
        .invoke(&plugin(), CallRoute::default(), invocation)
        .await
    {
        Ok(r) => Ok(Json(
            json!({"version": r.version.to_string(), "result": r.output.results_json()}),
        )),
        Err(e @ (Error::Invalid { .. } | Error::NotFound { .. })) => {
            Err((StatusCode::BAD_REQUEST, e.to_string()))
        }
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

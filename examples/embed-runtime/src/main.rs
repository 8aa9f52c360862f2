//! `embed-runtime <dir> [addr]` serves a plugin, hot-swapped with no failed call when a newer
//! `plugin-<semver>.wasm` lands in `<dir>` (polled): `curl -d '[2,3]' 127.0.0.1:8080/call/add`.

use std::{sync::Arc, sync::LazyLock, time::Duration};

use axum::{Json, Router, extract::Path, extract::State, routing::post};
use hotswap_core::{domain::ModuleName, runtime::Invocation};
use hotswap_edge::{EdgeHost, EdgeHostConfig};
use hotswap_http::Problem;
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use semver::Version;
use serde_json::{Value, json};

static PLUGIN: LazyLock<ModuleName> = LazyLock::new(|| ModuleName::new("plugin").expect("valid"));
type Reply = Result<Json<Value>, Problem>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: embed-runtime <dir> [addr]")?;
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default())?;
    let host = Arc::new(EdgeHost::new(Arc::new(runtime), EdgeHostConfig::default()));
    let (watched, mut tried) = (host.clone(), swap_in(&host, &dir, None).await);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            tried = swap_in(&watched, &dir, tried).await;
        }
    });
    let app = Router::new().route("/call/{function}", post(call));
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on {}", listener.local_addr()?);
    Ok(axum::serve(listener, app.with_state(host)).await?)
}

/// Serve the newest plugin in `dir` if it is newer than the one `tried` last.
async fn swap_in(host: &EdgeHost, dir: &str, tried: Option<Version>) -> Option<Version> {
    let files = std::fs::read_dir(dir).into_iter().flatten().flatten();
    let newest = files.filter_map(|e| {
        let name = e.file_name().into_string().ok()?;
        let v = name.strip_prefix("plugin-")?.strip_suffix(".wasm")?;
        Some((Version::parse(v).ok()?, e.path()))
    });
    let Some((version, path)) = newest.max().filter(|(v, _)| tried.as_ref() < Some(v)) else {
        return tried;
    };
    let bytes = std::fs::read(&path).unwrap_or_default();
    match host.deploy_bytes(&PLUGIN, version.clone(), bytes).await {
        Ok(_) => println!("serving plugin {version}"),
        Err(e) => println!("refused {}: {e}", path.display()),
    }
    Some(version)
}

async fn call(host: State<Arc<EdgeHost>>, f: Path<String>, args: Json<Value>) -> Reply {
    let o = host.call(&PLUGIN, Invocation::json(f.0, args.0)).await?;
    let body = json!({"version": o.version, "result": o.output.results_json()});
    Ok(Json(body))
}

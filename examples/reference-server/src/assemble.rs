//! Building the parts every role needs from its options: the blob store,
//! the database, the token keys, the runtime, node-health timing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hotswap_control::analysis::HttpAnalysis;
use hotswap_control::hooks::{WebhookSecret, WebhookSender};
use hotswap_control::notify::{SinkConfig, Sinks};
use hotswap_control::{Backends, ControlLoopConfig, ControlPlaneConfig, NodeHealthConfig};
use hotswap_core::clock::SystemClock;
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_core::node::NodeControl;
use hotswap_core::runtime::RuntimeHost;
use hotswap_core::secrets::SecretsKey;
use hotswap_core::storage::ModuleStorage;
use hotswap_core::{Error, Result};
use hotswap_http::auth::{AuthConfig, Authenticator, TokenSigner, VerifyKey};
use hotswap_store_s3::{Backend, ObjectStorageConfig};
use hotswap_store_sql::SqlStore;
use zeroize::Zeroizing;

use crate::cli::{AuthArgs, DeliveryArgs, RuntimeChoice, StorageArgs, TimingArgs};

/// The key-value store `spec` names (`file:PATH`, `redis://...`,
/// `redis+unix://...`, `none`), or `default` when absent.
pub(crate) async fn keyvalue(
    spec: Option<&str>,
    default: Option<&Path>,
) -> Result<Option<Arc<dyn KeyValueStore>>> {
    let spec = match (spec, default) {
        (Some(spec), _) => spec.to_owned(),
        (None, Some(path)) => format!("file:{}", path.display()),
        (None, None) => return Ok(None),
    };
    Ok(if spec == "none" {
        None
    } else if let Some(path) = spec.strip_prefix("file:") {
        Some(Arc::new(hotswap_kv_file::FileKeyValue::open(path)?))
    } else if spec.starts_with("redis://") || spec.starts_with("redis+unix://") {
        Some(Arc::new(
            hotswap_kv_redis::RedisKeyValue::connect(&spec).await?,
        ))
    } else {
        return Err(Error::invalid(
            "keyvalue",
            "give file:PATH, redis://HOST:PORT[/DB], redis+unix:///PATH or none",
        ));
    })
}

/// The blob store the options name: S3 when a bucket is set, else the
/// storage folder, else `default_dir`; `None` when there is none of them.
pub(crate) fn storage(
    args: &StorageArgs,
    default_dir: Option<&Path>,
) -> Result<Option<Arc<dyn ModuleStorage>>> {
    let mut config = if let Some(bucket) = &args.s3_bucket {
        ObjectStorageConfig::new(Backend::S3 {
            bucket: bucket.clone(),
            endpoint: args.s3_endpoint.clone(),
            region: args.s3_region.clone().unwrap_or_else(|| "us-east-1".into()),
            access_key_id: args.s3_access_key_id.clone(),
            secret_access_key: args.s3_secret_access_key.clone(),
            allow_http: args
                .s3_endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
        })
    } else if let Some(dir) = args.storage_dir.as_deref().or(default_dir) {
        ObjectStorageConfig::new(Backend::Local {
            root: dir.to_path_buf(),
        })
    } else {
        return Ok(None);
    };
    if let Some(prefix) = &args.s3_prefix {
        config = config.with_prefix(prefix.clone());
    }
    Ok(Some(Arc::new(config.build()?)))
}

/// The database at `url`: `postgres://...`, or `sqlite://PATH` / a path.
pub(crate) async fn database(
    url: &str,
    schema: Option<&str>,
    max_connections: Option<u32>,
) -> Result<SqlStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut config = hotswap_store_postgres::PostgresConfig::new(url);
        if let Some(s) = schema {
            config = config.with_schema(s);
        }
        if let Some(n) = max_connections {
            config = config.with_max_connections(n);
        }
        config.connect().await
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let mut config = hotswap_store_sqlite::SqliteConfig::new(path);
        if let Some(n) = max_connections {
            config = config.with_max_connections(n);
        }
        config.open().await
    }
}

fn read(field: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::invalid(field, format!("cannot read {}: {e}", path.display())))
}

/// A secret file's bytes, without the trailing newline an editor adds.
fn read_secret(field: &str, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = read(field, path)?;
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    Ok(bytes)
}

/// The HS256 secret the options give (inline or in a file), else `fallback`.
pub(crate) fn secret(args: &AuthArgs, fallback: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
    if let Some(s) = &args.jwt_secret {
        return Ok(Some(s.as_bytes().to_vec()));
    }
    if let Some(path) = &args.jwt_secret_file {
        return read_secret("jwt_secret_file", path).map(Some);
    }
    Ok(fallback.map(<[u8]>::to_vec))
}

/// The verifier of incoming tokens: the HS256 secret and every public key.
pub(crate) fn authenticator(args: &AuthArgs, secret: Option<&[u8]>) -> Result<Arc<Authenticator>> {
    let mut config = AuthConfig::new();
    if let Some(s) = secret {
        config = config.with_key(VerifyKey::Hs256 {
            kid: None,
            secret: s.to_vec(),
        });
    }
    for path in &args.jwt_public_key {
        let pem = String::from_utf8(read("jwt_public_key", path)?).map_err(|_| {
            Error::invalid(
                "jwt_public_key",
                format!("{} is not PEM text", path.display()),
            )
        })?;
        let kid = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        // A PEM public key says its algorithm only inside; try both.
        let rsa = AuthConfig::new().with_key(VerifyKey::Rs256 {
            kid: kid.clone(),
            pem: pem.clone(),
        });
        config = config.with_key(if rsa.build().is_ok() {
            VerifyKey::Rs256 { kid, pem }
        } else {
            VerifyKey::EdDsa { kid, pem }
        });
    }
    if let Some(iss) = &args.jwt_issuer {
        config = config.with_issuer(iss.clone());
    }
    if let Some(aud) = &args.jwt_audience {
        config = config.with_audience(aud.clone());
    }
    if let Some(path) = &args.session_secret_file {
        config = config.with_session_secret(read_secret("session_secret_file", path)?);
    }
    Ok(Arc::new(config.build()?))
}

/// A signer for the tokens this process sends: the signing key when
/// given, else the HS256 secret; `None` when there is neither.
pub(crate) fn signer(args: &AuthArgs, secret: Option<&[u8]>) -> Result<Option<TokenSigner>> {
    let mut signer = match (&args.jwt_signing_key, secret) {
        (Some(path), _) => {
            let pem = read("jwt_signing_key", path)?;
            let signer =
                TokenSigner::rs256_pem(&pem).or_else(|_| TokenSigner::ed25519_pem(&pem))?;
            match path.file_stem() {
                Some(stem) => signer.with_kid(stem.to_string_lossy()),
                None => signer,
            }
        }
        (None, Some(s)) => TokenSigner::hs256(s)?,
        (None, None) => return Ok(None),
    };
    if let Some(iss) = &args.jwt_issuer {
        signer = signer.with_issuer(iss.clone());
    }
    if let Some(aud) = &args.jwt_audience {
        signer = signer.with_audience(aud.clone());
    }
    Ok(Some(signer))
}

/// The runtime an edge node runs modules on.
pub(crate) fn runtime(
    choice: RuntimeChoice,
    artifact_dir: Option<PathBuf>,
) -> Result<Arc<dyn RuntimeHost>> {
    match choice {
        RuntimeChoice::Wasmtime => {
            let mut config = hotswap_runtime_wasmtime::WasmtimeConfig::from_env()?;
            if let Some(dir) = artifact_dir {
                config = config.with_artifact_dir(dir);
            }
            Ok(Arc::new(hotswap_runtime_wasmtime::WasmtimeRuntime::new(
                config,
            )?))
        }
        #[cfg(feature = "wasmer")]
        RuntimeChoice::Wasmer => {
            let mut config = hotswap_runtime_wasmer::WasmerConfig::from_env()?;
            if let Some(dir) = artifact_dir {
                config = config.with_artifact_dir(dir);
            }
            Ok(Arc::new(hotswap_runtime_wasmer::WasmerRuntime::new(
                config,
            )?))
        }
        #[cfg(not(feature = "wasmer"))]
        RuntimeChoice::Wasmer => Err(Error::invalid(
            "runtime",
            "this hotswap was built without wasmer; rebuild with `--features wasmer`",
        )),
    }
}

/// Node-health thresholds from the options (defaults: 30 s heartbeats,
/// unhealthy after 120 s, offline after 600 s).
pub(crate) fn node_health(t: &TimingArgs) -> Result<NodeHealthConfig> {
    let d = NodeHealthConfig::default();
    let secs = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
    NodeHealthConfig::new(
        secs(t.heartbeat_secs, d.heartbeat_interval),
        secs(t.unhealthy_after_secs, d.unhealthy_after),
        secs(t.offline_after_secs, d.offline_after),
    )
}

/// The control plane's configuration for replica `replica` from the
/// timing and rollout options: node health, the loop's tick, the
/// orchestrator's in-flight cap, W3C trace links for deployments.
pub(crate) fn control_plane_config(
    replica: impl Into<String>,
    t: &TimingArgs,
) -> Result<ControlPlaneConfig> {
    let health = node_health(t)?;
    let mut config = ControlPlaneConfig::new(replica)
        .with_trace_link(Arc::new(hotswap_http::observe::W3cTraceLink))
        .with_node_health(health)
        .with_control_loop(control_loop(t, &health));
    if let Some(max) = t.max_in_flight {
        if max == 0 {
            return Err(Error::invalid("max_in_flight", "must not be zero"));
        }
        config.orchestrator = config.orchestrator.with_max_in_flight(max);
    }
    if let Some(fanout) = t.fanout {
        if fanout == 0 {
            return Err(Error::invalid("fanout", "must not be zero"));
        }
        config.orchestrator = config.orchestrator.with_fanout(fanout);
    }
    if let Some(secs) = t.lease_ttl_secs {
        let tick = config.control_loop.tick;
        if Duration::from_secs(secs) < 2 * tick {
            return Err(Error::invalid(
                "lease_ttl_secs",
                format!("{secs} s is shorter than two control-loop ticks ({tick:?} each)"),
            ));
        }
        config.orchestrator = config
            .orchestrator
            .with_lease_ttl(Duration::from_secs(secs));
    }
    Ok(config)
}

/// `config` with what rollouts reach outside the fleet: analysis checks
/// run over HTTP (Prometheus queries default to `--prometheus-url`),
/// webhooks signed with the secret of `--webhook-secret-file`, and the
/// notification sinks of `--notifications-file`.
pub(crate) fn delivery(
    config: ControlPlaneConfig,
    args: &DeliveryArgs,
) -> Result<ControlPlaneConfig> {
    let analysis = HttpAnalysis::new(args.prometheus_url.clone(), ANALYSIS_TIMEOUT)?;
    let mut config = config.with_analysis(Arc::new(analysis));
    let secret = match &args.webhook_secret_file {
        Some(path) => {
            let bytes = read("webhook_secret_file", path)?;
            let text = String::from_utf8_lossy(&bytes);
            Some(
                WebhookSecret::new(text.trim().as_bytes().to_vec())
                    .map_err(|e| e.within("webhook_secret_file"))?,
            )
        }
        None => None,
    };
    if let Some(secret) = &secret {
        config = config.with_webhooks(WebhookSender::new(secret.clone())?);
    }
    if let Some(path) = &args.notifications_file {
        let sinks = notification_sinks(path)?;
        config = config.with_notifier(Arc::new(Sinks::start(sinks, secret)?));
    }
    Ok(config)
}

/// The sinks of a notifications file; a bad file is refused naming it,
/// and the line and key.
fn notification_sinks(path: &Path) -> Result<Vec<SinkConfig>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        sink: Vec<SinkConfig>,
    }
    let bytes = read("notifications_file", path)?;
    let text = String::from_utf8_lossy(&bytes);
    let file: File = toml::from_str(&text).map_err(|e| {
        Error::invalid(
            "notifications_file",
            format!("{}: {}", path.display(), e.to_string().trim()),
        )
    })?;
    Ok(file.sink)
}

/// How long one analysis query may take before it counts as inconclusive.
const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(10);

/// The control plane's backends over a SQL database and a blob store: the
/// same for `serve` and `control-plane`, which differ in how they reach
/// nodes.
pub(crate) fn sql_backends(
    db: &SqlStore,
    storage: Arc<dyn ModuleStorage>,
    control: Arc<dyn NodeControl>,
) -> Backends {
    Backends::new(
        db.modules(),
        db.nodes(),
        db.deployments(),
        db.interfaces(),
        storage,
        control,
        Arc::new(SystemClock),
    )
    .with_http_routes(db.http_routes())
    .with_configs(db.configs())
    .with_policies(db.policies())
}

/// The secrets key in `path` (64 hex digits), if one is given.
pub(crate) fn secrets_key(path: Option<&Path>) -> Result<Option<SecretsKey>> {
    let Some(path) = path else { return Ok(None) };
    let text = Zeroizing::new(String::from_utf8(read("secrets_key_file", path)?).map_err(
        |_| {
            Error::invalid(
                "secrets_key_file",
                format!("{} is not text", path.display()),
            )
        },
    )?);
    SecretsKey::parse(&text)
        .map(Some)
        .map_err(|e| e.within("secrets_key_file"))
}

/// The control loop's tick from the options.
pub(crate) fn control_loop(t: &TimingArgs, health: &NodeHealthConfig) -> ControlLoopConfig {
    let d = ControlLoopConfig::default();
    let tick = t.tick_ms.map_or(d.tick, Duration::from_millis);
    ControlLoopConfig::new(tick, health.heartbeat_interval.max(tick))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn timing(argv: &[&str]) -> TimingArgs {
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::ControlPlane(a) => a.timing,
            Command::Serve(a) => a.timing,
            other => panic!("not a control plane: {other:?}"),
        }
    }

    #[test]
    fn the_lease_ttl_reaches_the_orchestrator_and_a_short_one_is_refused() {
        let t = timing(&["hotswap", "control-plane", "--lease-ttl-secs", "5"]);
        let config = control_plane_config("cp-1", &t).expect("config");
        assert_eq!(config.orchestrator.lease_ttl, Duration::from_secs(5));
        let t = timing(&["hotswap", "serve"]);
        let config = control_plane_config("serve", &t).expect("config");
        assert_eq!(config.orchestrator.lease_ttl, Duration::from_secs(30));
        let t = timing(&[
            "hotswap",
            "control-plane",
            "--lease-ttl-secs",
            "1",
            "--tick-ms",
            "800",
        ]);
        let err = control_plane_config("cp-1", &t).expect_err("shorter than two ticks");
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "lease_ttl_secs"),
            "{err}"
        );
    }

    #[test]
    fn max_in_flight_reaches_the_orchestrator() {
        let t = timing(&["hotswap", "control-plane", "--max-in-flight", "64"]);
        let config = control_plane_config("cp-1", &t).expect("config");
        assert_eq!(config.orchestrator.max_in_flight, Some(64));
        assert_eq!(config.orchestrator.replica, "cp-1");
        let t = timing(&["hotswap", "serve"]);
        let config = control_plane_config("serve", &t).expect("config");
        assert_eq!(config.orchestrator.max_in_flight, None);
        let t = timing(&["hotswap", "serve", "--max-in-flight", "0"]);
        let err = control_plane_config("serve", &t).expect_err("zero is refused");
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "max_in_flight"),
            "{err}"
        );
    }
}

//! A `hotswap control-plane` child process on PostgreSQL, for a run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotswap_core::{Error, Result};

/// How to start the control plane.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ControlPlaneConfig {
    /// The `hotswap` binary.
    pub binary: String,
    /// PostgreSQL.
    pub database_url: String,
    /// The schema of this run (created by the control plane).
    pub schema: String,
    /// A folder for module binaries.
    pub storage_dir: String,
    /// The HS256 secret of every token.
    pub secret: String,
    /// Heartbeat interval the nodes are told; unhealthy after 3, offline
    /// after 20 of them.
    pub heartbeat_secs: u64,
    /// More options.
    pub args: Vec<String>,
}

impl ControlPlaneConfig {
    /// `binary` on `database_url` in `schema`, binaries under
    /// `storage_dir`, tokens signed with `secret`, 30 s heartbeats.
    pub fn new(
        binary: impl Into<String>,
        database_url: impl Into<String>,
        schema: impl Into<String>,
        storage_dir: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self {
            binary: binary.into(),
            database_url: database_url.into(),
            schema: schema.into(),
            storage_dir: storage_dir.into(),
            secret: secret.into(),
            heartbeat_secs: 30,
            args: Vec::new(),
        }
    }
}

/// A running control plane, killed on drop.
#[derive(Debug)]
pub struct ControlPlane {
    child: Child,
    /// Its URL.
    pub url: String,
}

impl ControlPlane {
    /// Start it on a free loopback port and wait until it answers.
    pub async fn start(config: &ControlPlaneConfig) -> Result<ControlPlane> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::unavailable("loopback", false, e))?
            .port();
        let hb = config.heartbeat_secs;
        let child = Command::new(&config.binary)
            .args(["control-plane", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--replica", "fleet"])
            .args(&config.args)
            .env_remove("RUST_BACKTRACE")
            .env("RUST_LOG", "warn")
            .env("HOTSWAP_DATABASE_URL", &config.database_url)
            .env("HOTSWAP_DATABASE_SCHEMA", &config.schema)
            .env("HOTSWAP_STORAGE_DIR", &config.storage_dir)
            .env("HOTSWAP_JWT_SECRET", &config.secret)
            .env("HOTSWAP_HEARTBEAT_SECS", hb.to_string())
            .env("HOTSWAP_UNHEALTHY_AFTER_SECS", (3 * hb).to_string())
            .env("HOTSWAP_OFFLINE_AFTER_SECS", (20 * hb).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::unavailable(config.binary.clone(), false, e))?;
        let cp = ControlPlane {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let start = Instant::now();
        while http
            .get(format!("{}/healthz", cp.url))
            .send()
            .await
            .is_err()
        {
            if start.elapsed() > Duration::from_secs(60) {
                return Err(Error::unavailable(
                    "control plane",
                    false,
                    "it did not answer within 60 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(cp)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

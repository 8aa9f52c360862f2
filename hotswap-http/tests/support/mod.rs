//! A control plane over in-memory backends and the simulated fleet, served
//! on a loopback port, with a token signer for each role.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::{Backends, ControlPlane, ControlPlaneConfig};
use hotswap_core::clock::{Clock, SystemClock};
use hotswap_core::interface::MemoryInterfaceRegistry;
use hotswap_core::repository::memory::{
    MemoryDeploymentRepository, MemoryModuleRepository, MemoryNodeRepository,
};
use hotswap_core::storage::MemoryStorage;
use hotswap_http::api::{self, ApiState};
use hotswap_http::auth::{AuthConfig, Claims, Role, TokenSigner, VerifyKey};
use hotswap_http::server::{self, ServerLimits};
use hotswap_http::system::Metrics;
use hotswap_testkit::fleet::SimFleet;

pub const SECRET: &[u8] = b"a test secret that is long enough for HS256";

pub struct Server {
    pub base: String,
    pub plane: Arc<ControlPlane>,
    /// The backends of the default plane (`None` for a plane passed in),
    /// for tests that look behind the API.
    pub backends: Option<Backends>,
    pub fleet: SimFleet,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Shut the server down as a signal would, and wait until it stopped.
    #[allow(dead_code)]
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("the server task")
    }

    /// The default plane's backends.
    #[allow(dead_code)]
    pub fn backends(&self) -> &Backends {
        self.backends.as_ref().expect("the default plane")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn signer() -> TokenSigner {
    TokenSigner::hs256(SECRET).unwrap()
}

/// A token for `subject` with `roles`, valid for an hour.
pub fn token(subject: &str, roles: &[Role]) -> String {
    signer()
        .issue(subject, roles, Duration::from_secs(3600))
        .unwrap()
}

/// A token that expired ten minutes ago.
pub fn expired(roles: &[Role]) -> String {
    let now = chrono::Utc::now().timestamp();
    signer()
        .sign(&Claims {
            sub: "late".into(),
            roles: roles.to_vec(),
            exp: now - 600,
            iat: Some(now - 4200),
            nbf: None,
            iss: None,
            aud: None,
        })
        .unwrap()
}

pub fn admin() -> String {
    token("alice", &[Role::Admin])
}

/// Backends in memory but those given, a simulated fleet as the nodes.
pub fn plane_over(
    modules: Arc<dyn hotswap_core::repository::ModuleRepository>,
    deployments: Arc<dyn hotswap_core::repository::DeploymentRepository>,
    nodes: Arc<dyn hotswap_core::repository::NodeRepository>,
    fleet: &SimFleet,
) -> (Arc<ControlPlane>, Backends) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let backends = Backends::new(
        modules,
        nodes,
        deployments,
        Arc::new(MemoryInterfaceRegistry::new()),
        Arc::new(MemoryStorage::new()),
        Arc::new(fleet.clone()),
        clock,
    );
    let config = ControlPlaneConfig::new("test")
        .with_secrets_key(hotswap_core::secrets::SecretsKey::from_bytes(&[9; 32]).unwrap());
    let plane = ControlPlane::new(backends.clone(), config);
    (Arc::new(plane), backends)
}

pub async fn start() -> Server {
    start_with(None, ServerLimits::default()).await
}

pub async fn start_with(plane: Option<Arc<ControlPlane>>, limits: ServerLimits) -> Server {
    let auth = AuthConfig::new().with_key(VerifyKey::Hs256 {
        kid: None,
        secret: SECRET.to_vec(),
    });
    start_full(plane, limits, auth).await
}

pub async fn start_full(
    plane: Option<Arc<ControlPlane>>,
    limits: ServerLimits,
    auth: AuthConfig,
) -> Server {
    let fleet = SimFleet::new();
    let (plane, backends) = match plane {
        Some(plane) => (plane, None),
        None => {
            let modules = MemoryModuleRepository::new();
            let deployments = Arc::new(MemoryDeploymentRepository::holding(&modules));
            let (plane, backends) = plane_over(
                Arc::new(modules),
                deployments,
                Arc::new(MemoryNodeRepository::new()),
                &fleet,
            );
            (plane, Some(backends))
        }
    };
    let auth = Arc::new(auth.build().unwrap());
    let app = api::router(
        ApiState {
            plane: plane.clone(),
            auth,
            metrics: Metrics::new(|| "# no metrics in this test\n".into()),
        },
        limits,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server::serve(listener, app, async move {
        let _ = rx.await;
    }));
    Server {
        base,
        plane,
        backends,
        fleet,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        task,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Register `bytes` as `name@version` with the admin token.
    pub async fn push(&self, name: &str, version: &str, bytes: Vec<u8>) -> serde_json::Value {
        let resp = self
            .http
            .post(self.url(&format!(
                "/api/v1/wasm/modules?name={name}&version={version}"
            )))
            .bearer_auth(admin())
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }
}

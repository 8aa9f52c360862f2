//! A client of the control-plane API, for edge agents (register,
//! heartbeat) and for tools such as the CLI (everything else).

use bytes::Bytes;
use futures::Stream;
use hotswap_core::domain::{
    ConfigPatch, ConfigView, DeploymentPolicy, Environment, InterfaceId, ModuleName,
};
use hotswap_core::domain::{
    DeploymentId, EdgeNode, Heartbeat, HttpRouteSet, ModuleDeployment, ModuleId, NodeId, RouteId,
    WasmModule,
};
use hotswap_core::interface::{CompatibilityMode, WitInterface};
use hotswap_core::repository::environment_name;
use hotswap_core::{Error, Result};
use serde::Serialize;

use super::{ClientConfig, Http, Retry, json};
use crate::API_PREFIX;
use crate::auth::TokenSource;
use crate::wire::{
    CreateDeployment, CreateRoute, DeploymentListQuery, DeploymentView, ExecuteRequest,
    ExecuteResponse, InterfaceListQuery, ModuleListQuery, ModuleMetadata, NodeHealth,
    NodeListQuery, NodeRegistered, PackageMode, Paged, PolicyBody, PromoteRequest,
    RegisterInterface, RegisterInterfaceQuery, RegisterNode, RouteChanged, RouteListQuery,
    SetPackageMode, ValidationReport,
};
use crate::wit_payload::{TAR_GZIP, WitPayload, pack};

const SERVICE: &str = "control plane";

/// The longest a followed deployment is followed.
const FOLLOW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What an operator asks of a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeploymentAction {
    /// Start it.
    Execute,
    /// Pause it.
    Pause,
    /// Resume it.
    Resume,
    /// Roll it back.
    Rollback,
    /// Abort it.
    Abort,
}

impl DeploymentAction {
    fn path(self) -> &'static str {
        match self {
            Self::Execute => "execute",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Rollback => "rollback",
            Self::Abort => "abort",
        }
    }
}

/// Calls the control-plane API.
#[derive(Clone, Debug)]
pub struct ControlPlaneClient {
    http: Http,
    base: String,
}

impl ControlPlaneClient {
    /// A client of the control plane at `base` (e.g. `http://127.0.0.1:7070`).
    pub fn new(base: &str, token: TokenSource, config: ClientConfig) -> Result<Self> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid(
                "control_plane",
                format!("{base:?} must start with http:// or https://"),
            ));
        }
        Ok(Self {
            http: Http::new(token, config)?,
            base: base.to_owned(),
        })
    }

    /// The same client (and connection pool) sending `token` instead: one
    /// process acting for many nodes shares one pool.
    #[must_use]
    pub fn with_token(&self, token: TokenSource) -> Self {
        Self {
            http: self.http.with_token(token),
            base: self.base.clone(),
        }
    }

    /// The control plane's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &impl Serialize,
    ) -> Result<T> {
        let url = self.url(path);
        let resp = self
            .http
            .send(SERVICE, Retry::Idempotent, |c| c.get(&url).query(query))
            .await?;
        json(SERVICE, resp).await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let url = self.url(path);
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| c.post(&url).json(body))
            .await?;
        json(SERVICE, resp).await
    }

    /// Every deployment policy.
    pub async fn policies(&self) -> Result<Vec<DeploymentPolicy>> {
        self.get("/policies", &()).await
    }

    /// The policy of `module` in `environment`; `None` when none is set.
    pub async fn policy(
        &self,
        module: &ModuleName,
        environment: Environment,
    ) -> Result<Option<DeploymentPolicy>> {
        let path = format!("/policies/{module}/{}", environment_name(environment));
        match self.get(&path, &()).await {
            Ok(p) => Ok(Some(p)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Set the policy of `module` in `environment`.
    pub async fn put_policy(
        &self,
        module: &ModuleName,
        environment: Environment,
        body: &PolicyBody,
    ) -> Result<DeploymentPolicy> {
        let url = self.url(&format!(
            "/policies/{module}/{}",
            environment_name(environment)
        ));
        let resp = self
            .http
            .send(SERVICE, Retry::Idempotent, |c| c.put(&url).json(body))
            .await?;
        json(SERVICE, resp).await
    }

    /// Remove the policy of `module` in `environment`.
    pub async fn delete_policy(&self, module: &ModuleName, environment: Environment) -> Result<()> {
        let url = self.url(&format!(
            "/policies/{module}/{}",
            environment_name(environment)
        ));
        self.http
            .send(SERVICE, Retry::Idempotent, |c| c.delete(&url))
            .await
            .map(drop)
    }

    /// Register (or rejoin as) a node.
    pub async fn register_node(&self, node: &RegisterNode) -> Result<NodeRegistered> {
        self.post("/nodes", node).await
    }

    /// Send a heartbeat of node `id`.
    pub async fn heartbeat(&self, id: NodeId, beat: &Heartbeat) -> Result<()> {
        let url = self.url(&format!("/nodes/{id}/heartbeat"));
        self.http
            .send(SERVICE, Retry::OnConnect, |c| c.post(&url).json(beat))
            .await
            .map(drop)
    }

    /// Register a module version from its bytes.
    pub async fn upload_module(&self, meta: &ModuleMetadata, bytes: Bytes) -> Result<WasmModule> {
        let url = self.url("/modules");
        let metadata = serde_json::to_vec(meta)
            .map_err(|e| Error::internal(format!("encoding metadata failed: {e}")))?;
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| {
                let form = reqwest::multipart::Form::new()
                    .part(
                        "metadata",
                        reqwest::multipart::Part::bytes(metadata.clone())
                            .mime_str("application/json")
                            .unwrap_or_else(|_| reqwest::multipart::Part::bytes(metadata.clone())),
                    )
                    .part(
                        "module",
                        reqwest::multipart::Part::stream(bytes.clone()).file_name("module.wasm"),
                    );
                c.post(&url).multipart(form)
            })
            .await?;
        json(SERVICE, resp).await
    }

    /// A page of module versions.
    pub async fn list_modules(&self, query: &ModuleListQuery) -> Result<Paged<WasmModule>> {
        self.get("/modules", query).await
    }

    /// One module version.
    pub async fn get_module(&self, id: ModuleId) -> Result<WasmModule> {
        self.get(&format!("/modules/{id}"), &()).await
    }

    /// Delete a module version.
    pub async fn delete_module(&self, id: ModuleId) -> Result<()> {
        let url = self.url(&format!("/modules/{id}"));
        self.http
            .send(SERVICE, Retry::Idempotent, |c| c.delete(&url))
            .await
            .map(drop)
    }

    /// Create a deployment.
    pub async fn create_deployment(&self, req: &CreateDeployment) -> Result<ModuleDeployment> {
        self.post("/deployments", req).await
    }

    /// A page of deployments.
    pub async fn list_deployments(
        &self,
        query: &DeploymentListQuery,
    ) -> Result<Paged<ModuleDeployment>> {
        self.get("/deployments", query).await
    }

    /// A deployment with its progress and events.
    pub async fn deployment(&self, id: DeploymentId) -> Result<DeploymentView> {
        self.get(&format!("/deployments/{id}"), &()).await
    }

    /// Follow a deployment: its view now and at each change, until it ends
    /// (`GET /deployments/{id}/stream`, server-sent events). The stream
    /// fails when the server is silent for [`super::IDLE_LIMIT`].
    pub async fn follow(
        &self,
        id: DeploymentId,
    ) -> Result<impl Stream<Item = Result<DeploymentView>> + Send + Unpin + use<>> {
        let url = self.url(&format!("/deployments/{id}/stream"));
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| {
                c.get(&url)
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    // The stream lasts as long as the rollout.
                    .timeout(FOLLOW_TIMEOUT)
            })
            .await?;
        Ok(super::sse::events(SERVICE, resp.bytes_stream(), "view"))
    }

    /// Act on a deployment.
    pub async fn act(&self, id: DeploymentId, action: DeploymentAction) -> Result<DeploymentView> {
        self.post(&format!("/deployments/{id}/{}", action.path()), &())
            .await
    }

    /// Promote a deployment.
    pub async fn promote(&self, id: DeploymentId, req: &PromoteRequest) -> Result<DeploymentView> {
        self.post(&format!("/deployments/{id}/promote"), req).await
    }

    /// Route a host and path prefix to a module.
    pub async fn create_route(&self, req: &CreateRoute) -> Result<RouteChanged> {
        self.post("/routes", req).await
    }

    /// Every HTTP route (of one module, when the query names it).
    pub async fn list_routes(&self, query: &RouteListQuery) -> Result<HttpRouteSet> {
        self.get("/routes", query).await
    }

    /// Delete an HTTP route.
    pub async fn delete_route(&self, id: RouteId) -> Result<RouteChanged> {
        let url = self.url(&format!("/routes/{id}"));
        let resp = self
            .http
            .send(SERVICE, Retry::Idempotent, |c| c.delete(&url))
            .await?;
        json(SERVICE, resp).await
    }

    /// Register an interface version.
    pub async fn register_interface(&self, req: &RegisterInterface) -> Result<WitInterface> {
        self.post("/interfaces", req).await
    }

    /// Register a WIT package with its dependencies (a directory is sent as
    /// a tar.gz archive); an admin may `override_reason` an incompatible one.
    pub async fn push_interface(
        &self,
        payload: &WitPayload,
        override_reason: Option<&str>,
    ) -> Result<WitInterface> {
        let query = RegisterInterfaceQuery {
            override_reason: override_reason.map(str::to_owned),
        };
        self.send_wit("/interfaces", payload, &query).await
    }

    /// What registering `payload` as its package's next version would find.
    pub async fn validate_interface(&self, payload: &WitPayload) -> Result<ValidationReport> {
        self.send_wit("/interfaces/validate", payload, &()).await
    }

    async fn send_wit<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        payload: &WitPayload,
        query: &impl Serialize,
    ) -> Result<T> {
        let (content_type, body) = match payload {
            WitPayload::Text(text) => ("text/plain", Bytes::from(text.clone())),
            WitPayload::Files(files) => (TAR_GZIP, Bytes::from(pack(files)?)),
            WitPayload::Wasm(bytes) => ("application/wasm", Bytes::from(bytes.clone())),
        };
        let url = self.url(path);
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| {
                c.post(&url)
                    .query(query)
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body.clone())
            })
            .await?;
        json(SERVICE, resp).await
    }

    /// A page of interface versions.
    pub async fn list_interfaces(&self, query: &InterfaceListQuery) -> Result<Paged<WitInterface>> {
        self.get("/interfaces", query).await
    }

    /// One interface version.
    pub async fn get_interface(&self, id: InterfaceId) -> Result<WitInterface> {
        self.get(&format!("/interfaces/{id}"), &()).await
    }

    /// Approve an interface version (admins).
    pub async fn approve_interface(&self, id: InterfaceId) -> Result<WitInterface> {
        self.post(&format!("/interfaces/{id}/approve"), &()).await
    }

    /// A package's compatibility mode and who it protects.
    pub async fn package_mode(&self, package: &str) -> Result<PackageMode> {
        self.get(&format!("/interfaces/packages/{package}/mode"), &())
            .await
    }

    /// Set a package's compatibility mode (admins).
    pub async fn set_package_mode(
        &self,
        package: &str,
        mode: CompatibilityMode,
    ) -> Result<PackageMode> {
        let url = self.url(&format!("/interfaces/packages/{package}/mode"));
        let body = SetPackageMode { mode };
        let resp = self
            .http
            .send(SERVICE, Retry::Idempotent, |c| c.put(&url).json(&body))
            .await?;
        json(SERVICE, resp).await
    }

    /// A module's latest configuration revision (0 when nothing is set);
    /// secrets by name only.
    pub async fn config(&self, module: &ModuleName) -> Result<ConfigView> {
        self.get(&format!("/configs/{module}"), &()).await
    }

    /// Revision `revision` of a module's configuration.
    pub async fn config_revision(&self, module: &ModuleName, revision: u64) -> Result<ConfigView> {
        self.get(&format!("/configs/{module}/{revision}"), &())
            .await
    }

    /// Change a module's configuration, making its next revision.
    pub async fn set_config(&self, module: &ModuleName, patch: &ConfigPatch) -> Result<ConfigView> {
        let url = self.url(&format!("/configs/{module}"));
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| c.patch(&url).json(patch))
            .await?;
        json(SERVICE, resp).await
    }

    /// Run a function in the fleet.
    pub async fn execute(&self, req: &ExecuteRequest) -> Result<ExecuteResponse> {
        let url = self.url("/execute");
        let timeout = self.http.config().execute_timeout;
        let resp = self
            .http
            .send(SERVICE, Retry::OnConnect, |c| {
                c.post(&url).json(req).timeout(timeout)
            })
            .await?;
        json(SERVICE, resp).await
    }

    /// A page of nodes.
    pub async fn list_nodes(&self, query: &NodeListQuery) -> Result<Paged<EdgeNode>> {
        self.get("/nodes", query).await
    }

    /// A node's health.
    pub async fn node_health(&self, id: NodeId) -> Result<NodeHealth> {
        self.get(&format!("/nodes/{id}/health"), &()).await
    }
}

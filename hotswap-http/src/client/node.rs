//! The control plane's [`NodeControl`] over HTTP: commands go to each
//! node's edge agent at its registered endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use hotswap_core::domain::{
    EdgeNode, HttpRouteSet, LoadedVersion, ModuleConfig, ModuleName, RoutingTable, WasmModule,
};
use hotswap_core::node::CallOutcome;
use hotswap_core::node::{Execution, NodeControl, NodeState};
use hotswap_core::runtime::http::{HttpCall, HttpResponse};
use hotswap_core::storage::ModuleStorage;
use hotswap_core::{Error, Result};
use semver::Version;

use super::{ClientConfig, Http, Retry, json};
use crate::AGENT_PREFIX;
use crate::auth::TokenSource;
use crate::wire::{ExecuteRequest, ExecuteResponse, LoadRequest};
use hotswap_core::ResourceKind;

/// Reaches edge agents over HTTP. With `storage`, a node that cannot find
/// a version's blob in its own storage (or has none) is handed the bytes.
#[derive(Clone, Debug)]
pub struct HttpNodeControl {
    http: Http,
    storage: Option<Arc<dyn ModuleStorage>>,
}

fn url(node: &EdgeNode, path: &str) -> String {
    format!(
        "{}{AGENT_PREFIX}{path}",
        node.endpoint.trim_end_matches('/')
    )
}

fn service(node: &EdgeNode) -> String {
    format!("node {}", node.name)
}

impl HttpNodeControl {
    /// A client sending `token` under `config`.
    pub fn new(token: TokenSource, config: ClientConfig) -> Result<Self> {
        Ok(Self {
            http: Http::new(token, config)?,
            storage: None,
        })
    }

    /// Hand blobs from `storage` to nodes that lack them.
    #[must_use]
    pub fn with_storage(mut self, storage: Arc<dyn ModuleStorage>) -> Self {
        self.storage = Some(storage);
        self
    }

    async fn try_load(&self, node: &EdgeNode, body: &LoadRequest) -> Result<LoadedVersion> {
        let target = url(node, "/versions");
        let resp = self
            .http
            .send(&service(node), Retry::Idempotent, |c| {
                c.post(&target).json(body)
            })
            .await?;
        json(&service(node), resp).await
    }
}

#[async_trait]
impl NodeControl for HttpNodeControl {
    async fn load(
        &self,
        node: &EdgeNode,
        module: &WasmModule,
        config: &ModuleConfig,
    ) -> Result<LoadedVersion> {
        let body = LoadRequest {
            module: module.clone(),
            config: Some(config.clone()),
        };
        match self.try_load(node, &body).await {
            Err(Error::NotFound {
                kind: ResourceKind::ModuleBlob,
                ..
            }) if self.storage.is_some() => {}
            other => return other,
        }
        let storage = self
            .storage
            .as_ref()
            .ok_or_else(|| Error::internal("checked above"))?;
        let bytes = storage.get(&module.digest).await?;
        let target = url(node, &format!("/blobs/{}", module.digest));
        self.http
            .send(&service(node), Retry::Idempotent, |c| {
                c.put(&target)
                    .header(reqwest::header::CONTENT_TYPE, "application/wasm")
                    .body(bytes.clone())
            })
            .await?;
        self.try_load(node, &body).await
    }

    async fn unload(&self, node: &EdgeNode, module: &ModuleName, version: &Version) -> Result<()> {
        let target = url(node, &format!("/versions/{module}/{version}"));
        self.http
            .send(&service(node), Retry::Idempotent, |c| c.delete(&target))
            .await
            .map(drop)
    }

    async fn apply_routing(&self, node: &EdgeNode, table: &RoutingTable) -> Result<()> {
        let target = url(node, "/routing");
        self.http
            .send(&service(node), Retry::Idempotent, |c| {
                c.put(&target).json(table)
            })
            .await
            .map(drop)
    }

    async fn state(&self, node: &EdgeNode) -> Result<NodeState> {
        let target = url(node, "/state");
        let resp = self
            .http
            .send(&service(node), Retry::Idempotent, |c| c.get(&target))
            .await?;
        json(&service(node), resp).await
    }

    async fn execute(&self, node: &EdgeNode, execution: &Execution) -> Result<CallOutcome> {
        let target = url(node, "/execute");
        let body = ExecuteRequest::from_execution(execution);
        let timeout = self.http.config().execute_timeout;
        let resp = self
            .http
            .send(&service(node), Retry::OnConnect, |c| {
                c.post(&target).json(&body).timeout(timeout)
            })
            .await?;
        json::<ExecuteResponse>(&service(node), resp)
            .await?
            .into_routed()
    }

    async fn apply_http_routes(&self, node: &EdgeNode, set: &HttpRouteSet) -> Result<()> {
        let target = url(node, "/http-routes");
        self.http
            .send(&service(node), Retry::Idempotent, |c| {
                c.put(&target).json(set)
            })
            .await
            .map(drop)
    }

    async fn serve_http(&self, node: &EdgeNode, call: HttpCall) -> Result<HttpResponse> {
        let timeout = self.http.config().execute_timeout;
        super::forward::forward(self.http.client(), node, call, timeout).await
    }
}

//! HTTP routes on the control plane: create, list and delete them, push
//! the whole set to the nodes after every change (the reconciler repairs a
//! node a push missed), and forward a request to a node for setups whose
//! clients reach only the control plane.
//!
//! Every node gets every route: a node that does not serve a route's module
//! answers its requests `503`, the same as a node that is still loading it.

use std::sync::Arc;

use hotswap_core::ResourceKind;
use hotswap_core::clock::Clock;
use hotswap_core::domain::{
    EdgeNode, HttpRoute, HttpRouteSet, HttpRouteTable, ModuleName, RouteId,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::node::NodeControl;
use hotswap_core::repository::{
    HttpRouteRepository, ModuleFilter, ModuleRepository, NodeFilter, NodeRepository,
    NodeRepositoryExt, PageRequest,
};
use hotswap_core::runtime::http::{HttpCall, HttpResponse, HttpService};

/// What a change of the routes did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutesChanged {
    /// The route created or deleted.
    pub route: HttpRoute,
    /// The routes' revision after the change.
    pub revision: u64,
    /// The push of the new set to the nodes.
    pub pushed: Pushed,
}

/// Which nodes took a pushed set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pushed {
    /// Nodes that hold the set now, by name.
    pub nodes: Vec<String>,
    /// Nodes that did not take it, with the reason; the reconciler tries
    /// them again.
    pub failed: Vec<String>,
}

/// The control plane's HTTP routes.
#[derive(Clone, Debug)]
pub struct HttpRouteService {
    routes: Arc<dyn HttpRouteRepository>,
    modules: Arc<dyn ModuleRepository>,
    nodes: Arc<dyn NodeRepository>,
    control: Arc<dyn NodeControl>,
    clock: Arc<dyn Clock>,
}

/// Whether commands are sent to a node in this state.
fn reachable(node: &EdgeNode) -> bool {
    use hotswap_core::domain::NodeStatus as S;
    matches!(node.status, S::Healthy | S::Registering | S::Draining)
}

impl HttpRouteService {
    /// Routes in `routes`, for modules in `modules`, pushed to the nodes in
    /// `nodes` through `control`.
    pub fn new(
        routes: Arc<dyn HttpRouteRepository>,
        modules: Arc<dyn ModuleRepository>,
        nodes: Arc<dyn NodeRepository>,
        control: Arc<dyn NodeControl>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            routes,
            modules,
            nodes,
            control,
            clock,
        }
    }

    /// Route requests for `host` under `path_prefix` (every path when
    /// `None`) to `module`, which must be registered. A route at the same
    /// host and prefix is a `Conflict` naming it.
    pub async fn create(
        &self,
        host: &str,
        path_prefix: Option<&str>,
        module: ModuleName,
    ) -> Result<RoutesChanged> {
        let route = HttpRoute::new(host, path_prefix, module, self.clock.now())?;
        let registered = self
            .modules
            .list(
                &ModuleFilter::name(route.module.clone()),
                &PageRequest::first(1),
            )
            .await?;
        if registered.items.is_empty() {
            return Err(Error::not_found(ResourceKind::Module, &route.module));
        }
        let revision = self.routes.create(&route).await?;
        tracing::info!(route = %route, module = %route.module, revision, "http route created");
        let pushed = self.push().await?;
        Ok(RoutesChanged {
            route,
            revision,
            pushed,
        })
    }

    /// Remove route `id` and push the set without it.
    pub async fn delete(&self, id: RouteId) -> Result<RoutesChanged> {
        let route = self.routes.get(id).await?;
        let revision = self.routes.delete(id).await?;
        tracing::info!(route = %route, revision, "http route deleted");
        let pushed = self.push().await?;
        Ok(RoutesChanged {
            route,
            revision,
            pushed,
        })
    }

    /// A route.
    pub async fn get(&self, id: RouteId) -> Result<HttpRoute> {
        self.routes.get(id).await
    }

    /// Every route (of `module` only, when given) at the current revision.
    pub async fn list(&self, module: Option<&ModuleName>) -> Result<HttpRouteSet> {
        let set = self.routes.routes().await?;
        Ok(match module {
            Some(m) => set.only_modules(|r| r == m),
            None => set,
        })
    }

    /// Send the current set to every node that takes commands.
    pub async fn push(&self) -> Result<Pushed> {
        let set = self.routes.routes().await?;
        let nodes = self.nodes.all_nodes(&NodeFilter::default()).await?;
        let mut pushed = Pushed::default();
        for node in nodes.iter().filter(|n| reachable(n)) {
            match self.control.apply_http_routes(node, &set).await {
                Ok(()) => pushed.nodes.push(node.name.clone()),
                // A node that holds a newer set already has this change.
                Err(Error::Conflict { .. }) => pushed.nodes.push(node.name.clone()),
                Err(e) => pushed.failed.push(format!("{}: {e}", node.name)),
            }
        }
        Ok(pushed)
    }

    /// Bring `node` up to the current set when it holds an older one
    /// (`held`); returns the revision pushed, if any.
    pub async fn repair(&self, node: &EdgeNode, held: u64) -> Result<Option<u64>> {
        let set = self.routes.routes().await?;
        if held >= set.revision {
            return Ok(None);
        }
        self.control.apply_http_routes(node, &set).await?;
        Ok(Some(set.revision))
    }

    /// Forward `call` to a healthy node that has its route's module loaded,
    /// the one with the least work in flight. No route is `NotFound`; no
    /// such node is a temporary `Unavailable`.
    pub async fn forward(&self, call: HttpCall) -> Result<HttpResponse> {
        let table = HttpRouteTable::new(&self.routes.routes().await?)?;
        let route = table.route_of(&call.request)?;
        let nodes = self.nodes.all_nodes(&NodeFilter::default()).await?;
        let node = nodes
            .iter()
            .filter(|n| n.status.accepts_traffic())
            .filter(|n| n.loaded.iter().any(|l| l.module == route.module))
            .min_by_key(|n| (n.metrics.in_flight, &n.name))
            .ok_or_else(|| Error::Unavailable {
                service: format!("module {}", route.module),
                temporary: true,
                reason: "no healthy node has it loaded".into(),
                source: None,
            })?;
        self.control.serve_http(node, call).await
    }
}

#[async_trait::async_trait]
impl HttpService for HttpRouteService {
    async fn serve_http(&self, call: HttpCall) -> Result<HttpResponse> {
        self.forward(call).await
    }
}

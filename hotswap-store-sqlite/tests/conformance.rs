//! The SQLite store passes every repository conformance suite, each test
//! on its own database file.

use std::sync::Arc;

use hotswap_core::interface::InterfaceRegistry;
use hotswap_core::repository::{
    ConfigRepository, HttpRouteRepository, ModuleRepository, NodeRepository, PolicyRepository,
};
use hotswap_store_sqlite::{SqlStore, SqliteConfig};
use hotswap_testkit::deployments::DeploymentStore;

async fn store() -> SqlStore {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hotswap-store-sqlite")
        .join(format!("{}.db", uuid::Uuid::now_v7()));
    SqliteConfig::new(path).open().await.expect("sqlite opens")
}

async fn modules() -> Arc<dyn ModuleRepository> {
    store().await.modules()
}

async fn nodes() -> Arc<dyn NodeRepository> {
    store().await.nodes()
}

async fn deployments() -> DeploymentStore {
    let store = store().await;
    DeploymentStore {
        deployments: store.deployments(),
        modules: store.modules(),
    }
}

async fn http_routes() -> Arc<dyn HttpRouteRepository> {
    store().await.http_routes()
}

async fn configs() -> Arc<dyn ConfigRepository> {
    store().await.configs()
}

async fn interfaces() -> Arc<dyn InterfaceRegistry> {
    store().await.interfaces()
}

hotswap_testkit::module_repository_suite!(modules);
hotswap_testkit::node_repository_suite!(nodes);
hotswap_testkit::http_route_repository_suite!(http_routes);
hotswap_testkit::config_repository_suite!(configs);
hotswap_testkit::deployment_repository_suite!(deployments);
async fn policies() -> Arc<dyn PolicyRepository> {
    store().await.policies()
}

hotswap_testkit::interface_registry_suite!(interfaces);
hotswap_testkit::policy_repository_suite!(policies);

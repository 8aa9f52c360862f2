//! The Postgres store passes every repository conformance suite against the
//! server in `HOTSWAP_TEST_POSTGRES_URL`, each test in a schema of its own.

use std::sync::Arc;

use hotswap_core::interface::InterfaceRegistry;
use hotswap_core::repository::{
    ConfigRepository, HttpRouteRepository, ModuleRepository, NodeRepository, PolicyRepository,
};
use hotswap_store_postgres::{PostgresConfig, SqlStore};
use hotswap_testkit::deployments::DeploymentStore;

async fn store() -> Option<SqlStore> {
    let url = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL")?;
    let schema = format!("hs_test_{}", uuid::Uuid::now_v7().simple());
    let store = PostgresConfig::new(url)
        .with_schema(schema)
        .with_max_connections(8)
        .connect()
        .await
        .expect("postgres connects");
    Some(store)
}

async fn modules() -> Option<Arc<dyn ModuleRepository>> {
    Some(store().await?.modules())
}

async fn nodes() -> Option<Arc<dyn NodeRepository>> {
    Some(store().await?.nodes())
}

async fn deployments() -> Option<DeploymentStore> {
    let store = store().await?;
    Some(DeploymentStore {
        deployments: store.deployments(),
        modules: store.modules(),
    })
}

async fn http_routes() -> Option<Arc<dyn HttpRouteRepository>> {
    Some(store().await?.http_routes())
}

async fn configs() -> Option<Arc<dyn ConfigRepository>> {
    Some(store().await?.configs())
}

async fn interfaces() -> Option<Arc<dyn InterfaceRegistry>> {
    Some(store().await?.interfaces())
}

hotswap_testkit::module_repository_suite!(modules);
hotswap_testkit::node_repository_suite!(nodes);
hotswap_testkit::http_route_repository_suite!(http_routes);
hotswap_testkit::config_repository_suite!(configs);
hotswap_testkit::deployment_repository_suite!(deployments);
async fn policies() -> Option<Arc<dyn PolicyRepository>> {
    Some(store().await?.policies())
}

hotswap_testkit::interface_registry_suite!(interfaces);
hotswap_testkit::policy_repository_suite!(policies);

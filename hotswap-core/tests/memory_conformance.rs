//! The in-memory backends pass every conformance suite.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_core::domain::Digest;
use hotswap_core::interface::{InterfaceRegistry, MemoryInterfaceRegistry};
use hotswap_core::repository::memory::{
    MemoryConfigRepository, MemoryDeploymentRepository, MemoryHttpRouteRepository,
    MemoryModuleRepository, MemoryNodeRepository, MemoryPolicyRepository,
};
use hotswap_core::repository::{
    ConfigRepository, HttpRouteRepository, ModuleRepository, NodeRepository, PolicyRepository,
};
use hotswap_core::storage::{Codec, MemoryStorage};
use hotswap_testkit::deployments::DeploymentStore;
use hotswap_testkit::storage::StorageHarness;

const MAX_BYTES: usize = 16 * 1024 * 1024;

async fn storage() -> StorageHarness {
    let store = Arc::new(MemoryStorage::with_codec(
        Codec::new(5, MAX_BYTES).expect("codec"),
    ));
    let damaged = store.clone();
    StorageHarness {
        storage: store,
        max_bytes: MAX_BYTES,
        damage: Arc::new(move |digest| {
            let store = damaged.clone();
            Box::pin(async move {
                // A valid Brotli stream of other bytes: only the digest
                // check can catch it.
                let other = Codec::default().encode(b"tampered")?;
                store.overwrite_stored(&digest, other.compressed);
                Ok(())
            })
        }),
    }
}

async fn modules() -> Arc<dyn ModuleRepository> {
    Arc::new(MemoryModuleRepository::new())
}

async fn nodes() -> Arc<dyn NodeRepository> {
    Arc::new(MemoryNodeRepository::new())
}

async fn deployments() -> DeploymentStore {
    let modules = MemoryModuleRepository::new();
    DeploymentStore {
        deployments: Arc::new(MemoryDeploymentRepository::holding(&modules)),
        modules: Arc::new(modules),
    }
}

async fn configs() -> Arc<dyn ConfigRepository> {
    Arc::new(MemoryConfigRepository::new())
}

async fn http_routes() -> Arc<dyn HttpRouteRepository> {
    Arc::new(MemoryHttpRouteRepository::new())
}

async fn interfaces() -> Arc<dyn InterfaceRegistry> {
    Arc::new(MemoryInterfaceRegistry::new())
}

hotswap_testkit::storage_suite!(storage);
hotswap_testkit::module_repository_suite!(modules);
hotswap_testkit::node_repository_suite!(nodes);
hotswap_testkit::http_route_repository_suite!(http_routes);
hotswap_testkit::config_repository_suite!(configs);
hotswap_testkit::deployment_repository_suite!(deployments);
async fn policies() -> Arc<dyn PolicyRepository> {
    Arc::new(MemoryPolicyRepository::new())
}

hotswap_testkit::interface_registry_suite!(interfaces);
hotswap_testkit::policy_repository_suite!(policies);

/// A storage whose every call fails, as an unreachable server's would.
#[derive(Debug)]
struct FailingStorage;

#[async_trait::async_trait]
impl hotswap_core::storage::ModuleStorage for FailingStorage {
    async fn put(
        &self,
        _: bytes::Bytes,
    ) -> hotswap_core::Result<hotswap_core::storage::StoredBlob> {
        Err(refused())
    }
    async fn get(&self, _: &Digest) -> hotswap_core::Result<bytes::Bytes> {
        Err(refused())
    }
    async fn exists(&self, _: &Digest) -> hotswap_core::Result<bool> {
        Err(refused())
    }
    async fn delete(&self, _: &Digest) -> hotswap_core::Result<bool> {
        Err(refused())
    }
    async fn list(&self) -> hotswap_core::Result<Vec<Digest>> {
        Err(refused())
    }
    async fn stored_at(
        &self,
        _: &Digest,
    ) -> hotswap_core::Result<Option<chrono::DateTime<chrono::Utc>>> {
        Err(refused())
    }
}

fn refused() -> hotswap_core::Error {
    hotswap_core::Error::unavailable("broken", true, "connection refused")
}

async fn orphans() -> hotswap_testkit::orphans::OrphanHarness {
    hotswap_testkit::orphans::OrphanHarness {
        storage: Arc::new(MemoryStorage::new()),
        modules: Arc::new(MemoryModuleRepository::new()),
        failing_storage: Arc::new(FailingStorage),
    }
}

hotswap_testkit::orphan_suite!(orphans);

async fn keyvalue() -> Arc<dyn hotswap_core::keyvalue::KeyValueStore> {
    Arc::new(hotswap_core::keyvalue::MemoryKeyValue::new())
}

hotswap_testkit::keyvalue_suite!(keyvalue);

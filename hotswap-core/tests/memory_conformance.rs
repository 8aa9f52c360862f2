//! The in-memory backends pass every conformance suite.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_core::interface::{InterfaceRegistry, MemoryInterfaceRegistry};
use hotswap_core::repository::memory::{
    MemoryDeploymentRepository, MemoryModuleRepository, MemoryNodeRepository,
};
use hotswap_core::repository::{DeploymentRepository, ModuleRepository, NodeRepository};
use hotswap_core::storage::{Codec, MemoryStorage};
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

async fn deployments() -> Arc<dyn DeploymentRepository> {
    Arc::new(MemoryDeploymentRepository::new())
}

async fn interfaces() -> Arc<dyn InterfaceRegistry> {
    Arc::new(MemoryInterfaceRegistry::new())
}

hotswap_testkit::storage_suite!(storage);
hotswap_testkit::module_repository_suite!(modules);
hotswap_testkit::node_repository_suite!(nodes);
hotswap_testkit::deployment_repository_suite!(deployments);
hotswap_testkit::interface_registry_suite!(interfaces);

//! In-memory repositories: the reference behaviour every backend matches,
//! and the backends of unit tests and simulations.

mod configs;
mod deployments;
mod http_routes;
mod modules;
mod nodes;
mod policies;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use configs::MemoryConfigRepository;
pub use deployments::MemoryDeploymentRepository;
pub use http_routes::MemoryHttpRouteRepository;
pub use modules::MemoryModuleRepository;
pub use nodes::MemoryNodeRepository;
pub use policies::MemoryPolicyRepository;

/// A lock whose poisoning is ignored: every write in these repositories
/// checks first and then mutates in one step, so a panic cannot leave a
/// half-applied change behind.
#[derive(Debug, Default)]
pub(crate) struct Table<T>(RwLock<T>);

impl<T> Table<T> {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }
}

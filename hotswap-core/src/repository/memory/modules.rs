use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use semver::Version;

use super::Table;
use crate::domain::{Digest, ModuleDeployment, ModuleId, ModuleName, WasmModule, version_in_use};
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::repository::{
    ModuleFilter, ModuleRepository, ModuleUpdate, Page, PageRequest, page_in_memory,
};

/// Module versions in memory.
///
/// A [`MemoryDeploymentRepository`](super::MemoryDeploymentRepository)
/// made [`holding`](super::MemoryDeploymentRepository::holding) this one
/// keeps each module's latest deployment here, and a version that
/// deployment holds is not deleted: the invariant the SQL stores hold
/// with a foreign key.
#[derive(Debug, Default)]
pub struct MemoryModuleRepository {
    pub(super) rows: Arc<Table<BTreeMap<ModuleId, WasmModule>>>,
    /// Each module's latest deployment, kept by the linked deployments.
    pub(super) latest: Arc<Table<BTreeMap<ModuleName, ModuleDeployment>>>,
}

impl MemoryModuleRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ModuleRepository for MemoryModuleRepository {
    async fn create(&self, module: &WasmModule) -> Result<()> {
        module.validate()?;
        let mut rows = self.rows.write();
        if rows.contains_key(&module.id) {
            return Err(Error::already_exists(
                ResourceKind::ModuleVersion,
                module.id,
            ));
        }
        if rows
            .values()
            .any(|m| m.name == module.name && m.version == module.version)
        {
            return Err(Error::already_exists(
                ResourceKind::ModuleVersion,
                module.reference(),
            ));
        }
        rows.insert(module.id, module.clone());
        Ok(())
    }

    async fn get(&self, id: ModuleId) -> Result<WasmModule> {
        self.rows
            .read()
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(ResourceKind::ModuleVersion, id))
    }

    async fn get_version(&self, name: &ModuleName, version: &Version) -> Result<WasmModule> {
        self.rows
            .read()
            .values()
            .find(|m| &m.name == name && &m.version == version)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(ResourceKind::ModuleVersion, format!("{name}@{version}"))
            })
    }

    async fn list(&self, filter: &ModuleFilter, page: &PageRequest) -> Result<Page<WasmModule>> {
        let rows = self.rows.read();
        page_in_memory(rows.values().filter(|m| filter.matches(m)), page, 2, |m| {
            vec![m.name.to_string(), m.id.to_string()]
        })
    }

    async fn update(&self, id: ModuleId, update: &ModuleUpdate) -> Result<WasmModule> {
        if let Some(limits) = &update.limits {
            limits.validate().map_err(|e| e.within("limits"))?;
        }
        let mut rows = self.rows.write();
        let row = rows
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::ModuleVersion, id))?;
        if let Some(labels) = &update.labels {
            row.labels = labels.clone();
        }
        if let Some(limits) = update.limits {
            row.limits = limits;
        }
        Ok(row.clone())
    }

    async fn delete(&self, id: ModuleId) -> Result<()> {
        let mut rows = self.rows.write();
        let module = rows
            .get(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::ModuleVersion, id))?;
        let latest = self.latest.read();
        if let Some(e) = version_in_use(
            &module.reference(),
            &module.version,
            latest.get(&module.name),
        ) {
            return Err(e);
        }
        rows.remove(&id);
        Ok(())
    }

    async fn count_by_digest(&self, digest: &Digest) -> Result<u64> {
        Ok(self
            .rows
            .read()
            .values()
            .filter(|m| &m.digest == digest)
            .count() as u64)
    }
}

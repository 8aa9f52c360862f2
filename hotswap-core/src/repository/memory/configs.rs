use std::collections::HashMap;

use async_trait::async_trait;

use super::Table;
use crate::domain::{ModuleConfig, ModuleName};
use crate::error::{Error, ResourceKind, Result};
use crate::repository::{ConfigRepository, config_revision_taken};

/// Configuration revisions in memory.
#[derive(Debug, Default)]
pub struct MemoryConfigRepository {
    revisions: Table<HashMap<ModuleName, Vec<ModuleConfig>>>,
}

impl MemoryConfigRepository {
    /// No configuration.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ConfigRepository for MemoryConfigRepository {
    async fn create(&self, config: &ModuleConfig) -> Result<()> {
        config.validate()?;
        let mut all = self.revisions.write();
        let revisions = all.entry(config.module.clone()).or_default();
        let latest = revisions.len() as u64;
        if config.revision != latest + 1 {
            return Err(config_revision_taken(
                &config.module,
                config.revision,
                latest,
            ));
        }
        revisions.push(config.clone());
        Ok(())
    }

    async fn get(&self, module: &ModuleName, revision: u64) -> Result<ModuleConfig> {
        revision
            .checked_sub(1)
            .and_then(|i| self.revisions.read().get(module)?.get(i as usize).cloned())
            .ok_or_else(|| {
                Error::not_found(
                    ResourceKind::ConfigRevision,
                    format!("{module} revision {revision}"),
                )
            })
    }

    async fn latest(&self, module: &ModuleName) -> Result<Option<ModuleConfig>> {
        Ok(self
            .revisions
            .read()
            .get(module)
            .and_then(|r| r.last().cloned()))
    }
}

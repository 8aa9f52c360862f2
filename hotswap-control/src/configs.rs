//! Module configuration: each change makes the next revision, with its
//! secrets sealed by the control plane's key before anything is stored.
//! Deployments bind revisions (see the orchestrator); this service only
//! writes and reads them.

use std::sync::Arc;

use hotswap_core::ResourceKind;
use hotswap_core::clock::Clock;
use hotswap_core::domain::{ConfigPatch, ModuleConfig, ModuleName};
use hotswap_core::error::{Error, Result};
use hotswap_core::repository::{ConfigRepository, ModuleRepository, ModuleRepositoryExt};
use hotswap_core::secrets::SecretsKey;

/// Writes and reads modules' configuration revisions.
#[derive(Clone, Debug)]
pub struct ConfigService {
    configs: Arc<dyn ConfigRepository>,
    modules: Arc<dyn ModuleRepository>,
    clock: Arc<dyn Clock>,
    key: Option<Arc<SecretsKey>>,
}

impl ConfigService {
    /// Revisions in `configs` of the modules in `modules`; without a key,
    /// changes that set a secret are refused.
    pub fn new(
        configs: Arc<dyn ConfigRepository>,
        modules: Arc<dyn ModuleRepository>,
        clock: Arc<dyn Clock>,
        key: Option<Arc<SecretsKey>>,
    ) -> Self {
        Self {
            configs,
            modules,
            clock,
            key,
        }
    }

    /// Apply `patch` to `module`'s latest revision as `by`, storing the
    /// next one: values and secrets set (a key changes kind when set as
    /// the other), keys removed, secrets not named kept as they were
    /// sealed. The module must have a registered version. A revision
    /// written meanwhile by someone else is a `Conflict`; nothing is stored
    /// for a refused change.
    pub async fn set(
        &self,
        module: &ModuleName,
        patch: ConfigPatch,
        by: &str,
    ) -> Result<ModuleConfig> {
        patch.validate()?;
        if self.modules.latest(module).await?.is_none() {
            return Err(Error::not_found(ResourceKind::Module, module));
        }
        let mut next = self.latest(module).await?;
        next.revision += 1;
        next.created_at = self.clock.now();
        next.created_by = by.to_owned();
        for key in &patch.remove {
            if next.values.remove(key).is_none() && next.secrets.remove(key).is_none() {
                return Err(Error::invalid(
                    format!("remove.{key}"),
                    format!("{module} has no configuration key {key}"),
                ));
            }
        }
        if !patch.secrets.is_empty() && self.key.is_none() {
            return Err(Error::invalid(
                "secrets",
                "this control plane has no secrets key (--secrets-key-file), so it cannot store secrets",
            ));
        }
        for (key, value) in patch.values {
            next.secrets.remove(&key);
            next.values.insert(key, value);
        }
        if let Some(sealer) = &self.key {
            for (key, value) in &patch.secrets {
                let sealed = sealer.seal(module, key, next.revision, value)?;
                next.values.remove(key);
                next.secrets.insert(key.clone(), sealed);
            }
        }
        next.validate()?;
        self.configs.create(&next).await?;
        tracing::info!(module = %module, revision = next.revision, by,
            keys = next.values.len() + next.secrets.len(), "configuration revision stored");
        Ok(next)
    }

    /// Revision `revision` of `module`.
    pub async fn get(&self, module: &ModuleName, revision: u64) -> Result<ModuleConfig> {
        self.configs.get(module, revision).await
    }

    /// `module`'s latest revision, or revision 0 when it has none.
    pub async fn latest(&self, module: &ModuleName) -> Result<ModuleConfig> {
        Ok(self
            .configs
            .latest(module)
            .await?
            .unwrap_or_else(|| ModuleConfig::none(module.clone())))
    }
}

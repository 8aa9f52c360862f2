use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryModuleRepository, Table};
use crate::domain::{
    DeploymentEvent, DeploymentId, ModuleDeployment, ModuleId, ModuleName, WasmModule,
};
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::repository::{
    DeploymentFilter, DeploymentRepository, Lease, Page, PageRequest, lease_expiry, lease_held,
    page_in_memory, stale_revision, validate_owner,
};

#[derive(Debug, Clone)]
struct Row {
    deployment: ModuleDeployment,
    events: Vec<DeploymentEvent>,
    lease: Option<Lease>,
}

/// Deployments, event logs and leases in memory.
///
/// At most one deployment of a module is open. Made
/// [`holding`](Self::holding) a module repository, it also refuses a
/// deployment of a version that repository lacks, and that repository
/// refuses to delete a version the module's latest deployment holds, as
/// the SQL stores do.
#[derive(Debug, Default)]
pub struct MemoryDeploymentRepository {
    rows: Table<BTreeMap<DeploymentId, Row>>,
    modules: Option<Link>,
}

/// What a deployment repository shares with the module repository whose
/// versions it holds. Locks are taken in the order modules, deployments,
/// latest, by every method of both.
#[derive(Debug)]
struct Link {
    modules: Arc<Table<BTreeMap<ModuleId, WasmModule>>>,
    latest: Arc<Table<BTreeMap<ModuleName, ModuleDeployment>>>,
}

impl MemoryDeploymentRepository {
    /// An empty repository that checks no module versions.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty repository whose deployments hold versions of `modules`.
    pub fn holding(modules: &MemoryModuleRepository) -> Self {
        Self {
            rows: Table::default(),
            modules: Some(Link {
                modules: modules.rows.clone(),
                latest: modules.latest.clone(),
            }),
        }
    }
}

impl MemoryDeploymentRepository {
    /// Record `d` as its module's latest deployment: always when it is
    /// new, else only when it is the latest already.
    fn set_latest(&self, d: &ModuleDeployment, new: bool) {
        if let Some(link) = &self.modules {
            let mut latest = link.latest.write();
            if new || latest.get(&d.module).is_some_and(|l| l.id == d.id) {
                latest.insert(d.module.clone(), d.clone());
            }
        }
    }
}

fn numbered(events: &[DeploymentEvent], after: u64) -> Vec<DeploymentEvent> {
    events
        .iter()
        .zip(after + 1..)
        .map(|(e, seq)| {
            let mut e = e.clone();
            e.seq = seq;
            e
        })
        .collect()
}

#[async_trait]
impl DeploymentRepository for MemoryDeploymentRepository {
    async fn create(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        deployment.validate()?;
        let modules = self.modules.as_ref().map(|l| l.modules.read());
        let mut rows = self.rows.write();
        if rows.contains_key(&deployment.id) {
            return Err(Error::already_exists(
                ResourceKind::Deployment,
                deployment.id,
            ));
        }
        if let Some(open) = rows
            .values()
            .find(|r| r.deployment.module == deployment.module && !r.deployment.phase.is_terminal())
        {
            return Err(open.deployment.still_open());
        }
        if let Some(modules) = &modules {
            for version in deployment.held_versions() {
                if !modules
                    .values()
                    .any(|m| m.name == deployment.module && m.version == version)
                {
                    return Err(Error::not_found(
                        ResourceKind::ModuleVersion,
                        format!("{}@{version}", deployment.module),
                    ));
                }
            }
        }
        let mut stored = deployment.clone();
        stored.revision = 1;
        rows.insert(
            stored.id,
            Row {
                deployment: stored.clone(),
                events: numbered(events, 0),
                lease: None,
            },
        );
        self.set_latest(&stored, true);
        Ok(stored)
    }

    async fn get(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        self.rows
            .read()
            .get(&id)
            .map(|r| r.deployment.clone())
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, id))
    }

    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &PageRequest,
    ) -> Result<Page<ModuleDeployment>> {
        let rows = self.rows.read();
        page_in_memory(
            rows.values()
                .map(|r| &r.deployment)
                .filter(|d| filter.matches(d)),
            page,
            1,
            |d| vec![d.id.to_string()],
        )
    }

    async fn update(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        deployment.validate()?;
        let mut rows = self.rows.write();
        let row = rows
            .get_mut(&deployment.id)
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, deployment.id))?;
        if row.deployment.revision != deployment.revision {
            return Err(stale_revision(
                format!("deployment {}", deployment.id),
                deployment.revision,
                row.deployment.revision,
            ));
        }
        let mut stored = deployment.clone();
        stored.revision += 1;
        let last = row.events.last().map_or(0, |e| e.seq);
        row.events.extend(numbered(events, last));
        row.deployment = stored.clone();
        self.set_latest(&stored, false);
        Ok(stored)
    }

    async fn events(
        &self,
        id: DeploymentId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentEvent>> {
        let rows = self.rows.read();
        let row = rows
            .get(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, id))?;
        Ok(row
            .events
            .iter()
            .filter(|e| e.seq > after_seq)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn delete(&self, id: DeploymentId) -> Result<()> {
        let row = self
            .rows
            .write()
            .remove(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, id))?;
        if let Some(link) = &self.modules {
            let mut latest = link.latest.write();
            if latest
                .get(&row.deployment.module)
                .is_some_and(|d| d.id == id)
            {
                latest.remove(&row.deployment.module);
            }
        }
        Ok(())
    }

    async fn acquire_lease(
        &self,
        id: DeploymentId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        validate_owner(owner)?;
        let expires_at = lease_expiry(now, ttl)?;
        let mut rows = self.rows.write();
        let row = rows
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, id))?;
        if let Some(held) = &row.lease
            && held.owner != owner
            && held.expires_at > now
        {
            return Err(lease_held(id, &held.owner, held.expires_at));
        }
        let lease = Lease {
            deployment: id,
            owner: owner.to_owned(),
            expires_at,
        };
        row.lease = Some(lease.clone());
        Ok(lease)
    }

    async fn release_lease(&self, id: DeploymentId, owner: &str) -> Result<()> {
        let mut rows = self.rows.write();
        let row = rows
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::Deployment, id))?;
        if row.lease.as_ref().is_some_and(|l| l.owner == owner) {
            row.lease = None;
        }
        Ok(())
    }
}

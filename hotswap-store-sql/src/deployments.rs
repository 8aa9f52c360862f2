//! Deployments in `deployments`, their event logs in `deployment_events`,
//! and leases in the deployment's `lease_owner` / `lease_expires_us`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hotswap_core::ResourceKind;
use hotswap_core::domain::{DeploymentEvent, DeploymentId, ModuleDeployment};
use hotswap_core::repository::{
    DeploymentFilter, DeploymentRepository, Lease, Page, PageRequest, lease_expiry, lease_held,
    stale_revision, validate_owner,
};
use hotswap_core::{Error, Result};
use sqlx::{Any, Transaction};

use crate::holds::HoldError;
use crate::nodes::revision;
use crate::query::{Row, Sql};
use crate::{SqlStore, from_doc, is_unique_violation, tag, to_doc};

const TABLE: &str = "deployments";
const KIND: ResourceKind = ResourceKind::Deployment;

impl SqlStore {
    async fn deployment_row(
        &self,
        id: DeploymentId,
    ) -> Result<Option<(String, Option<String>, Option<i64>)>> {
        let mut sql =
            Sql::new("SELECT doc, lease_owner, lease_expires_us FROM deployments WHERE id = ");
        let p = sql.arg(id.to_string());
        sql.push(&p);
        sqlx::query_as_with::<_, (String, Option<String>, Option<i64>), _>(
            sql.text(),
            sql.arguments(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db_error(e))
    }

    /// Append `events` after the log's last one, inside `tx`.
    async fn append_events(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: DeploymentId,
        events: &[DeploymentEvent],
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut last =
            Sql::new("SELECT COALESCE(MAX(seq), 0) FROM deployment_events WHERE deployment_id = ");
        let p = last.arg(id.to_string());
        last.push(&p);
        let last = last
            .scalar::<i64>()
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| self.db_error(e))?;
        for (event, seq) in events.iter().zip(last.saturating_add(1)..) {
            let mut event = event.clone();
            event.seq = u64::try_from(seq).unwrap_or(0);
            let mut sql =
                Sql::new("INSERT INTO deployment_events (deployment_id, seq, doc) VALUES (");
            let params = [
                sql.arg(id.to_string()),
                sql.arg(seq),
                sql.arg(to_doc(&event)?),
            ];
            sql.push(&params.join(", ")).push(")");
            sql.query()
                .execute(&mut **tx)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        Ok(())
    }

    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>> {
        self.pool.begin().await.map_err(|e| self.db_error(e))
    }

    pub(crate) async fn commit(&self, tx: Transaction<'static, Any>) -> Result<()> {
        tx.commit().await.map_err(|e| self.db_error(e))
    }
}

/// The columns of a deployment's row (the lease columns are written only
/// by the lease operations).
pub(crate) fn row(d: &ModuleDeployment) -> Result<Row> {
    Ok(vec![
        ("id", d.id.to_string().into()),
        ("module", d.module.to_string().into()),
        ("phase", tag(&d.phase)?.into()),
        ("environment", tag(&d.environment)?.into()),
        ("revision", revision(d.revision)?.into()),
        ("doc", to_doc(d)?.into()),
    ])
}

/// A time as the database stores it: microseconds since the epoch.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

#[async_trait]
impl DeploymentRepository for SqlStore {
    async fn create(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        deployment.validate()?;
        let mut stored = deployment.clone();
        stored.revision = 1;
        let sql = Sql::insert(TABLE, row(&stored)?);
        // The insert comes first, so the transaction holds the write lock
        // from its first statement.
        let mut tx = self.begin().await?;
        match sql.query().execute(&mut *tx).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                if self.deployment_row(deployment.id).await?.is_some() {
                    return Err(Error::already_exists(KIND, deployment.id));
                }
                // deployments_one_open: another deployment of the module
                // is open.
                return Err(self.open_conflict(&deployment.module).await?);
            }
            Err(e) => return Err(self.db_error(e)),
        }
        match self.write_holds(&mut tx, &stored, true).await {
            Ok(()) => {}
            Err(HoldError::Missing) => {
                drop(tx);
                return Err(self.missing_version(&stored).await);
            }
            Err(HoldError::Db(e)) => return Err(e),
        }
        self.append_events(&mut tx, stored.id, events).await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn get(&self, id: DeploymentId) -> Result<ModuleDeployment> {
        match self.deployment_row(id).await? {
            Some((doc, ..)) => from_doc(TABLE, &doc),
            None => Err(Error::not_found(KIND, id)),
        }
    }

    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &PageRequest,
    ) -> Result<Page<ModuleDeployment>> {
        let key = page.after_key(1)?;
        let mut sql = Sql::new("SELECT doc FROM deployments WHERE 1 = 1");
        if let Some(module) = &filter.module {
            let p = sql.arg(module.to_string());
            sql.push(&format!(" AND module = {p}"));
        }
        if let Some(phase) = &filter.phase {
            let p = sql.arg(tag(phase)?);
            sql.push(&format!(" AND phase = {p}"));
        }
        if let Some(environment) = &filter.environment {
            let p = sql.arg(tag(environment)?);
            sql.push(&format!(" AND environment = {p}"));
        }
        sql.after("id", key).page("id", page.limit);
        let items = self.docs(&sql, TABLE).await?;
        Ok(Page::from_overfetch(
            items,
            page.limit,
            |d: &ModuleDeployment| vec![d.id.to_string()],
        ))
    }

    async fn update(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment> {
        deployment.validate()?;
        let mut stored = deployment.clone();
        stored.revision = deployment.revision.saturating_add(1);
        let sql = Sql::compare_and_set(
            TABLE,
            row(&stored)?,
            deployment.id.to_string(),
            revision(deployment.revision)?,
        );
        // Compare-and-set first: the state and the events commit together
        // or not at all.
        let mut tx = self.begin().await?;
        let done = sql
            .query()
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if done.rows_affected() != 1 {
            drop(tx);
            let current = DeploymentRepository::get(self, deployment.id).await?;
            return Err(stale_revision(
                format!("deployment {}", deployment.id),
                deployment.revision,
                current.revision,
            ));
        }
        match self.write_holds(&mut tx, &stored, false).await {
            Ok(()) => {}
            // What an update holds is what the deployment held already.
            Err(HoldError::Missing) => {
                drop(tx);
                return Err(self.missing_version(&stored).await);
            }
            Err(HoldError::Db(e)) => return Err(e),
        }
        self.append_events(&mut tx, stored.id, events).await?;
        self.commit(tx).await?;
        Ok(stored)
    }

    async fn events(
        &self,
        id: DeploymentId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentEvent>> {
        let mut sql = Sql::new("SELECT doc FROM deployment_events WHERE deployment_id = ");
        let cond = format!(
            "{} AND seq > {} ORDER BY seq LIMIT {}",
            sql.arg(id.to_string()),
            sql.arg(i64::try_from(after_seq).unwrap_or(i64::MAX)),
            sql.arg(i64::from(limit))
        );
        sql.push(&cond);
        let events: Vec<DeploymentEvent> = self.docs(&sql, "deployment_events").await?;
        if events.is_empty() && self.deployment_row(id).await?.is_none() {
            return Err(Error::not_found(KIND, id));
        }
        Ok(events)
    }

    async fn delete(&self, id: DeploymentId) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut sql = Sql::new("DELETE FROM deployments WHERE id = ");
        let p = sql.arg(id.to_string());
        sql.push(&p);
        let done = sql
            .query()
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(KIND, id));
        }
        let mut sql = Sql::new("DELETE FROM deployment_events WHERE deployment_id = ");
        let p = sql.arg(id.to_string());
        sql.push(&p);
        sql.query()
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        self.commit(tx).await
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
        // One conditional write: free, lapsed, or already ours.
        let mut sql = Sql::new("UPDATE deployments SET ");
        let text = format!(
            "lease_owner = {o}, lease_expires_us = {e} WHERE id = {i} \
             AND (lease_owner IS NULL OR lease_owner = {o} OR lease_expires_us <= {n})",
            o = sql.arg(owner),
            e = sql.arg(micros(expires_at)),
            i = sql.arg(id.to_string()),
            n = sql.arg(micros(now)),
        );
        sql.push(&text);
        if self.execute(&sql).await? == 1 {
            return Ok(Lease {
                deployment: id,
                owner: owner.to_owned(),
                expires_at,
            });
        }
        match self.deployment_row(id).await? {
            None => Err(Error::not_found(KIND, id)),
            Some((_, holder, until)) => Err(lease_held(
                id,
                &holder.unwrap_or_default(),
                from_micros(until.unwrap_or_default()),
            )),
        }
    }

    async fn release_lease(&self, id: DeploymentId, owner: &str) -> Result<()> {
        let mut sql = Sql::new(
            "UPDATE deployments SET lease_owner = NULL, lease_expires_us = NULL WHERE id = ",
        );
        let text = format!(
            "{} AND lease_owner = {}",
            sql.arg(id.to_string()),
            sql.arg(owner)
        );
        sql.push(&text);
        if self.execute(&sql).await? == 0 && self.deployment_row(id).await?.is_none() {
            return Err(Error::not_found(KIND, id));
        }
        Ok(())
    }
}

//! Module versions in `wasm_modules`.

use async_trait::async_trait;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{Digest, ModuleId, ModuleName, WasmModule};
use hotswap_core::repository::{ModuleFilter, ModuleRepository, ModuleUpdate, Page, PageRequest};
use hotswap_core::{Error, Result};
use semver::Version;

use crate::holds::is_foreign_key_violation;
use crate::query::{Row, Sql};
use crate::{SqlStore, from_doc, tag, to_doc};

const TABLE: &str = "wasm_modules";
const KIND: ResourceKind = ResourceKind::ModuleVersion;

/// How often an update re-reads a version another writer changed under it.
const UPDATE_ATTEMPTS: usize = 16;

/// The columns of a version's row.
pub(crate) fn row(module: &WasmModule) -> Result<Row> {
    Ok(vec![
        ("id", module.id.to_string().into()),
        ("name", module.name.to_string().into()),
        ("version", module.version.to_string().into()),
        ("kind", tag(&module.kind)?.into()),
        ("digest", module.digest.to_string().into()),
        ("labels", to_doc(&module.labels)?.into()),
        ("doc", to_doc(module)?.into()),
    ])
}

#[async_trait]
impl ModuleRepository for SqlStore {
    async fn create(&self, module: &WasmModule) -> Result<()> {
        module.validate()?;
        let sql = Sql::insert(TABLE, row(module)?);
        self.insert_unique(
            &sql,
            (TABLE, KIND),
            module.id.to_string(),
            module.reference(),
        )
        .await
    }

    async fn get(&self, id: ModuleId) -> Result<WasmModule> {
        match self.doc_where(TABLE, "id", id.to_string()).await? {
            Some(doc) => from_doc(TABLE, &doc),
            None => Err(Error::not_found(KIND, id)),
        }
    }

    async fn get_version(&self, name: &ModuleName, version: &Version) -> Result<WasmModule> {
        let mut sql = Sql::new("SELECT doc FROM wasm_modules WHERE name = ");
        let (n, v) = (sql.arg(name.to_string()), sql.arg(version.to_string()));
        sql.push(&format!("{n} AND version = {v}"));
        let doc = sql
            .scalar::<String>()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        match doc {
            Some(doc) => from_doc(TABLE, &doc),
            None => Err(Error::not_found(KIND, format!("{name}@{version}"))),
        }
    }

    async fn list(&self, filter: &ModuleFilter, page: &PageRequest) -> Result<Page<WasmModule>> {
        let key = page.after_key(2)?;
        let mut sql = Sql::new("SELECT doc FROM wasm_modules WHERE 1 = 1");
        if let Some(name) = &filter.name {
            let p = sql.arg(name.to_string());
            sql.push(&format!(" AND name = {p}"));
        }
        if let Some(kind) = &filter.kind {
            let p = sql.arg(tag(kind)?);
            sql.push(&format!(" AND kind = {p}"));
        }
        if let Some(digest) = &filter.digest {
            let p = sql.arg(digest.to_string());
            sql.push(&format!(" AND digest = {p}"));
        }
        if !filter.labels.is_empty() {
            let p = sql.arg(to_doc(&filter.labels)?);
            sql.push(&format!(
                " AND {}",
                self.dialect.labels_contain("labels", &p)
            ));
        }
        sql.after("name, id", key).page("name, id", page.limit);
        let items = self.docs(&sql, TABLE).await?;
        Ok(Page::from_overfetch(items, page.limit, |m: &WasmModule| {
            vec![m.name.to_string(), m.id.to_string()]
        }))
    }

    async fn update(&self, id: ModuleId, update: &ModuleUpdate) -> Result<WasmModule> {
        if let Some(limits) = &update.limits {
            limits.validate().map_err(|e| e.within("limits"))?;
        }
        // Compare-and-set on the whole document, so two updates of
        // different fields never lose each other's change.
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(old) = self.doc_where(TABLE, "id", id.to_string()).await? else {
                return Err(Error::not_found(KIND, id));
            };
            let mut module: WasmModule = from_doc(TABLE, &old)?;
            if let Some(labels) = &update.labels {
                module.labels = labels.clone();
            }
            if let Some(limits) = update.limits {
                module.limits = limits;
            }
            let mut sql = Sql::new("UPDATE wasm_modules SET labels = ");
            let params = [
                sql.arg(to_doc(&module.labels)?),
                sql.arg(to_doc(&module)?),
                sql.arg(id.to_string()),
                sql.arg(old),
            ];
            sql.push(&format!(
                "{}, doc = {} WHERE id = {} AND doc = {}",
                params[0], params[1], params[2], params[3]
            ));
            if self.execute(&sql).await? == 1 {
                return Ok(module);
            }
        }
        Err(Error::conflict(
            format!("module version {id}"),
            "changed by other writers on every attempt; retry",
        ))
    }

    async fn delete(&self, id: ModuleId) -> Result<()> {
        let module = ModuleRepository::get(self, id).await?;
        let mut sql = Sql::new("DELETE FROM wasm_modules WHERE id = ");
        let p = sql.arg(id.to_string());
        sql.push(&p);
        match sql.query().execute(&self.pool).await {
            Ok(done) if done.rows_affected() == 0 => Err(Error::not_found(KIND, id)),
            Ok(_) => Ok(()),
            // deployment_holds references the version.
            Err(e) if is_foreign_key_violation(&e) => Err(self.held_conflict(&module).await?),
            Err(e) => Err(self.db_error(e)),
        }
    }

    async fn count_by_digest(&self, digest: &Digest) -> Result<u64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM wasm_modules WHERE digest = ");
        let p = sql.arg(digest.to_string());
        sql.push(&p);
        let n = sql
            .scalar::<i64>()
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

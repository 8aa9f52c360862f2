//! WIT interfaces in `wasi_interfaces`, compatibility modes in
//! `interface_packages`.

use async_trait::async_trait;
use hotswap_core::ResourceKind;
use hotswap_core::domain::InterfaceId;
use hotswap_core::interface::{
    Approval, CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, WitInterface,
};
use hotswap_core::repository::{Page, PageRequest};
use hotswap_core::{Error, Result};
use semver::Version;

use crate::query::Sql;
use crate::{SqlStore, from_doc, tag, to_doc};

const TABLE: &str = "wasi_interfaces";
const KIND: ResourceKind = ResourceKind::Interface;

/// The `version` column: empty for an unversioned package, so that
/// `(package, version)` stays unique (SQL unique keys let NULLs repeat).
fn version_column(v: Option<&Version>) -> String {
    v.map(Version::to_string).unwrap_or_default()
}

#[async_trait]
impl InterfaceRegistry for SqlStore {
    async fn register(&self, interface: &WitInterface) -> Result<()> {
        interface.validate()?;
        let sql = Sql::insert(
            TABLE,
            vec![
                ("id", interface.id.to_string().into()),
                ("package", interface.package.to_string().into()),
                ("version", version_column(interface.version.as_ref()).into()),
                ("approved", i64::from(interface.approval.is_some()).into()),
                ("doc", to_doc(interface)?.into()),
            ],
        );
        self.insert_unique(
            &sql,
            (TABLE, KIND),
            interface.id.to_string(),
            interface.reference(),
        )
        .await
    }

    async fn get(&self, id: InterfaceId) -> Result<WitInterface> {
        match self.doc_where(TABLE, "id", id.to_string()).await? {
            Some(doc) => from_doc(TABLE, &doc),
            None => Err(Error::not_found(KIND, id)),
        }
    }

    async fn get_version(
        &self,
        package: &PackageName,
        version: Option<&Version>,
    ) -> Result<WitInterface> {
        let mut sql = Sql::new("SELECT doc FROM wasi_interfaces WHERE package = ");
        let cond = format!(
            "{} AND version = {}",
            sql.arg(package.to_string()),
            sql.arg(version_column(version))
        );
        sql.push(&cond);
        self.docs(&sql, TABLE).await?.pop().ok_or_else(|| {
            let id = match version {
                Some(v) => format!("{package}@{v}"),
                None => package.to_string(),
            };
            Error::not_found(KIND, id)
        })
    }

    async fn list(
        &self,
        filter: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Page<WitInterface>> {
        let key = page.after_key(2)?;
        let mut sql = Sql::new("SELECT doc FROM wasi_interfaces WHERE 1 = 1");
        if let Some(package) = &filter.package {
            let p = sql.arg(package.to_string());
            sql.push(&format!(" AND package = {p}"));
        }
        if let Some(approved) = filter.approved {
            let p = sql.arg(i64::from(approved));
            sql.push(&format!(" AND approved = {p}"));
        }
        sql.after("package, id", key)
            .page("package, id", page.limit);
        let items = self.docs(&sql, TABLE).await?;
        Ok(Page::from_overfetch(
            items,
            page.limit,
            |i: &WitInterface| vec![i.package.to_string(), i.id.to_string()],
        ))
    }

    async fn approve(&self, id: InterfaceId, approval: &Approval) -> Result<WitInterface> {
        approval.validate()?;
        let Some(doc) = self.doc_where(TABLE, "id", id.to_string()).await? else {
            return Err(Error::not_found(KIND, id));
        };
        let mut interface: WitInterface = from_doc(TABLE, &doc)?;
        if interface.approval.is_some() {
            return Ok(interface);
        }
        interface.approval = Some(approval.clone());
        // Only an unapproved row takes the approval: the first one wins.
        let mut sql = Sql::new("UPDATE wasi_interfaces SET approved = 1, doc = ");
        let text = format!(
            "{} WHERE id = {} AND approved = 0",
            sql.arg(to_doc(&interface)?),
            sql.arg(id.to_string())
        );
        sql.push(&text);
        self.execute(&sql).await?;
        InterfaceRegistry::get(self, id).await
    }

    async fn delete(&self, id: InterfaceId) -> Result<()> {
        self.delete_by_id((TABLE, KIND), id).await
    }

    async fn compatibility_mode(&self, package: &PackageName) -> Result<CompatibilityMode> {
        let mut sql = Sql::new("SELECT mode FROM interface_packages WHERE package = ");
        let p = sql.arg(package.to_string());
        sql.push(&p);
        let mode = sql
            .scalar::<String>()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        match mode {
            None => Ok(CompatibilityMode::default()),
            Some(mode) => from_doc("interface_packages", &to_doc(&mode)?),
        }
    }

    async fn set_compatibility_mode(
        &self,
        package: &PackageName,
        mode: CompatibilityMode,
    ) -> Result<()> {
        let mut sql = Sql::new("INSERT INTO interface_packages (package, mode) VALUES (");
        let text = format!(
            "{}, {}) ON CONFLICT (package) DO UPDATE SET mode = excluded.mode",
            sql.arg(package.to_string()),
            sql.arg(tag(&mode)?)
        );
        sql.push(&text);
        self.execute(&sql).await.map(drop)
    }
}

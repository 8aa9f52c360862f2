//! Edge nodes in `edge_nodes`.

use async_trait::async_trait;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{EdgeNode, NodeId};
use hotswap_core::repository::{NodeFilter, NodeRepository, Page, PageRequest, stale_revision};
use hotswap_core::{Error, Result};

use crate::query::{Row, Sql};
use crate::{SqlStore, from_doc, is_unique_violation, tag, to_doc};

const TABLE: &str = "edge_nodes";
const KIND: ResourceKind = ResourceKind::Node;

impl SqlStore {
    async fn node_where(&self, column: &str, value: String) -> Result<Option<EdgeNode>> {
        self.doc_where(TABLE, column, value)
            .await?
            .map(|doc| from_doc(TABLE, &doc))
            .transpose()
    }
}

#[async_trait]
impl NodeRepository for SqlStore {
    async fn create(&self, node: &EdgeNode) -> Result<EdgeNode> {
        node.validate()?;
        let mut stored = node.clone();
        stored.revision = 1;
        let sql = Sql::insert(TABLE, row(&stored)?);
        self.insert_unique(
            &sql,
            (TABLE, KIND),
            stored.id.to_string(),
            stored.name.clone(),
        )
        .await?;
        Ok(stored)
    }

    async fn get(&self, id: NodeId) -> Result<EdgeNode> {
        self.node_where("id", id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(KIND, id))
    }

    async fn get_by_name(&self, name: &str) -> Result<EdgeNode> {
        self.node_where("name", name.to_owned())
            .await?
            .ok_or_else(|| Error::not_found(KIND, name))
    }

    async fn list(&self, filter: &NodeFilter, page: &PageRequest) -> Result<Page<EdgeNode>> {
        let key = page.after_key(1)?;
        let mut sql = Sql::new("SELECT doc FROM edge_nodes WHERE 1 = 1");
        if let Some(region) = &filter.region {
            let p = sql.arg(region.to_string());
            sql.push(&format!(" AND region = {p}"));
        }
        if let Some(status) = &filter.status {
            let p = sql.arg(tag(status)?);
            sql.push(&format!(" AND status = {p}"));
        }
        if !filter.labels.is_empty() {
            let p = sql.arg(to_doc(&filter.labels)?);
            sql.push(&format!(
                " AND {}",
                self.dialect.labels_contain("labels", &p)
            ));
        }
        sql.after("id", key).page("id", page.limit);
        let items = self.docs(&sql, TABLE).await?;
        Ok(Page::from_overfetch(items, page.limit, |n: &EdgeNode| {
            vec![n.id.to_string()]
        }))
    }

    async fn update(&self, node: &EdgeNode) -> Result<EdgeNode> {
        node.validate()?;
        let mut stored = node.clone();
        stored.revision = node.revision.saturating_add(1);
        let sql = Sql::compare_and_set(
            TABLE,
            row(&stored)?,
            node.id.to_string(),
            revision(node.revision)?,
        );
        let done = match sql.query().execute(&self.pool).await {
            Ok(done) => done,
            // The id exists (the update names it), so the name is taken.
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::already_exists(KIND, &node.name));
            }
            Err(e) => return Err(self.db_error(e)),
        };
        if done.rows_affected() == 1 {
            return Ok(stored);
        }
        let current = NodeRepository::get(self, node.id).await?;
        Err(stale_revision(
            format!("node {}", node.id),
            node.revision,
            current.revision,
        ))
    }

    async fn delete(&self, id: NodeId) -> Result<()> {
        self.delete_by_id((TABLE, KIND), id).await
    }
}

/// The columns of a node's row.
fn row(n: &EdgeNode) -> Result<Row> {
    Ok(vec![
        ("id", n.id.to_string().into()),
        ("name", n.name.clone().into()),
        ("region", n.region.to_string().into()),
        ("status", tag(&n.status)?.into()),
        ("revision", revision(n.revision)?.into()),
        ("labels", to_doc(&n.labels)?.into()),
        ("doc", to_doc(n)?.into()),
    ])
}

/// A revision as the database stores it.
pub(crate) fn revision(r: u64) -> Result<i64> {
    i64::try_from(r).map_err(|_| Error::invalid("revision", format!("{r} is too large")))
}

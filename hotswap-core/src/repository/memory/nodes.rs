use std::collections::BTreeMap;

use async_trait::async_trait;

use super::Table;
use crate::domain::{EdgeNode, NodeId};
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::repository::{
    NodeFilter, NodeRepository, Page, PageRequest, page_in_memory, stale_revision,
};

/// Edge nodes in memory.
#[derive(Debug, Default)]
pub struct MemoryNodeRepository {
    rows: Table<BTreeMap<NodeId, EdgeNode>>,
}

impl MemoryNodeRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl NodeRepository for MemoryNodeRepository {
    async fn create(&self, node: &EdgeNode) -> Result<EdgeNode> {
        node.validate()?;
        let mut rows = self.rows.write();
        if rows.contains_key(&node.id) {
            return Err(Error::already_exists(ResourceKind::Node, node.id));
        }
        if rows.values().any(|n| n.name == node.name) {
            return Err(Error::already_exists(ResourceKind::Node, &node.name));
        }
        let mut stored = node.clone();
        stored.revision = 1;
        rows.insert(stored.id, stored.clone());
        Ok(stored)
    }

    async fn get(&self, id: NodeId) -> Result<EdgeNode> {
        self.rows
            .read()
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(ResourceKind::Node, id))
    }

    async fn get_by_name(&self, name: &str) -> Result<EdgeNode> {
        self.rows
            .read()
            .values()
            .find(|n| n.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(ResourceKind::Node, name))
    }

    async fn list(&self, filter: &NodeFilter, page: &PageRequest) -> Result<Page<EdgeNode>> {
        let rows = self.rows.read();
        page_in_memory(rows.values().filter(|n| filter.matches(n)), page, 1, |n| {
            vec![n.id.to_string()]
        })
    }

    async fn update(&self, node: &EdgeNode) -> Result<EdgeNode> {
        node.validate()?;
        let mut rows = self.rows.write();
        let renamed = rows.get(&node.id).is_some_and(|n| n.name != node.name);
        if renamed
            && rows
                .values()
                .any(|n| n.name == node.name && n.id != node.id)
        {
            return Err(Error::already_exists(ResourceKind::Node, &node.name));
        }
        let row = rows
            .get_mut(&node.id)
            .ok_or_else(|| Error::not_found(ResourceKind::Node, node.id))?;
        if row.revision != node.revision {
            return Err(stale_revision(
                format!("node {}", node.id),
                node.revision,
                row.revision,
            ));
        }
        let mut stored = node.clone();
        stored.revision += 1;
        *row = stored.clone();
        Ok(stored)
    }

    async fn delete(&self, id: NodeId) -> Result<()> {
        self.rows
            .write()
            .remove(&id)
            .map(drop)
            .ok_or_else(|| Error::not_found(ResourceKind::Node, id))
    }
}

use async_trait::async_trait;

use super::Table;
use crate::domain::{HttpRoute, HttpRouteSet, RouteId};
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::repository::HttpRouteRepository;

/// HTTP routes in memory.
#[derive(Debug, Default)]
pub struct MemoryHttpRouteRepository {
    set: Table<HttpRouteSet>,
}

impl MemoryHttpRouteRepository {
    /// An empty repository at revision 0.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HttpRouteRepository for MemoryHttpRouteRepository {
    async fn create(&self, route: &HttpRoute) -> Result<u64> {
        route.validate()?;
        let mut set = self.set.write();
        if set.routes.iter().any(|r| r.id == route.id) {
            return Err(Error::already_exists(ResourceKind::HttpRoute, route.id));
        }
        if let Some(existing) = set.routes.iter().find(|r| r.clashes_with(route)) {
            return Err(route.conflict_with(existing));
        }
        let at = set
            .routes
            .partition_point(|r| (&r.host, &r.path_prefix) < (&route.host, &route.path_prefix));
        set.routes.insert(at, route.clone());
        set.revision += 1;
        Ok(set.revision)
    }

    async fn get(&self, id: RouteId) -> Result<HttpRoute> {
        self.set
            .read()
            .routes
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(ResourceKind::HttpRoute, id))
    }

    async fn routes(&self) -> Result<HttpRouteSet> {
        Ok(self.set.read().clone())
    }

    async fn delete(&self, id: RouteId) -> Result<u64> {
        let mut set = self.set.write();
        let at = set
            .routes
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| Error::not_found(ResourceKind::HttpRoute, id))?;
        set.routes.remove(at);
        set.revision += 1;
        Ok(set.revision)
    }
}

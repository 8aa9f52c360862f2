//! HTTP routes in `http_routes`, their revision in `http_route_revision`.

use async_trait::async_trait;
use hotswap_core::ResourceKind;
use hotswap_core::domain::{HttpRoute, HttpRouteSet, RouteId};
use hotswap_core::repository::HttpRouteRepository;
use hotswap_core::{Error, Result};
use sqlx::{Any, Transaction};

use crate::query::Sql;
use crate::{SqlStore, from_doc, is_unique_violation, to_doc};

const TABLE: &str = "http_routes";
const KIND: ResourceKind = ResourceKind::HttpRoute;

impl SqlStore {
    /// Bump the revision inside `tx`; the new revision.
    async fn bump_route_revision(&self, tx: &mut Transaction<'static, Any>) -> Result<u64> {
        let revision: i64 = sqlx::query_scalar(
            "UPDATE http_route_revision SET revision = revision + 1 WHERE id = 1 \
             RETURNING revision",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| self.db_error(e))?;
        u64::try_from(revision).map_err(|_| Error::Corrupt {
            what: "http_route_revision".into(),
            reason: format!("negative revision {revision}"),
        })
    }

    /// The route at `route`'s place, for the error refusing `route`.
    async fn route_clash(&self, route: &HttpRoute) -> Result<Error> {
        if self
            .doc_where(TABLE, "id", route.id.to_string())
            .await?
            .is_some()
        {
            return Ok(Error::already_exists(KIND, route.id));
        }
        let mut sql = Sql::new("SELECT doc FROM http_routes WHERE host = ");
        let (h, p) = (
            sql.arg(route.host.as_str()),
            sql.arg(route.path_prefix.as_str()),
        );
        sql.push(&format!("{h} AND path_prefix = {p}"));
        match self.docs::<HttpRoute>(&sql, TABLE).await?.first() {
            Some(existing) => Ok(route.conflict_with(existing)),
            // Deleted meanwhile: the caller may try again.
            None => Ok(Error::conflict(
                format!("route {route}"),
                "another route held its place a moment ago; try again",
            )),
        }
    }
}

#[async_trait]
impl HttpRouteRepository for SqlStore {
    async fn create(&self, route: &HttpRoute) -> Result<u64> {
        route.validate()?;
        let sql = Sql::insert(
            TABLE,
            vec![
                ("id", route.id.to_string().into()),
                ("host", route.host.as_str().into()),
                ("path_prefix", route.path_prefix.as_str().into()),
                ("module", route.module.as_str().into()),
                ("doc", to_doc(route)?.into()),
            ],
        );
        // The insert comes first, so the transaction holds the write lock
        // (SQLite) or the unique entry (Postgres) from its first statement.
        let mut tx = self.begin().await?;
        match sql.query().execute(&mut *tx).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return Err(self.route_clash(route).await?);
            }
            Err(e) => return Err(self.db_error(e)),
        }
        let revision = self.bump_route_revision(&mut tx).await?;
        self.commit(tx).await?;
        Ok(revision)
    }

    async fn get(&self, id: RouteId) -> Result<HttpRoute> {
        let doc = self
            .doc_where(TABLE, "id", id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(KIND, id))?;
        from_doc(TABLE, &doc)
    }

    async fn routes(&self) -> Result<HttpRouteSet> {
        // The revision first: a change committing between the two reads
        // then shows in the routes under the older revision, never the
        // reverse, and the next push carries both.
        let revision: i64 =
            sqlx::query_scalar("SELECT revision FROM http_route_revision WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        let sql = Sql::new("SELECT doc FROM http_routes ORDER BY host, path_prefix");
        Ok(HttpRouteSet {
            revision: u64::try_from(revision).unwrap_or(0),
            routes: self.docs(&sql, TABLE).await?,
        })
    }

    async fn delete(&self, id: RouteId) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut sql = Sql::new("DELETE FROM http_routes WHERE id = ");
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
        let revision = self.bump_route_revision(&mut tx).await?;
        self.commit(tx).await?;
        Ok(revision)
    }
}

//! Metadata repositories: module versions, nodes, deployments and HTTP
//! routes.
//!
//! Shared contract of every repository:
//! - Reads of a missing row are `NotFound`; creating a row whose identity
//!   exists is `AlreadyExists`; bad input is `Invalid`. A refused write
//!   changes nothing (no partial rows).
//! - `list` pages by keyset (see [`PageRequest`]); every row appears exactly
//!   once across the pages of one walk.
//! - Rows with a `revision` (nodes, deployments) are updated by
//!   compare-and-set: the update names the revision it read; if the stored
//!   one differs, it is refused with `Conflict` and nothing changes; on
//!   success the stored revision is one higher. Of several concurrent
//!   updates from the same revision, exactly one succeeds.
//! - Backend failures are `Unavailable`. All methods are safe to call from
//!   many tasks at once.

mod filters;
pub mod memory;
mod paging;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

pub use filters::{DeploymentFilter, ModuleFilter, NodeFilter};
pub(crate) use paging::page_in_memory;
pub use paging::{
    DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, PageRequest, all_items, decode_cursor, encode_cursor,
};

use crate::domain::{
    DeploymentEvent, DeploymentId, DeploymentPolicy, Digest, EdgeNode, Environment, HttpRoute,
    HttpRouteSet, Labels, ModuleConfig, ModuleDeployment, ModuleId, ModuleName, NodeId,
    ResourceLimits, RouteId, WasmModule,
};
use crate::error::{Error, Result};

/// The mutable metadata of a module version (everything else is immutable).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleUpdate {
    /// Replace the labels.
    pub labels: Option<Labels>,
    /// Replace the default limits.
    pub limits: Option<ResourceLimits>,
}

/// Module versions.
///
/// `(name, version)` and `id` are each unique. Lists are ordered by
/// `(name, id)`: by name, then registration order.
#[async_trait]
pub trait ModuleRepository: Send + Sync + fmt::Debug + 'static {
    /// Store a new version (validated first).
    async fn create(&self, module: &WasmModule) -> Result<()>;

    /// A version by id.
    async fn get(&self, id: ModuleId) -> Result<WasmModule>;

    /// A version by name and version.
    async fn get_version(&self, name: &ModuleName, version: &Version) -> Result<WasmModule>;

    /// A page of versions matching `filter`.
    async fn list(&self, filter: &ModuleFilter, page: &PageRequest) -> Result<Page<WasmModule>>;

    /// Change a version's labels or limits; returns the stored version.
    async fn update(&self, id: ModuleId, update: &ModuleUpdate) -> Result<WasmModule>;

    /// Remove a version.
    async fn delete(&self, id: ModuleId) -> Result<()>;

    /// How many versions reference the blob `digest` (a blob may be deleted
    /// only at zero).
    async fn count_by_digest(&self, digest: &Digest) -> Result<u64>;
}

/// Edge nodes. `id` and `name` are each unique; lists are ordered by id
/// (registration order).
#[async_trait]
pub trait NodeRepository: Send + Sync + fmt::Debug + 'static {
    /// Store a new node (validated first); returns it at revision 1.
    async fn create(&self, node: &EdgeNode) -> Result<EdgeNode>;

    /// A node by id.
    async fn get(&self, id: NodeId) -> Result<EdgeNode>;

    /// A node by name.
    async fn get_by_name(&self, name: &str) -> Result<EdgeNode>;

    /// A page of nodes matching `filter`.
    async fn list(&self, filter: &NodeFilter, page: &PageRequest) -> Result<Page<EdgeNode>>;

    /// Compare-and-set: store `node` if the stored revision equals
    /// `node.revision`; returns it with the revision bumped.
    async fn update(&self, node: &EdgeNode) -> Result<EdgeNode>;

    /// Remove a node.
    async fn delete(&self, id: NodeId) -> Result<()>;
}

/// A claim by one control-plane replica to drive a deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The deployment.
    pub deployment: DeploymentId,
    /// Who holds it (a replica id).
    pub owner: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Deployments and their append-only event logs. Lists are ordered by id
/// (creation order).
///
/// The store holds what several control-plane replicas must not break
/// between them (see [`crate::domain::held_versions`]):
/// - at most one deployment of a module is open (not terminal); creating
///   a second is a `Conflict` naming the open one;
/// - a store that keeps module versions too (the SQL stores; the memory
///   store made [`holding`](memory::MemoryDeploymentRepository::holding)
///   its module repository) refuses a deployment of a version it lacks
///   (`NotFound` naming it), and its module repository refuses to delete
///   a version the module's latest deployment holds (`Conflict` saying
///   why). Of a creation and a deletion racing, exactly one wins.
#[async_trait]
pub trait DeploymentRepository: Send + Sync + fmt::Debug + 'static {
    /// Store a new deployment (validated first) with its first events;
    /// returns it at revision 1.
    async fn create(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment>;

    /// A deployment by id.
    async fn get(&self, id: DeploymentId) -> Result<ModuleDeployment>;

    /// A page of deployments matching `filter`.
    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &PageRequest,
    ) -> Result<Page<ModuleDeployment>>;

    /// Compare-and-set: if the stored revision equals
    /// `deployment.revision`, store the new state and append `events`
    /// (numbered on from the log's end) in one atomic step; returns the
    /// deployment with its revision bumped. On `Conflict` neither the state
    /// nor the log changes.
    async fn update(
        &self,
        deployment: &ModuleDeployment,
        events: &[DeploymentEvent],
    ) -> Result<ModuleDeployment>;

    /// Up to `limit` events with `seq > after_seq`, in order.
    async fn events(
        &self,
        id: DeploymentId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<DeploymentEvent>>;

    /// Remove a deployment and its events.
    async fn delete(&self, id: DeploymentId) -> Result<()>;

    /// Take or renew the lease for `owner` until `now + ttl`. Succeeds when
    /// there is no lease, it has expired at `now`, or `owner` holds it;
    /// otherwise `Conflict` naming the holder.
    async fn acquire_lease(
        &self,
        id: DeploymentId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease>;

    /// Give the lease up; a no-op when `owner` does not hold it.
    async fn release_lease(&self, id: DeploymentId, owner: &str) -> Result<()>;
}

/// HTTP routes, and the revision every change of them bumps.
///
/// `(host, path_prefix)` and `id` are each unique. Creating a route at a
/// taken place is a `Conflict` naming the route that holds it, and changes
/// nothing (the revision included). Of concurrent creates at one place,
/// exactly one succeeds: the backend holds the invariant.
#[async_trait]
pub trait HttpRouteRepository: Send + Sync + fmt::Debug + 'static {
    /// Store a new route (validated first); returns the new revision.
    async fn create(&self, route: &HttpRoute) -> Result<u64>;

    /// A route by id.
    async fn get(&self, id: RouteId) -> Result<HttpRoute>;

    /// Every route, ordered by host and prefix, with a revision no newer
    /// than the routes (a set read while a change commits may hold the
    /// change under the revision before it, never the reverse).
    async fn routes(&self) -> Result<HttpRouteSet>;

    /// Remove a route; returns the new revision.
    async fn delete(&self, id: RouteId) -> Result<u64>;
}

/// Revisions of each module's configuration.
///
/// Revisions are numbered 1, 2, ... per module and never change once
/// stored. `create` stores exactly the revision after the latest: any
/// other number is a `Conflict` naming the latest, and changes nothing, so
/// of two changes made from one revision exactly one lands (the backend
/// holds the invariant).
#[async_trait]
pub trait ConfigRepository: Send + Sync + fmt::Debug + 'static {
    /// Store the next revision (validated first).
    async fn create(&self, config: &ModuleConfig) -> Result<()>;

    /// One revision; `NotFound` (kind `configuration revision`) when it
    /// was never stored.
    async fn get(&self, module: &ModuleName, revision: u64) -> Result<ModuleConfig>;

    /// The latest revision, if any.
    async fn latest(&self, module: &ModuleName) -> Result<Option<ModuleConfig>>;
}

/// Deployment policies: at most one per module and environment.
#[async_trait]
pub trait PolicyRepository: Send + Sync + fmt::Debug + 'static {
    /// Store `policy` (validated first), replacing the one of its module
    /// and environment.
    async fn put(&self, policy: &DeploymentPolicy) -> Result<()>;

    /// The policy of `module` in `environment`, if one is set.
    async fn get(
        &self,
        module: &ModuleName,
        environment: Environment,
    ) -> Result<Option<DeploymentPolicy>>;

    /// Every policy, by module, then environment.
    async fn list(&self) -> Result<Vec<DeploymentPolicy>>;

    /// Remove the policy of `module` in `environment`; `NotFound` when
    /// none is set.
    async fn delete(&self, module: &ModuleName, environment: Environment) -> Result<()>;
}

/// The `NotFound` of the policy of `module` in `environment`.
pub fn policy_not_found(module: &ModuleName, environment: Environment) -> Error {
    Error::not_found(
        crate::ResourceKind::DeploymentPolicy,
        format!("{module} in {}", environment_name(environment)),
    )
}

/// `environment` as JSON and the API's paths write it (`production`).
pub fn environment_name(environment: Environment) -> &'static str {
    match environment {
        Environment::Development => "development",
        Environment::Staging => "staging",
        Environment::Production => "production",
    }
}

/// The `Conflict` of storing configuration revision `given` of `module`
/// when `latest` is stored.
pub fn config_revision_taken(module: &ModuleName, given: u64, latest: u64) -> Error {
    Error::conflict(
        format!("configuration of {module}"),
        format!(
            "revision {given} cannot follow the latest revision {latest}; read it and change again"
        ),
    )
}

/// Compute a lease's expiry, refusing a zero or absurd ttl.
pub fn lease_expiry(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>> {
    let too_long = Duration::from_secs(24 * 3600);
    if ttl.is_zero() || ttl > too_long {
        return Err(crate::Error::invalid(
            "ttl",
            format!("{ttl:?} is outside (0 s, 24 h]"),
        ));
    }
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| crate::Error::invalid("ttl", "expiry is out of range"))
}

/// The `Conflict` of a compare-and-set whose `given` revision is not the
/// `stored` one (`what` is e.g. `node 0190...`).
pub fn stale_revision(what: impl Into<String>, given: u64, stored: u64) -> Error {
    Error::conflict(
        what,
        format!("stale revision {given}, the stored revision is {stored}"),
    )
}

/// The `Conflict` of taking a lease `holder` keeps until `until`.
pub fn lease_held(id: DeploymentId, holder: &str, until: DateTime<Utc>) -> Error {
    Error::conflict(
        format!("deployment {id}"),
        format!("the lease is held by {holder} until {until}"),
    )
}

/// Check a lease owner name.
pub fn validate_owner(owner: &str) -> Result<()> {
    crate::domain::validate_actor("owner", owner)
}

/// Convenience methods over [`ModuleRepository`].
#[async_trait]
pub trait ModuleRepositoryExt: ModuleRepository {
    /// Every module version matching `filter`, in list order.
    async fn all_modules(&self, filter: &ModuleFilter) -> Result<Vec<WasmModule>> {
        all_items(|page| async move { self.list(filter, &page).await }).await
    }

    /// Every version of `name`, highest semver first.
    async fn versions(&self, name: &ModuleName) -> Result<Vec<WasmModule>> {
        let mut all = self.all_modules(&ModuleFilter::name(name.clone())).await?;
        all.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(all)
    }

    /// The highest semver version of `name`, if any.
    async fn latest(&self, name: &ModuleName) -> Result<Option<WasmModule>> {
        Ok(self.versions(name).await?.into_iter().next())
    }
}

impl<T: ModuleRepository + ?Sized> ModuleRepositoryExt for T {}

/// Convenience methods over [`NodeRepository`].
#[async_trait]
pub trait NodeRepositoryExt: NodeRepository {
    /// Every node matching `filter`, in list order.
    async fn all_nodes(&self, filter: &NodeFilter) -> Result<Vec<EdgeNode>> {
        all_items(|page| async move { self.list(filter, &page).await }).await
    }
}

impl<T: NodeRepository + ?Sized> NodeRepositoryExt for T {}

/// Convenience methods over [`DeploymentRepository`].
#[async_trait]
pub trait DeploymentRepositoryExt: DeploymentRepository {
    /// Every deployment matching `filter`, in creation order.
    async fn all_deployments(&self, filter: &DeploymentFilter) -> Result<Vec<ModuleDeployment>> {
        all_items(|page| async move { self.list(filter, &page).await }).await
    }
}

impl<T: DeploymentRepository + ?Sized> DeploymentRepositoryExt for T {}

//! Conformance suite for [`DeploymentRepository`], with the
//! [`ModuleRepository`] of the same store: the versions a deployment holds
//! are registered there, and the store keeps the two consistent.

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::domain::{
    DeploymentId, DeploymentPhase, Environment, ModuleDeployment, ModuleId, ReasonCode,
    RegionalConfig, StrategyConfig,
};
use hotswap_core::repository::{DeploymentFilter, DeploymentRepository, ModuleRepository};

use crate::sample::{deployment, event, module, name, region, time};

/// A deployment repository under test, with the module repository of the
/// same store (for the in-memory store, one made
/// [`holding`](hotswap_core::repository::memory::MemoryDeploymentRepository::holding)
/// the other).
#[derive(Clone, Debug)]
pub struct DeploymentStore {
    /// Deployments.
    pub deployments: Arc<dyn DeploymentRepository>,
    /// The module versions the deployments hold.
    pub modules: Arc<dyn ModuleRepository>,
}

impl crate::Backend for DeploymentStore {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

impl DeploymentStore {
    /// Register `module@v` unless it is; returns its id.
    pub async fn register(&self, module_name: &str, v: &str) -> ModuleId {
        let m = module(module_name, v);
        match self.modules.create(&m).await {
            Ok(()) => m.id,
            Err(Error::AlreadyExists { .. }) => {
                self.modules
                    .get_version(&name(module_name), &m.version)
                    .await
                    .expect("registered")
                    .id
            }
            Err(e) => panic!("register {module_name}@{v}: {e}"),
        }
    }

    /// A sample deployment of `module_name` from 1.0.0 to `to`, both
    /// versions registered.
    pub async fn deployment(&self, module_name: &str, to: &str) -> ModuleDeployment {
        self.register(module_name, "1.0.0").await;
        self.register(module_name, to).await;
        deployment(module_name, to)
    }
}

/// Walk every page of `filter` with pages of `limit`.
pub async fn list_all(
    r: &dyn DeploymentRepository,
    filter: &DeploymentFilter,
    limit: u32,
) -> Vec<ModuleDeployment> {
    crate::all_pages(limit, |page| async move { r.list(filter, &page).await }).await
}

/// `d` moved to `phase` and stored.
async fn moved(
    r: &dyn DeploymentRepository,
    mut d: ModuleDeployment,
    phase: DeploymentPhase,
) -> ModuleDeployment {
    let code = match phase {
        DeploymentPhase::Progressing => ReasonCode::Started,
        DeploymentPhase::Succeeded => ReasonCode::Completed,
        _ => ReasonCode::ManualAbort,
    };
    let e = d
        .transition(phase, code, "moved", time(1))
        .expect("transition");
    r.update(&d, &[e]).await.expect("update")
}

/// A created deployment reads back equal at revision 1, with its first
/// events numbered from 1.
pub async fn create_then_get(s: &DeploymentStore) {
    let r = &*s.deployments;
    let mut d = s.deployment("echo", "1.1.0").await;
    d.strategy = StrategyConfig::Regional(RegionalConfig::new(vec![region("eu"), region("us")]));
    d.target.regions = vec![region("eu"), region("us")];
    let events = [event(&d, 0, "created"), event(&d, 1, "queued")];
    let stored = r.create(&d, &events).await.expect("create");
    let mut expected = d.clone();
    expected.revision = 1;
    assert_eq!(stored, expected);
    assert_eq!(r.get(d.id).await.expect("get"), expected);
    let log = r.events(d.id, 0, 100).await.expect("events");
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(log[1].message, "queued");
    assert_eq!(log[1].data, serde_json::json!({"at": 1}));
    assert_eq!(log[0].at, time(0));
}

/// A second deployment with the same id is `AlreadyExists`.
pub async fn duplicate_id_refused(s: &DeploymentStore) {
    let r = &*s.deployments;
    let d = s.deployment("echo", "1.1.0").await;
    r.create(&d, &[]).await.expect("create");
    let mut again = s.deployment("other", "2.0.0").await;
    again.id = d.id;
    let e = r
        .create(&again, &[event(&again, 0, "x")])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert!(
        r.events(d.id, 0, 10).await.expect("events").is_empty(),
        "refused create appended events"
    );
}

/// Every operation on a missing deployment is `NotFound`.
pub async fn missing_is_not_found(s: &DeploymentStore) {
    let r = &*s.deployments;
    let id = DeploymentId::new();
    let d = deployment("echo", "1.1.0");
    assert!(matches!(r.get(id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        r.update(&d, &[]).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.events(id, 0, 10).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(r.delete(id).await, Err(Error::NotFound { .. })));
    let e = r
        .acquire_lease(id, "cp-1", time(0), Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// An invalid deployment is refused with the field named; nothing stored.
pub async fn invalid_deployment_refused(s: &DeploymentStore) {
    let r = &*s.deployments;
    let mut d = s.deployment("echo", "1.1.0").await;
    d.strategy = StrategyConfig::Canary(hotswap_core::domain::CanaryConfig::new(
        vec![50, 25],
        Duration::from_secs(60),
    ));
    let e = r.create(&d, &[]).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "strategy.steps[1]"),
        "{e}"
    );
    assert!(
        list_all(r, &DeploymentFilter::default(), 10)
            .await
            .is_empty()
    );

    let good = r
        .create(&s.deployment("echo", "1.2.0").await, &[])
        .await
        .expect("create");
    let mut bad = good.clone();
    bad.health.min_samples = 0;
    let e = r.update(&bad, &[event(&bad, 5, "x")]).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "health.min_samples"),
        "{e}"
    );
    assert_eq!(r.get(good.id).await.expect("get"), good);
    assert!(r.events(good.id, 0, 10).await.expect("events").is_empty());
}

/// Filters by module, phase and environment; pages in creation order.
pub async fn list_filters_and_pages(s: &DeploymentStore) {
    let r = &*s.deployments;
    let mut ids = Vec::new();
    for i in 0..6u64 {
        let mut d = s
            .deployment(
                if i % 2 == 0 { "alpha" } else { "beta" },
                &format!("1.{}.0", i + 1),
            )
            .await;
        if i % 3 == 0 {
            d.environment = Environment::Production;
        }
        let stored = r.create(&d, &[]).await.expect("create");
        // One open deployment per module: the earlier ones end.
        let stored = match i {
            0..4 => moved(r, stored, DeploymentPhase::Aborted).await,
            4 => moved(r, stored, DeploymentPhase::Progressing).await,
            _ => stored,
        };
        ids.push(stored.id);
    }
    ids.sort();
    for limit in [1, 4, 6, 10] {
        let got: Vec<_> = list_all(r, &DeploymentFilter::default(), limit)
            .await
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(got, ids, "walk with page size {limit}");
    }
    let count = |f: DeploymentFilter| async move { list_all(r, &f, 2).await.len() };
    assert_eq!(count(DeploymentFilter::module(name("alpha"))).await, 3);
    assert_eq!(
        count(DeploymentFilter::phase(DeploymentPhase::Progressing)).await,
        1
    );
    assert_eq!(
        count(DeploymentFilter::phase(DeploymentPhase::Pending)).await,
        1
    );
    assert_eq!(
        count(DeploymentFilter::phase(DeploymentPhase::Aborted)).await,
        4
    );
    let prod = DeploymentFilter {
        environment: Some(Environment::Production),
        ..Default::default()
    };
    assert_eq!(count(prod).await, 2);
    let prod_beta = DeploymentFilter {
        environment: Some(Environment::Production),
        module: Some(name("beta")),
        ..Default::default()
    };
    assert_eq!(count(prod_beta).await, 1);
}

/// Updates bump the revision and append events in order; `events` pages by
/// sequence number.
pub async fn update_appends_events(s: &DeploymentStore) {
    let r = &*s.deployments;
    let d = s.deployment("echo", "1.1.0").await;
    let d = r
        .create(&d, &[event(&d, 0, "created")])
        .await
        .expect("create");
    let mut next = d.clone();
    let e1 = next
        .transition(
            DeploymentPhase::Progressing,
            ReasonCode::Started,
            "started",
            time(10),
        )
        .expect("transition");
    next.progress.step = 1;
    next.progress.traffic_percent = 10;
    next.progress.step_started_at = Some(time(10));
    let stored = r
        .update(&next, &[e1, event(&next, 11, "weights")])
        .await
        .expect("update");
    assert_eq!(stored.revision, 2);
    assert_eq!(stored.phase, DeploymentPhase::Progressing);
    assert_eq!(r.get(d.id).await.expect("get"), stored);
    let log = r.events(d.id, 0, 100).await.expect("events");
    assert_eq!(
        log.iter()
            .map(|e| (e.seq, e.message.as_str()))
            .collect::<Vec<_>>(),
        [(1, "created"), (2, "started"), (3, "weights")]
    );
    assert_eq!(log[1].phase, DeploymentPhase::Progressing);
    let tail = r.events(d.id, 1, 1).await.expect("events");
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].seq, 2);
    assert!(r.events(d.id, 3, 10).await.expect("events").is_empty());
}

/// A stale revision is `Conflict`; neither state nor log changes.
pub async fn stale_update_conflicts(s: &DeploymentStore) {
    let r = &*s.deployments;
    let d = r
        .create(&s.deployment("echo", "1.1.0").await, &[])
        .await
        .expect("create");
    let mut first = d.clone();
    let e = first
        .transition(
            DeploymentPhase::Progressing,
            ReasonCode::Started,
            "go",
            time(1),
        )
        .expect("transition");
    let won = r.update(&first, &[e]).await.expect("update");
    let mut stale = d.clone();
    let e = stale
        .transition(
            DeploymentPhase::Aborted,
            ReasonCode::ManualAbort,
            "stop",
            time(2),
        )
        .expect("transition");
    let err = r.update(&stale, &[e]).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(r.get(d.id).await.expect("get"), won);
    assert_eq!(r.events(d.id, 0, 10).await.expect("events").len(), 1);
}

/// Deleting removes the deployment and its log.
pub async fn delete_removes(s: &DeploymentStore) {
    let r = &*s.deployments;
    let d = s.deployment("echo", "1.1.0").await;
    r.create(&d, &[event(&d, 0, "created")])
        .await
        .expect("create");
    r.delete(d.id).await.expect("delete");
    assert!(matches!(r.get(d.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        r.events(d.id, 0, 10).await,
        Err(Error::NotFound { .. })
    ));
}

/// Leases: one owner at a time, renewable by the owner, taken over after
/// expiry, released only by the owner.
pub async fn leases_have_one_owner(s: &DeploymentStore) {
    let r = &*s.deployments;
    let d = r
        .create(&s.deployment("echo", "1.1.0").await, &[])
        .await
        .expect("create");
    let ttl = Duration::from_secs(30);
    let lease = r
        .acquire_lease(d.id, "cp-a", time(0), ttl)
        .await
        .expect("acquire");
    assert_eq!((lease.owner.as_str(), lease.expires_at), ("cp-a", time(30)));
    let e = r
        .acquire_lease(d.id, "cp-b", time(10), ttl)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    assert!(
        e.to_string().contains("cp-a"),
        "the conflict names the holder: {e}"
    );
    let renewed = r
        .acquire_lease(d.id, "cp-a", time(20), ttl)
        .await
        .expect("renew");
    assert_eq!(renewed.expires_at, time(50));
    assert!(
        r.acquire_lease(d.id, "cp-b", time(49), ttl).await.is_err(),
        "renewal extended the lease"
    );
    let taken = r
        .acquire_lease(d.id, "cp-b", time(50), ttl)
        .await
        .expect("take over at expiry");
    assert_eq!(taken.owner, "cp-b");
    r.release_lease(d.id, "cp-a")
        .await
        .expect("release by non-holder is a no-op");
    assert!(r.acquire_lease(d.id, "cp-a", time(51), ttl).await.is_err());
    r.release_lease(d.id, "cp-b").await.expect("release");
    r.acquire_lease(d.id, "cp-a", time(52), ttl)
        .await
        .expect("free after release");
    let e = r.acquire_lease(d.id, "", time(53), ttl).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "owner"),
        "{e}"
    );
    let e = r
        .acquire_lease(d.id, "cp-a", time(53), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "ttl"),
        "{e}"
    );
}

/// Of many tasks advancing one revision at once, exactly one wins and the
/// log holds only its events.
pub async fn concurrent_updates_one_wins(s: &DeploymentStore) {
    let r = s.deployments.clone();
    let d = r
        .create(&s.deployment("echo", "1.1.0").await, &[])
        .await
        .expect("create");
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let (r, mut d) = (r.clone(), d.clone());
            tokio::spawn(async move {
                let e = d
                    .transition(
                        DeploymentPhase::Progressing,
                        ReasonCode::Started,
                        format!("task {i}"),
                        time(1),
                    )
                    .expect("transition");
                d.progress.step = i;
                r.update(&d, &[e]).await.map(|d| (i, d))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(w) => winners.push(w),
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one compare-and-set may win");
    let (i, stored) = &winners[0];
    assert_eq!(stored.progress.step, *i);
    let log = r.events(d.id, 0, 100).await.expect("events");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message, format!("task {i}"));
}

/// Of many replicas racing for one lease, exactly one gets it.
pub async fn concurrent_leases_one_wins(s: &DeploymentStore) {
    let r = s.deployments.clone();
    let d = r
        .create(&s.deployment("echo", "1.1.0").await, &[])
        .await
        .expect("create");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                r.acquire_lease(d.id, &format!("cp-{i}"), time(0), Duration::from_secs(30))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => wins += 1,
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1);
}

/// A second open deployment of a module is a `Conflict` naming the open
/// one, and stores nothing; once that one has ended, the next is taken.
pub async fn one_open_deployment_per_module(s: &DeploymentStore) {
    let r = &*s.deployments;
    let first = r
        .create(&s.deployment("echo", "1.1.0").await, &[])
        .await
        .expect("create");
    let second = s.deployment("echo", "1.2.0").await;
    for phase in [DeploymentPhase::Pending, DeploymentPhase::Paused] {
        let e = r
            .create(&second, &[event(&second, 0, "x")])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Conflict { .. }) && e.to_string().contains(&first.id.to_string()),
            "{phase:?}: the conflict names the open deployment: {e}"
        );
        if phase == DeploymentPhase::Pending {
            let progressing = moved(r, first.clone(), DeploymentPhase::Progressing).await;
            moved(r, progressing, DeploymentPhase::Paused).await;
        }
    }
    let of_echo = list_all(r, &DeploymentFilter::module(name("echo")), 10).await;
    assert_eq!(of_echo.len(), 1, "the refused creation stored nothing");
    assert!(matches!(
        r.events(second.id, 0, 10).await,
        Err(Error::NotFound { .. })
    ));
    r.create(&s.deployment("other", "1.1.0").await, &[])
        .await
        .expect("another module is free");
    let paused = r.get(first.id).await.expect("get");
    moved(r, paused, DeploymentPhase::RolledBack).await;
    r.create(&second, &[])
        .await
        .expect("taken once the first ended");
}

/// Of many creations of one module at once, exactly one is stored; every
/// other is a `Conflict` naming it.
pub async fn concurrent_creations_one_wins(s: &DeploymentStore) {
    let mut candidates = Vec::new();
    for i in 1..=8 {
        candidates.push(s.deployment("echo", &format!("2.0.{i}")).await);
    }
    let tasks: Vec<_> = candidates
        .into_iter()
        .map(|d| {
            let r = s.deployments.clone();
            tokio::spawn(async move { r.create(&d, &[]).await })
        })
        .collect();
    let (mut won, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.expect("task") {
            Ok(d) => won.push(d),
            Err(e @ Error::Conflict { .. }) => refused.push(e.to_string()),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one creation wins");
    let winner = won[0].id.to_string();
    for e in &refused {
        assert!(e.contains(&winner), "the loser names the winner: {e}");
    }
    let stored = list_all(&*s.deployments, &DeploymentFilter::module(name("echo")), 10).await;
    assert_eq!(stored.len(), 1);
}

/// A deployment of a version the store does not have is `NotFound`
/// naming it, and stores nothing.
pub async fn unregistered_version_refused(s: &DeploymentStore) {
    let r = &*s.deployments;
    s.register("echo", "1.0.0").await;
    let d = deployment("echo", "9.9.0");
    let e = r.create(&d, &[event(&d, 0, "x")]).await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { .. }) && e.to_string().contains("echo@9.9.0"),
        "{e}"
    );
    assert!(matches!(r.get(d.id).await, Err(Error::NotFound { .. })));
    let mut first = deployment("fresh", "1.0.0");
    first.from_version = None;
    let e = r.create(&first, &[]).await.unwrap_err();
    assert!(e.to_string().contains("fresh@1.0.0"), "{e}");
    s.register("fresh", "1.0.0").await;
    r.create(&first, &[]).await.expect("registered now");
}

/// While a deployment is open, neither of its versions may be deleted;
/// once it has ended, the version it left serving may not; the others may.
/// Each refusal is a `Conflict` that says why, and deletes nothing.
pub async fn held_versions_are_not_deleted(s: &DeploymentStore) {
    let (r, modules) = (&*s.deployments, &*s.modules);
    let old = s.register("echo", "1.0.0").await;
    let new = s.register("echo", "1.1.0").await;
    let spare = s.register("echo", "1.2.0").await;
    let d = r
        .create(&deployment("echo", "1.1.0"), &[])
        .await
        .expect("create");
    let d = moved(r, d, DeploymentPhase::Progressing).await;
    for id in [old, new] {
        let e = modules.delete(id).await.unwrap_err();
        assert!(
            matches!(&e, Error::Conflict { .. }) && e.to_string().contains(&d.id.to_string()),
            "the refusal names the open deployment: {e}"
        );
        modules.get(id).await.expect("still registered");
    }
    modules
        .delete(spare)
        .await
        .expect("1.2.0 is held by nothing");
    moved(r, d, DeploymentPhase::Succeeded).await;
    let e = modules.delete(new).await.unwrap_err();
    assert!(
        matches!(&e, Error::Conflict { .. }) && e.to_string().contains("serves now"),
        "{e}"
    );
    modules
        .delete(old)
        .await
        .expect("the replaced version is free");
    modules.get(new).await.expect("still registered");
}

/// Creations and deletions of one version racing: each round exactly one
/// of them wins, and no stored deployment ever names a deleted version.
pub async fn concurrent_create_and_delete(s: &DeploymentStore) {
    s.register("echo", "1.0.0").await;
    for round in 0..12 {
        let v = format!("3.0.{round}");
        let id = s.register("echo", &v).await;
        let d = deployment("echo", &v);
        let (r, modules) = (s.deployments.clone(), s.modules.clone());
        let create = tokio::spawn(async move { r.create(&d, &[]).await });
        let delete = tokio::spawn(async move { modules.delete(id).await });
        let (created, deleted) = (create.await.expect("task"), delete.await.expect("task"));
        match (&created, &deleted) {
            (Ok(d), Err(Error::Conflict { .. })) => {
                s.modules.get(id).await.expect("the held version stays");
                moved(&*s.deployments, d.clone(), DeploymentPhase::Aborted).await;
            }
            (Err(Error::NotFound { .. }), Ok(())) => {}
            other => panic!("round {round}: not exactly one winner: {other:?}"),
        }
    }
    for d in list_all(&*s.deployments, &DeploymentFilter::module(name("echo")), 50).await {
        s.modules
            .get_version(&d.module, &d.to_version)
            .await
            .expect("every stored deployment names a registered version");
    }
}

/// Run every deployment-repository behaviour as its own `#[test]`. `$make`
/// returns a fresh [`DeploymentStore`] per test (or `None` to skip).
#[macro_export]
macro_rules! deployment_repository_suite {
    ($make:expr) => {
        mod deployment_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__harness_tests!(
                $make,
                deployments,
                [
                    create_then_get,
                    duplicate_id_refused,
                    missing_is_not_found,
                    invalid_deployment_refused,
                    list_filters_and_pages,
                    update_appends_events,
                    stale_update_conflicts,
                    delete_removes,
                    leases_have_one_owner,
                    concurrent_updates_one_wins,
                    concurrent_leases_one_wins,
                    one_open_deployment_per_module,
                    concurrent_creations_one_wins,
                    unregistered_version_refused,
                    held_versions_are_not_deleted,
                    concurrent_create_and_delete,
                ]
            );
        }
    };
}

/// The module versions and deployments of a store written before it kept
/// what deployments hold (SQL migration 4), for the adapters' upgrade
/// tests: echo's latest deployment is open (2.0.0 to 3.0.0), an A/B test
/// of ab is paused, done's latest rolled back, and gone's succeeded to a
/// version since deleted.
pub fn legacy_rows() -> (Vec<hotswap_core::domain::WasmModule>, Vec<ModuleDeployment>) {
    use hotswap_core::domain::{AbTestConfig, AbVariant};
    let modules = [
        ("echo", "1.0.0"),
        ("echo", "2.0.0"),
        ("echo", "3.0.0"),
        ("echo", "4.0.0"),
        ("ab", "1.0.0"),
        ("ab", "2.0.0"),
        ("ab", "3.0.0"),
        ("done", "1.0.0"),
        ("done", "2.0.0"),
        ("gone", "1.0.0"),
    ]
    .map(|(n, v)| module(n, v))
    .to_vec();
    let with = |n: &str, from: &str, to: &str, phase| {
        let mut d = deployment(n, to);
        d.from_version = Some(crate::sample::version(from));
        d.phase = phase;
        d.revision = 1;
        d
    };
    let mut ab = with("ab", "1.0.0", "2.0.0", DeploymentPhase::Paused);
    let variant = |name: &str, v: &str| AbVariant {
        name: name.into(),
        version: crate::sample::version(v),
        weight: 50,
    };
    ab.strategy = StrategyConfig::AbTest(AbTestConfig::new(vec![
        variant("a", "2.0.0"),
        variant("b", "3.0.0"),
    ]));
    let deployments = vec![
        with("echo", "1.0.0", "2.0.0", DeploymentPhase::Succeeded),
        with("echo", "2.0.0", "3.0.0", DeploymentPhase::Progressing),
        ab,
        with("done", "1.0.0", "2.0.0", DeploymentPhase::RolledBack),
        with("gone", "1.0.0", "2.0.0", DeploymentPhase::Succeeded),
    ];
    (modules, deployments)
}

/// After the upgrade, the store holds for [`legacy_rows`] what it would
/// have held had it written them itself.
pub async fn legacy_holds_are_backfilled(s: &DeploymentStore) {
    let id = |n: &str, v: &str| {
        let modules = s.modules.clone();
        let (n, v) = (name(n), crate::sample::version(v));
        async move { modules.get_version(&n, &v).await.expect("seeded").id }
    };
    for (n, v) in [
        ("echo", "2.0.0"),
        ("echo", "3.0.0"),
        ("ab", "3.0.0"),
        ("ab", "1.0.0"),
        ("done", "1.0.0"),
    ] {
        let e = s.modules.delete(id(n, v).await).await.unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{n}@{v} is held: {e}");
    }
    for (n, v) in [
        ("echo", "1.0.0"),
        ("echo", "4.0.0"),
        ("done", "2.0.0"),
        ("gone", "1.0.0"),
    ] {
        s.modules
            .delete(id(n, v).await)
            .await
            .unwrap_or_else(|e| panic!("{n}@{v} is held by nothing: {e}"));
    }
    let e = s
        .deployments
        .create(&deployment("echo", "4.0.0"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Conflict { .. }),
        "echo's deployment is open: {e}"
    );
}

/// A temporary folder holding the migrations of the folder `all` whose
/// file names sort before `before` (`"0004"`): a store's schema as an
/// earlier release left it, for its upgrade test.
pub fn earlier_migrations(all: &std::path::Path, before: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for entry in std::fs::read_dir(all).expect("the migrations folder") {
        let path = entry.expect("a migration").path();
        let name = path.file_name().expect("a file name").to_owned();
        if name.to_string_lossy().as_ref() < before {
            std::fs::copy(&path, dir.path().join(name)).expect("copied");
        }
    }
    dir
}

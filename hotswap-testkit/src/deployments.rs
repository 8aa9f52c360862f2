//! Conformance suite for [`DeploymentRepository`].

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::domain::{
    DeploymentId, DeploymentPhase, Environment, ModuleDeployment, ReasonCode, RegionalConfig,
    StrategyConfig,
};
use hotswap_core::repository::{DeploymentFilter, DeploymentRepository};

use crate::sample::{deployment, event, name, region, time};

/// Walk every page of `filter` with pages of `limit`.
pub async fn list_all(
    r: &dyn DeploymentRepository,
    filter: &DeploymentFilter,
    limit: u32,
) -> Vec<ModuleDeployment> {
    crate::all_pages(limit, |page| async move { r.list(filter, &page).await }).await
}

/// A created deployment reads back equal at revision 1, with its first
/// events numbered from 1.
pub async fn create_then_get(r: &dyn DeploymentRepository) {
    let mut d = deployment("echo", "1.1.0");
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
pub async fn duplicate_id_refused(r: &dyn DeploymentRepository) {
    let d = deployment("echo", "1.1.0");
    r.create(&d, &[]).await.expect("create");
    let mut again = deployment("other", "2.0.0");
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
pub async fn missing_is_not_found(r: &dyn DeploymentRepository) {
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
pub async fn invalid_deployment_refused(r: &dyn DeploymentRepository) {
    let mut d = deployment("echo", "1.1.0");
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
        .create(&deployment("echo", "1.2.0"), &[])
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
pub async fn list_filters_and_pages(r: &dyn DeploymentRepository) {
    let mut ids = Vec::new();
    for i in 0..6u64 {
        let mut d = deployment(
            if i % 2 == 0 { "alpha" } else { "beta" },
            &format!("1.{}.0", i + 1),
        );
        if i % 3 == 0 {
            d.environment = Environment::Production;
        }
        let mut stored = r.create(&d, &[]).await.expect("create");
        if i < 2 {
            let e = stored
                .transition(
                    DeploymentPhase::Progressing,
                    ReasonCode::Started,
                    "go",
                    time(1),
                )
                .expect("transition");
            stored = r.update(&stored, &[e]).await.expect("update");
        }
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
        2
    );
    assert_eq!(
        count(DeploymentFilter::phase(DeploymentPhase::Pending)).await,
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
pub async fn update_appends_events(r: &dyn DeploymentRepository) {
    let d = r
        .create(
            &deployment("echo", "1.1.0"),
            &[event(&deployment("echo", "1.1.0"), 0, "created")],
        )
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
pub async fn stale_update_conflicts(r: &dyn DeploymentRepository) {
    let d = r
        .create(&deployment("echo", "1.1.0"), &[])
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
pub async fn delete_removes(r: &dyn DeploymentRepository) {
    let d = deployment("echo", "1.1.0");
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
pub async fn leases_have_one_owner(r: &dyn DeploymentRepository) {
    let d = r
        .create(&deployment("echo", "1.1.0"), &[])
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
pub async fn concurrent_updates_one_wins(r: Arc<dyn DeploymentRepository>) {
    let d = r
        .create(&deployment("echo", "1.1.0"), &[])
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
pub async fn concurrent_leases_one_wins(r: Arc<dyn DeploymentRepository>) {
    let d = r
        .create(&deployment("echo", "1.1.0"), &[])
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

/// Run every deployment-repository behaviour as its own `#[test]`. `$make`
/// returns a fresh `Arc<dyn DeploymentRepository>` per test.
#[macro_export]
macro_rules! deployment_repository_suite {
    ($make:expr) => {
        mod deployment_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                deployments,
                [],
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
                ]
            );
            $crate::__arc_tests!(
                $make,
                deployments,
                [],
                [concurrent_updates_one_wins, concurrent_leases_one_wins,]
            );
        }
    };
}

//! Two control-plane replicas (two pools on one schema): one drives a
//! deployment at a time, the other takes over when the lease lapses, and a
//! stale compare-and-set from either is refused.

use std::time::Duration;

use hotswap_core::Error;
use hotswap_store_postgres::PostgresConfig;
use hotswap_testkit::sample;

#[test]
fn one_replica_drives_a_deployment_until_its_lease_lapses() {
    hotswap_testkit::run(async {
        let Some(url) = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL") else {
            return;
        };
        let schema = format!("hs_test_{}", uuid::Uuid::now_v7().simple());
        let replica = |name: &'static str| {
            let config = PostgresConfig::new(url.clone()).with_schema(schema.clone());
            async move { (name, config.connect().await.expect("connects")) }
        };
        let (a_name, store) = replica("replica-a").await;
        let (b_name, b) = replica("replica-b").await;
        let b = b.deployments();
        for v in ["1.0.0", "2.0.0"] {
            store
                .modules()
                .create(&sample::module("leased", v))
                .await
                .expect("register");
        }
        let a = store.deployments();

        let d = a
            .create(&sample::deployment("leased", "2.0.0"), &[])
            .await
            .expect("create");
        let ttl = Duration::from_secs(30);
        let t0 = sample::time(1_000);
        a.acquire_lease(d.id, a_name, t0, ttl)
            .await
            .expect("a leads");
        let e = b
            .acquire_lease(d.id, b_name, sample::time(1_029), ttl)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Conflict { reason, .. } if reason.contains(a_name)),
            "{e}"
        );
        // After the expiry, b takes over and a can no longer renew.
        let later = sample::time(1_031);
        b.acquire_lease(d.id, b_name, later, ttl)
            .await
            .expect("b takes over");
        let e = a.acquire_lease(d.id, a_name, later, ttl).await.unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e}");

        // b advances the deployment; a's copy is now stale.
        let advanced = b
            .update(&d, &[sample::event(&d, 2, "step")])
            .await
            .expect("b");
        let e = a
            .update(&d, &[sample::event(&d, 3, "stale")])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e}");
        let log = a.events(d.id, 0, 10).await.expect("events");
        assert_eq!(log.len(), 1, "the refused update appended nothing");
        assert_eq!(a.get(d.id).await.expect("get").revision, advanced.revision);
    });
}

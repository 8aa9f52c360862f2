//! Conformance suite for [`ConfigRepository`].

use std::sync::Arc;

use hotswap_core::domain::{ConfigKey, ModuleConfig, SealedSecret};
use hotswap_core::repository::ConfigRepository;
use hotswap_core::{Error, ResourceKind};

use crate::sample::{name, time};

/// Revision `revision` of `module` with value `greeting` and a sealed
/// secret `token` (fake ciphertext: repositories never open it).
pub fn revision(module: &str, revision: u64, greeting: &str) -> ModuleConfig {
    let mut c = ModuleConfig::none(name(module));
    c.revision = revision;
    c.created_at = time(revision as i64);
    c.created_by = "alice".into();
    c.values
        .insert(ConfigKey::new("greeting").expect("key"), greeting.into());
    c.secrets.insert(
        ConfigKey::new("token").expect("key"),
        SealedSecret {
            set_in: 1,
            nonce: "00".repeat(24),
            ciphertext: format!("{:02x}", revision).repeat(20),
        },
    );
    c
}

/// Revisions come back whole, each by number, and the latest is the
/// highest; modules are apart.
pub async fn revisions_round_trip_and_the_latest_is_last(r: &dyn ConfigRepository) {
    let shop = name("shop");
    assert_eq!(r.latest(&shop).await.expect("latest"), None);
    let one = revision("shop", 1, "hello");
    let two = revision("shop", 2, "bonjour");
    r.create(&one).await.expect("create 1");
    r.create(&two).await.expect("create 2");
    r.create(&revision("cart", 1, "other"))
        .await
        .expect("another module");
    assert_eq!(r.get(&shop, 1).await.expect("get 1"), one);
    assert_eq!(r.get(&shop, 2).await.expect("get 2"), two);
    assert_eq!(r.latest(&shop).await.expect("latest"), Some(two));
    for missing in [0, 3, u64::MAX] {
        let e = r.get(&shop, missing).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::NotFound {
                    kind: ResourceKind::ConfigRevision,
                    ..
                }
            ),
            "{missing}: {e}"
        );
    }
}

/// A revision that does not follow the latest is a `Conflict` naming the
/// latest, and an invalid one is refused; neither changes anything.
pub async fn out_of_order_and_invalid_revisions_change_nothing(r: &dyn ConfigRepository) {
    let shop = name("shop");
    let e = r.create(&revision("shop", 2, "skip")).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    r.create(&revision("shop", 1, "first"))
        .await
        .expect("create");
    let e = r.create(&revision("shop", 1, "again")).await.unwrap_err();
    assert!(
        matches!(e, Error::Conflict { .. }) && e.to_string().contains("latest revision 1"),
        "{e}"
    );
    let mut bad = revision("shop", 2, "x");
    bad.created_by = String::new();
    let e = r.create(&bad).await.unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let latest = r.latest(&shop).await.expect("latest").expect("one");
    assert_eq!((latest.revision, latest.values.len()), (1, 1));
    assert_eq!(
        latest.values.values().next().map(String::as_str),
        Some("first")
    );
}

/// Of concurrent writers of one next revision exactly one wins.
pub async fn concurrent_writers_of_one_revision_one_wins(r: Arc<dyn ConfigRepository>) {
    r.create(&revision("race", 1, "start"))
        .await
        .expect("create");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move { r.create(&revision("race", 2, &format!("w{i}"))).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => wins += 1,
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1, "the backend holds one revision 2");
    let latest = r
        .latest(&name("race"))
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(latest.revision, 2);
}

/// Run every configuration-repository behaviour as its own `#[test]`.
/// `$make` returns a fresh `Arc<dyn ConfigRepository>` per test.
#[macro_export]
macro_rules! config_repository_suite {
    ($make:expr) => {
        mod config_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                configs,
                [],
                [
                    revisions_round_trip_and_the_latest_is_last,
                    out_of_order_and_invalid_revisions_change_nothing,
                ]
            );
            $crate::__arc_tests!(
                $make,
                configs,
                [],
                [concurrent_writers_of_one_revision_one_wins]
            );
        }
    };
}

//! Conformance suite for [`InterfaceRegistry`].

use std::sync::Arc;

use hotswap_core::Error;
use hotswap_core::domain::InterfaceId;
use hotswap_core::interface::{
    Approval, CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, WitInterface,
};

use crate::sample::{interface, time, version};

fn package(s: &str) -> PackageName {
    PackageName::new(s).expect("valid sample package")
}

/// Walk every page of `filter` with pages of `limit`.
pub async fn list_all(
    r: &dyn InterfaceRegistry,
    filter: &InterfaceFilter,
    limit: u32,
) -> Vec<WitInterface> {
    crate::all_pages(limit, |page| async move { r.list(filter, &page).await }).await
}

/// A registered interface reads back equal, by id and by package/version.
pub async fn register_then_get(r: &dyn InterfaceRegistry) {
    let i = interface("hotswap:fixture", Some("0.1.0"));
    let unversioned = interface("hotswap:plain", None);
    r.register(&i).await.expect("register");
    r.register(&unversioned)
        .await
        .expect("register unversioned");
    assert_eq!(r.get(i.id).await.expect("get"), i);
    assert_eq!(
        r.get_version(&i.package, Some(&version("0.1.0")))
            .await
            .expect("get_version"),
        i
    );
    assert_eq!(
        r.get_version(&unversioned.package, None)
            .await
            .expect("get unversioned"),
        unversioned
    );
}

/// A second `(package, version)` is `AlreadyExists`, unversioned included.
pub async fn duplicate_refused(r: &dyn InterfaceRegistry) {
    r.register(&interface("hotswap:fixture", Some("0.1.0")))
        .await
        .expect("register");
    let e = r
        .register(&interface("hotswap:fixture", Some("0.1.0")))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    r.register(&interface("hotswap:plain", None))
        .await
        .expect("register");
    let e = r
        .register(&interface("hotswap:plain", None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    r.register(&interface("hotswap:fixture", Some("0.2.0")))
        .await
        .expect("another version");
    assert_eq!(list_all(r, &InterfaceFilter::default(), 10).await.len(), 3);
}

/// Missing interfaces are `NotFound`.
pub async fn missing_is_not_found(r: &dyn InterfaceRegistry) {
    assert!(matches!(
        r.get(InterfaceId::new()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.get_version(&package("a:b"), None).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.delete(InterfaceId::new()).await,
        Err(Error::NotFound { .. })
    ));
    let approval = Approval {
        by: "admin".into(),
        at: time(0),
    };
    assert!(matches!(
        r.approve(InterfaceId::new(), &approval).await,
        Err(Error::NotFound { .. })
    ));
}

/// Empty WIT is refused with the field named; nothing stored.
pub async fn invalid_interface_refused(r: &dyn InterfaceRegistry) {
    let mut i = interface("hotswap:fixture", Some("0.1.0"));
    i.wit = "  \n".into();
    let e = r.register(&i).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "wit"),
        "{e}"
    );
    assert!(
        list_all(r, &InterfaceFilter::default(), 10)
            .await
            .is_empty()
    );
}

/// Filters by package and approval; keyset pages by package then id.
pub async fn list_filters_and_pages(r: &dyn InterfaceRegistry) {
    let mut all = Vec::new();
    for (p, v) in [
        ("b:one", "1.0.0"),
        ("a:two", "1.0.0"),
        ("b:one", "2.0.0"),
        ("a:two", "0.1.0"),
        ("c:three", "1.0.0"),
    ] {
        let i = interface(p, Some(v));
        r.register(&i).await.expect("register");
        all.push(i);
    }
    let approval = Approval {
        by: "admin".into(),
        at: time(5),
    };
    r.approve(all[0].id, &approval).await.expect("approve");
    all[0].approval = Some(approval);
    let mut expected = all.clone();
    expected.sort_by(|a, b| (a.package.as_str(), a.id).cmp(&(b.package.as_str(), b.id)));
    for limit in [1, 2, 5, 9] {
        assert_eq!(
            list_all(r, &InterfaceFilter::default(), limit).await,
            expected,
            "page size {limit}"
        );
    }
    let by_package = InterfaceFilter {
        package: Some(package("b:one")),
        ..Default::default()
    };
    assert_eq!(list_all(r, &by_package, 10).await.len(), 2);
    let approved = InterfaceFilter {
        approved: Some(true),
        ..Default::default()
    };
    assert_eq!(list_all(r, &approved, 10).await, vec![all[0].clone()]);
    let unapproved = InterfaceFilter {
        approved: Some(false),
        ..Default::default()
    };
    assert_eq!(list_all(r, &unapproved, 10).await.len(), 4);
}

/// Approval records who and when, once; approving again keeps the first.
pub async fn approve_is_recorded_once(r: &dyn InterfaceRegistry) {
    let i = interface("hotswap:fixture", Some("0.1.0"));
    r.register(&i).await.expect("register");
    let first = Approval {
        by: "alice".into(),
        at: time(10),
    };
    let approved = r.approve(i.id, &first).await.expect("approve");
    assert_eq!(approved.approval, Some(first.clone()));
    let again = r
        .approve(
            i.id,
            &Approval {
                by: "bob".into(),
                at: time(20),
            },
        )
        .await
        .expect("approve again");
    assert_eq!(again.approval, Some(first.clone()));
    assert_eq!(r.get(i.id).await.expect("get").approval, Some(first));
    let e = r
        .approve(
            i.id,
            &Approval {
                by: " ".into(),
                at: time(30),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "approval.by"),
        "{e}"
    );
}

/// Modes default to backward and are kept per package.
pub async fn compatibility_modes_per_package(r: &dyn InterfaceRegistry) {
    let (a, b) = (package("hotswap:a"), package("hotswap:b"));
    assert_eq!(
        r.compatibility_mode(&a).await.expect("mode"),
        CompatibilityMode::Backward
    );
    r.set_compatibility_mode(&a, CompatibilityMode::FullTransitive)
        .await
        .expect("set");
    r.set_compatibility_mode(&b, CompatibilityMode::None)
        .await
        .expect("set");
    assert_eq!(
        r.compatibility_mode(&a).await.expect("mode"),
        CompatibilityMode::FullTransitive
    );
    assert_eq!(
        r.compatibility_mode(&b).await.expect("mode"),
        CompatibilityMode::None
    );
    r.set_compatibility_mode(&a, CompatibilityMode::Forward)
        .await
        .expect("set again");
    assert_eq!(
        r.compatibility_mode(&a).await.expect("mode"),
        CompatibilityMode::Forward
    );
}

/// Deleted interfaces are gone; others stay.
pub async fn delete_removes(r: &dyn InterfaceRegistry) {
    let i = interface("hotswap:fixture", Some("0.1.0"));
    let j = interface("hotswap:fixture", Some("0.2.0"));
    r.register(&i).await.expect("register");
    r.register(&j).await.expect("register");
    r.delete(i.id).await.expect("delete");
    assert!(matches!(r.get(i.id).await, Err(Error::NotFound { .. })));
    assert_eq!(r.get(j.id).await.expect("get"), j);
}

/// Of many tasks registering one version at once, exactly one wins.
pub async fn concurrent_registers_one_wins(r: Arc<dyn InterfaceRegistry>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { r.register(&interface("hotswap:race", Some("1.0.0"))).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => wins += 1,
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1);
}

/// Run every interface-registry behaviour as its own `#[test]`. `$make`
/// returns a fresh `Arc<dyn InterfaceRegistry>` per test.
#[macro_export]
macro_rules! interface_registry_suite {
    ($make:expr) => {
        mod interface_registry_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                interfaces,
                [],
                [
                    register_then_get,
                    duplicate_refused,
                    missing_is_not_found,
                    invalid_interface_refused,
                    list_filters_and_pages,
                    approve_is_recorded_once,
                    compatibility_modes_per_package,
                    delete_removes,
                ]
            );
            $crate::__arc_tests!($make, interfaces, [], [concurrent_registers_one_wins]);
        }
    };
}

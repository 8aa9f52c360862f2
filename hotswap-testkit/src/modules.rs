//! Conformance suite for [`ModuleRepository`].

use std::sync::Arc;

use hotswap_core::Error;
use hotswap_core::domain::{Digest, ModuleId, ModuleKind, ResourceLimits, WasmModule};
use hotswap_core::repository::{
    ModuleFilter, ModuleRepository, ModuleRepositoryExt, ModuleUpdate, PageRequest,
};

use crate::sample::{self, labels, module, name, version};

/// Walk every page of `filter` with pages of `limit`.
pub async fn list_all(
    r: &dyn ModuleRepository,
    filter: &ModuleFilter,
    limit: u32,
) -> Vec<WasmModule> {
    crate::all_pages(limit, |page| async move { r.list(filter, &page).await }).await
}

/// A created version reads back equal, by id and by name and version.
pub async fn create_then_get(r: &dyn ModuleRepository) {
    let m = module("echo", "1.2.3-beta.1+build.5");
    r.create(&m).await.expect("create");
    assert_eq!(r.get(m.id).await.expect("get"), m);
    assert_eq!(
        r.get_version(&m.name, &m.version)
            .await
            .expect("get_version"),
        m
    );
}

/// A second `(name, version)` or a second id is `AlreadyExists`, and the
/// stored version is unchanged.
pub async fn duplicate_version_refused(r: &dyn ModuleRepository) {
    let m = module("echo", "1.0.0");
    r.create(&m).await.expect("create");
    let mut again = module("echo", "1.0.0");
    again.created_by = "mallory".into();
    let e = r.create(&again).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    let mut same_id = module("other", "1.0.0");
    same_id.id = m.id;
    let e = r.create(&same_id).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(r.get(m.id).await.expect("get"), m);
    assert_eq!(list_all(r, &ModuleFilter::default(), 10).await, vec![m]);
}

/// Missing versions are `NotFound`.
pub async fn missing_is_not_found(r: &dyn ModuleRepository) {
    let e = r.get(ModuleId::new()).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = r
        .get_version(&name("nope"), &version("1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = r.delete(ModuleId::new()).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = r
        .update(ModuleId::new(), &ModuleUpdate::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// An invalid version is refused with the field named, and nothing is
/// stored.
pub async fn invalid_module_refused(r: &dyn ModuleRepository) {
    let mut m = module("echo", "1.0.0");
    m.limits = ResourceLimits::default().with_max_concurrent_instances(0);
    let e = r.create(&m).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "limits.max_concurrent_instances"),
        "{e}"
    );
    let mut m = module("echo", "1.0.1");
    m.size_bytes = 0;
    assert!(matches!(r.create(&m).await, Err(Error::Invalid { .. })));
    assert!(list_all(r, &ModuleFilter::default(), 10).await.is_empty());
}

/// Filters by name, kind, digest and labels.
pub async fn list_filters(r: &dyn ModuleRepository) {
    let a = module("alpha", "1.0.0");
    let mut b = module("alpha", "2.0.0");
    b.kind = ModuleKind::Component;
    b.labels = labels(&[("team", "core"), ("tier", "gold")]);
    let mut c = module("beta", "1.0.0");
    c.digest = a.digest;
    for m in [&a, &b, &c] {
        r.create(m).await.expect("create");
    }
    let ids = |v: Vec<WasmModule>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let by_name = ModuleFilter::name(name("alpha"));
    assert_eq!(ids(list_all(r, &by_name, 10).await), vec![a.id, b.id]);
    let by_kind = ModuleFilter {
        kind: Some(ModuleKind::Component),
        ..Default::default()
    };
    assert_eq!(ids(list_all(r, &by_kind, 10).await), vec![b.id]);
    let by_digest = ModuleFilter {
        digest: Some(a.digest),
        ..Default::default()
    };
    assert_eq!(ids(list_all(r, &by_digest, 10).await), vec![a.id, c.id]);
    let by_label = ModuleFilter {
        labels: labels(&[("tier", "gold")]),
        ..Default::default()
    };
    assert_eq!(ids(list_all(r, &by_label, 10).await), vec![b.id]);
    let none = ModuleFilter {
        labels: labels(&[("team", "nobody")]),
        ..Default::default()
    };
    assert!(list_all(r, &none, 10).await.is_empty());
}

/// Keyset pages: ordered by name then registration, every version once,
/// `next` absent on the last page; a bad cursor or limit is `Invalid`.
pub async fn list_pages(r: &dyn ModuleRepository) {
    let mut created = Vec::new();
    for (n, v) in [
        ("zeta", "1.0.0"),
        ("alpha", "1.0.0"),
        ("zeta", "0.9.0"),
        ("mid", "3.0.0"),
        ("alpha", "0.1.0"),
        ("alpha", "2.0.0"),
        ("mid", "1.0.0"),
    ] {
        let m = module(n, v);
        r.create(&m).await.expect("create");
        created.push(m);
    }
    let mut expected = created.clone();
    expected.sort_by(|a, b| (a.name.as_str(), a.id).cmp(&(b.name.as_str(), b.id)));
    for limit in [1, 2, 3, 7, 100] {
        let got = list_all(r, &ModuleFilter::default(), limit).await;
        assert_eq!(got, expected, "walk with page size {limit}");
    }
    let exact = r
        .list(&ModuleFilter::default(), &PageRequest::first(7))
        .await
        .expect("list");
    assert_eq!(exact.items.len(), 7);
    assert_eq!(exact.next, None, "no next cursor when nothing follows");
    let e = r
        .list(
            &ModuleFilter::default(),
            &PageRequest::after(2, "not-a-cursor"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::NotFound {
                kind: hotswap_core::ResourceKind::PageCursor,
                ..
            }
        ),
        "{e}"
    );
    let e = r
        .list(&ModuleFilter::default(), &PageRequest::first(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "limit"),
        "{e}"
    );
}

/// Labels and limits change; nothing else does; invalid limits change
/// nothing.
pub async fn update_labels_and_limits(r: &dyn ModuleRepository) {
    let m = module("echo", "1.0.0");
    r.create(&m).await.expect("create");
    let limits = ResourceLimits::default().with_max_memory_bytes(1 << 20);
    let update = ModuleUpdate {
        labels: Some(labels(&[("stage", "beta")])),
        limits: Some(limits),
    };
    let updated = r.update(m.id, &update).await.expect("update");
    let mut expected = m.clone();
    expected.labels = labels(&[("stage", "beta")]);
    expected.limits = limits;
    assert_eq!(updated, expected);
    assert_eq!(r.get(m.id).await.expect("get"), expected);

    let bad = ModuleUpdate {
        labels: Some(labels(&[])),
        limits: Some(limits.with_max_stack_bytes(1)),
    };
    let e = r.update(m.id, &bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "limits.max_stack_bytes"),
        "{e}"
    );
    assert_eq!(
        r.get(m.id).await.expect("get"),
        expected,
        "a refused update changed the row"
    );
}

/// Deleted versions are gone; others stay.
pub async fn delete_removes(r: &dyn ModuleRepository) {
    let a = module("echo", "1.0.0");
    let b = module("echo", "1.1.0");
    r.create(&a).await.expect("create");
    r.create(&b).await.expect("create");
    r.delete(a.id).await.expect("delete");
    assert!(matches!(r.get(a.id).await, Err(Error::NotFound { .. })));
    assert_eq!(r.get(b.id).await.expect("get"), b);
    r.create(&module("echo", "1.0.0"))
        .await
        .expect("a deleted version may be registered again");
}

/// Blob reference counts follow creates and deletes; `latest` picks the
/// highest semver, not the newest.
pub async fn digests_and_latest(r: &dyn ModuleRepository) {
    let a = module("echo", "1.10.0");
    let mut b = module("echo", "1.9.0");
    b.digest = a.digest;
    let c = module("echo", "2.0.0-rc.1");
    for m in [&a, &b, &c] {
        r.create(m).await.expect("create");
    }
    assert_eq!(r.count_by_digest(&a.digest).await.expect("count"), 2);
    assert_eq!(
        r.count_by_digest(&Digest::of(b"none"))
            .await
            .expect("count"),
        0
    );
    r.delete(b.id).await.expect("delete");
    assert_eq!(r.count_by_digest(&a.digest).await.expect("count"), 1);
    let latest = r
        .latest(&name("echo"))
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(latest.version, version("2.0.0-rc.1"));
    let versions: Vec<_> = r
        .versions(&name("echo"))
        .await
        .expect("versions")
        .into_iter()
        .map(|m| m.version.to_string())
        .collect();
    assert_eq!(versions, ["2.0.0-rc.1", "1.10.0"]);
    assert!(r.latest(&name("none")).await.expect("latest").is_none());
}

/// Of many tasks creating the same version at once, exactly one wins.
pub async fn concurrent_creates_one_wins(r: Arc<dyn ModuleRepository>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { r.create(&sample::module("race", "1.0.0")).await })
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
    assert_eq!(list_all(&*r, &ModuleFilter::default(), 10).await.len(), 1);
}

/// Run every module-repository behaviour as its own `#[test]`. `$make` is
/// an async closure or function returning a fresh
/// `Arc<dyn ModuleRepository>` per test.
#[macro_export]
macro_rules! module_repository_suite {
    ($make:expr) => {
        mod module_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                modules,
                [],
                [
                    create_then_get,
                    duplicate_version_refused,
                    missing_is_not_found,
                    invalid_module_refused,
                    list_filters,
                    list_pages,
                    update_labels_and_limits,
                    delete_removes,
                    digests_and_latest,
                ]
            );
            $crate::__arc_tests!($make, modules, [], [concurrent_creates_one_wins]);
        }
    };
}

//! Conformance suite for [`NodeRepository`].

use std::sync::Arc;

use hotswap_core::Error;
use hotswap_core::domain::{
    Digest, EdgeNode, Heartbeat, LoadedVersion, NodeId, NodeStatus, VersionStats,
};
use hotswap_core::repository::{NodeFilter, NodeRepository, PageRequest};

use crate::sample::{labels, name, node, region, time, version};

/// Walk every page of `filter` with pages of `limit`.
pub async fn list_all(r: &dyn NodeRepository, filter: &NodeFilter, limit: u32) -> Vec<EdgeNode> {
    crate::all_pages(limit, |page| async move { r.list(filter, &page).await }).await
}

/// A node as a heartbeat leaves it: healthy, with metrics, loaded versions
/// and statistics.
pub fn heartbeated(mut n: EdgeNode) -> EdgeNode {
    let mut hb = Heartbeat::new(time(30));
    hb.metrics.cpu_percent = 12.5;
    hb.metrics.memory_used_bytes = 1 << 20;
    hb.metrics.memory_total_bytes = 1 << 30;
    hb.metrics.in_flight = 3;
    let mut stats = VersionStats::new(name("echo"), version("1.0.0"));
    stats.calls = 10;
    stats.errors = 1;
    stats.timeouts = 1;
    stats.latency.record_n(250, 10);
    n.status = NodeStatus::Healthy;
    n.last_heartbeat = Some(time(31));
    n.metrics = hb.metrics;
    n.loaded = vec![LoadedVersion {
        module: name("echo"),
        version: version("1.0.0"),
        digest: Digest::of(b"echo"),
        config_revision: 3,
    }];
    n.stats = vec![stats];
    n
}

/// A created node reads back equal at revision 1, by id and by name.
pub async fn create_then_get(r: &dyn NodeRepository) {
    let n = heartbeated(node("edge-1", "eu-west"));
    let stored = r.create(&n).await.expect("create");
    assert_eq!(stored.revision, 1);
    let mut expected = n.clone();
    expected.revision = 1;
    assert_eq!(stored, expected);
    assert_eq!(r.get(n.id).await.expect("get"), expected);
    assert_eq!(
        r.get_by_name("edge-1").await.expect("get_by_name"),
        expected
    );
}

/// A second node with the same name or id is `AlreadyExists`.
pub async fn duplicate_name_refused(r: &dyn NodeRepository) {
    let n = node("edge-1", "eu-west");
    r.create(&n).await.expect("create");
    let e = r.create(&node("edge-1", "us-east")).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    let mut same_id = node("edge-2", "us-east");
    same_id.id = n.id;
    let e = r.create(&same_id).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(list_all(r, &NodeFilter::default(), 10).await.len(), 1);
}

/// Missing nodes are `NotFound`.
pub async fn missing_is_not_found(r: &dyn NodeRepository) {
    assert!(matches!(
        r.get(NodeId::new()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.get_by_name("ghost").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.delete(NodeId::new()).await,
        Err(Error::NotFound { .. })
    ));
    let e = r.update(&node("ghost", "eu")).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// An invalid node is refused with the field named; nothing is stored.
pub async fn invalid_node_refused(r: &dyn NodeRepository) {
    let mut n = node("edge-1", "eu-west");
    n.endpoint = "tcp://10.0.0.1".into();
    let e = r.create(&n).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "endpoint"),
        "{e}"
    );
    assert!(list_all(r, &NodeFilter::default(), 10).await.is_empty());
}

/// Filters by region, status and labels.
pub async fn list_filters(r: &dyn NodeRepository) {
    let a = heartbeated(node("a", "eu-west"));
    let mut b = node("b", "eu-west");
    b.labels = labels(&[("tier", "edge"), ("gpu", "yes")]);
    let c = heartbeated(node("c", "us-east"));
    for n in [&a, &b, &c] {
        r.create(n).await.expect("create");
    }
    let names = |v: Vec<EdgeNode>| v.into_iter().map(|n| n.name).collect::<Vec<_>>();
    assert_eq!(
        names(list_all(r, &NodeFilter::region(region("eu-west")), 10).await),
        ["a", "b"]
    );
    assert_eq!(
        names(list_all(r, &NodeFilter::status(NodeStatus::Healthy), 10).await),
        ["a", "c"]
    );
    let gpu = NodeFilter {
        labels: labels(&[("gpu", "yes")]),
        ..Default::default()
    };
    assert_eq!(names(list_all(r, &gpu, 10).await), ["b"]);
    let both = NodeFilter {
        region: Some(region("us-east")),
        status: Some(NodeStatus::Registering),
        ..Default::default()
    };
    assert!(list_all(r, &both, 10).await.is_empty());
}

/// Keyset pages in registration (id) order, every node once.
pub async fn list_pages(r: &dyn NodeRepository) {
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            r.create(&node(&format!("n{i}"), "eu"))
                .await
                .expect("create")
                .id,
        );
    }
    ids.sort();
    for limit in [1, 3, 7, 50] {
        let got: Vec<_> = list_all(r, &NodeFilter::default(), limit)
            .await
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(got, ids, "walk with page size {limit}");
    }
    assert!(matches!(
        r.list(&NodeFilter::default(), &PageRequest::after(3, "zz"))
            .await,
        Err(Error::NotFound {
            kind: hotswap_core::ResourceKind::PageCursor,
            ..
        })
    ));
}

/// Updates bump the revision; a stale revision is `Conflict` and changes
/// nothing; renaming onto another node's name is `AlreadyExists`.
pub async fn update_is_compare_and_set(r: &dyn NodeRepository) {
    let stored = r.create(&node("edge-1", "eu")).await.expect("create");
    r.create(&node("edge-2", "eu")).await.expect("create");
    let updated = r
        .update(&heartbeated(stored.clone()))
        .await
        .expect("update");
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.status, NodeStatus::Healthy);
    let mut stale = stored.clone();
    stale.status = NodeStatus::Draining;
    let e = r.update(&stale).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    assert_eq!(r.get(stored.id).await.expect("get"), updated);
    let mut renamed = updated.clone();
    renamed.name = "edge-2".into();
    let e = r.update(&renamed).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(r.get(stored.id).await.expect("get"), updated);
}

/// Deleted nodes are gone; their name is free again.
pub async fn delete_removes(r: &dyn NodeRepository) {
    let n = r.create(&node("edge-1", "eu")).await.expect("create");
    r.delete(n.id).await.expect("delete");
    assert!(matches!(r.get(n.id).await, Err(Error::NotFound { .. })));
    r.create(&node("edge-1", "eu"))
        .await
        .expect("name free again");
}

/// Of many tasks updating from one revision at once, exactly one wins.
pub async fn concurrent_updates_one_wins(r: Arc<dyn NodeRepository>) {
    let stored = r.create(&node("edge-1", "eu")).await.expect("create");
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let (r, mut n) = (r.clone(), stored.clone());
            tokio::spawn(async move {
                n.metrics.in_flight = i + 1;
                r.update(&n).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(n) => winners.push(n),
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one compare-and-set may win");
    assert_eq!(r.get(stored.id).await.expect("get"), winners[0]);
    assert_eq!(winners[0].revision, 2);
}

/// Run every node-repository behaviour as its own `#[test]`. `$make`
/// returns a fresh `Arc<dyn NodeRepository>` per test.
#[macro_export]
macro_rules! node_repository_suite {
    ($make:expr) => {
        mod node_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                nodes,
                [],
                [
                    create_then_get,
                    duplicate_name_refused,
                    missing_is_not_found,
                    invalid_node_refused,
                    list_filters,
                    list_pages,
                    update_is_compare_and_set,
                    delete_removes,
                ]
            );
            $crate::__arc_tests!($make, nodes, [], [concurrent_updates_one_wins]);
        }
    };
}

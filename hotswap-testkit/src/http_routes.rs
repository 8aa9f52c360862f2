//! Conformance suite for [`HttpRouteRepository`].

use std::sync::Arc;

use hotswap_core::domain::{HttpRoute, RouteId};
use hotswap_core::repository::HttpRouteRepository;
use hotswap_core::{Error, ResourceKind};

use crate::sample::{name, time};

/// A route for `host` and `prefix` to module `module`.
pub fn route(host: &str, prefix: &str, module: &str) -> HttpRoute {
    HttpRoute::new(host, Some(prefix), name(module), time(0)).expect("a valid route")
}

/// Created routes come back whole, listed by host and prefix, and every
/// change bumps the revision by one.
pub async fn create_get_list_in_order(r: &dyn HttpRouteRepository) {
    assert_eq!(r.routes().await.expect("routes").revision, 0, "empty at 0");
    let b = route("b.example", "/", "two");
    let a_api = route("a.example", "/api", "one");
    let a = route("a.example", "/", "three");
    assert_eq!(r.create(&b).await.expect("create"), 1);
    assert_eq!(r.create(&a_api).await.expect("create"), 2);
    assert_eq!(r.create(&a).await.expect("create"), 3);
    assert_eq!(r.get(a_api.id).await.expect("get"), a_api);
    let set = r.routes().await.expect("routes");
    assert_eq!(set.revision, 3);
    assert_eq!(set.routes, vec![a, a_api, b]);
}

/// A route at a taken host and prefix is a `Conflict` naming the route
/// that holds it, and changes nothing, the revision included.
pub async fn a_clash_is_refused_naming_the_route_and_changes_nothing(r: &dyn HttpRouteRepository) {
    let first = route("shop.example", "/cart", "cart");
    r.create(&first).await.expect("create");
    let clash = route("SHOP.example", "/cart/", "other");
    let e = r.create(&clash).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&first.id.to_string()) && text.contains("shop.example/cart"),
        "names the clashing route: {text}"
    );
    let set = r.routes().await.expect("routes");
    assert_eq!((set.revision, set.routes), (1, vec![first.clone()]));
    // Another prefix on the host, or the prefix on another host, is fine.
    r.create(&route("shop.example", "/cart2", "other"))
        .await
        .expect("another prefix");
    r.create(&route("*", "/cart", "other"))
        .await
        .expect("another host");
    // The same id twice is `AlreadyExists`.
    let mut again = route("x.example", "/", "x");
    again.id = first.id;
    let e = r.create(&again).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
}

/// A route not in normal form is `Invalid` and not stored.
pub async fn invalid_routes_are_refused(r: &dyn HttpRouteRepository) {
    let mut bad = route("a.example", "/", "a");
    bad.host = "A.example:80".into();
    let e = r.create(&bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "host"),
        "{e}"
    );
    let mut bad = route("a.example", "/", "a");
    bad.path_prefix = "/x/".into();
    let e = r.create(&bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "path_prefix"),
        "{e}"
    );
    assert_eq!(r.routes().await.expect("routes").revision, 0);
}

/// Delete removes the route and bumps the revision; a missing route is
/// `NotFound` and changes nothing.
pub async fn delete_removes_and_bumps(r: &dyn HttpRouteRepository) {
    let keep = route("a.example", "/", "a");
    let gone = route("a.example", "/old", "a");
    r.create(&keep).await.expect("create");
    r.create(&gone).await.expect("create");
    assert_eq!(r.delete(gone.id).await.expect("delete"), 3);
    let e = r.get(gone.id).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: ResourceKind::HttpRoute,
                ..
            }
        ),
        "{e}"
    );
    let e = r.delete(RouteId::new()).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let set = r.routes().await.expect("routes");
    assert_eq!((set.revision, set.routes), (3, vec![keep]));
    // The place is free again.
    r.create(&route("a.example", "/old", "b"))
        .await
        .expect("recreate");
}

/// Of concurrent creates at one place exactly one wins, and every change
/// gets its own revision.
pub async fn concurrent_creates_at_one_place_one_wins(r: Arc<dyn HttpRouteRepository>) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                r.create(&route("race.example", "/", &format!("m{i}")))
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
    assert_eq!(wins, 1, "the backend holds the unique place");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move {
                r.create(&route("race.example", &format!("/p{i}"), "m"))
                    .await
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.push(t.await.expect("task").expect("distinct places"));
    }
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        (2..=9).collect::<Vec<u64>>(),
        "one revision per change"
    );
    assert_eq!(r.routes().await.expect("routes").routes.len(), 9);
}

/// Run every HTTP-route-repository behaviour as its own `#[test]`. `$make`
/// returns a fresh `Arc<dyn HttpRouteRepository>` per test.
#[macro_export]
macro_rules! http_route_repository_suite {
    ($make:expr) => {
        mod http_route_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                http_routes,
                [],
                [
                    create_get_list_in_order,
                    a_clash_is_refused_naming_the_route_and_changes_nothing,
                    invalid_routes_are_refused,
                    delete_removes_and_bumps,
                ]
            );
            $crate::__arc_tests!(
                $make,
                http_routes,
                [],
                [concurrent_creates_at_one_place_one_wins]
            );
        }
    };
}

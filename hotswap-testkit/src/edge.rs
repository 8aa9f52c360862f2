//! Behaviours of [`EdgeHost`] over a real runtime: routing precedence,
//! refused tables, retention, in-flight calls and hot swap under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hotswap_core::Error;
use hotswap_core::domain::{
    Digest, ModuleKind, RouteMatch, RouteReason, RouteRule, RoutingTable, WasmModule,
};
use hotswap_core::runtime::{Invocation, RuntimeHost};
use hotswap_edge::{CallRoute, EdgeHost, EdgeHostConfig};
use serde_json::json;

use crate::fixtures;
use crate::sample::{name, time, version};

/// Version `1.<v>.0` of module `numeric`, whose `version()` returns `v`.
pub fn numeric_version(v: u64) -> (WasmModule, Bytes) {
    let bytes = fixtures::numeric(i32::try_from(v).expect("small version"));
    let module = WasmModule::new(
        name("numeric"),
        version(&format!("1.{v}.0")),
        Digest::of(&bytes),
        bytes.len() as u64,
        ModuleKind::Core,
        "edge-suite",
        time(0),
    );
    (module, Bytes::from(bytes))
}

fn host(runtime: Arc<dyn RuntimeHost>, retain: usize) -> EdgeHost {
    let mut config = EdgeHostConfig::default();
    config.retain_versions = retain;
    EdgeHost::new(runtime, config)
}

async fn version_of(host: &EdgeHost, route: CallRoute<'_>) -> u64 {
    let out = host
        .invoke(
            &name("numeric"),
            route,
            Invocation::json("version", json!([])),
        )
        .await
        .expect("call");
    out.output
        .results_json()
        .as_u64()
        .expect("a version number")
}

async fn load(host: &EdgeHost, v: u64) {
    let (m, b) = numeric_version(v);
    host.load(&m, b).await.expect("load");
}

fn table(stable: u64, revision: u64) -> RoutingTable {
    let mut t = RoutingTable::new(name("numeric"), version(&format!("1.{stable}.0")));
    t.revision = revision;
    t
}

/// Pin beats header rules, rules beat the weighted split, the split is
/// sticky per key (and monotone as the weight rises), the rest is stable.
pub async fn routing_follows_precedence(runtime: Arc<dyn RuntimeHost>) {
    let host = host(runtime, 2);
    for v in 1..=3 {
        load(&host, v).await;
    }
    let mut t = table(1, 1).with_candidate(version("1.2.0"), 30);
    t.rules.push(RouteRule {
        when: RouteMatch::Header {
            name: "x-beta".into(),
            value: "yes".into(),
        },
        version: version("1.3.0"),
    });
    host.apply_routing(t.clone()).expect("routing");
    let beta = [("X-Beta", "yes")];
    assert_eq!(
        version_of(
            &host,
            CallRoute {
                headers: &beta,
                ..Default::default()
            }
        )
        .await,
        3
    );
    let pin = version("1.1.0");
    assert_eq!(
        version_of(
            &host,
            CallRoute {
                headers: &beta,
                pin: Some(&pin),
                ..Default::default()
            }
        )
        .await,
        1
    );
    let unknown = version("9.0.0");
    let e = host
        .invoke(
            &name("numeric"),
            CallRoute {
                pin: Some(&unknown),
                ..Default::default()
            },
            Invocation::json("version", json!([])),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");

    let keys: Vec<String> = (0..400).map(|i| format!("user-{i}")).collect();
    let mut at_30 = Vec::new();
    for k in &keys {
        at_30.push(
            version_of(
                &host,
                CallRoute {
                    key: Some(k),
                    ..Default::default()
                },
            )
            .await,
        );
    }
    let share = at_30.iter().filter(|v| **v == 2).count();
    assert!(
        (60..=180).contains(&share),
        "about 30% of 400 keys expected on the candidate, got {share}"
    );
    t.candidate = Some(hotswap_core::domain::WeightedVersion {
        version: version("1.2.0"),
        weight: 60,
    });
    t.revision = 2;
    host.apply_routing(t).expect("raise the weight");
    for (k, before) in keys.iter().zip(&at_30) {
        let now = version_of(
            &host,
            CallRoute {
                key: Some(k),
                ..Default::default()
            },
        )
        .await;
        if *before == 2 {
            assert_eq!(now, 2, "{k} reached the new version and must stay there");
        }
        let again = version_of(
            &host,
            CallRoute {
                key: Some(k),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(now, again, "{k} must be sticky");
    }
    let routed = host
        .invoke(
            &name("numeric"),
            CallRoute::default(),
            Invocation::json("version", json!([])),
        )
        .await
        .expect("call");
    assert!(matches!(
        routed.reason,
        RouteReason::Candidate | RouteReason::Stable
    ));
}

/// A table naming an unloaded version, or older than the published one, is
/// refused and the published routing keeps serving.
pub async fn bad_tables_change_nothing(runtime: Arc<dyn RuntimeHost>) {
    let host = host(runtime, 2);
    let e = host.apply_routing(table(1, 1)).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "nothing loaded: {e}");
    load(&host, 1).await;
    host.apply_routing(table(1, 5)).expect("routing");
    let e = host.apply_routing(table(2, 6)).unwrap_err();
    assert!(e.to_string().contains("1.2.0 is not loaded"), "{e}");
    load(&host, 2).await;
    let e = host.apply_routing(table(2, 4)).unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "stale revision: {e}");
    host.apply_routing(table(1, 5))
        .expect("re-applying the published table is a no-op");
    assert_eq!(host.routing(), vec![table(1, 5)]);
    assert_eq!(version_of(&host, CallRoute::default()).await, 1);
    let (mut other, bytes) = numeric_version(7);
    other.digest = Digest::of(b"different bytes");
    let e = host.load(&other, bytes).await.unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    let (mut same_version, _) = numeric_version(1);
    let different = Bytes::from(fixtures::numeric(99));
    same_version.digest = Digest::of(&different);
    let e = host.load(&same_version, different).await.unwrap_err();
    assert!(
        matches!(e, Error::Conflict { .. }),
        "versions are immutable: {e}"
    );
}

/// The last `retain` routed versions stay loaded for instant rollback; older
/// ones are dropped; routed versions cannot be unloaded.
pub async fn retention_keeps_rollback_versions(runtime: Arc<dyn RuntimeHost>) {
    let host = host(runtime, 2);
    for v in 1..=5 {
        let (m, b) = numeric_version(v);
        host.deploy(&m, b).await.expect("deploy");
        assert_eq!(version_of(&host, CallRoute::default()).await, v);
    }
    let mut loaded: Vec<u64> = host.loaded().iter().map(|l| l.version.minor).collect();
    loaded.sort_unstable();
    assert_eq!(loaded, [3, 4, 5]);
    host.apply_routing(table(4, 100))
        .expect("instant rollback, nothing to load");
    assert_eq!(version_of(&host, CallRoute::default()).await, 4);
    let e = host
        .unload(&name("numeric"), &version("1.4.0"))
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e}");
    host.unload(&name("numeric"), &version("1.3.0"))
        .expect("unrouted version unloads");
    let stats = host.stats();
    let v4 = stats
        .iter()
        .find(|s| s.version == version("1.4.0"))
        .expect("stats of 1.4.0");
    assert_eq!((v4.calls, v4.errors, v4.latency.len()), (2, 0, 2));
}

/// A call in flight finishes on the version it started with, even when the
/// version is dropped under it.
pub async fn in_flight_calls_finish_on_their_version(runtime: Arc<dyn RuntimeHost>) {
    let host = Arc::new(host(runtime, 0));
    let (m1, b1) = numeric_version(1);
    host.deploy(&m1, b1).await.expect("deploy 1");
    let slow = {
        let host = host.clone();
        tokio::spawn(async move {
            host.invoke(
                &name("numeric"),
                CallRoute::default(),
                Invocation::json("slow", json!([400_000_000])),
            )
            .await
        })
    };
    for _ in 0..5000 {
        if host.in_flight() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(host.in_flight(), 1, "the slow call is running");
    let (m2, b2) = numeric_version(2);
    host.deploy(&m2, b2).await.expect("deploy 2");
    let loaded: Vec<u64> = host.loaded().iter().map(|l| l.version.minor).collect();
    assert_eq!(
        loaded,
        [2],
        "with no retention, 1.1.0 leaves the loaded set at once"
    );
    assert_eq!(version_of(&host, CallRoute::default()).await, 2);
    let done = slow
        .await
        .expect("task")
        .expect("the in-flight call succeeds");
    assert_eq!(done.version, version("1.1.0"));
    assert_eq!(done.output.results_json(), json!(1));
}

/// Many callers while versions are swapped 120 times: no call fails, every
/// result comes from a version routed during the call, and once a swap
/// returns every new call sees it.
pub async fn swaps_under_load_fail_no_call(runtime: Arc<dyn RuntimeHost>) {
    const SWAPS: u64 = 120;
    const CALLERS: usize = 8;
    let host = Arc::new(host(runtime, 2));
    let (m0, b0) = numeric_version(0);
    host.deploy(&m0, b0).await.expect("deploy 0");
    // `routed`: swaps that returned; `publishing`: swaps that began. A call
    // must be served by a version between the two values it brackets.
    let routed = Arc::new(AtomicU64::new(0));
    let publishing = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (host, routed, publishing, stop) = (host.clone(), routed.clone(), publishing.clone(), stop.clone());
            tokio::spawn(async move {
                let mut calls = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let before = routed.load(Ordering::Acquire);
                    let got = host
                        .invoke(&name("numeric"), CallRoute::default(), Invocation::json("version", json!([])))
                        .await
                        .expect("no call may fail during swaps");
                    let after = publishing.load(Ordering::Acquire);
                    let v = got.output.results_json().as_u64().expect("version");
                    assert!(
                        before <= v && v <= after,
                        "got version {v}, but versions {before}..={after} were routed during the call"
                    );
                    assert_eq!(got.version.minor, v);
                    calls += 1;
                    tokio::task::yield_now().await;
                }
                calls
            })
        })
        .collect();
    for v in 1..=SWAPS {
        let (m, b) = numeric_version(v);
        host.load(&m, b).await.expect("load");
        publishing.store(v, Ordering::Release);
        host.apply_routing(table(v, v + 1)).expect("swap");
        routed.store(v, Ordering::Release);
        assert_eq!(
            version_of(&host, CallRoute::default()).await,
            v,
            "a returned swap serves every new call"
        );
    }
    stop.store(true, Ordering::Release);
    let mut total = 0;
    for c in callers {
        total += c.await.expect("caller");
    }
    assert!(total >= CALLERS as u64, "callers made {total} calls");
    let errors: u64 = host.stats().iter().map(|s| s.errors).sum();
    assert_eq!(errors, 0);
    assert!(host.loaded().len() <= 3, "retention bounds the loaded set");
}

/// Run every edge-host behaviour as its own `#[test]`. `$make` returns a
/// fresh `Arc<dyn RuntimeHost>` per test.
#[macro_export]
macro_rules! edge_suite {
    ($make:expr) => {
        mod edge_host_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__arc_tests!(
                $make,
                edge,
                [],
                [
                    routing_follows_precedence,
                    bad_tables_change_nothing,
                    retention_keeps_rollback_versions,
                    in_flight_calls_finish_on_their_version,
                    swaps_under_load_fail_no_call,
                ]
            );
        }
    };
}

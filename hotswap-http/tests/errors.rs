//! Errors cross HTTP as data: every `Error` variant a server answers with
//! comes back to `ControlPlaneClient` as the same variant with the same
//! fields, read from the problem's extension members (never from its
//! `detail` text), over a real socket.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use hotswap_core::domain::{Digest, ModuleId};
use hotswap_core::{Error, LimitKind, ResourceKind};
use hotswap_http::Problem;
use hotswap_http::auth::TokenSource;
use hotswap_http::client::{ClientConfig, ControlPlaneClient};

/// One of each variant, and one of each resource and limit kind.
fn every_error() -> Vec<Error> {
    let mut all: Vec<Error> = ResourceKind::ALL
        .iter()
        .map(|k| Error::not_found(*k, format!("{k} 42")))
        .collect();
    all.extend(
        ResourceKind::ALL
            .iter()
            .map(|k| Error::already_exists(*k, "x@1.0.0")),
    );
    all.extend(
        LimitKind::ALL
            .iter()
            .map(|l| Error::limit_exceeded(*l, format!("{l}: 9 of 8: invalid x: y"))),
    );
    all.extend([
        // Reasons that look like other errors' text must not confuse the
        // way back.
        Error::invalid("limits.timeout_ms", "invalid other: must be positive"),
        Error::invalid("", "the body is empty"),
        Error::conflict("deployment 0193", "conflict on x: stale revision 3"),
        Error::Incompatible {
            subject: "module echo@2.0.0".into(),
            findings: vec!["removed_export (backward) at w/add: f -> (none)".into()],
        },
        Error::Forbidden {
            action: "approve an interface".into(),
            role: "admin".into(),
        },
        Error::DigestMismatch {
            expected: Digest::of(b"asked"),
            actual: Digest::of(b"found"),
        },
        Error::Corrupt {
            what: "blob 9f86".into(),
            reason: "brotli stream ends early".into(),
        },
        Error::Trap {
            message: "integer divide by zero".into(),
            backtrace: None,
        },
        Error::Timeout {
            after: Duration::from_millis(1500),
        },
        Error::FuelExhausted { budget: 1_000_000 },
        Error::MemoryLimitExceeded {
            limit_bytes: 64 << 20,
        },
        Error::Unavailable {
            service: "postgres".into(),
            temporary: true,
            reason: "connection refused".into(),
            source: None,
        },
        Error::Unavailable {
            service: "node eu-1".into(),
            temporary: false,
            reason: "draining".into(),
            source: None,
        },
        Error::internal("the lease table is missing"),
    ]);
    all
}

#[derive(Clone)]
struct Answer {
    errors: Arc<Vec<Error>>,
    next: Arc<AtomicUsize>,
}

async fn fail(State(a): State<Answer>) -> Problem {
    Problem::from(clone(&a.errors[a.next.load(Ordering::SeqCst)]))
}

/// `e` rebuilt field by field (`Error` is not `Clone`: it keeps sources).
fn clone(e: &Error) -> Error {
    match e {
        Error::Unavailable {
            service,
            temporary,
            reason,
            ..
        } => Error::Unavailable {
            service: service.clone(),
            temporary: *temporary,
            reason: reason.clone(),
            source: None,
        },
        Error::Internal { reason, .. } => Error::internal(reason.clone()),
        Error::NotFound { kind, id } => Error::not_found(*kind, id),
        Error::AlreadyExists { kind, id } => Error::already_exists(*kind, id),
        Error::Invalid { field, reason } => Error::invalid(field.clone(), reason.clone()),
        Error::Conflict { what, reason } => Error::conflict(what.clone(), reason.clone()),
        Error::Incompatible { subject, findings } => Error::Incompatible {
            subject: subject.clone(),
            findings: findings.clone(),
        },
        Error::Forbidden { action, role } => Error::Forbidden {
            action: action.clone(),
            role: role.clone(),
        },
        Error::LimitExceeded { limit, reason } => Error::limit_exceeded(*limit, reason.clone()),
        Error::DigestMismatch { expected, actual } => Error::DigestMismatch {
            expected: *expected,
            actual: *actual,
        },
        Error::Corrupt { what, reason } => Error::Corrupt {
            what: what.clone(),
            reason: reason.clone(),
        },
        Error::Trap { message, backtrace } => Error::Trap {
            message: message.clone(),
            backtrace: backtrace.clone(),
        },
        Error::Timeout { after } => Error::Timeout { after: *after },
        Error::FuelExhausted { budget } => Error::FuelExhausted { budget: *budget },
        Error::MemoryLimitExceeded { limit_bytes } => Error::MemoryLimitExceeded {
            limit_bytes: *limit_bytes,
        },
        other => panic!("add {other:?} to the round trip"),
    }
}

#[tokio::test]
async fn every_error_variant_survives_a_round_trip_over_http() {
    let answer = Answer {
        errors: Arc::new(every_error()),
        next: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/api/v1/wasm/modules/{id}", get(fail))
        .with_state(answer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = ControlPlaneClient::new(
        &base,
        TokenSource::None,
        ClientConfig::default().with_retries(0),
    )
    .unwrap();

    for (i, sent) in answer.errors.iter().enumerate() {
        answer.next.store(i, Ordering::SeqCst);
        let back = client.get_module(ModuleId::new()).await.unwrap_err();
        assert_eq!(
            std::mem::discriminant(&back),
            std::mem::discriminant(sent),
            "{sent:?} came back as {back:?}"
        );
        assert_eq!(
            back.to_string(),
            sent.to_string(),
            "{sent:?} came back as {back:?}"
        );
        assert_eq!(back.is_temporary(), sent.is_temporary(), "{sent:?}");
        match (&back, sent) {
            (Error::NotFound { kind: a, id: x }, Error::NotFound { kind: b, id: y })
            | (Error::AlreadyExists { kind: a, id: x }, Error::AlreadyExists { kind: b, id: y }) => {
                assert_eq!((a, x), (b, y));
            }
            (Error::LimitExceeded { limit: a, .. }, Error::LimitExceeded { limit: b, .. }) => {
                assert_eq!(a, b);
            }
            (
                Error::Invalid {
                    field: a,
                    reason: x,
                },
                Error::Invalid {
                    field: b,
                    reason: y,
                },
            ) => {
                assert_eq!((a, x), (b, y));
            }
            _ => {}
        }
    }
}

/// A server that answers `503` to the first `failures` requests, then 404;
/// counts what it was sent.
async fn flaky(failures: usize) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let answer = move || {
        let count = count.clone();
        async move {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let e = match n < failures {
                true => Error::Unavailable {
                    service: "postgres".into(),
                    temporary: true,
                    reason: "restarting".into(),
                    source: None,
                },
                false => Error::not_found(ResourceKind::ModuleVersion, "x"),
            };
            Problem::from(e)
        }
    };
    let app = Router::new()
        .route("/api/v1/wasm/modules/{id}", get(answer.clone()))
        .route("/api/v1/wasm/deployments", axum::routing::post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

#[tokio::test]
async fn idempotent_requests_are_retried_on_503_under_the_policy_and_others_are_not() {
    use hotswap_core::clock::{Clock, SystemClock};
    use hotswap_core::retry::RetryPolicy;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_millis(5));
    let config = ClientConfig::default().with_retry(policy, clock);

    // Two 503s, then the real answer: three requests, the last one's error.
    let (base, seen) = flaky(2).await;
    let client = ControlPlaneClient::new(&base, TokenSource::None, config.clone()).unwrap();
    let e = client.get_module(ModuleId::new()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: ResourceKind::ModuleVersion,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // More 503s than attempts: the attempts are spent, the 503 is the error.
    let (base, seen) = flaky(10).await;
    let client = ControlPlaneClient::new(&base, TokenSource::None, config.clone()).unwrap();
    let e = client.get_module(ModuleId::new()).await.unwrap_err();
    assert!(
        matches!(e, Error::Unavailable { ref service, .. } if service == "postgres"),
        "{e}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // A POST that reached the server is never sent twice.
    let (base, seen) = flaky(10).await;
    let client = ControlPlaneClient::new(&base, TokenSource::None, config).unwrap();
    let req: hotswap_http::wire::CreateDeployment = serde_json::from_value(serde_json::json!({
        "module": "calc", "to_version": "1.0.0"
    }))
    .unwrap();
    let e = client.create_deployment(&req).await.unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

//! A local webhook receiver for tests of hooks and notifications: it
//! records every POST (path, JSON body, signature header and whether the
//! signature verifies with the secret it was given, at the time it
//! arrived), and answers each path with the status a test set (200 by
//! default), optionally with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hotswap_control::hooks::{REPLAY_WINDOW, SIGNATURE_HEADER, WebhookSecret, verify};

/// One request the receiver took.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its path, without the leading `/`.
    pub path: String,
    /// Its body as JSON (`null` when it was not JSON).
    pub body: serde_json::Value,
    /// The signature header, if any.
    pub signature: Option<String>,
    /// Whether the signature verified (`Err` says why); `Ok` when the
    /// receiver has no secret.
    pub verified: Result<(), String>,
}

#[derive(Debug, Default)]
struct Shared {
    received: Vec<Received>,
    answers: HashMap<String, (u16, Option<u64>)>,
}

#[derive(Clone)]
struct ReceiverState {
    shared: Arc<Mutex<Shared>>,
    secret: Option<WebhookSecret>,
}

/// A receiver listening on a free port of 127.0.0.1.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

async fn take(
    State(s): State<ReceiverState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let verified = match (&s.secret, &signature) {
        (None, _) => Ok(()),
        (Some(_), None) => Err("no signature header".to_owned()),
        (Some(secret), Some(sig)) => {
            verify(secret, sig, &body, chrono::Utc::now(), REPLAY_WINDOW).map_err(|e| e.to_string())
        }
    };
    let mut shared = s.shared.lock().unwrap_or_else(|p| p.into_inner());
    shared.received.push(Received {
        path: path.clone(),
        body: serde_json::from_slice(&body).unwrap_or_default(),
        signature,
        verified,
    });
    let (status, retry_after) = shared.answers.get(&path).copied().unwrap_or((200, None));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match retry_after {
        Some(secs) => (status, [("retry-after", secs.to_string())], "answered").into_response(),
        None => (status, "answered").into_response(),
    }
}

impl Receiver {
    /// Start one; signatures are checked with `secret` when given.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub async fn start(secret: Option<WebhookSecret>) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .route("/{*path}", post(take))
            .with_state(ReceiverState {
                shared: shared.clone(),
                secret,
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// Answer `path` with `status` (and `Retry-After: secs`).
    pub fn answer(&self, path: &str, status: u16, retry_after: Option<u64>) {
        self.lock()
            .answers
            .insert(path.to_owned(), (status, retry_after));
    }

    /// What `path` received so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Wait until `path` has received `count` requests; what it received.
    ///
    /// # Panics
    ///
    /// After `limit`, naming what arrived.
    pub async fn wait_for(&self, path: &str, count: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received(path);
            if got.len() >= count {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "{path} received {} of {count} requests in {limit:?}: {:#?}",
                got.len(),
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

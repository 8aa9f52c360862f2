#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Test support: a failed expectation must panic with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod artifacts;
pub mod configs;
pub mod deployments;
pub mod edge;
pub mod fixtures;
pub mod fleet;
pub mod fuzz;
pub mod http_components;
pub mod http_routes;
pub mod http_serving;
pub mod interfaces;
pub mod keyvalue;
pub mod long_calls;
pub mod modules;
pub mod nodes;
pub mod orphans;
pub mod policies;
pub mod receiver;
pub mod runtime;
pub mod sample;
pub mod simulation;
pub mod storage;
pub mod upstream;
pub mod wasm_values;

use std::future::Future;

use hotswap_core::Result;
use hotswap_core::repository::{Page, PageRequest};

/// Walk every page of a list with pages of `limit`, checking that no page
/// is over its limit.
pub async fn all_pages<T, F, Fut>(limit: u32, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let p = fetch(page).await.expect("list");
        assert!(p.items.len() <= limit as usize, "page over its limit");
        out.extend(p.items);
        match p.next {
            Some(next) => page = PageRequest::after(limit, next),
            None => return out,
        }
    }
}

/// What a suite's factory returns: a backend, or `None` when the server
/// it needs is not configured (see [`service_env`]).
pub trait Backend {
    /// The backend the suite runs against.
    type Provided;
    /// The backend, or `None` to skip.
    fn provided(self) -> Option<Self::Provided>;
}

impl<T: ?Sized> Backend for std::sync::Arc<T> {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

impl<T> Backend for Option<T> {
    type Provided = T;
    fn provided(self) -> Option<T> {
        self
    }
}

impl Backend for runtime::RuntimeHarness {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

impl Backend for artifacts::ArtifactHarness {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

impl Backend for orphans::OrphanHarness {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

impl Backend for storage::StorageHarness {
    type Provided = Self;
    fn provided(self) -> Option<Self> {
        Some(self)
    }
}

/// The address of a test server from the environment variable `var`
/// (e.g. `HOTSWAP_TEST_POSTGRES_URL`). When it is missing the test is
/// skipped with a printed line, except under `CI=true`, where a missing
/// server is a failure.
///
/// # Panics
///
/// Under `CI=true` when `var` is not set.
pub fn service_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{var} is not set, and CI=true requires the server (see .ci/run)")
        }
        _ => {
            println!("skipped: {var} is not set");
            None
        }
    }
}

/// Run a future to completion on a fresh two-worker tokio runtime, so the
/// suites' concurrent tasks really run in parallel.
pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
        .block_on(future)
}

/// One `#[test]` per behaviour that takes `&dyn Trait`. `[$access]` is
/// spliced after the factory's result (e.g. `[.storage]`).
#[doc(hidden)]
#[macro_export]
macro_rules! __dyn_tests {
    ($make:expr, $suite:ident, [$($access:tt)*], [$(,)?]) => {};
    ($make:expr, $suite:ident, [$($access:tt)*], [$name:ident $(, $rest:ident)* $(,)?]) => {
        #[test]
        fn $name() {
            $crate::run(async {
                let Some(backend) = $crate::Backend::provided(($make)().await) else {
                    return;
                };
                $crate::$suite::$name(&*backend $($access)*).await;
            });
        }
        $crate::__dyn_tests!($make, $suite, [$($access)*], [$($rest),*]);
    };
}

/// One `#[test]` per behaviour that takes `Arc<dyn Trait>` (it spawns tasks).
#[doc(hidden)]
#[macro_export]
macro_rules! __arc_tests {
    ($make:expr, $suite:ident, [$($access:tt)*], [$(,)?]) => {};
    ($make:expr, $suite:ident, [$($access:tt)*], [$name:ident $(, $rest:ident)* $(,)?]) => {
        #[test]
        fn $name() {
            $crate::run(async {
                let Some(backend) = $crate::Backend::provided(($make)().await) else {
                    return;
                };
                $crate::$suite::$name(backend $($access)*.clone()).await;
            });
        }
        $crate::__arc_tests!($make, $suite, [$($access)*], [$($rest),*]);
    };
}

/// One `#[test]` per behaviour that takes the whole harness.
#[doc(hidden)]
#[macro_export]
macro_rules! __harness_tests {
    ($make:expr, $suite:ident, [$($name:ident),* $(,)?]) => {$(
        #[test]
        fn $name() {
            $crate::run(async {
                let Some(harness) = $crate::Backend::provided(($make)().await) else {
                    return;
                };
                $crate::$suite::$name(&harness).await;
            });
        }
    )*};
}

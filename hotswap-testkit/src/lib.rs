#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Test support: a failed expectation must panic with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod deployments;
pub mod edge;
pub mod fixtures;
pub mod interfaces;
pub mod modules;
pub mod nodes;
pub mod runtime;
pub mod sample;
pub mod storage;

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
                let backend = ($make)().await;
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
                let backend = ($make)().await;
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
                let harness = ($make)().await;
                $crate::$suite::$name(&harness).await;
            });
        }
    )*};
}

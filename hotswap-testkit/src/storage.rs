//! Conformance suite for [`ModuleStorage`].

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use hotswap_core::domain::Digest;
use hotswap_core::storage::ModuleStorage;
use hotswap_core::{Error, Result};

use crate::fixtures;
use hotswap_core::ResourceKind;

/// A storage under test, with what the suite needs to know about it.
pub struct StorageHarness {
    /// The store.
    pub storage: Arc<dyn ModuleStorage>,
    /// The largest module it accepts (its codec's cap).
    pub max_bytes: usize,
    /// Damages the stored object of a digest in the backend itself (as disk
    /// rot or a tampering writer would), bypassing the trait.
    pub damage: Arc<dyn Fn(Digest) -> BoxFuture<'static, Result<()>> + Send + Sync>,
}

/// Deterministic, incompressible bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `put` then `get` returns exactly the bytes; sizes are reported.
pub async fn put_then_get_round_trips(s: &dyn ModuleStorage) {
    let bytes = fixtures::numeric(1);
    let stored = s.put(Bytes::from(bytes.clone())).await.expect("put");
    assert_eq!(stored.digest, Digest::of(&bytes));
    assert_eq!(stored.size_bytes, bytes.len() as u64);
    assert!(stored.compressed_size_bytes > 0);
    assert!(stored.created);
    assert_eq!(s.get(&stored.digest).await.expect("get"), bytes);
}

/// Putting the same bytes twice makes one blob; the second put says so.
pub async fn put_is_idempotent_and_deduplicates(s: &dyn ModuleStorage) {
    let bytes = Bytes::from(fixtures::numeric(2));
    let first = s.put(bytes.clone()).await.expect("first put");
    let second = s.put(bytes.clone()).await.expect("second put");
    assert!(first.created);
    assert!(!second.created, "the second put must report deduplication");
    assert_eq!(first.digest, second.digest);
    assert_eq!(s.list().await.expect("list"), vec![first.digest]);
    assert_eq!(s.get(&first.digest).await.expect("get"), bytes);
}

/// A missing blob is `NotFound`.
pub async fn get_missing_is_not_found(s: &dyn ModuleStorage) {
    let e = s.get(&Digest::of(b"never stored")).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: ResourceKind::Blob,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        !s.exists(&Digest::of(b"never stored"))
            .await
            .expect("exists")
    );
}

/// `exists` and `delete` follow puts; deleting twice is fine.
pub async fn delete_is_idempotent(s: &dyn ModuleStorage) {
    let stored = s.put(Bytes::from(fixtures::numeric(3))).await.expect("put");
    assert!(s.exists(&stored.digest).await.expect("exists"));
    assert!(s.delete(&stored.digest).await.expect("delete"));
    assert!(!s.exists(&stored.digest).await.expect("exists after delete"));
    assert!(!s.delete(&stored.digest).await.expect("second delete"));
    assert!(matches!(
        s.get(&stored.digest).await,
        Err(Error::NotFound { .. })
    ));
    assert!(s.list().await.expect("list").is_empty());
}

/// `list` returns every digest once, ascending.
pub async fn list_is_sorted_and_complete(s: &dyn ModuleStorage) {
    let mut expected = Vec::new();
    for v in 0..5 {
        expected.push(
            s.put(Bytes::from(fixtures::numeric(v)))
                .await
                .expect("put")
                .digest,
        );
    }
    expected.sort();
    assert_eq!(s.list().await.expect("list"), expected);
}

/// A blob larger than a multipart chunk round-trips.
pub async fn large_blob_round_trips(s: &dyn ModuleStorage) {
    let bytes = noise(12 * 1024 * 1024, 7);
    let stored = s.put(Bytes::from(bytes.clone())).await.expect("put large");
    assert_eq!(stored.size_bytes, bytes.len() as u64);
    let back = s.get(&stored.digest).await.expect("get large");
    assert!(back == bytes, "large blob differs after round trip");
}

/// Bytes over the cap are refused with `LimitExceeded` and store nothing.
pub async fn oversized_put_stores_nothing(h: &StorageHarness) {
    let bytes = noise(h.max_bytes + 1, 9);
    let e = h.storage.put(Bytes::from(bytes)).await.unwrap_err();
    assert!(matches!(e, Error::LimitExceeded { .. }), "{e}");
    assert!(
        h.storage.list().await.expect("list").is_empty(),
        "a refused put left a blob"
    );
}

/// A damaged blob gives an integrity error, never data.
pub async fn damaged_blob_is_refused(h: &StorageHarness) {
    let stored = h
        .storage
        .put(Bytes::from(fixtures::numeric(4)))
        .await
        .expect("put");
    (h.damage)(stored.digest).await.expect("damage the blob");
    let e = h.storage.get(&stored.digest).await.unwrap_err();
    assert!(
        matches!(e, Error::Corrupt { .. } | Error::DigestMismatch { .. }),
        "damaged blob must be refused, got {e}"
    );
}

/// Concurrent puts of the same bytes from many tasks make one blob, and
/// exactly one reports creating it.
pub async fn concurrent_puts_make_one_blob(s: Arc<dyn ModuleStorage>) {
    let bytes = Bytes::from(fixtures::trapping());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, b) = (s.clone(), bytes.clone());
            tokio::spawn(async move { s.put(b).await })
        })
        .collect();
    let mut digests = Vec::new();
    for t in tasks {
        digests.push(t.await.expect("task").expect("put").digest);
    }
    digests.dedup();
    assert_eq!(digests.len(), 1);
    assert_eq!(s.list().await.expect("list"), digests);
    assert_eq!(s.get(&digests[0]).await.expect("get"), bytes);
}

/// Run every storage behaviour as its own `#[test]`. `$make` is an async
/// closure or function returning a fresh [`StorageHarness`] per test.
#[macro_export]
macro_rules! storage_suite {
    ($make:expr) => {
        mod module_storage_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!($make, storage, [.storage], [
                put_then_get_round_trips,
                put_is_idempotent_and_deduplicates,
                get_missing_is_not_found,
                delete_is_idempotent,
                list_is_sorted_and_complete,
                large_blob_round_trips,
            ]);
            $crate::__harness_tests!($make, storage, [
                oversized_put_stores_nothing,
                damaged_blob_is_refused,
            ]);
            $crate::__arc_tests!($make, storage, [.storage], [concurrent_puts_make_one_blob]);
        }
    };
}

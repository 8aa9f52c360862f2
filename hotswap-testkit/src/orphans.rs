//! Conformance suite for the write order of a module version (blob, then
//! row) and the orphan sweep, run on a real storage and repository pair.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hotswap_control::{store_module_version, sweep_orphans};
use hotswap_core::domain::{Digest, WasmModule};
use hotswap_core::repository::{ModuleFilter, ModuleRepository, PageRequest};
use hotswap_core::storage::ModuleStorage;
use hotswap_core::{Error, Result};

use crate::{fixtures, sample};

/// A storage and a module repository under test.
pub struct OrphanHarness {
    /// Where blobs go.
    pub storage: Arc<dyn ModuleStorage>,
    /// Where rows go.
    pub modules: Arc<dyn ModuleRepository>,
    /// The same kind of storage made to fail every write (a server that
    /// refuses the credentials, say).
    pub failing_storage: Arc<dyn ModuleStorage>,
}

const GRACE: Duration = Duration::from_secs(600);

fn version(name: &str, v: &str, bytes: &[u8]) -> WasmModule {
    let mut m = sample::module(name, v);
    m.digest = Digest::of(bytes);
    m.size_bytes = bytes.len() as u64;
    m.compressed_size_bytes = m.size_bytes;
    m
}

async fn rows(modules: &dyn ModuleRepository) -> Vec<WasmModule> {
    modules
        .list(&ModuleFilter::default(), &PageRequest::first(1000))
        .await
        .expect("list")
        .items
}

async fn sweep_after(h: &OrphanHarness, digest: &Digest, past_grace: bool) -> Result<Vec<Digest>> {
    let at = h
        .storage
        .stored_at(digest)
        .await?
        .expect("the blob was put");
    let offset = if past_grace {
        GRACE + Duration::from_secs(1)
    } else {
        GRACE / 2
    };
    let now = at + chrono::Duration::from_std(offset).expect("offset");
    Ok(sweep_orphans(&*h.storage, &*h.modules, now, GRACE)
        .await?
        .removed)
}

/// The stored row reports the size storage holds: a compressible module's
/// `compressed_size_bytes` is the blob's, smaller than its raw size, in
/// the returned row and in the repository.
pub async fn row_reports_the_stored_size(h: &OrphanHarness) {
    // A data segment of 64 KiB of one byte: it compresses to almost nothing.
    let bytes = fixtures::wat(&format!(
        "(module (memory 2) (data (i32.const 0) \"{}\"))",
        "a".repeat(64 * 1024)
    ));
    let m = version("sized", "1.0.0", &bytes);
    assert_eq!(m.compressed_size_bytes, m.size_bytes, "as passed in");
    let stored = store_module_version(&*h.storage, &*h.modules, &m, Bytes::from(bytes.clone()))
        .await
        .expect("stored");
    assert!(
        stored.compressed_size_bytes < stored.size_bytes / 2,
        "{} of {} bytes",
        stored.compressed_size_bytes,
        stored.size_bytes
    );
    assert_eq!(rows(&*h.modules).await, vec![stored.clone()]);
    let blob = h.storage.put(Bytes::from(bytes)).await.expect("put again");
    assert_eq!(stored.compressed_size_bytes, blob.compressed_size_bytes);
}

/// A row the database refuses (a second `1.0.0` with other bytes) leaves
/// no row; its blob is an orphan the sweep removes after the grace period,
/// while the blob a row names stays.
pub async fn refused_row_leaves_a_blob_the_sweep_removes(h: &OrphanHarness) {
    let first = fixtures::numeric(1);
    let m1 = version("orphan", "1.0.0", &first);
    let m1 = store_module_version(&*h.storage, &*h.modules, &m1, Bytes::from(first.clone()))
        .await
        .expect("first version");
    let other = fixtures::numeric(2);
    let dup = version("orphan", "1.0.0", &other);
    let e = store_module_version(&*h.storage, &*h.modules, &dup, Bytes::from(other.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
    assert_eq!(
        rows(&*h.modules).await,
        vec![m1.clone()],
        "no row for the refused version"
    );
    assert!(
        h.storage.exists(&dup.digest).await.expect("exists"),
        "the blob went first"
    );

    assert!(
        sweep_after(h, &dup.digest, false)
            .await
            .expect("sweep")
            .is_empty(),
        "too young"
    );
    assert_eq!(
        sweep_after(h, &dup.digest, true).await.expect("sweep"),
        vec![dup.digest]
    );
    assert!(!h.storage.exists(&dup.digest).await.expect("exists"));
    assert_eq!(h.storage.get(&m1.digest).await.expect("kept"), first);
}

/// A storage that fails the write leaves no row and no blob.
pub async fn failed_blob_leaves_no_row(h: &OrphanHarness) {
    let bytes = fixtures::trapping();
    let m = version("unstored", "1.0.0", &bytes);
    let e = store_module_version(&*h.failing_storage, &*h.modules, &m, Bytes::from(bytes))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert!(
        rows(&*h.modules).await.is_empty(),
        "no row without its blob"
    );
    assert!(!h.storage.exists(&m.digest).await.expect("exists"));
}

/// Putting the bytes of an old orphan again (a registration reusing them)
/// renews the blob, so the sweep leaves it for that registration.
pub async fn a_reused_orphan_is_renewed(h: &OrphanHarness) {
    let bytes = Bytes::from(fixtures::infinite_loop());
    let digest = h.storage.put(bytes.clone()).await.expect("put").digest;
    let first = h
        .storage
        .stored_at(&digest)
        .await
        .expect("at")
        .expect("stored");
    // Object stores keep times to the second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(!h.storage.put(bytes).await.expect("again").created);
    let renewed = h
        .storage
        .stored_at(&digest)
        .await
        .expect("at")
        .expect("stored");
    assert!(
        renewed > first,
        "put renews the time: {first} then {renewed}"
    );
    let now = first + chrono::Duration::from_std(GRACE + Duration::from_millis(500)).expect("now");
    let report = sweep_orphans(&*h.storage, &*h.modules, now, GRACE)
        .await
        .expect("sweep");
    assert!(
        report.removed.is_empty() && report.young == vec![digest],
        "{report:?}"
    );
}

/// Run every orphan behaviour as its own `#[test]`. `$make` returns a fresh
/// [`OrphanHarness`] per test (or `None` to skip).
#[macro_export]
macro_rules! orphan_suite {
    ($make:expr) => {
        mod orphan_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__harness_tests!(
                $make,
                orphans,
                [
                    row_reports_the_stored_size,
                    refused_row_leaves_a_blob_the_sweep_removes,
                    failed_blob_leaves_no_row,
                    a_reused_orphan_is_renewed,
                ]
            );
        }
    };
}

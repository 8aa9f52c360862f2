//! The write order of a module version (blob, then row) and the sweep that
//! removes blobs no row names.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use hotswap_core::domain::{Digest, WasmModule};
use hotswap_core::error::{Error, Result};
use hotswap_core::repository::ModuleRepository;
use hotswap_core::storage::ModuleStorage;

/// Store a module version: its bytes first, then its row. A refused row
/// (a duplicate version, a database failure) leaves at most a blob that
/// no row names, which [`sweep_orphans`] removes once it is older than the
/// grace period; a refused blob leaves nothing. `module.digest` must be
/// the digest of `bytes`. Returns the row as stored: its
/// `compressed_size_bytes` is what storage holds, not what the caller
/// passed.
pub async fn store_module_version(
    storage: &dyn ModuleStorage,
    modules: &dyn ModuleRepository,
    module: &WasmModule,
    bytes: Bytes,
) -> Result<WasmModule> {
    module.validate()?;
    let actual = Digest::of(&bytes);
    if actual != module.digest {
        return Err(Error::DigestMismatch {
            expected: module.digest,
            actual,
        });
    }
    let blob = storage.put(bytes).await?;
    let mut row = module.clone();
    row.compressed_size_bytes = blob.compressed_size_bytes;
    modules.create(&row).await?;
    Ok(row)
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// Blobs looked at.
    pub examined: usize,
    /// Blobs no row named, older than the grace period: deleted.
    pub removed: Vec<Digest>,
    /// Blobs no row named yet, younger than the grace period (perhaps a
    /// registration in flight): kept for a later sweep.
    pub young: Vec<Digest>,
}

/// Delete every blob that no module version names and that was last put
/// more than `grace` before `now`. Every `put` renews a blob's time, so a
/// registration in flight (its blob put, its row not yet written) is never
/// hit as long as it finishes within `grace`.
pub async fn sweep_orphans(
    storage: &dyn ModuleStorage,
    modules: &dyn ModuleRepository,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<SweepReport> {
    let grace =
        chrono::Duration::from_std(grace).map_err(|_| Error::invalid("grace", "is too long"))?;
    let mut report = SweepReport::default();
    for digest in storage.list().await? {
        report.examined += 1;
        if modules.count_by_digest(&digest).await? > 0 {
            continue;
        }
        match storage.stored_at(&digest).await? {
            Some(at) if now - at < grace => report.young.push(digest),
            Some(_) if storage.delete(&digest).await? => report.removed.push(digest),
            // Gone meanwhile, or deleted by another sweep.
            _ => {}
        }
    }
    Ok(report)
}

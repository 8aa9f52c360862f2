//! The write order of a module version (blob, then row) and the sweep that
//! removes blobs no row names.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{ModuleStorage, StoredBlob};
use crate::domain::{Digest, WasmModule};
use crate::error::{Error, Result};
use crate::repository::ModuleRepository;

/// Store a module version: its bytes first, then its row. A refused row
/// (a duplicate version, a database failure) leaves at most a blob that
/// no row names, which [`sweep_orphans`] removes once it is older than the
/// grace period; a refused blob leaves nothing. `module.digest` must be
/// the digest of `bytes`.
pub async fn store_module_version(
    storage: &dyn ModuleStorage,
    modules: &dyn ModuleRepository,
    module: &WasmModule,
    bytes: Bytes,
) -> Result<StoredBlob> {
    module.validate()?;
    let actual = Digest::of(&bytes);
    if actual != module.digest {
        return Err(Error::DigestMismatch {
            expected: module.digest,
            actual,
        });
    }
    let blob = storage.put(bytes).await?;
    modules.create(module).await?;
    Ok(blob)
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

//! Module binary storage: content-addressed, compressed, verified.

mod codec;
mod memory;

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use codec::{Codec, EncodedBlob, blob_key, digest_from_key};
pub use memory::MemoryStorage;

use crate::domain::Digest;
use crate::error::Result;

/// What [`ModuleStorage::put`] stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredBlob {
    /// The blob's address.
    pub digest: Digest,
    /// Raw size in bytes.
    pub size_bytes: u64,
    /// Size in storage in bytes.
    pub compressed_size_bytes: u64,
    /// False when the same bytes were stored already (deduplicated).
    pub created: bool,
}

impl StoredBlob {
    /// What a `put` reports (for storage adapters).
    pub fn new(digest: Digest, size_bytes: u64, compressed_size_bytes: u64, created: bool) -> Self {
        Self {
            digest,
            size_bytes,
            compressed_size_bytes,
            created,
        }
    }
}

/// Stores module binaries by the SHA-256 of their raw bytes.
///
/// Contract:
/// - `put` is idempotent: the same bytes stored twice make one blob, and the
///   second call reports `created: false`. Every `put` renews the blob's
///   [`ModuleStorage::stored_at`], so a registration that reuses an
///   orphaned blob is never swept from under it (see `hotswap_control::sweep_orphans`). Bytes over the codec's cap are
///   refused with `LimitExceeded` and store nothing.
/// - `get` returns exactly the bytes that were put, verified against the
///   digest: damaged blobs give `Corrupt` or `DigestMismatch`, never data.
///   A missing blob is `NotFound { kind: ResourceKind::Blob }`.
/// - `delete` is idempotent and reports whether a blob was removed.
/// - Backend failures are `Unavailable`, with `temporary` set when a retry
///   may help. Safe to call from many tasks at once.
#[async_trait]
pub trait ModuleStorage: Send + Sync + fmt::Debug + 'static {
    /// Store `bytes`, compressed, under their digest.
    async fn put(&self, bytes: Bytes) -> Result<StoredBlob>;

    /// The verified raw bytes stored under `digest`.
    async fn get(&self, digest: &Digest) -> Result<Bytes>;

    /// Whether a blob is stored under `digest`.
    async fn exists(&self, digest: &Digest) -> Result<bool>;

    /// Remove the blob; true if there was one.
    async fn delete(&self, digest: &Digest) -> Result<bool>;

    /// Every stored digest, in ascending order (for garbage collection and
    /// orphan checks).
    async fn list(&self) -> Result<Vec<Digest>>;

    /// When the blob was last put, or `None` when there is none.
    async fn stored_at(&self, digest: &Digest) -> Result<Option<DateTime<Utc>>>;
}

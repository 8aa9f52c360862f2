//! An in-memory [`ModuleStorage`].

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{Codec, ModuleStorage, StoredBlob};
use crate::domain::Digest;
use crate::error::ResourceKind;
use crate::error::{Error, Result};

/// Blobs in a map, compressed with the shared [`Codec`].
#[derive(Debug, Default)]
pub struct MemoryStorage {
    codec: Codec,
    blobs: RwLock<BTreeMap<Digest, (Bytes, DateTime<Utc>)>>,
}

impl MemoryStorage {
    /// An empty store with the default codec.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with `codec`.
    pub fn with_codec(codec: Codec) -> Self {
        Self {
            codec,
            blobs: RwLock::default(),
        }
    }

    /// Replace the stored (compressed) bytes of a blob, as damage on disk
    /// would; for tests of integrity checking.
    pub fn overwrite_stored(&self, digest: &Digest, stored: Bytes) {
        self.write().insert(*digest, (stored, Utc::now()));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Digest, (Bytes, DateTime<Utc>)>> {
        // Every write is one map operation, so a poisoned lock holds
        // consistent data.
        self.blobs.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Digest, (Bytes, DateTime<Utc>)>> {
        self.blobs.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ModuleStorage for MemoryStorage {
    async fn put(&self, bytes: Bytes) -> Result<StoredBlob> {
        let blob = self.codec.encode(&bytes)?;
        let mut blobs = self.write();
        let created = !blobs.contains_key(&blob.digest);
        let stored = blobs
            .entry(blob.digest)
            .or_insert((blob.compressed, Utc::now()));
        stored.1 = Utc::now();
        Ok(StoredBlob {
            digest: blob.digest,
            size_bytes: blob.raw_size,
            compressed_size_bytes: stored.0.len() as u64,
            created,
        })
    }

    async fn get(&self, digest: &Digest) -> Result<Bytes> {
        let stored = self
            .read()
            .get(digest)
            .map(|(bytes, _)| bytes.clone())
            .ok_or_else(|| Error::not_found(ResourceKind::Blob, digest))?;
        self.codec.decode(&stored, digest)
    }

    async fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.read().contains_key(digest))
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        Ok(self.write().remove(digest).is_some())
    }

    async fn list(&self) -> Result<Vec<Digest>> {
        Ok(self.read().keys().copied().collect())
    }

    async fn stored_at(&self, digest: &Digest) -> Result<Option<DateTime<Utc>>> {
        Ok(self.read().get(digest).map(|(_, at)| *at))
    }
}

//! [`ModuleStorage`] over any object_store backend.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use hotswap_core::ResourceKind;
use hotswap_core::domain::Digest;
use hotswap_core::storage::{Codec, ModuleStorage, StoredBlob, blob_key, digest_from_key};
use hotswap_core::{Error, Result};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

/// Module blobs in an object store: Brotli-compressed by the shared codec,
/// under content-addressed keys (`sha256/ab/abcd...`), verified on every
/// read.
#[derive(Debug, Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    service: &'static str,
    codec: Codec,
    multipart_threshold: usize,
}

impl ObjectStorage {
    /// Blobs in `store`; `service` names it in errors (`s3`, ...).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        service: &'static str,
        codec: Codec,
        multipart_threshold: usize,
    ) -> Self {
        Self {
            store,
            service,
            codec,
            multipart_threshold,
        }
    }

    /// The object store underneath (for tools and tests that need to reach
    /// past the codec).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object key of a blob.
    pub fn path(digest: &Digest) -> Path {
        Path::from(blob_key(digest))
    }

    fn error(&self, e: object_store::Error) -> Error {
        use object_store::Error as E;
        let temporary = !matches!(
            e,
            E::PermissionDenied { .. }
                | E::Unauthenticated { .. }
                | E::NotSupported { .. }
                | E::NotImplemented
                | E::InvalidPath { .. }
                | E::UnknownConfigurationKey { .. }
        );
        Error::unavailable(self.service, temporary, e)
    }

    /// Run CPU-heavy codec work off the async threads.
    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::internal(format!("codec task failed: {e}")))?
    }

    async fn upload(&self, path: &Path, compressed: Bytes) -> Result<()> {
        if compressed.len() < self.multipart_threshold {
            self.store
                .put(path, PutPayload::from_bytes(compressed))
                .await
                .map_err(|e| self.error(e))?;
            return Ok(());
        }
        let upload = self
            .store
            .put_multipart(path)
            .await
            .map_err(|e| self.error(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.multipart_threshold);
        writer.put(compressed);
        writer.finish().await.map_err(|e| self.error(e))?;
        Ok(())
    }
}

#[async_trait]
impl ModuleStorage for ObjectStorage {
    async fn put(&self, bytes: Bytes) -> Result<StoredBlob> {
        let codec = self.codec;
        let blob = Self::blocking(move || codec.encode(&bytes)).await?;
        let path = Self::path(&blob.digest);
        let existed = self.exists(&blob.digest).await?;
        // Always written, even when present: the same key holds the same
        // bytes, and the write renews the blob's time for the orphan sweep.
        let compressed_size = blob.compressed.len() as u64;
        self.upload(&path, blob.compressed).await?;
        tracing::debug!(digest = %blob.digest, existed, "module blob stored");
        Ok(StoredBlob::new(
            blob.digest,
            blob.raw_size,
            compressed_size,
            !existed,
        ))
    }

    async fn get(&self, digest: &Digest) -> Result<Bytes> {
        let path = Self::path(digest);
        let found = match self.store.get(&path).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::not_found(ResourceKind::Blob, digest));
            }
            Err(e) => return Err(self.error(e)),
        };
        // Brotli never grows input by more than a few bytes per 64 KiB
        // block, so a blob well beyond the raw cap is damaged (or foreign):
        // refuse it before reading it into memory.
        let raw_cap = self.codec.max_raw_bytes as u64;
        let cap = raw_cap + raw_cap / 100 + 4096;
        if found.meta.size > cap {
            return Err(Error::Corrupt {
                what: format!("blob {digest}"),
                reason: format!("{} stored bytes exceed the cap of {cap}", found.meta.size),
            });
        }
        let compressed = found.bytes().await.map_err(|e| self.error(e))?;
        let (codec, digest) = (self.codec, *digest);
        Self::blocking(move || codec.decode(&compressed, &digest)).await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.stored_at(digest).await?.is_some())
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        if !self.exists(digest).await? {
            return Ok(false);
        }
        match self.store.delete(&Self::path(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(self.error(e)),
        }
    }

    async fn list(&self) -> Result<Vec<Digest>> {
        let prefix = Path::from("sha256");
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.error(e))?;
        let mut digests: Vec<Digest> = metas
            .iter()
            .filter_map(|m| digest_from_key(m.location.as_ref()))
            .collect();
        digests.sort();
        digests.dedup();
        Ok(digests)
    }

    async fn stored_at(&self, digest: &Digest) -> Result<Option<DateTime<Utc>>> {
        match self.store.head(&Self::path(digest)).await {
            Ok(meta) => Ok(Some(meta.last_modified)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }
}

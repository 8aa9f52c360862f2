//! Stores for the tests: a real S3-compatible server from
//! `HOTSWAP_TEST_S3_*`, or a folder under the target directory; each call
//! gets a key prefix (or folder) of its own, so tests never see each
//! other's blobs.

#![allow(dead_code)]

use std::sync::Arc;

use hotswap_core::storage::Codec;
use hotswap_store_s3::{Backend, DEFAULT_BUCKET, ObjectStorage, ObjectStorageConfig};
use hotswap_testkit::storage::StorageHarness;

pub(crate) const MAX_BYTES: usize = 16 * 1024 * 1024;

fn unique() -> String {
    format!("test-{}", uuid::Uuid::now_v7().simple())
}

/// An S3 backend on the test server, with `secret` as the secret key.
fn s3_backend(secret: Option<String>) -> Option<Backend> {
    let endpoint = hotswap_testkit::service_env("HOTSWAP_TEST_S3_ENDPOINT")?;
    let var = |k: &str| std::env::var(k).ok();
    Some(Backend::S3 {
        bucket: var("HOTSWAP_TEST_S3_BUCKET").unwrap_or_else(|| DEFAULT_BUCKET.into()),
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: var("HOTSWAP_TEST_S3_ACCESS_KEY"),
        secret_access_key: secret.or_else(|| var("HOTSWAP_TEST_S3_SECRET_KEY")),
    })
}

fn build(backend: Backend, prefix: bool) -> ObjectStorage {
    let mut config =
        ObjectStorageConfig::new(backend).with_codec(Codec::new(5, MAX_BYTES).expect("codec"));
    if prefix {
        config = config.with_prefix(unique());
    }
    config.build().expect("storage builds")
}

pub(crate) fn s3() -> Option<ObjectStorage> {
    Some(build(s3_backend(None)?, true))
}

/// The test server with a wrong secret: every request is refused.
pub(crate) fn s3_refusing() -> Option<ObjectStorage> {
    Some(build(s3_backend(Some("not-the-secret".into()))?, true))
}

pub(crate) fn local() -> ObjectStorage {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hotswap-store-s3")
        .join(unique());
    build(Backend::Local { root }, false)
}

/// A folder store whose root is a file: every write fails.
pub(crate) fn local_failing() -> ObjectStorage {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hotswap-store-s3");
    std::fs::create_dir_all(&dir).expect("dir");
    let root = dir.join(unique());
    let storage = build(Backend::Local { root: root.clone() }, false);
    std::fs::remove_dir(&root).expect("remove the folder");
    std::fs::write(&root, b"a file, not a folder").expect("file");
    storage
}

/// The suite's harness for `storage`, damaging blobs in the object store
/// itself.
pub(crate) fn harness(storage: ObjectStorage) -> StorageHarness {
    let store = storage.object_store().clone();
    StorageHarness {
        storage: Arc::new(storage),
        max_bytes: MAX_BYTES,
        damage: Arc::new(move |digest| {
            let store = store.clone();
            Box::pin(async move {
                // A valid Brotli stream of other bytes: only the digest
                // check can catch it.
                let other = Codec::default().encode(b"tampered")?;
                store
                    .put(&ObjectStorage::path(&digest), other.compressed.into())
                    .await
                    .map_err(|e| hotswap_core::Error::unavailable("test", false, e))?;
                Ok(())
            })
        }),
    }
}

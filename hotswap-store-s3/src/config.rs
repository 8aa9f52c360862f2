//! Which object store to use, from code or the environment.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use hotswap_core::env::Vars;
use hotswap_core::storage::Codec;
use hotswap_core::{Error, Result};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;

use crate::ObjectStorage;

/// The default bucket.
pub const DEFAULT_BUCKET: &str = "wasm-modules";

/// Where blobs live.
#[derive(Clone)]
#[non_exhaustive]
pub enum Backend {
    /// Amazon S3 or an S3-compatible server.
    S3 {
        /// The bucket (default `wasm-modules`).
        bucket: String,
        /// A server other than AWS (`http://127.0.0.1:9000`); requests then
        /// use path-style addressing.
        endpoint: Option<String>,
        /// The region (default `us-east-1`).
        region: String,
        /// Access key id; `None` takes AWS's usual environment and
        /// instance credentials.
        access_key_id: Option<String>,
        /// Secret access key (never printed).
        secret_access_key: Option<String>,
        /// Allow plain `http://` endpoints (local servers).
        allow_http: bool,
    },
    /// A folder on the local filesystem (created when missing).
    Local {
        /// The folder.
        root: PathBuf,
    },
    /// Process memory (tests, throwaway setups).
    Memory,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field(
                    "secret_access_key",
                    &secret_access_key.as_ref().map(|_| "***"),
                )
                .field("allow_http", allow_http)
                .finish(),
            Backend::Local { root } => f.debug_struct("Local").field("root", root).finish(),
            Backend::Memory => f.write_str("Memory"),
        }
    }
}

/// How to build an [`ObjectStorage`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ObjectStorageConfig {
    /// The object store.
    pub backend: Backend,
    /// Brotli quality and size cap of blobs.
    pub codec: Codec,
    /// Blobs (compressed) at least this large go up in multipart uploads.
    pub multipart_threshold: usize,
    /// A key prefix, so several installations (or test runs) can share a
    /// bucket; `None` puts keys at the bucket's root.
    pub prefix: Option<String>,
}

impl ObjectStorageConfig {
    /// Blobs in `backend`, with the default codec and multipart uploads
    /// from 8 MiB.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            codec: Codec::default(),
            multipart_threshold: 8 * 1024 * 1024,
            prefix: None,
        }
    }

    /// An S3 bucket with AWS's usual credentials and region `us-east-1`.
    pub fn s3(bucket: impl Into<String>) -> Self {
        Self::new(Backend::S3 {
            bucket: bucket.into(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
        })
    }

    /// From the environment: `HOTSWAP_STORAGE` is `s3` (default), `fs` or
    /// `memory`. For `s3`: `HOTSWAP_S3_BUCKET` (default `wasm-modules`),
    /// `HOTSWAP_S3_ENDPOINT`, `HOTSWAP_S3_REGION`, `HOTSWAP_S3_ALLOW_HTTP`,
    /// and `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. For `fs`:
    /// `HOTSWAP_FS_ROOT` (default `./modules`). Any: `HOTSWAP_STORAGE_PREFIX`.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&Vars::process())
    }

    /// [`ObjectStorageConfig::from_env`] over `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let var = |name: &str| vars.var(name);
        let backend = match var("HOTSWAP_STORAGE").as_deref().unwrap_or("s3") {
            "s3" => Backend::S3 {
                bucket: var("HOTSWAP_S3_BUCKET").unwrap_or_else(|| DEFAULT_BUCKET.into()),
                endpoint: var("HOTSWAP_S3_ENDPOINT"),
                region: var("HOTSWAP_S3_REGION")
                    .or_else(|| var("AWS_REGION"))
                    .unwrap_or_else(|| "us-east-1".into()),
                access_key_id: var("AWS_ACCESS_KEY_ID"),
                secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
                allow_http: vars.flag("HOTSWAP_S3_ALLOW_HTTP")?.unwrap_or(false),
            },
            "fs" => Backend::Local {
                root: var("HOTSWAP_FS_ROOT")
                    .map_or_else(|| PathBuf::from("modules"), PathBuf::from),
            },
            "memory" => Backend::Memory,
            other => {
                return Err(Error::invalid(
                    "HOTSWAP_STORAGE",
                    format!("{other:?} is not s3, fs or memory"),
                ));
            }
        };
        let mut config = Self::new(backend);
        config.prefix = var("HOTSWAP_STORAGE_PREFIX");
        Ok(config)
    }

    /// Set [`ObjectStorageConfig::codec`].
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Set [`ObjectStorageConfig::multipart_threshold`].
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Set [`ObjectStorageConfig::prefix`].
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Build the storage. Nothing is contacted yet: a wrong address or
    /// credential shows on the first call, as `Unavailable`.
    pub fn build(self) -> Result<ObjectStorage> {
        if self.multipart_threshold < 5 * 1024 * 1024 {
            return Err(Error::invalid(
                "multipart_threshold",
                "must be at least 5 MiB, S3's smallest multipart part",
            ));
        }
        let (store, service): (Arc<dyn ObjectStore>, &'static str) = match &self.backend {
            Backend::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    b = b.with_access_key_id(id).with_secret_access_key(secret);
                }
                let s3 = b
                    .build()
                    .map_err(|e| Error::invalid("storage", format!("bad S3 settings: {e}")))?;
                (Arc::new(s3), "s3")
            }
            Backend::Local { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    Error::invalid(
                        "storage.root",
                        format!("cannot create {}: {e}", root.display()),
                    )
                })?;
                let fs = LocalFileSystem::new_with_prefix(root).map_err(|e| {
                    Error::invalid("storage.root", format!("{}: {e}", root.display()))
                })?;
                (Arc::new(fs), "filesystem")
            }
            Backend::Memory => (Arc::new(InMemory::new()), "memory"),
        };
        let store: Arc<dyn ObjectStore> = match &self.prefix {
            Some(prefix) => Arc::new(PrefixStore::new(store, prefix.as_str())),
            None => store,
        };
        Ok(ObjectStorage::new(
            store,
            service,
            self.codec,
            self.multipart_threshold,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<ObjectStorageConfig> {
        ObjectStorageConfig::from_vars(&Vars::from_pairs(pairs))
    }

    #[test]
    fn the_environment_picks_the_backend_and_names_a_bad_value() {
        let c = from(&[
            ("HOTSWAP_S3_BUCKET", "b"),
            ("HOTSWAP_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "very secret"),
            ("HOTSWAP_S3_ALLOW_HTTP", "true"),
            ("HOTSWAP_STORAGE_PREFIX", "run-1"),
        ])
        .unwrap();
        match &c.backend {
            Backend::S3 {
                bucket,
                endpoint,
                region,
                allow_http,
                ..
            } => {
                assert_eq!(
                    (bucket.as_str(), region.as_str(), *allow_http),
                    ("b", "eu-west-1", true)
                );
                assert_eq!(endpoint.as_deref(), Some("http://127.0.0.1:9000"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.prefix.as_deref(), Some("run-1"));
        assert!(
            !format!("{c:?}").contains("very secret"),
            "the secret stays out of Debug"
        );
        let c = from(&[("HOTSWAP_STORAGE", "fs"), ("HOTSWAP_FS_ROOT", "/srv/blobs")]).unwrap();
        assert!(
            matches!(&c.backend, Backend::Local { root } if root == std::path::Path::new("/srv/blobs"))
        );
        let c = from(&[("HOTSWAP_STORAGE", "memory")]).unwrap();
        assert!(matches!(c.backend, Backend::Memory));
        c.build().unwrap();
        let e = from(&[("HOTSWAP_STORAGE", "tape")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid HOTSWAP_STORAGE: \"tape\" is not s3, fs or memory"
        );
        let e = from(&[("HOTSWAP_S3_ALLOW_HTTP", "perhaps")]).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid HOTSWAP_S3_ALLOW_HTTP"),
            "{e}"
        );
    }

    #[test]
    fn build_refuses_a_small_multipart_part_and_an_unusable_root() {
        let e = ObjectStorageConfig::new(Backend::Memory)
            .with_multipart_threshold(1024 * 1024)
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "multipart_threshold"),
            "{e}"
        );
        // A root below a regular file cannot be created.
        let file = std::env::temp_dir().join(format!("hotswap-s3-config-{}", std::process::id()));
        std::fs::write(&file, b"not a folder").unwrap();
        let root = file.join("blobs");
        let e = ObjectStorageConfig::new(Backend::Local { root: root.clone() })
            .build()
            .unwrap_err();
        std::fs::remove_file(&file).unwrap();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "storage.root"),
            "{e}"
        );
        assert!(e.to_string().contains(&root.display().to_string()), "{e}");
    }
}

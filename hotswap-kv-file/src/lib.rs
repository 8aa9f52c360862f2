#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use hotswap_core::domain::BucketName;
use hotswap_core::keyvalue::{KeyPage, KeyValueStore, next_counter};
use hotswap_core::{Error, Result};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Every bucket's keys, under `(bucket, key)`.
const ENTRIES: TableDefinition<'static, (&str, &str), &[u8]> = TableDefinition::new("entries");

/// Keys listed per page.
const PAGE: usize = 1000;

/// Buckets in one redb file.
#[derive(Clone)]
pub struct FileKeyValue {
    db: Arc<Database>,
    path: Arc<PathBuf>,
}

impl fmt::Debug for FileKeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeyValue")
            .field("path", &self.path)
            .finish()
    }
}

impl FileKeyValue {
    /// Open the store at `path`, creating the file (not its folder) if
    /// missing. A file another process holds open, or one that is not a
    /// store, is refused naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let refused =
            |e: String| Error::invalid("keyvalue.path", format!("{}: {e}", path.display()));
        let db = Database::create(&path).map_err(|e| refused(e.to_string()))?;
        // The table exists from the start, so reads never meet its absence.
        let txn = db.begin_write().map_err(|e| refused(e.to_string()))?;
        txn.open_table(ENTRIES)
            .map_err(|e| refused(e.to_string()))?;
        txn.commit().map_err(|e| refused(e.to_string()))?;
        Ok(Self {
            db: Arc::new(db),
            path: Arc::new(path),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, e: impl Into<redb::Error>) -> Error {
        let e: redb::Error = e.into();
        Error::unavailable(format!("key-value file {}", self.path.display()), false, e)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadOnlyTable<(&str, &str), &[u8]>) -> Result<T, redb::StorageError>,
    ) -> Result<T> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = txn.open_table(ENTRIES).map_err(|e| self.failed(e))?;
        f(&table).map_err(|e| self.failed(e))
    }

    /// Run `f` in one write transaction on the blocking pool, committing
    /// when it returns `Ok`.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(
            &mut redb::Table<'_, (&str, &str), &[u8]>,
        ) -> Result<Result<T>, redb::StorageError>
        + Send
        + 'static,
    ) -> Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let txn = this.db.begin_write().map_err(|e| this.failed(e))?;
            let outcome = {
                let mut table = txn.open_table(ENTRIES).map_err(|e| this.failed(e))?;
                f(&mut table).map_err(|e| this.failed(e))?
            };
            match outcome {
                Ok(value) => {
                    txn.commit().map_err(|e| this.failed(e))?;
                    Ok(value)
                }
                Err(refused) => {
                    txn.abort().map_err(|e| this.failed(e))?;
                    Err(refused)
                }
            }
        })
        .await
        .map_err(|e| Error::internal(format!("key-value write task: {e}")))?
    }
}

#[async_trait]
impl KeyValueStore for FileKeyValue {
    fn backend(&self) -> &'static str {
        "file"
    }

    async fn get(&self, bucket: &BucketName, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|t| Ok(t.get((bucket.as_str(), key))?.map(|v| v.value().to_vec())))
    }

    async fn set(&self, bucket: &BucketName, key: &str, value: &[u8]) -> Result<()> {
        self.set_many(bucket, &[(key.to_owned(), value.to_vec())])
            .await
    }

    async fn delete(&self, bucket: &BucketName, key: &str) -> Result<()> {
        self.delete_many(bucket, &[key.to_owned()]).await
    }

    async fn exists(&self, bucket: &BucketName, key: &str) -> Result<bool> {
        self.read(|t| Ok(t.get((bucket.as_str(), key))?.is_some()))
    }

    async fn list_keys(&self, bucket: &BucketName, cursor: Option<&str>) -> Result<KeyPage> {
        let b = bucket.as_str();
        self.read(|t| {
            // From the cursor (skipped below), or the bucket's first key.
            let mut range = t.range((b, cursor.unwrap_or(""))..)?;
            let mut keys = Vec::with_capacity(PAGE + 1);
            while keys.len() <= PAGE {
                let Some(entry) = range.next() else { break };
                let (k, _) = entry?;
                let (kb, key) = k.value();
                if kb != b {
                    break;
                }
                if cursor != Some(key) {
                    keys.push(key.to_owned());
                }
            }
            Ok(KeyPage::from_sorted(keys, PAGE))
        })
    }

    async fn increment(&self, bucket: &BucketName, key: &str, delta: u64) -> Result<u64> {
        let (bucket, key) = (bucket.as_str().to_owned(), key.to_owned());
        self.write(move |t| {
            let current = t
                .get((bucket.as_str(), key.as_str()))?
                .map(|v| v.value().to_vec());
            let next = match next_counter(&key, current.as_deref(), delta) {
                Ok(next) => next,
                Err(refused) => return Ok(Err(refused)),
            };
            t.insert((bucket.as_str(), key.as_str()), next.to_string().as_bytes())?;
            Ok(Ok(next))
        })
        .await
    }

    async fn get_many(&self, bucket: &BucketName, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.read(|t| {
            keys.iter()
                .map(|key| {
                    Ok(t.get((bucket.as_str(), key.as_str()))?
                        .map(|v| v.value().to_vec()))
                })
                .collect()
        })
    }

    async fn set_many(&self, bucket: &BucketName, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let (bucket, entries) = (bucket.as_str().to_owned(), entries.to_vec());
        self.write(move |t| {
            for (key, value) in &entries {
                t.insert((bucket.as_str(), key.as_str()), value.as_slice())?;
            }
            Ok(Ok(()))
        })
        .await
    }

    async fn delete_many(&self, bucket: &BucketName, keys: &[String]) -> Result<()> {
        let (bucket, keys) = (bucket.as_str().to_owned(), keys.to_vec());
        self.write(move |t| {
            for key in &keys {
                t.remove((bucket.as_str(), key.as_str()))?;
            }
            Ok(Ok(()))
        })
        .await
    }
}

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{KeyPage, KeyValueStore, next_counter};
use crate::Result;
use crate::domain::BucketName;

/// Keys listed per page.
const PAGE: usize = 1000;

/// Buckets in memory, lost with the process: for tests and embedders that
/// need no persistence.
#[derive(Debug, Default)]
pub struct MemoryKeyValue {
    buckets: Mutex<BTreeMap<BucketName, BTreeMap<String, Vec<u8>>>>,
}

impl MemoryKeyValue {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<BucketName, BTreeMap<String, Vec<u8>>>) -> T,
    ) -> T {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut buckets)
    }
}

#[async_trait]
impl KeyValueStore for MemoryKeyValue {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, bucket: &BucketName, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.with(|b| b.get(bucket).and_then(|keys| keys.get(key).cloned())))
    }

    async fn set(&self, bucket: &BucketName, key: &str, value: &[u8]) -> Result<()> {
        self.with(|b| {
            b.entry(bucket.clone())
                .or_default()
                .insert(key.to_owned(), value.to_vec())
        });
        Ok(())
    }

    async fn delete(&self, bucket: &BucketName, key: &str) -> Result<()> {
        self.with(|b| b.get_mut(bucket).map(|keys| keys.remove(key)));
        Ok(())
    }

    async fn exists(&self, bucket: &BucketName, key: &str) -> Result<bool> {
        Ok(self.with(|b| b.get(bucket).is_some_and(|keys| keys.contains_key(key))))
    }

    async fn list_keys(&self, bucket: &BucketName, cursor: Option<&str>) -> Result<KeyPage> {
        Ok(self.with(|b| {
            let Some(keys) = b.get(bucket) else {
                return KeyPage::default();
            };
            let from = cursor.map_or(Bound::Unbounded, |c| Bound::Excluded(c.to_owned()));
            let page: Vec<String> = keys
                .range((from, Bound::Unbounded))
                .take(PAGE + 1)
                .map(|(k, _)| k.clone())
                .collect();
            KeyPage::from_sorted(page, PAGE)
        }))
    }

    async fn increment(&self, bucket: &BucketName, key: &str, delta: u64) -> Result<u64> {
        self.with(|b| {
            let keys = b.entry(bucket.clone()).or_default();
            let next = next_counter(key, keys.get(key).map(Vec::as_slice), delta)?;
            keys.insert(key.to_owned(), next.to_string().into_bytes());
            Ok(next)
        })
    }
}

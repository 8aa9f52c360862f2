//! The key-value store that `wasi:keyvalue` calls reach: buckets of byte
//! values under UTF-8 keys, with atomic counters.
//!
//! Contract every implementation keeps (the conformance suite in
//! `hotswap-testkit` checks it):
//! - Buckets are disjoint: a key in one is never seen in another.
//! - `set` replaces the whole value; `delete` of a missing key succeeds.
//! - `list_keys` pages through every key present for the whole listing
//!   exactly once when nothing changes meanwhile, and at least once when
//!   other keys are written; a page's `cursor` is `None` at the end. A
//!   cursor is opaque text a later call of the same store takes back.
//! - A counter is a value of canonical decimal digits (`0`, or no leading
//!   zero) in `0..=i64::MAX`; `increment` on a missing key starts from 0,
//!   is atomic against other increments of the key, and refuses a value
//!   that is not a counter or a sum past `i64::MAX` with
//!   [`Error::Invalid`](crate::Error::Invalid) naming the key, changing
//!   nothing.
//! - A backend that cannot be reached is
//!   [`Error::Unavailable`](crate::Error::Unavailable).
//!
//! Limits on key and value sizes are the granting module's
//! ([`KeyValueGrants`](crate::domain::KeyValueGrants)); the host checks
//! them before a store is called.

mod counter;
mod memory;

use std::fmt;

use async_trait::async_trait;

use crate::Result;
use crate::domain::BucketName;

pub use counter::{MAX_COUNTER, next_counter, not_a_counter, past_the_top};
pub use memory::MemoryKeyValue;

/// One page of a bucket's keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys of this page.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` when this is the last.
    pub cursor: Option<String>,
}

impl KeyPage {
    /// The page of at most `size` keys from `keys`, sorted, read with one
    /// more than `size` when more follow; the cursor is then its last key.
    pub fn from_sorted(mut keys: Vec<String>, size: usize) -> Self {
        let more = keys.len() > size;
        keys.truncate(size);
        Self {
            cursor: if more { keys.last().cloned() } else { None },
            keys,
        }
    }
}

/// Buckets of values under keys; see the [module docs](self) for the
/// contract.
#[async_trait]
pub trait KeyValueStore: Send + Sync + fmt::Debug + 'static {
    /// The backend's short name (`file`, `redis`, `memory`), in errors and
    /// node capabilities.
    fn backend(&self) -> &'static str;

    /// The value of `key`, if set.
    async fn get(&self, bucket: &BucketName, key: &str) -> Result<Option<Vec<u8>>>;

    /// Set `key` to `value`.
    async fn set(&self, bucket: &BucketName, key: &str, value: &[u8]) -> Result<()>;

    /// Remove `key`; a missing key is no error.
    async fn delete(&self, bucket: &BucketName, key: &str) -> Result<()>;

    /// Whether `key` is set.
    async fn exists(&self, bucket: &BucketName, key: &str) -> Result<bool>;

    /// A page of keys from `cursor` (`None`: the first page).
    async fn list_keys(&self, bucket: &BucketName, cursor: Option<&str>) -> Result<KeyPage>;

    /// Add `delta` to the counter at `key` atomically; its new value.
    async fn increment(&self, bucket: &BucketName, key: &str, delta: u64) -> Result<u64>;

    /// The values of `keys`, in their order.
    async fn get_many(&self, bucket: &BucketName, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(bucket, key).await?);
        }
        Ok(values)
    }

    /// Set every entry, in order.
    async fn set_many(&self, bucket: &BucketName, entries: &[(String, Vec<u8>)]) -> Result<()> {
        for (key, value) in entries {
            self.set(bucket, key, value).await?;
        }
        Ok(())
    }

    /// Remove every key.
    async fn delete_many(&self, bucket: &BucketName, keys: &[String]) -> Result<()> {
        for key in keys {
            self.delete(bucket, key).await?;
        }
        Ok(())
    }
}

//! Key-value grants of a module version: the buckets its calls may open
//! through `wasi:keyvalue`, and the largest key and value they may write.
//! With no bucket, nothing is reachable.
//!
//! Buckets are named, not owned: two modules granted `counters` share it,
//! and so do all versions of one module, so a counter survives a rollout.

use serde::{Deserialize, Serialize};

use super::BucketName;
use crate::error::{Error, Result};

/// The largest `max_key_bytes` a grant may set.
pub const MAX_KEY_BYTES: u32 = 4096;

/// The largest `max_value_bytes` a grant may set (32 MiB).
pub const MAX_VALUE_BYTES: u32 = 32 * 1024 * 1024;

/// The most buckets one version may be granted.
const MAX_BUCKETS: usize = 64;

/// What a module version may reach in the node's key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct KeyValueGrants {
    /// Buckets it may open; none by default.
    pub buckets: Vec<BucketName>,
    /// The longest key it may use, bytes of UTF-8.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub max_key_bytes: u32,
    /// The largest value it may write, bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 33554432))]
    pub max_value_bytes: u32,
}

impl Default for KeyValueGrants {
    fn default() -> Self {
        Self {
            buckets: Vec::new(),
            max_key_bytes: 256,
            max_value_bytes: 1024 * 1024,
        }
    }
}

impl KeyValueGrants {
    /// Grants of `buckets` with the default limits.
    pub fn of<I, S>(buckets: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let buckets = buckets
            .into_iter()
            .map(|b| {
                BucketName::new(b.as_ref()).map_err(|e| match e {
                    Error::Invalid { reason, .. } => Error::invalid("keyvalue.buckets", reason),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let grants = Self {
            buckets,
            ..Self::default()
        };
        grants.validate()?;
        Ok(grants)
    }

    /// Whether no bucket is granted.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Whether `bucket` may be opened.
    pub fn allows(&self, bucket: &BucketName) -> bool {
        self.buckets.contains(bucket)
    }

    /// Check the list and the limits; a bad one names its field.
    pub fn validate(&self) -> Result<()> {
        if self.buckets.len() > MAX_BUCKETS {
            return Err(Error::invalid(
                "keyvalue.buckets",
                format!("at most {MAX_BUCKETS} buckets"),
            ));
        }
        for (i, b) in self.buckets.iter().enumerate() {
            if self.buckets[..i].contains(b) {
                return Err(Error::invalid(
                    "keyvalue.buckets",
                    format!("names {b} twice"),
                ));
            }
        }
        let within = |field: &str, v: u32, max: u32| {
            if v == 0 || v > max {
                Err(Error::invalid(
                    format!("keyvalue.{field}"),
                    format!("{v} is outside 1..={max}"),
                ))
            } else {
                Ok(())
            }
        };
        within("max_key_bytes", self.max_key_bytes, MAX_KEY_BYTES)?;
        within("max_value_bytes", self.max_value_bytes, MAX_VALUE_BYTES)
    }

    /// Whether `key` fits the key limit; the error says by how much not.
    pub fn check_key(&self, key: &str) -> std::result::Result<(), String> {
        if key.len() > self.max_key_bytes as usize {
            return Err(format!(
                "a key of {} bytes is longer than the {}-byte limit",
                key.len(),
                self.max_key_bytes
            ));
        }
        Ok(())
    }

    /// Whether a value of `len` bytes fits the value limit.
    pub fn check_value(&self, len: usize) -> std::result::Result<(), String> {
        if len > self.max_value_bytes as usize {
            return Err(format!(
                "a value of {len} bytes is larger than the {}-byte limit",
                self.max_value_bytes
            ));
        }
        Ok(())
    }
}

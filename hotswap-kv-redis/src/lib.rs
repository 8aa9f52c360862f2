#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use hotswap_core::domain::BucketName;
use hotswap_core::keyvalue::{KeyPage, KeyValueStore, not_a_counter, past_the_top};
use hotswap_core::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

/// Fields asked for per `HSCAN` page.
const PAGE: usize = 1000;

/// Refuses what is not a counter, then adds: atomic, as every script is.
const INCREMENT: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and not (v == '0' or string.match(v, '^[1-9]%d*$')) then
  return redis.error_reply('HOTSWAP_NOT_COUNTER')
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
";

/// Buckets as Redis hashes.
#[derive(Clone)]
pub struct RedisKeyValue {
    connection: ConnectionManager,
    prefix: String,
    service: String,
    increment: Script,
}

impl fmt::Debug for RedisKeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyValue")
            .field("service", &self.service)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// How to reach Redis.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` or `redis+unix:///path`.
    pub url: String,
    /// Put before each bucket's name to make its hash's key.
    pub prefix: String,
    /// The most connecting may take.
    pub connect_timeout: Duration,
    /// The most one command may wait for its answer.
    pub response_timeout: Duration,
}

impl RedisConfig {
    /// Defaults for `url`: prefix `hotswap:kv:`, 2 s to connect, 2 s per
    /// command.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "hotswap:kv:".into(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }

    /// Use `prefix` before bucket names.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl RedisKeyValue {
    /// Connect with [`RedisConfig::new`]'s defaults.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::with_config(RedisConfig::new(url)).await
    }

    /// Connect; a bad URL is `Invalid` (without its password), a server
    /// that does not answer `Unavailable`.
    pub async fn with_config(config: RedisConfig) -> Result<Self> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| Error::invalid("keyvalue.redis_url", e.to_string()))?;
        let info = client.get_connection_info();
        let service = format!("redis {}", info.addr);
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(config.connect_timeout)
            .set_response_timeout(config.response_timeout)
            // Two quick retries (at most half a second apart): a node's
            // call waits on Redis for seconds at worst, never for minutes.
            .set_number_of_retries(2)
            .set_factor(2)
            .set_max_delay(500);
        let connection = client
            .get_connection_manager_with_config(manager)
            .await
            .map_err(|e| Error::unavailable(service.clone(), true, e))?;
        Ok(Self {
            connection,
            prefix: config.prefix,
            service,
            increment: Script::new(INCREMENT),
        })
    }

    fn hash(&self, bucket: &BucketName) -> String {
        format!("{}{bucket}", self.prefix)
    }

    fn failed(&self, e: redis::RedisError) -> Error {
        Error::unavailable(self.service.clone(), true, e)
    }
}

#[async_trait]
impl KeyValueStore for RedisKeyValue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, bucket: &BucketName, key: &str) -> Result<Option<Vec<u8>>> {
        self.connection
            .clone()
            .hget(self.hash(bucket), key)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn set(&self, bucket: &BucketName, key: &str, value: &[u8]) -> Result<()> {
        self.connection
            .clone()
            .hset::<_, _, _, ()>(self.hash(bucket), key, value)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn delete(&self, bucket: &BucketName, key: &str) -> Result<()> {
        self.connection
            .clone()
            .hdel::<_, _, ()>(self.hash(bucket), key)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn exists(&self, bucket: &BucketName, key: &str) -> Result<bool> {
        self.connection
            .clone()
            .hexists(self.hash(bucket), key)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn list_keys(&self, bucket: &BucketName, cursor: Option<&str>) -> Result<KeyPage> {
        let from: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| {
                Error::invalid(
                    "cursor",
                    format!("{c:?} is not a cursor this store handed out"),
                )
            })?,
        };
        let (next, pairs): (u64, Vec<(String, redis::Value)>) = redis::cmd("HSCAN")
            .arg(self.hash(bucket))
            .arg(from)
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(KeyPage {
            keys: pairs.into_iter().map(|(k, _)| k).collect(),
            cursor: (next != 0).then(|| next.to_string()),
        })
    }

    async fn increment(&self, bucket: &BucketName, key: &str, delta: u64) -> Result<u64> {
        let past = || past_the_top(key, delta);
        let delta_arg = i64::try_from(delta).map_err(|_| past())?;
        let outcome: redis::RedisResult<i64> = self
            .increment
            .key(self.hash(bucket))
            .arg(key)
            .arg(delta_arg)
            .invoke_async(&mut self.connection.clone())
            .await;
        match outcome {
            Ok(v) => u64::try_from(v).map_err(|_| past()),
            Err(e) => {
                let text = e.to_string();
                if text.contains("HOTSWAP_NOT_COUNTER") || text.contains("not an integer") {
                    Err(not_a_counter(key))
                } else if text.contains("overflow") {
                    Err(past())
                } else {
                    Err(self.failed(e))
                }
            }
        }
    }

    async fn get_many(&self, bucket: &BucketName, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        redis::cmd("HMGET")
            .arg(self.hash(bucket))
            .arg(keys)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| self.failed(e))
    }

    async fn set_many(&self, bucket: &BucketName, entries: &[(String, Vec<u8>)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.connection
            .clone()
            .hset_multiple::<_, _, _, ()>(self.hash(bucket), entries)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn delete_many(&self, bucket: &BucketName, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.connection
            .clone()
            .hdel::<_, _, ()>(self.hash(bucket), keys)
            .await
            .map_err(|e| self.failed(e))
    }
}

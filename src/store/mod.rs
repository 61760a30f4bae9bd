//! Where all state between requests lives (pending logins, one-time codes, SSO sessions,
//! refresh tokens, signing keys): behind the `Store` trait, so one instance keeps it in
//! memory and several share a Redis server.

mod measured;
mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

pub use memory::{DEFAULT_MAX_MEMORY, MemoryLimits, MemoryStore, PoolUse};
pub use redis::{RedisStore, parse_url as parse_redis_url};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("bad store URL: {0}")]
    BadUrl(String),
}

/// How long a value lives: a TTL, or until deleted (signing keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    For(Duration),
    Forever,
}

/// Key-value state with expiry: values, and sets of strings where several writers add to
/// one thing. Keys are namespaced by the caller (`code:…`, `login:…`); `delete` and `expire`
/// work on either kind.
#[async_trait]
pub trait Store: Send + Sync {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError>;
    /// Writes only if the key is absent; returns whether it wrote (locks, new ids).
    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Reads and deletes in one step: of two concurrent `take`s of a key, one gets it.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Gives a live key a new TTL; returns `false`, creating nothing, when it is absent (so
    /// extending a record never brings back one that was just deleted).
    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, StoreError>;
    /// Adds one to the counter at `key` and returns the new count; a new counter starts at 1
    /// and lives `ttl` (rate limits: one counter per window). `get` reads a counter as
    /// decimal ASCII, see `read_count`.
    async fn count(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;
    /// Adds `member` to the set at `key` and gives the set `ttl`, in one step: of concurrent
    /// adds (several instances adding sites to one SSO session) none is lost.
    async fn add_to_set(&self, key: &str, member: &str, ttl: Ttl) -> Result<(), StoreError>;
    /// The members of the set at `key`; none when it is absent.
    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError>;
    /// Removes `member` from the set at `key` (a set left empty is gone).
    async fn remove_from_set(&self, key: &str, member: &str) -> Result<(), StoreError>;
    /// Whether the store answers (`/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Whether several instances can share this store (and so must share signing keys
    /// through it rather than a local file).
    fn is_shared(&self) -> bool;
    /// What each of an embedded store's pools holds (none for Redis, which reports its own).
    fn pools(&self) -> Vec<(&'static str, PoolUse)> {
        Vec::new()
    }
}

/// Opens the store named by `[store] url`: `memory://` or `redis://` / `rediss://`.
pub fn open(url: &str, memory: MemoryLimits) -> Result<Arc<dyn Store>, StoreError> {
    if url == "memory://" {
        let store = Arc::new(MemoryStore::with_limits(memory));
        return Ok(Arc::new(measured::Measured(store)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let store = Arc::new(RedisStore::open(url)?);
        return Ok(Arc::new(measured::Measured(store)));
    }
    // The URL may hold a password: name only its scheme.
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    Err(StoreError::BadUrl(format!(
        "unsupported scheme {scheme:?}: use memory:// or redis://"
    )))
}

pub async fn put_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Ttl,
) -> Result<(), StoreError> {
    store.put(key, to_bytes(value)?, ttl).await
}

pub async fn put_new_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Ttl,
) -> Result<bool, StoreError> {
    store.put_new(key, to_bytes(value)?, ttl).await
}

pub async fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    from_bytes(store.get(key).await?)
}

pub async fn take_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    from_bytes(store.take(key).await?)
}

/// A counter made by `Store::count`, 0 when absent.
pub async fn read_count(store: &dyn Store, key: &str) -> Result<u64, StoreError> {
    match store.get(key).await? {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("{key} is not a counter"))),
    }
}

fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_bytes<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

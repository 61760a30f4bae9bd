//! Where all state between requests lives (pending logins, one-time codes, SSO sessions,
//! refresh tokens, signing keys): behind the `Store` trait, so one instance keeps it in
//! memory and several share Redis (one server, a Sentinel-managed primary, or a cluster).

mod measured;
mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

pub use memory::{DEFAULT_MAX_MEMORY, MemoryLimits, MemoryStore, PoolUse};
pub use redis::{RedisStore, Topology};

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

/// How many replicas must have a write before the gateway answers, and how long it waits
/// for them (`[store] wait_replicas`, `wait_timeout`; Redis only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub replicas: u32,
    pub timeout: Duration,
}

impl Wait {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

    /// One replica where the topology fails over (Sentinel, Cluster), none for one server.
    pub fn default_for(topology: Topology) -> Wait {
        let replicas = match topology {
            Topology::Single => 0,
            Topology::Sentinel | Topology::Cluster => 1,
        };
        Wait {
            replicas,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// How `open` sets a store up; each store takes what concerns it.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The memory store's bound, in bytes.
    pub max_memory: u64,
    /// Key prefixes of entries anyone can create before logging in: the memory store keeps
    /// them in a pool of their own; Redis never waits for replicas to have them.
    pub transient: Vec<&'static str>,
    /// Replicas a Redis write waits for; `None`: the topology's default.
    pub wait: Option<Wait>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_memory: DEFAULT_MAX_MEMORY,
            transient: Vec::new(),
            wait: None,
        }
    }
}

/// What `[store] url` names, checked without connecting; shows as what the store will
/// connect to, without the password.
pub enum Location {
    Memory,
    Redis(Box<redis::Target>),
}

impl Location {
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        if url == "memory://" {
            return Ok(Location::Memory);
        }
        redis::parse_url(url).map(|target| Location::Redis(Box::new(target)))
    }

    /// The Redis topology; `None` for memory.
    pub fn topology(&self) -> Option<Topology> {
        match self {
            Location::Memory => None,
            Location::Redis(target) => Some(target.topology()),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Memory => f.write_str("this process's memory (one instance)"),
            Location::Redis(target) => target.fmt(f),
        }
    }
}

/// Opens the store named by `[store] url`: `memory://`, or Redis (`redis://`, `rediss://`,
/// `redis+sentinel://`, `redis+cluster://`, …).
pub fn open(url: &str, settings: Settings) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match Location::parse(url)? {
        Location::Memory => Arc::new(MemoryStore::with_limits(MemoryLimits {
            max_memory: settings.max_memory,
            transient: settings.transient,
        })),
        Location::Redis(target) => Arc::new(RedisStore::with_target(
            &target,
            settings.wait,
            settings.transient,
        )?),
    };
    Ok(Arc::new(measured::Measured(store)))
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

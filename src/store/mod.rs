//! Where all state between requests lives (pending logins, one-time codes): behind the
//! `Store` trait, so one instance can keep it in memory and several can share a server.

mod memory;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

pub use memory::MemoryStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
}

/// Key-value state with expiry. Keys are namespaced by the caller (`code:…`, `login:…`).
#[async_trait]
pub trait Store: Send + Sync {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;
    /// Reads and deletes in one step: of two concurrent `take`s of a key, one gets it.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Opens the store named by `[store] url`.
pub fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        "memory://" => Ok(Arc::new(MemoryStore::new())),
        other => Err(StoreError::Unavailable(format!(
            "unsupported store URL {other:?}"
        ))),
    }
}

pub async fn put_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store.put(key, bytes, ttl).await
}

pub async fn take_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.take(key).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(None),
    }
}

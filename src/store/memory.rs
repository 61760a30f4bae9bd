//! The default store: process memory, for a single gateway instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Store, StoreError};

/// Expired entries are dropped on read and swept every this many writes.
const SWEEP_EVERY: usize = 1024;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (Instant, Vec<u8>)>,
    writes: usize,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a map half-written; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.writes += 1;
        if inner.writes % SWEEP_EVERY == 0 {
            inner.entries.retain(|_, (expires, _)| *expires > now);
        }
        inner.entries.insert(key.to_string(), (now + ttl, value));
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let entry = self.lock().entries.remove(key);
        Ok(entry.and_then(|(expires, v)| (expires > Instant::now()).then_some(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn take_is_once_and_respects_expiry() {
        let s = MemoryStore::new();
        s.put("a", b"1".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.take("a").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take("a").await.unwrap(), None);
        s.put("b", b"2".to_vec(), Duration::ZERO).await.unwrap();
        assert_eq!(s.take("b").await.unwrap(), None);
    }
}

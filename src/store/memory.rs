//! The default store: process memory, for a single gateway instance.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Store, StoreError, Ttl};

/// Expired entries are dropped on read and swept every this many writes.
const SWEEP_EVERY: usize = 1024;
/// Entries kept at most (pending logins, codes): a flood of started-but-never-finished logins
/// gets 503s instead of the gateway's memory. About 2 KB each, so ~200 MB at the limit.
const MAX_ENTRIES: usize = 100_000;

pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_entries: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

/// A key holds a value or a set, as in Redis.
enum Entry {
    Bytes(Vec<u8>),
    Set(BTreeSet<String>),
}

impl Entry {
    fn bytes(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Entry::Bytes(v) => Ok(v.clone()),
            Entry::Set(_) => Err(wrong_type(key)),
        }
    }
}

fn wrong_type(key: &str) -> StoreError {
    StoreError::Corrupt(format!("{key} holds another kind of value"))
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (Option<Instant>, Entry)>,
    writes: usize,
    /// When a full store was last swept: at most once a second, so a flood stays cheap.
    last_full_sweep: Option<Instant>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(max_entries: usize) -> Self {
        MemoryStore {
            inner: Mutex::default(),
            max_entries,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a map half-written; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MemoryStore {
    /// Inserts unless `only_new` and a live entry exists; returns whether it wrote.
    fn insert(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Ttl,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if only_new && inner.entries.get(key).is_some_and(|(e, _)| live(*e, now)) {
            return Ok(false);
        }
        self.make_room(&mut inner, key, now)?;
        inner
            .entries
            .insert(key.to_string(), (expiry(ttl, now), Entry::Bytes(value)));
        Ok(true)
    }

    /// Counts a write, sweeps expired entries now and then (and when full), and refuses a
    /// new key while the store is full.
    fn make_room(&self, inner: &mut Inner, key: &str, now: Instant) -> Result<(), StoreError> {
        inner.writes += 1;
        let full = inner.entries.len() >= self.max_entries;
        let may_sweep_full = inner
            .last_full_sweep
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1));
        if inner.writes % SWEEP_EVERY == 0 || (full && may_sweep_full) {
            inner.entries.retain(|_, (expires, _)| live(*expires, now));
            if full {
                inner.last_full_sweep = Some(now);
            }
        }
        if inner.entries.len() >= self.max_entries && !inner.entries.contains_key(key) {
            return Err(StoreError::Unavailable("the memory store is full".into()));
        }
        Ok(())
    }
}

fn expiry(ttl: Ttl, now: Instant) -> Option<Instant> {
    match ttl {
        Ttl::For(d) => now.checked_add(d),
        Ttl::Forever => None,
    }
}

/// `None` never expires.
fn live(expires: Option<Instant>, now: Instant) -> bool {
    expires.is_none_or(|e| e > now)
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError> {
        self.insert(key, value, ttl, false).map(|_| ())
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError> {
        self.insert(key, value, ttl, true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock();
        inner
            .entries
            .get(key)
            .filter(|(e, _)| live(*e, Instant::now()))
            .map(|(_, v)| v.bytes(key))
            .transpose()
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some((e, Entry::Set(_))) = inner.entries.get(key) {
            if live(*e, now) {
                return Err(wrong_type(key));
            }
        }
        Ok(match inner.entries.remove(key) {
            Some((e, Entry::Bytes(v))) if live(e, now) => Some(v),
            _ => None,
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().entries.remove(key);
        Ok(())
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.entries.get_mut(key) {
            Some((expires, _)) if live(*expires, now) => {
                *expires = expiry(ttl, now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn add_to_set(&self, key: &str, member: &str, ttl: Ttl) -> Result<(), StoreError> {
        // Under the one lock: concurrent adds never lose one another.
        let now = Instant::now();
        let mut inner = self.lock();
        let expires = expiry(ttl, now);
        if let Some((e, entry)) = inner.entries.get_mut(key) {
            if live(*e, now) {
                let Entry::Set(set) = entry else {
                    return Err(wrong_type(key));
                };
                set.insert(member.to_string());
                *e = expires;
                return Ok(());
            }
        }
        self.make_room(&mut inner, key, now)?;
        let set = BTreeSet::from([member.to_string()]);
        inner
            .entries
            .insert(key.to_string(), (expires, Entry::Set(set)));
        Ok(())
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((e, Entry::Set(set))) if live(*e, Instant::now()) => {
                Ok(set.iter().cloned().collect())
            }
            Some((e, Entry::Bytes(_))) if live(*e, Instant::now()) => Err(wrong_type(key)),
            _ => Ok(Vec::new()),
        }
    }

    async fn remove_from_set(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let emptied = match inner.entries.get_mut(key) {
            Some((e, Entry::Set(set))) if live(*e, now) => {
                set.remove(member);
                set.is_empty()
            }
            Some((e, Entry::Bytes(_))) if live(*e, now) => return Err(wrong_type(key)),
            _ => false,
        };
        // An empty set is no key, as in Redis.
        if emptied {
            inner.entries.remove(key);
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn take_is_once_and_respects_expiry() {
        let s = MemoryStore::new();
        s.put("a", b"1".to_vec(), Ttl::For(Duration::from_secs(60)))
            .await
            .unwrap();
        assert_eq!(s.take("a").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take("a").await.unwrap(), None);
        s.put("b", b"2".to_vec(), Ttl::For(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(s.take("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_full_store_refuses_writes_until_entries_expire() {
        let s = MemoryStore::with_capacity(2);
        let minute = Ttl::For(Duration::from_secs(60));
        s.put("a", vec![], minute).await.unwrap();
        s.put("b", vec![], Ttl::For(Duration::from_millis(50)))
            .await
            .unwrap();
        assert!(matches!(
            s.put("c", vec![], minute).await,
            Err(StoreError::Unavailable(_))
        ));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        s.put("c", vec![], minute).await.unwrap();
        assert_eq!(s.take("a").await.unwrap(), Some(vec![]));
    }
}

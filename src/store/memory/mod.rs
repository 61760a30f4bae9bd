//! The default store: process memory, for a single gateway instance. Bounded by memory, never
//! by refusing service: when full it evicts the least recently used entries, as Redis does under
//! `maxmemory-policy volatile-lru`.
//!
//! Entries live in two pools of their own, so that what anyone can create without logging in
//! (pending logins, rate counters: the `transient` key prefixes) can only push out its own
//! kind, never the sessions of people who are logged in. Entries that never expire (the
//! signing keys) are kept apart and never evicted.

mod pool;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::ops::compute::{CompResult, Op};

use super::{Store, StoreError, Ttl};
use pool::{Item, Pool, Value, wrong_type};

/// The default bound on the memory the store's entries take.
pub const DEFAULT_MAX_MEMORY: u64 = 256 * 1024 * 1024;
/// The transient pool's share of the memory.
const TRANSIENT_SHARE: u64 = 4;

/// How the memory store is laid out.
#[derive(Clone, Debug)]
pub struct MemoryLimits {
    /// Bytes all entries may take (keys, values, bookkeeping).
    pub max_memory: u64,
    /// Key prefixes of entries anyone can create (`login:`): a pool of their own, a quarter
    /// of `max_memory`.
    pub transient: Vec<&'static str>,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            max_memory: DEFAULT_MAX_MEMORY,
            transient: Vec::new(),
        }
    }
}

pub struct MemoryStore {
    /// Sessions, codes, refresh tokens: what logged-in people have.
    durable: Pool,
    /// What anyone can create (pending logins, counters).
    transient: Pool,
    transient_prefixes: Vec<&'static str>,
    /// Entries that never expire (signing keys): few, never evicted.
    permanent: Mutex<HashMap<String, Arc<[u8]>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_limits(MemoryLimits::default())
    }
}

/// What a pool holds now, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    pub entries: u64,
    /// Weighed bytes (keys, values, bookkeeping).
    pub bytes: u64,
    /// Entries evicted for room since start.
    pub evicted: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: MemoryLimits) -> Self {
        let transient = limits.max_memory / TRANSIENT_SHARE;
        MemoryStore {
            durable: Pool::new("sessions", limits.max_memory - transient),
            transient: Pool::new("pending logins", transient),
            transient_prefixes: limits.transient,
            permanent: Mutex::default(),
        }
    }

    fn pool(&self, key: &str) -> &Pool {
        if self.transient_prefixes.iter().any(|p| key.starts_with(p)) {
            &self.transient
        } else {
            &self.durable
        }
    }

    fn permanent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<[u8]>>> {
        // A panic while holding the lock cannot leave a map half-written; keep serving.
        self.permanent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sessions pool and the transient pool, after pending maintenance (evictions).
    pub fn usage(&self) -> (PoolUse, PoolUse) {
        (self.durable.usage(), self.transient.usage())
    }

    fn put_item(&self, key: &str, value: Vec<u8>, ttl: Ttl, only_new: bool) -> bool {
        match ttl {
            Ttl::Forever => {
                let mut permanent = self.permanent();
                let cached = || self.pool(key).cache.get(key).and_then(Item::live).is_some();
                if only_new && (permanent.contains_key(key) || cached()) {
                    return false;
                }
                permanent.insert(key.to_string(), value.into());
                // One key, one place: a TTL'd copy would shadow the permanent one.
                self.pool(key).cache.invalidate(key);
                true
            }
            Ttl::For(ttl) => {
                {
                    let mut permanent = self.permanent();
                    if only_new && permanent.contains_key(key) {
                        return false;
                    }
                    permanent.remove(key);
                }
                let cache = &self.pool(key).cache;
                let item = Item::new(value, ttl);
                if only_new {
                    let result =
                        cache.entry(key.to_string()).and_compute_with(|entry| {
                            match entry.and_then(|e| e.into_value().live()) {
                                Some(_) => Op::Nop,
                                None => Op::Put(item),
                            }
                        });
                    !matches!(result, CompResult::Unchanged(_))
                } else {
                    cache.insert(key.to_string(), item);
                    true
                }
            }
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError> {
        self.put_item(key, value, ttl, false);
        Ok(())
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError> {
        Ok(self.put_item(key, value, ttl, true))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.permanent().get(key) {
            return Ok(Some(value.to_vec()));
        }
        self.pool(key)
            .cache
            .get(key)
            .and_then(Item::live)
            .map(|item| item.value.bytes(key))
            .transpose()
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.permanent().remove(key) {
            return Ok(Some(value.to_vec()));
        }
        // One atomic step: of two concurrent takes, one gets the value; a set stays.
        let mut holds_set = false;
        let result = self
            .pool(key)
            .cache
            .entry(key.to_string())
            .and_compute_with(|entry| match entry.and_then(|e| e.into_value().live()) {
                Some(item) if matches!(item.value, Value::Set(_)) => {
                    holds_set = true;
                    Op::Nop
                }
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        if holds_set {
            return Err(wrong_type(key));
        }
        match result {
            CompResult::Removed(entry) => entry.into_value().value.bytes(key).map(Some),
            _ => Ok(None),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.permanent().remove(key);
        self.pool(key).cache.invalidate(key);
        Ok(())
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, StoreError> {
        let cache = &self.pool(key).cache;
        match ttl {
            Ttl::Forever => {
                let Some(item) = cache.remove(key).and_then(Item::live) else {
                    return Ok(self.permanent().contains_key(key));
                };
                match item.value {
                    Value::Bytes(bytes) => {
                        self.permanent().insert(key.to_string(), bytes);
                    }
                    // Sets stay in their pool, without an expiry from now on.
                    set @ Value::Set(_) => cache.insert(
                        key.to_string(),
                        Item {
                            value: set,
                            expires: None,
                        },
                    ),
                }
                Ok(true)
            }
            Ttl::For(ttl) => {
                if let Some(value) = self.permanent().remove(key) {
                    cache.insert(key.to_string(), Item::new(value.to_vec(), ttl));
                    return Ok(true);
                }
                let result = cache.entry(key.to_string()).and_compute_with(|entry| {
                    match entry.and_then(|e| e.into_value().live()) {
                        Some(mut item) => {
                            item.expires = Instant::now().checked_add(ttl);
                            Op::Put(item)
                        }
                        None => Op::Nop,
                    }
                });
                Ok(matches!(result, CompResult::ReplacedWith(_)))
            }
        }
    }

    async fn count(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let mut corrupt = false;
        let entry =
            self.pool(key)
                .cache
                .entry(key.to_string())
                .and_upsert_with(|entry| match entry.and_then(|e| e.into_value().live()) {
                    None => Item::new(b"1".to_vec(), ttl),
                    Some(mut item) => {
                        let count = item.value.count();
                        corrupt = count.is_none();
                        let next = count.unwrap_or(0).saturating_add(1);
                        item.value = Value::Bytes(next.to_string().into_bytes().into());
                        item
                    }
                });
        if corrupt {
            return Err(StoreError::Corrupt(format!("{key} is not a counter")));
        }
        entry
            .value()
            .value
            .count()
            .ok_or_else(|| StoreError::Corrupt(format!("{key} is not a counter")))
    }

    async fn add_to_set(&self, key: &str, member: &str, ttl: Ttl) -> Result<(), StoreError> {
        if self.permanent().contains_key(key) {
            return Err(wrong_type(key));
        }
        let expires = match ttl {
            Ttl::For(d) => Instant::now().checked_add(d),
            Ttl::Forever => None,
        };
        // One atomic step per key: concurrent adds never lose one another.
        let mut holds_bytes = false;
        self.pool(key)
            .cache
            .entry(key.to_string())
            .and_compute_with(|entry| match entry.and_then(|e| e.into_value().live()) {
                Some(Item {
                    value: Value::Set(mut set),
                    ..
                }) => {
                    Arc::make_mut(&mut set).insert(member.to_string());
                    Op::Put(Item {
                        value: Value::Set(set),
                        expires,
                    })
                }
                Some(_) => {
                    holds_bytes = true;
                    Op::Nop
                }
                None => Op::Put(Item {
                    value: Value::Set(Arc::new(BTreeSet::from([member.to_string()]))),
                    expires,
                }),
            });
        if holds_bytes {
            return Err(wrong_type(key));
        }
        Ok(())
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        if self.permanent().contains_key(key) {
            return Err(wrong_type(key));
        }
        match self.pool(key).cache.get(key).and_then(Item::live) {
            Some(Item {
                value: Value::Set(set),
                ..
            }) => Ok(set.iter().cloned().collect()),
            Some(_) => Err(wrong_type(key)),
            None => Ok(Vec::new()),
        }
    }

    async fn remove_from_set(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let mut holds_bytes = false;
        self.pool(key)
            .cache
            .entry(key.to_string())
            .and_compute_with(|entry| match entry.and_then(|e| e.into_value().live()) {
                Some(Item {
                    value: Value::Set(mut set),
                    expires,
                }) => {
                    Arc::make_mut(&mut set).remove(member);
                    // An empty set is no key, as in Redis.
                    if set.is_empty() {
                        Op::Remove
                    } else {
                        Op::Put(Item {
                            value: Value::Set(set),
                            expires,
                        })
                    }
                }
                Some(_) => {
                    holds_bytes = true;
                    Op::Nop
                }
                None => Op::Nop,
            });
        if holds_bytes {
            return Err(wrong_type(key));
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn pools(&self) -> Vec<(&'static str, PoolUse)> {
        let (durable, transient) = self.usage();
        vec![
            (self.durable.name, durable),
            (self.transient.name, transient),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Ttl = Ttl::For(Duration::from_secs(60));

    #[tokio::test]
    async fn take_is_once_and_respects_expiry() {
        let s = MemoryStore::new();
        s.put("a", b"1".to_vec(), MINUTE).await.unwrap();
        assert_eq!(s.take("a").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take("a").await.unwrap(), None);
        s.put("b", b"2".to_vec(), Ttl::For(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(s.take("b").await.unwrap(), None);
        assert_eq!(s.get("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn put_new_expire_and_count_keep_their_meaning() {
        let s = MemoryStore::new();
        assert!(s.put_new("k", b"1".to_vec(), MINUTE).await.unwrap());
        assert!(!s.put_new("k", b"2".to_vec(), MINUTE).await.unwrap());
        assert_eq!(s.get("k").await.unwrap(), Some(b"1".to_vec()));
        assert!(s.expire("k", Ttl::For(Duration::ZERO)).await.unwrap());
        assert_eq!(s.get("k").await.unwrap(), None);
        assert!(!s.expire("k", MINUTE).await.unwrap(), "no resurrection");
        assert_eq!(s.count("c", Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(s.count("c", Duration::from_secs(60)).await.unwrap(), 2);
        assert_eq!(super::super::read_count(&s, "c").await.unwrap(), 2);
        s.put("keys", b"k".to_vec(), Ttl::Forever).await.unwrap();
        assert!(
            !s.put_new("keys", b"x".to_vec(), Ttl::Forever)
                .await
                .unwrap()
        );
        assert_eq!(s.get("keys").await.unwrap(), Some(b"k".to_vec()));
    }

    /// Full: the least recently used entries go, the transient pool's flood never touches
    /// the sessions, and the permanent entries stay.
    #[tokio::test]
    async fn a_full_store_evicts_the_least_recently_used_of_the_same_pool() {
        let s = MemoryStore::with_limits(MemoryLimits {
            max_memory: 400 * 1024,
            transient: vec!["login:"],
        });
        s.put("keys", vec![7; 1000], Ttl::Forever).await.unwrap();
        let session = vec![1u8; 1000];
        for i in 0..400 {
            s.put(&format!("sso:{i}"), session.clone(), MINUTE)
                .await
                .unwrap();
            // The first ten stay in use.
            for j in 0..=i.min(9) {
                assert!(s.get(&format!("sso:{j}")).await.unwrap().is_some());
            }
        }
        for i in 0..100_000 {
            s.put(&format!("login:{i}"), vec![2u8; 500], MINUTE)
                .await
                .unwrap();
        }
        let (sessions, transient) = s.usage();
        assert!(sessions.bytes <= 300 * 1024, "{sessions:?}");
        assert!(transient.bytes <= 100 * 1024, "{transient:?}");
        assert!(transient.evicted > 99_000, "{transient:?}");
        // 400 sessions of ~1.2 KB fit 300 KB only in part: the oldest unused went.
        assert!(sessions.evicted > 0, "{sessions:?}");
        for j in 0..10 {
            assert!(
                s.get(&format!("sso:{j}")).await.unwrap().is_some(),
                "sso:{j}"
            );
        }
        assert!(s.get("sso:399").await.unwrap().is_some());
        assert!(s.get("sso:10").await.unwrap().is_none());
        assert_eq!(s.get("keys").await.unwrap(), Some(vec![7; 1000]));
        assert!(s.get("login:99999").await.unwrap().is_some());
    }
}

//! One pool of the memory store: a moka cache bounded by weight, evicting the least
//! recently used entry, each entry expiring at its own time; what it evicted for room is
//! counted and logged.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::policy::{EvictionPolicy, Expiry};
use moka::sync::Cache;

use super::super::StoreError;
use super::PoolUse;

/// What an entry costs beyond its key and value (the cache's own bookkeeping), roughly.
const ENTRY_OVERHEAD: u32 = 160;
/// Evictions are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// A key holds a value or a set, as in Redis.
#[derive(Clone)]
pub(super) enum Value {
    Bytes(Arc<[u8]>),
    Set(Arc<BTreeSet<String>>),
}

impl Value {
    fn len(&self) -> usize {
        match self {
            Value::Bytes(b) => b.len(),
            Value::Set(set) => set.iter().map(|m| m.len() + 32).sum(),
        }
    }

    pub(super) fn bytes(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Value::Bytes(b) => Ok(b.to_vec()),
            Value::Set(_) => Err(wrong_type(key)),
        }
    }

    pub(super) fn count(&self) -> Option<u64> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            Value::Set(_) => None,
        }
    }
}

pub(super) fn wrong_type(key: &str) -> StoreError {
    StoreError::Corrupt(format!("{key} holds another kind of value"))
}

#[derive(Clone)]
pub(super) struct Item {
    pub(super) value: Value,
    /// `None`: never expires (a set written with `Ttl::Forever`; plain values that never
    /// expire live in the permanent map).
    pub(super) expires: Option<Instant>,
}

impl Item {
    /// The cache drops expired entries lazily; a read must not see them meanwhile.
    pub(super) fn live(self) -> Option<Self> {
        self.expires
            .is_none_or(|e| e > Instant::now())
            .then_some(self)
    }

    pub(super) fn new(value: Vec<u8>, ttl: Duration) -> Self {
        Item {
            value: Value::Bytes(value.into()),
            expires: Instant::now().checked_add(ttl),
        }
    }
}

/// Each entry expires at the instant it carries.
struct AtItsTime;

impl Expiry<String, Item> for AtItsTime {
    fn expire_after_create(&self, _: &String, item: &Item, now: Instant) -> Option<Duration> {
        item.expires.map(|e| e.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        item: &Item,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        item.expires.map(|e| e.saturating_duration_since(now))
    }
}

/// Entries a pool evicted for room, and when that was last logged.
#[derive(Default)]
struct Evictions {
    total: AtomicU64,
    logged: AtomicU64,
    last_log: Mutex<Option<Instant>>,
}

impl Evictions {
    fn count(&self, pool: &'static str) {
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_log.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            let since = total - self.logged.swap(total, Ordering::Relaxed);
            *last = Some(Instant::now());
            tracing::warn!(
                pool,
                evicted = since,
                total,
                "the memory store is full: least recently used entries evicted (raise [store] max_memory, or use Redis)"
            );
        }
    }
}

pub(super) struct Pool {
    pub(super) name: &'static str,
    pub(super) cache: Cache<String, Item>,
    evictions: Arc<Evictions>,
}

impl Pool {
    pub(super) fn new(name: &'static str, max_bytes: u64) -> Self {
        let evictions = Arc::new(Evictions::default());
        let counted = evictions.clone();
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, item: &Item| {
                let bytes = key.len() + item.value.len();
                u32::try_from(bytes)
                    .unwrap_or(u32::MAX)
                    .saturating_add(ENTRY_OVERHEAD)
            })
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(AtItsTime)
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    counted.count(name);
                }
            })
            .build();
        Pool {
            name,
            cache,
            evictions,
        }
    }
}

impl Pool {
    /// What the pool holds, after pending maintenance (evictions).
    pub(super) fn usage(&self) -> PoolUse {
        self.cache.run_pending_tasks();
        PoolUse {
            entries: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
            evicted: self.evictions.total.load(Ordering::Relaxed),
        }
    }
}

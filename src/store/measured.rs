//! Every store call timed and its failures counted (`socialgate_store_seconds`,
//! `socialgate_store_errors_total`, by operation), whichever store is behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{PoolUse, Store, StoreError, Ttl};

pub struct Measured(pub Arc<dyn Store>);

fn record<T>(op: &'static str, start: Instant, result: &Result<T, StoreError>) {
    metrics::histogram!("socialgate_store_seconds", "op" => op)
        .record(start.elapsed().as_secs_f64());
    if result.is_err() {
        metrics::counter!("socialgate_store_errors_total", "op" => op).increment(1);
    }
}

#[async_trait]
impl Store for Measured {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.0.put(key, value, ttl).await;
        record("put", start, &result);
        result
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError> {
        let start = Instant::now();
        let result = self.0.put_new(key, value, ttl).await;
        record("put_new", start, &result);
        result
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let start = Instant::now();
        let result = self.0.get(key).await;
        record("get", start, &result);
        result
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let start = Instant::now();
        let result = self.0.take(key).await;
        record("take", start, &result);
        result
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.0.delete(key).await;
        record("delete", start, &result);
        result
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, StoreError> {
        let start = Instant::now();
        let result = self.0.expire(key, ttl).await;
        record("expire", start, &result);
        result
    }

    async fn count(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let start = Instant::now();
        let result = self.0.count(key, ttl).await;
        record("count", start, &result);
        result
    }

    async fn add_to_set(&self, key: &str, member: &str, ttl: Ttl) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.0.add_to_set(key, member, ttl).await;
        record("add_to_set", start, &result);
        result
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let start = Instant::now();
        let result = self.0.set_members(key).await;
        record("set_members", start, &result);
        result
    }

    async fn remove_from_set(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.0.remove_from_set(key, member).await;
        record("remove_from_set", start, &result);
        result
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = self.0.ping().await;
        record("ping", start, &result);
        result
    }

    fn is_shared(&self) -> bool {
        self.0.is_shared()
    }

    fn pools(&self) -> Vec<(&'static str, PoolUse)> {
        self.0.pools()
    }
}

//! The shared store: Redis, for several gateway instances. Expiry is Redis's own TTLs;
//! `take` is `GETDEL`, so a code is redeemed once even across instances.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, RedisError};

use super::{Store, StoreError, Ttl};

/// Every key the gateway writes starts with this, so a Redis shared with other
/// applications stays readable.
const PREFIX: &str = "socialgate:";
/// A request waits at most this long for Redis: a dead server gives quick 503s, not hangs.
const TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisStore {
    conn: ConnectionManager,
}

impl RedisStore {
    /// Checks the URL and prepares a connection that is made on first use and re-made by
    /// itself after Redis restarts.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = parse_url(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(RedisStore { conn })
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn).await.map_err(unavailable)
    }
}

/// Parses a `redis://` / `rediss://` URL without connecting. The error never repeats the
/// URL, which may hold a password.
pub fn parse_url(url: &str) -> Result<redis::Client, StoreError> {
    redis::Client::open(url).map_err(|_| {
        StoreError::BadUrl("not a valid Redis URL (redis://[:password@]host:port/db)".into())
    })
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

fn key(k: &str) -> String {
    format!("{PREFIX}{k}")
}

/// `SET key value [PX ms] [NX]`.
fn set(k: &str, value: Vec<u8>, ttl: Ttl, only_new: bool) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key(k)).arg(value);
    if let Ttl::For(d) = ttl {
        // Redis refuses PX 0; a zero TTL means "already expired", as good as 1 ms.
        cmd.arg("PX")
            .arg(d.as_millis().clamp(1, u64::MAX as u128) as u64);
    }
    if only_new {
        cmd.arg("NX");
    }
    cmd
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, k: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError> {
        self.run::<()>(&set(k, value, ttl, false)).await
    }

    async fn put_new(&self, k: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError> {
        // NX answers OK when it wrote and nil when the key existed.
        let reply: Option<String> = self.run(&set(k, value, ttl, true)).await?;
        Ok(reply.is_some())
    }

    async fn get(&self, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GET").arg(key(k))).await
    }

    async fn take(&self, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GETDEL").arg(key(k))).await
    }

    async fn delete(&self, k: &str) -> Result<(), StoreError> {
        self.run::<()>(redis::cmd("DEL").arg(key(k))).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run::<()>(&redis::cmd("PING")).await
    }

    fn is_shared(&self) -> bool {
        true
    }
}

//! The shared store: Redis, for several gateway instances. Expiry is Redis's own TTLs;
//! `take` is `GETDEL`, so a code is redeemed once even across instances; a set is a Redis
//! set, a member added (`SADD`) with the set's TTL in one transaction.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, Pipeline, RedisError};

use super::{Store, StoreError, Ttl};

/// Every key the gateway writes starts with this, so a Redis shared with other
/// applications stays readable.
const PREFIX: &str = "socialgate:";
/// A request waits at most this long for Redis: a dead server gives quick 503s, not hangs.
const TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisStore {
    client: Client,
    /// The connection, and how many times it was replaced (so that of several requests
    /// failing on one connection, only the first replaces it).
    conn: Mutex<(u64, ConnectionManager)>,
}

impl RedisStore {
    /// Checks the URL and prepares a connection that is made on first use and re-made by
    /// itself after Redis restarts.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = parse_url(url)?;
        let conn = manager(&client)?;
        Ok(RedisStore {
            client,
            conn: Mutex::new((0, conn)),
        })
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.send(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Several commands as one transaction (`MULTI` … `EXEC`): all or none, nothing between.
    async fn run_atomic<T: redis::FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, StoreError> {
        self.send(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await
    }

    async fn send<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (generation, conn) = self.lock().clone();
        // The manager's own timeouts are per attempt, and it retries: bound the whole.
        let Ok(result) = tokio::time::timeout(TIMEOUT, query(conn)).await else {
            // A connection to a host that vanished without closing it would otherwise stay
            // dead until TCP gives up (minutes): start a fresh one.
            self.replace(generation);
            return Err(StoreError::Unavailable(format!(
                "Redis did not answer within {TIMEOUT:?}"
            )));
        };
        result.map_err(|e| {
            // The manager re-connects by itself after I/O errors (Redis gone, connection
            // dropped), but keeps any other failure to connect forever: a refused password,
            // say, even once Redis accepts it. Any other error (also READONLY after a
            // failover, OOM, ...): start over with a fresh connection.
            if !e.is_io_error() {
                self.replace(generation);
            }
            unavailable(e)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, ConnectionManager)> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces connection number `generation`, unless another request already did.
    fn replace(&self, generation: u64) {
        let mut conn = self.lock();
        if conn.0 == generation {
            match manager(&self.client) {
                Ok(fresh) => *conn = (generation + 1, fresh),
                Err(e) => tracing::warn!("cannot replace the Redis connection: {e}"),
            }
        }
    }
}

/// A connection manager that connects on first use.
fn manager(client: &Client) -> Result<ConnectionManager, StoreError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(unavailable)
}

/// Parses a `redis://` / `rediss://` URL without connecting. The error never repeats the
/// URL, which may hold a password.
pub fn parse_url(url: &str) -> Result<Client, StoreError> {
    Client::open(url).map_err(|_| {
        StoreError::BadUrl("not a valid Redis URL (redis://[:password@]host:port/db)".into())
    })
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

fn key(k: &str) -> String {
    format!("{PREFIX}{k}")
}

/// A TTL in milliseconds; Redis refuses 0, and a zero TTL means "already expired", as good
/// as 1 ms.
fn millis(d: Duration) -> u64 {
    d.as_millis().clamp(1, u64::MAX as u128) as u64
}

/// `SET key value [PX ms] [NX]`.
fn set(k: &str, value: Vec<u8>, ttl: Ttl, only_new: bool) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key(k)).arg(value);
    if let Ttl::For(d) = ttl {
        cmd.arg("PX").arg(millis(d));
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

    async fn expire(&self, k: &str, ttl: Ttl) -> Result<bool, StoreError> {
        match ttl {
            Ttl::For(d) => {
                let set: i64 = self
                    .run(redis::cmd("PEXPIRE").arg(key(k)).arg(millis(d)))
                    .await?;
                Ok(set == 1)
            }
            Ttl::Forever => {
                self.run::<()>(redis::cmd("PERSIST").arg(key(k))).await?;
                let exists: i64 = self.run(redis::cmd("EXISTS").arg(key(k))).await?;
                Ok(exists == 1)
            }
        }
    }

    async fn count(&self, k: &str, ttl: Duration) -> Result<u64, StoreError> {
        // One script, so the counter never lives without its expiry (Redis 6.2 has no
        // EXPIRE NX).
        const COUNT: &str = "local n = redis.call('INCR', KEYS[1]) \
            if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        self.run(redis::cmd("EVAL").arg(COUNT).arg(1).arg(key(k)).arg(ms))
            .await
    }

    async fn add_to_set(&self, k: &str, member: &str, ttl: Ttl) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("SADD").arg(key(k)).arg(member).ignore();
        match ttl {
            Ttl::For(d) => pipe.cmd("PEXPIRE").arg(key(k)).arg(millis(d)).ignore(),
            Ttl::Forever => pipe.cmd("PERSIST").arg(key(k)).ignore(),
        };
        self.run_atomic::<()>(&pipe).await
    }

    async fn set_members(&self, k: &str) -> Result<Vec<String>, StoreError> {
        self.run(redis::cmd("SMEMBERS").arg(key(k))).await
    }

    async fn remove_from_set(&self, k: &str, member: &str) -> Result<(), StoreError> {
        self.run::<()>(redis::cmd("SREM").arg(key(k)).arg(member))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run::<()>(&redis::cmd("PING")).await
    }

    fn is_shared(&self) -> bool {
        true
    }
}

//! The shared store: Redis, for several gateway instances — one server, the primary that
//! Sentinels watch over, or a cluster (`target.rs`, `link.rs`). Expiry is Redis's own TTLs;
//! `take` is `GETDEL`, so a code is redeemed once even across instances; a set is a Redis set,
//! a member added (`SADD`) with the set's TTL in one script. Every operation touches one key,
//! so in a cluster each runs whole on the node that holds the key's slot: no hash tags are
//! needed, and keys spread over every primary.
//!
//! Replication is asynchronous: a write the primary acknowledged is lost if the primary dies
//! before a replica has it. So a write that someone relies on (everything but the transient
//! keys: logins waiting for the network, rate counters) is followed by `WAIT`, and the
//! gateway answers only once replicas have it; see `Durability`.

mod link;
mod target;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::{Cmd, Pipeline};

pub use target::{Target, Topology, parse as parse_url};

use super::{Store, StoreError, Ttl, Wait};
use link::Link;

/// Every key the gateway writes starts with this, so a Redis shared with other
/// applications stays readable.
const PREFIX: &str = "socialgate:";
/// A request waits at most this long for Redis: a dead server gives quick 503s, not hangs.
const TIMEOUT: Duration = Duration::from_secs(2);
/// After replicas fell short once, writes go on without waiting this long, so a lost replica
/// costs one `WAIT` timeout now and then, not one per write.
const SHORTFALL_PAUSE: Duration = Duration::from_secs(5);

pub struct RedisStore {
    link: Link,
    durability: Durability,
}

impl RedisStore {
    /// Checks the URL and prepares a connection that is made on first use and re-made by
    /// itself after Redis restarts or fails over; waits for replicas as the topology's
    /// default (`Wait::default_for`), for every key.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, None, Vec::new())
    }

    /// As `open`; `wait` overrides the topology's default, and writes to keys starting with
    /// one of `transient` never wait for replicas.
    pub fn open_with(
        url: &str,
        wait: Option<Wait>,
        transient: Vec<&'static str>,
    ) -> Result<Self, StoreError> {
        Self::with_target(&parse_url(url)?, wait, transient)
    }

    /// As `open_with`, for a URL parsed already.
    pub fn with_target(
        target: &Target,
        wait: Option<Wait>,
        transient: Vec<&'static str>,
    ) -> Result<Self, StoreError> {
        let mut wait = wait.unwrap_or_else(|| Wait::default_for(target.topology()));
        // Room for the write itself within a request's bound.
        wait.timeout = wait.timeout.min(TIMEOUT / 2);
        Ok(RedisStore {
            link: Link::new(target, TIMEOUT)?,
            durability: Durability {
                wait,
                transient,
                shortfall: Mutex::new(None),
            },
        })
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.send(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Writes with `cmd` to key `k`: when `k` matters to someone, in one round trip with a
    /// `WAIT` for replicas on the same connection (which `WAIT` needs: it waits for the
    /// connection's own writes). In a cluster both go to the node of `k`'s slot.
    async fn write<T: redis::FromRedisValue>(&self, k: &str, cmd: Cmd) -> Result<T, StoreError> {
        let Some(wait) = self.durability.wants(k) else {
            return self.run(&cmd).await;
        };
        let mut pipe = Pipeline::new();
        pipe.add_command(cmd)
            .cmd("WAIT")
            .arg(wait.replicas)
            .arg(millis(wait.timeout));
        let pipe = &pipe;
        let (reply, acked): (T, u32) = self
            .send(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        self.durability.acked(acked);
        Ok(reply)
    }

    async fn send<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(link::Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut used = None;
        let attempt = async {
            let (generation, conn) = self.link.get().await?;
            used = Some(generation);
            query(conn).await.map_err(|e| {
                self.link.failed(generation, Some(&e));
                StoreError::Unavailable(format!("Redis: {e}"))
            })
        };
        // The connections' own timeouts are per attempt, and they retry: bound the whole.
        match tokio::time::timeout(TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => {
                if let Some(generation) = used {
                    self.link.failed(generation, None);
                }
                Err(StoreError::Unavailable(format!(
                    "Redis did not answer within {TIMEOUT:?}"
                )))
            }
        }
    }
}

/// Which writes wait for replicas, and whether replicas have been answering.
struct Durability {
    wait: Wait,
    transient: Vec<&'static str>,
    /// Since when replicas fall short, while they do.
    shortfall: Mutex<Option<Instant>>,
}

impl Durability {
    /// The `WAIT` a write to `k` needs, if any.
    fn wants(&self, k: &str) -> Option<Wait> {
        if self.wait.replicas == 0 || self.transient.iter().any(|p| k.starts_with(p)) {
            return None;
        }
        match *self.lock() {
            Some(since) if since.elapsed() < SHORTFALL_PAUSE => None,
            _ => Some(self.wait),
        }
    }

    /// `WAIT` answered that `acked` replicas have the write.
    fn acked(&self, acked: u32) {
        let mut shortfall = self.lock();
        if acked >= self.wait.replicas {
            if shortfall.take().is_some() {
                tracing::info!(replicas = acked, "Redis replicas acknowledge writes again");
            }
            return;
        }
        metrics::counter!("socialgate_store_replica_shortfalls_total").increment(1);
        if shortfall.is_none() {
            tracing::warn!(
                acknowledged = acked,
                wanted = self.wait.replicas,
                timeout = ?self.wait.timeout,
                "Redis replicas fell short: writes stand on the primary alone until they \
                 answer again (a failover now could lose them); trying again every {:?}",
                SHORTFALL_PAUSE
            );
        }
        *shortfall = Some(Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.shortfall.lock().unwrap_or_else(|p| p.into_inner())
    }
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

/// `EVAL script 1 key args…`: a script of one key, so a cluster runs it on that key's node.
fn script(source: &str, k: &str) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(source).arg(1).arg(key(k));
    cmd
}

fn one_arg(command: &str, k: &str) -> Cmd {
    let mut cmd = redis::cmd(command);
    cmd.arg(key(k));
    cmd
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, k: &str, value: Vec<u8>, ttl: Ttl) -> Result<(), StoreError> {
        self.write::<()>(k, set(k, value, ttl, false)).await
    }

    async fn put_new(&self, k: &str, value: Vec<u8>, ttl: Ttl) -> Result<bool, StoreError> {
        // NX answers OK when it wrote and nil when the key existed.
        let reply: Option<String> = self.write(k, set(k, value, ttl, true)).await?;
        Ok(reply.is_some())
    }

    async fn get(&self, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(&one_arg("GET", k)).await
    }

    async fn take(&self, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // A write too: a take lost to a failover would let a code be redeemed twice.
        self.write(k, one_arg("GETDEL", k)).await
    }

    async fn delete(&self, k: &str) -> Result<(), StoreError> {
        self.write::<()>(k, one_arg("DEL", k)).await
    }

    async fn expire(&self, k: &str, ttl: Ttl) -> Result<bool, StoreError> {
        let set: i64 = match ttl {
            Ttl::For(d) => {
                let mut cmd = one_arg("PEXPIRE", k);
                cmd.arg(millis(d));
                self.write(k, cmd).await?
            }
            Ttl::Forever => {
                const PERSIST: &str = "redis.call('PERSIST', KEYS[1]) \
                    return redis.call('EXISTS', KEYS[1])";
                self.write(k, script(PERSIST, k)).await?
            }
        };
        Ok(set == 1)
    }

    async fn count(&self, k: &str, ttl: Duration) -> Result<u64, StoreError> {
        // One script, so the counter never lives without its expiry (Redis 6.2 has no
        // EXPIRE NX).
        const COUNT: &str = "local n = redis.call('INCR', KEYS[1]) \
            if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";
        let mut cmd = script(COUNT, k);
        cmd.arg(millis(ttl));
        self.write(k, cmd).await
    }

    async fn add_to_set(&self, k: &str, member: &str, ttl: Ttl) -> Result<(), StoreError> {
        // A script rather than MULTI: one command, which a cluster routes (and redirects)
        // like any other.
        const ADD: &str = "redis.call('SADD', KEYS[1], ARGV[1]) \
            if ARGV[2] == 'forever' then redis.call('PERSIST', KEYS[1]) \
            else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end";
        let mut cmd = script(ADD, k);
        cmd.arg(member);
        match ttl {
            Ttl::For(d) => cmd.arg(millis(d)),
            Ttl::Forever => cmd.arg("forever"),
        };
        self.write::<()>(k, cmd).await
    }

    async fn set_members(&self, k: &str) -> Result<Vec<String>, StoreError> {
        self.run(&one_arg("SMEMBERS", k)).await
    }

    async fn remove_from_set(&self, k: &str, member: &str) -> Result<(), StoreError> {
        let mut cmd = one_arg("SREM", k);
        cmd.arg(member);
        self.write::<()>(k, cmd).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // In a cluster, every primary answers.
        self.run::<()>(&redis::cmd("PING")).await
    }

    fn is_shared(&self) -> bool {
        true
    }
}

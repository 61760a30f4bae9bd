//! The `Store` contract, checked the same way against every store: the memory store, and
//! Redis on `redis-server`s of the test's own — one server, a Sentinel-managed primary with
//! a replica, a cluster of three primaries with a replica each (writes there wait for the
//! replica). Then what only Redis has: the key prefix, outages and recovery, URLs with
//! passwords. Then browser sessions over every store.

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socialgate::store::{self, MemoryStore, RedisStore, Store, StoreError, Ttl};
use socialgate::web::session_store::BrowserSessions;
use support::redis::{RedisCluster, RedisServer, SentinelGroup};
use time::OffsetDateTime;
use tokio::sync::Barrier;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

const MINUTE: Ttl = Ttl::For(Duration::from_secs(60));
/// A TTL short enough to wait out, and how long to wait for it to pass; long enough that a
/// write's wait for replicas (up to 250 ms on a loaded machine) does not outlast it.
const SHORT: Duration = Duration::from_millis(1000);
const PAST_SHORT: Duration = Duration::from_millis(1400);
/// How long a Redis operation may take to fail while Redis is down, and how long a store
/// may take to notice that Redis is back.
const BOUND: Duration = Duration::from_secs(10);

/// A store under test; for Redis, also the servers it talks to (stopped when dropped).
struct Backend {
    store: Arc<dyn Store>,
    servers: Servers,
}

enum Servers {
    None,
    One(RedisServer),
    Sentinel(SentinelGroup),
    Cluster(RedisCluster),
}

impl Backend {
    fn memory() -> Backend {
        Backend {
            store: Arc::new(MemoryStore::new()),
            servers: Servers::None,
        }
    }

    async fn redis() -> Backend {
        let server = RedisServer::start().await;
        Backend {
            store: Arc::new(RedisStore::open(&server.url()).unwrap()),
            servers: Servers::One(server),
        }
    }

    async fn redis_sentinel() -> Backend {
        let group = SentinelGroup::start(1).await;
        Backend {
            store: Arc::new(RedisStore::open(&group.url()).unwrap()),
            servers: Servers::Sentinel(group),
        }
    }

    async fn redis_cluster() -> Backend {
        let cluster = RedisCluster::start(3, 1).await;
        Backend {
            store: Arc::new(RedisStore::open(&cluster.url()).unwrap()),
            servers: Servers::Cluster(cluster),
        }
    }
}

impl Backend {
    /// Every key in Redis (on the primary, or the cluster's primaries); `None` for memory.
    async fn redis_keys(&self) -> Option<Vec<String>> {
        match &self.servers {
            Servers::None => None,
            Servers::One(server) => Some(server.keys().await),
            Servers::Sentinel(group) => Some(group.primary.keys().await),
            Servers::Cluster(cluster) => Some(cluster.keys().await),
        }
    }
}

/// Each named `async fn(Backend)` becomes a module with a test per store.
macro_rules! for_every_store {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name(super::Backend::memory()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$name(super::Backend::redis().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_sentinel() {
                super::$name(super::Backend::redis_sentinel().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_cluster() {
                super::$name(super::Backend::redis_cluster().await).await;
            }
        }
    )*};
}

for_every_store!(
    put_then_get_returns_the_bytes,
    get_does_not_consume,
    take_returns_a_value_once,
    put_new_writes_only_when_absent,
    delete_removes_only_its_key,
    expire_extends_live_keys_and_never_creates,
    values_expire_after_their_ttl,
    one_of_many_concurrent_takes_gets_the_value,
    one_of_many_concurrent_put_news_writes,
    sets_add_list_and_remove_members,
    sets_expire_with_their_ttl_and_extend_with_each_add,
    every_one_of_many_concurrent_adds_lands,
    sessions_create_save_load_delete,
    sessions_written_with_their_id_still_load,
    session_create_never_overwrites_another_session,
    sessions_expire_at_their_expiry_date,
);

async fn put_then_get_returns_the_bytes(b: Backend) {
    let s = &b.store;
    assert_eq!(s.get("a").await.unwrap(), None);
    let binary = vec![0, 0xff, b'\r', b'\n', 0x80];
    s.put("a", binary.clone(), MINUTE).await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), Some(binary));
    // put overwrites.
    s.put("a", b"second".to_vec(), Ttl::Forever).await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), Some(b"second".to_vec()));
    // An empty value is a value, not an absent key.
    s.put("empty", vec![], MINUTE).await.unwrap();
    assert_eq!(s.get("empty").await.unwrap(), Some(vec![]));
    assert_eq!(s.get("b").await.unwrap(), None);
}

async fn get_does_not_consume(b: Backend) {
    let s = &b.store;
    s.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    assert_eq!(s.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.take("k").await.unwrap(), Some(b"v".to_vec()));
}

async fn take_returns_a_value_once(b: Backend) {
    let s = &b.store;
    s.put("code", b"v".to_vec(), MINUTE).await.unwrap();
    s.put("other", b"o".to_vec(), MINUTE).await.unwrap();
    assert_eq!(s.take("code").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(s.take("code").await.unwrap(), None);
    assert_eq!(s.get("code").await.unwrap(), None);
    assert_eq!(s.take("never-written").await.unwrap(), None);
    assert_eq!(s.get("other").await.unwrap(), Some(b"o".to_vec()));
}

async fn put_new_writes_only_when_absent(b: Backend) {
    let s = &b.store;
    assert!(s.put_new("lock", b"first".to_vec(), MINUTE).await.unwrap());
    assert_eq!(s.get("lock").await.unwrap(), Some(b"first".to_vec()));
    assert!(!s.put_new("lock", b"second".to_vec(), MINUTE).await.unwrap());
    assert!(
        !s.put_new("lock", b"third".to_vec(), Ttl::Forever)
            .await
            .unwrap()
    );
    assert_eq!(s.get("lock").await.unwrap(), Some(b"first".to_vec()));
    // A key written by put counts as present too.
    s.put("plain", b"p".to_vec(), Ttl::Forever).await.unwrap();
    assert!(!s.put_new("plain", b"x".to_vec(), MINUTE).await.unwrap());
    assert_eq!(s.get("plain").await.unwrap(), Some(b"p".to_vec()));
    // Once deleted or taken, the key is free again.
    s.delete("lock").await.unwrap();
    assert!(s.put_new("lock", b"fourth".to_vec(), MINUTE).await.unwrap());
    assert_eq!(s.take("lock").await.unwrap(), Some(b"fourth".to_vec()));
    assert!(s.put_new("lock", b"fifth".to_vec(), MINUTE).await.unwrap());
    assert_eq!(s.get("lock").await.unwrap(), Some(b"fifth".to_vec()));
}

async fn delete_removes_only_its_key(b: Backend) {
    let s = &b.store;
    s.put("gone", b"1".to_vec(), MINUTE).await.unwrap();
    s.put("kept", b"2".to_vec(), Ttl::Forever).await.unwrap();
    s.delete("gone").await.unwrap();
    assert_eq!(s.get("gone").await.unwrap(), None);
    assert_eq!(s.take("gone").await.unwrap(), None);
    assert_eq!(s.get("kept").await.unwrap(), Some(b"2".to_vec()));
    // Deleting what is not there is not an error.
    s.delete("gone").await.unwrap();
    s.delete("never-written").await.unwrap();
}

async fn expire_extends_live_keys_and_never_creates(b: Backend) {
    let s = &b.store;
    // Absent: nothing is created.
    assert!(!s.expire("absent", MINUTE).await.unwrap());
    assert_eq!(s.get("absent").await.unwrap(), None);
    // A key about to expire is kept alive by a longer TTL...
    s.put("k", b"v".to_vec(), Ttl::For(SHORT)).await.unwrap();
    assert!(s.expire("k", MINUTE).await.unwrap());
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(s.get("k").await.unwrap(), Some(b"v".to_vec()));
    // ... and a shorter one ends it sooner.
    assert!(s.expire("k", Ttl::For(SHORT)).await.unwrap());
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(s.get("k").await.unwrap(), None);
    assert!(!s.expire("k", MINUTE).await.unwrap());
    // Deleted, then extended: stays deleted.
    s.put("d", b"v".to_vec(), MINUTE).await.unwrap();
    s.delete("d").await.unwrap();
    assert!(!s.expire("d", Ttl::Forever).await.unwrap());
    assert_eq!(s.get("d").await.unwrap(), None);
    s.put("f", b"v".to_vec(), Ttl::For(SHORT)).await.unwrap();
    assert!(s.expire("f", Ttl::Forever).await.unwrap());
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(s.get("f").await.unwrap(), Some(b"v".to_vec()));
}

async fn values_expire_after_their_ttl(b: Backend) {
    let s = &b.store;
    let short = Ttl::For(SHORT);
    let written = Instant::now();
    s.put("short", b"s".to_vec(), short).await.unwrap();
    let before_expiry = s.get("short").await.unwrap();
    // (A machine too loaded to read it back within the TTL cannot check this.)
    if written.elapsed() < SHORT {
        assert_eq!(before_expiry, Some(b"s".to_vec()));
    }
    s.put("short-take", b"s".to_vec(), short).await.unwrap();
    assert!(s.put_new("short-new", b"s".to_vec(), short).await.unwrap());
    s.put("zero", b"z".to_vec(), Ttl::For(Duration::ZERO))
        .await
        .unwrap();
    s.put("long", b"l".to_vec(), MINUTE).await.unwrap();
    s.put("forever", b"f".to_vec(), Ttl::Forever).await.unwrap();
    // Writing again replaces the TTL too: this one no longer expires.
    s.put("renewed", b"r".to_vec(), short).await.unwrap();
    s.put("renewed", b"r2".to_vec(), Ttl::Forever)
        .await
        .unwrap();

    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(s.get("short").await.unwrap(), None);
    assert_eq!(s.take("short-take").await.unwrap(), None);
    assert_eq!(s.get("short-new").await.unwrap(), None);
    assert_eq!(s.get("zero").await.unwrap(), None);
    // An expired key is absent for put_new.
    assert!(
        s.put_new("short-new", b"again".to_vec(), MINUTE)
            .await
            .unwrap()
    );
    assert_eq!(s.get("short-new").await.unwrap(), Some(b"again".to_vec()));
    assert_eq!(s.get("long").await.unwrap(), Some(b"l".to_vec()));
    assert_eq!(s.get("forever").await.unwrap(), Some(b"f".to_vec()));
    assert_eq!(s.get("renewed").await.unwrap(), Some(b"r2".to_vec()));
}

const RACERS: usize = 50;

/// Runs `RACERS` copies of `op` (given its index) at once, released together.
async fn race<T, F, Fut>(store: &Arc<dyn Store>, op: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let start = start.clone();
            let op = op(store.clone(), i);
            tokio::spawn(async move {
                start.wait().await;
                op.await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn one_of_many_concurrent_takes_gets_the_value(b: Backend) {
    b.store
        .put("code", b"the-code".to_vec(), MINUTE)
        .await
        .unwrap();
    let results = race(
        &b.store,
        |s, _| async move { s.take("code").await.unwrap() },
    )
    .await;
    let winners: Vec<_> = results.into_iter().flatten().collect();
    assert_eq!(winners, vec![b"the-code".to_vec()]);
    assert_eq!(b.store.get("code").await.unwrap(), None);
}

async fn one_of_many_concurrent_put_news_writes(b: Backend) {
    let results = race(&b.store, |s, i| async move {
        let written = s
            .put_new("lock", i.to_string().into_bytes(), MINUTE)
            .await
            .unwrap();
        (i, written)
    })
    .await;
    let winners: Vec<usize> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "put_new wrote for racers {winners:?}");
    assert_eq!(
        b.store.get("lock").await.unwrap(),
        Some(winners[0].to_string().into_bytes())
    );
}

async fn sets_add_list_and_remove_members(b: Backend) {
    let s = &b.store;
    assert!(s.set_members("sites").await.unwrap().is_empty());
    for member in ["shop", "forum", "shop"] {
        s.add_to_set("sites", member, MINUTE).await.unwrap();
    }
    let mut members = s.set_members("sites").await.unwrap();
    members.sort();
    assert_eq!(members, ["forum", "shop"]);
    s.remove_from_set("sites", "shop").await.unwrap();
    s.remove_from_set("sites", "never-added").await.unwrap();
    s.remove_from_set("no-such-set", "shop").await.unwrap();
    assert_eq!(s.set_members("sites").await.unwrap(), ["forum"]);
    // The last member gone, the set is gone: nothing left to extend.
    s.remove_from_set("sites", "forum").await.unwrap();
    assert!(!s.expire("sites", MINUTE).await.unwrap());
    // delete and expire work on sets as on values.
    s.add_to_set("other", "blog", MINUTE).await.unwrap();
    assert!(s.expire("other", Ttl::Forever).await.unwrap());
    s.delete("other").await.unwrap();
    assert!(s.set_members("other").await.unwrap().is_empty());
    // A value is not a set, nor a set a value: refused, not misread.
    s.put("value", b"v".to_vec(), MINUTE).await.unwrap();
    assert!(s.set_members("value").await.is_err());
    s.add_to_set("set", "m", MINUTE).await.unwrap();
    assert!(s.get("set").await.is_err());
    assert!(s.take("set").await.is_err());
    assert_eq!(s.set_members("set").await.unwrap(), ["m"]);
}

async fn sets_expire_with_their_ttl_and_extend_with_each_add(b: Backend) {
    let s = &b.store;
    s.add_to_set("short", "a", Ttl::For(SHORT)).await.unwrap();
    s.add_to_set("renewed", "a", Ttl::For(SHORT)).await.unwrap();
    s.add_to_set("renewed", "b", MINUTE).await.unwrap();
    s.add_to_set("forever", "a", Ttl::For(SHORT)).await.unwrap();
    s.add_to_set("forever", "b", Ttl::Forever).await.unwrap();
    tokio::time::sleep(PAST_SHORT).await;
    assert!(s.set_members("short").await.unwrap().is_empty());
    for key in ["renewed", "forever"] {
        let mut members = s.set_members(key).await.unwrap();
        members.sort();
        assert_eq!(members, ["a", "b"], "{key}");
    }
    // An expired set starts afresh.
    s.add_to_set("short", "c", MINUTE).await.unwrap();
    assert_eq!(s.set_members("short").await.unwrap(), ["c"]);
}

async fn every_one_of_many_concurrent_adds_lands(b: Backend) {
    // Several instances adding sites to one SSO session at the same moment.
    race(&b.store, |s, i| async move {
        s.add_to_set("sites", &format!("site-{i}"), MINUTE)
            .await
            .unwrap()
    })
    .await;
    let mut members = b.store.set_members("sites").await.unwrap();
    members.sort();
    let mut expected: Vec<String> = (0..RACERS).map(|i| format!("site-{i}")).collect();
    expected.sort();
    assert_eq!(members, expected);
}

// ---- Redis only ----

#[tokio::test]
async fn redis_keys_carry_the_prefix_and_ttls() {
    let server = RedisServer::start().await;
    let s = RedisStore::open(&server.url()).unwrap();
    s.put("code:a", b"1".to_vec(), MINUTE).await.unwrap();
    assert!(
        s.put_new("lock:b", b"2".to_vec(), Ttl::Forever)
            .await
            .unwrap()
    );
    s.put("c", b"3".to_vec(), MINUTE).await.unwrap();
    assert_eq!(
        server.keys().await,
        ["socialgate:c", "socialgate:code:a", "socialgate:lock:b"]
    );
    let pttl: i64 = server.command(&["PTTL", "socialgate:code:a"]).await;
    // Milliseconds, from a minute (less however long this test took so far).
    assert!((50_000..=60_000).contains(&pttl), "PTTL {pttl}");
    let ttl: i64 = server.command(&["TTL", "socialgate:lock:b"]).await;
    assert_eq!(ttl, -1, "Ttl::Forever sets no expiry");
    let raw: Vec<u8> = server.command(&["GET", "socialgate:code:a"]).await;
    assert_eq!(raw, b"1");
    // A set is a Redis set, its TTL set with it.
    s.add_to_set("sso-clients:x", "shop", MINUTE).await.unwrap();
    let members: Vec<String> = server
        .command(&["SMEMBERS", "socialgate:sso-clients:x"])
        .await;
    assert_eq!(members, ["shop"]);
    let pttl: i64 = server.command(&["PTTL", "socialgate:sso-clients:x"]).await;
    assert!((50_000..=60_000).contains(&pttl), "PTTL {pttl}");
    s.delete("sso-clients:x").await.unwrap();

    // Other applications' keys in the same Redis are neither seen nor touched.
    let _: () = server.command(&["SET", "c", "theirs"]).await;
    assert_eq!(s.get("c").await.unwrap(), Some(b"3".to_vec()));
    s.delete("c").await.unwrap();
    assert_eq!(s.take("code:a").await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(server.keys().await, ["c", "socialgate:lock:b"]);
    assert!(s.is_shared());
    assert!(!MemoryStore::new().is_shared());
}

/// Every operation in turn, expecting each to fail as `Unavailable` within `BOUND`.
async fn assert_all_unavailable(s: &dyn Store) {
    assert_unavailable("ping", s.ping()).await;
    assert_unavailable("put", s.put("k", b"v".to_vec(), MINUTE)).await;
    assert_unavailable("put_new", s.put_new("k", b"v".to_vec(), MINUTE)).await;
    assert_unavailable("get", s.get("k")).await;
    assert_unavailable("take", s.take("k")).await;
    assert_unavailable("delete", s.delete("k")).await;
    assert_unavailable("add_to_set", s.add_to_set("s", "m", MINUTE)).await;
    assert_unavailable("set_members", s.set_members("s")).await;
}

async fn assert_unavailable<T: std::fmt::Debug>(
    name: &str,
    op: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    let result = tokio::time::timeout(BOUND, op)
        .await
        .unwrap_or_else(|_| panic!("{name} did not return within {BOUND:?} with Redis down"));
    match result {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("{name} with Redis down: {other:?}"),
    }
    eprintln!("{name} failed after {:?}", started.elapsed());
}

/// Waits until the store answers again, then checks it fully works.
async fn assert_recovers(s: &dyn Store) {
    let started = Instant::now();
    // Reconnecting happens in the background: ask until it has.
    loop {
        match s.ping().await {
            Ok(()) => break,
            Err(_) if started.elapsed() < BOUND => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the store did not recover within {BOUND:?}: {e}"),
        }
    }
    eprintln!("recovered after {:?}", started.elapsed());
    s.put("after", b"a".to_vec(), MINUTE).await.unwrap();
    assert!(s.put_new("after-new", b"n".to_vec(), MINUTE).await.unwrap());
    assert_eq!(s.get("after").await.unwrap(), Some(b"a".to_vec()));
    assert_eq!(s.take("after").await.unwrap(), Some(b"a".to_vec()));
    s.delete("after-new").await.unwrap();
    assert_eq!(s.get("after-new").await.unwrap(), None);
}

/// Every operation at once, as concurrent requests would: each fails as `Unavailable`.
async fn assert_all_unavailable_at_once(s: &dyn Store) {
    let all = async {
        tokio::join!(
            s.ping(),
            s.put("k", b"v".to_vec(), MINUTE),
            s.put_new("k", b"v".to_vec(), MINUTE),
            s.get("k"),
            s.take("k"),
            s.delete("k"),
        )
    };
    let (ping, put, put_new, get, take, delete) = tokio::time::timeout(BOUND, all)
        .await
        .unwrap_or_else(|_| panic!("operations did not return within {BOUND:?} with Redis down"));
    let unavailable = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Unavailable(_)));
    assert!(unavailable(ping), "ping");
    assert!(unavailable(put), "put");
    assert!(unavailable(put_new.map(drop)), "put_new");
    assert!(unavailable(get.map(drop)), "get");
    assert!(unavailable(take.map(drop)), "take");
    assert!(unavailable(delete), "delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_fast_and_the_same_store_recovers() {
    let mut server = RedisServer::start().await;
    let s = RedisStore::open(&server.url()).unwrap();
    s.put("before", b"b".to_vec(), MINUTE).await.unwrap();

    // Twice: the second outage comes after the store has already reconnected once.
    for _ in 0..2 {
        server.stop();
        assert_all_unavailable(&s).await;
        // Still down, still failing (the client's own retries are long used up by now).
        assert_all_unavailable_at_once(&s).await;
        server.restart().await;
        assert_recovers(&s).await;
    }
    // The restarted server is empty (no persistence): what was there is gone, not stale.
    assert_eq!(s.get("before").await.unwrap(), None);
}

/// Longest a request may wait for a Redis that does not answer: the store's 2 s, and slack.
const HUNG_BOUND: Duration = Duration::from_millis(3000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_accepts_but_never_answers_fails_within_the_timeout() {
    // A hung Redis (or a proxy in front of a dead one): connections open, nothing answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let s = RedisStore::open(&format!("redis://127.0.0.1:{port}/0")).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let result = s.get("k").await;
        let waited = started.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert!(waited < HUNG_BOUND, "waited {waited:?}");
    }
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_mid_connection_fails_within_the_timeout_then_answers_again() {
    let server = RedisServer::start().await;
    let s = RedisStore::open(&server.url()).unwrap();
    s.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    server.pause();
    for op in ["get", "put"] {
        let started = Instant::now();
        let result = match op {
            "get" => s.get("k").await.map(drop),
            _ => s.put("k", b"w".to_vec(), MINUTE).await,
        };
        let waited = started.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{op}: {result:?}"
        );
        assert!(waited < HUNG_BOUND, "{op} waited {waited:?}");
    }
    server.resume();
    assert_recovers(&s).await;
    // The data survived the pause; the put that timed out may or may not have landed.
    let value = s.get("k").await.unwrap().unwrap();
    assert!(value == b"v" || value == b"w", "{value:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_opened_while_redis_is_down_connects_once_it_is_up() {
    let mut server = RedisServer::start().await;
    server.stop();
    let s = RedisStore::open(&server.url()).unwrap();
    assert_all_unavailable(&s).await;
    server.restart().await;
    assert_recovers(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_recovers_once_its_password_is_accepted() {
    // The admin set a password in the gateway before setting it on Redis.
    let mut server = RedisServer::start_with(&["--requirepass", "old-p4ss"]).await;
    let url = format!("redis://:new-p4ss@127.0.0.1:{}/0", server.port());
    let s = RedisStore::open(&url).unwrap();
    let started = Instant::now();
    match tokio::time::timeout(BOUND, s.ping()).await.unwrap() {
        Err(StoreError::Unavailable(msg)) => assert!(!msg.contains("new-p4ss"), "{msg}"),
        other => panic!("ping with a wrong password: {other:?}"),
    }
    eprintln!("wrong password refused after {:?}", started.elapsed());
    server.restart_with(&["--requirepass", "new-p4ss"]).await;
    assert_recovers(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_recovers_after_redis_refused_it_as_too_many_clients() {
    let server = RedisServer::start().await;
    // One client, and that one is taken.
    let mut hog = server.connection().await;
    let _: () = ::redis::cmd("CONFIG")
        .arg(&["SET", "maxclients", "1"])
        .query_async(&mut hog)
        .await
        .unwrap();
    let s = RedisStore::open(&server.url()).unwrap();
    match tokio::time::timeout(BOUND, s.ping()).await.unwrap() {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("ping with Redis full: {other:?}"),
    }
    drop(hog);
    assert_recovers(&s).await;
}

#[tokio::test]
async fn redis_errors_never_show_the_password() {
    // Nothing listens on port 1: the store opens (it connects lazily), then fails.
    let s = store::open("redis://:p4ssw0rd@127.0.0.1:1/0", Default::default()).unwrap();
    let e = tokio::time::timeout(BOUND, s.get("k"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(!shown.contains("p4ssw0rd"), "{shown}");
    }

    for url in [
        "redis://:p4ssw0rd@127.0.0.1:notaport/0",
        "rediss://user:p4ssw0rd@[::1/0",
    ] {
        let e = store::open(url, Default::default()).err().expect(url);
        assert!(matches!(e, StoreError::BadUrl(_)), "{url}: {e:?}");
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains("p4ssw0rd"), "{shown}");
        }
    }

    let e = store::open(
        "mysql://root:p4ssw0rd@db.example.ru/app",
        Default::default(),
    )
    .err()
    .unwrap();
    let StoreError::BadUrl(msg) = &e else {
        panic!("{e:?}")
    };
    assert!(msg.contains("\"mysql\""), "{msg}");
    for secret in ["p4ssw0rd", "root", "db.example.ru", "/app"] {
        assert!(!msg.contains(secret), "{msg}");
    }
    assert!(
        !store::open("memory://", Default::default())
            .unwrap()
            .is_shared()
    );
    assert!(
        store::open("redis://127.0.0.1:1/0", Default::default())
            .unwrap()
            .is_shared()
    );
}

// ---- Browser sessions over either store ----

fn record(expires_in: time::Duration, user: &str) -> Record {
    Record {
        id: Id::default(),
        data: HashMap::from([("user".to_string(), serde_json::json!(user))]),
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

async fn sessions_create_save_load_delete(b: Backend) {
    let sessions = BrowserSessions::new(b.store.clone());
    let mut r = record(time::Duration::hours(1), "ok:1");
    let id = r.id;
    sessions.create(&mut r).await.unwrap();
    assert_eq!(r.id, id, "no collision, so the id stays");
    assert_eq!(sessions.load(&id).await.unwrap(), Some(r.clone()));

    r.data.insert("step".into(), serde_json::json!(2));
    sessions.save(&r).await.unwrap();
    assert_eq!(sessions.load(&id).await.unwrap(), Some(r.clone()));

    if let Some(keys) = b.redis_keys().await {
        // Redis holds the session under a hash of its id: the cookie's value is not in it.
        let hash = socialgate::primitives::hash_secret(&id.to_string());
        assert_eq!(keys, [format!("socialgate:browser:{hash}")]);
        assert!(!keys[0].contains(&id.to_string()));
    }
    // Nor in the value: whoever reads the store cannot rebuild the cookie.
    let hash = socialgate::primitives::hash_secret(&id.to_string());
    let stored = b
        .store
        .get(&format!("browser:{hash}"))
        .await
        .unwrap()
        .unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(!stored.contains(&id.to_string()), "{stored}");
    assert!(!stored.contains(&id.0.to_string()), "{stored}");
    assert!(stored.contains("\"step\":2"), "{stored}");

    sessions.delete(&id).await.unwrap();
    assert_eq!(sessions.load(&id).await.unwrap(), None);
    assert_eq!(sessions.load(&Id::default()).await.unwrap(), None);
    // Deleting a session that is gone is fine.
    sessions.delete(&id).await.unwrap();
}

/// A record written by an earlier version (tower-sessions' own format, its id inside) still
/// loads, and the next save drops the id.
async fn sessions_written_with_their_id_still_load(b: Backend) {
    let sessions = BrowserSessions::new(b.store.clone());
    let r = record(time::Duration::hours(1), "ok:1");
    let key = format!(
        "browser:{}",
        socialgate::primitives::hash_secret(&r.id.to_string())
    );
    let old = serde_json::to_vec(&r).unwrap();
    assert!(String::from_utf8_lossy(&old).contains(&r.id.0.to_string()));
    b.store.put(&key, old, MINUTE).await.unwrap();
    assert_eq!(sessions.load(&r.id).await.unwrap(), Some(r.clone()));
    sessions.save(&r).await.unwrap();
    let rewritten = String::from_utf8(b.store.get(&key).await.unwrap().unwrap()).unwrap();
    assert!(!rewritten.contains(&r.id.0.to_string()), "{rewritten}");
    assert_eq!(sessions.load(&r.id).await.unwrap(), Some(r));
}

async fn session_create_never_overwrites_another_session(b: Backend) {
    let sessions = BrowserSessions::new(b.store.clone());
    let mut first = record(time::Duration::hours(1), "ok:1");
    sessions.create(&mut first).await.unwrap();
    let mut second = record(time::Duration::hours(1), "vk:2");
    second.id = first.id;
    sessions.create(&mut second).await.unwrap();
    assert_ne!(second.id, first.id, "a colliding id is drawn again");
    assert_eq!(sessions.load(&first.id).await.unwrap(), Some(first));
    assert_eq!(sessions.load(&second.id).await.unwrap(), Some(second));
}

async fn sessions_expire_at_their_expiry_date(b: Backend) {
    let sessions = BrowserSessions::new(b.store.clone());
    let mut short = record(time::Duration::try_from(SHORT).unwrap(), "ok:1");
    let written = Instant::now();
    sessions.create(&mut short).await.unwrap();
    let before_expiry = sessions.load(&short.id).await.unwrap();
    // (A machine too loaded to read it back within the TTL cannot check this.)
    if written.elapsed() < SHORT {
        assert_eq!(before_expiry, Some(short.clone()));
    }
    let mut long = record(time::Duration::hours(1), "ok:2");
    sessions.create(&mut long).await.unwrap();
    // Saved already expired (the clock moved on): as good as absent.
    let mut past = record(time::Duration::seconds(-1), "ok:3");
    sessions.create(&mut past).await.unwrap();

    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(sessions.load(&short.id).await.unwrap(), None);
    assert_eq!(sessions.load(&past.id).await.unwrap(), None);
    assert_eq!(sessions.load(&long.id).await.unwrap(), Some(long));
}

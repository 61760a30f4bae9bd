//! Redis without a single point of failure, on real servers this file starts on loopback: a
//! cluster of three primaries (each with a replica) serving two gateway instances, and a
//! Sentinel-managed primary and replica whose primary is killed while people log in. Every
//! store operation on both layouts is checked in `tests/store.rs`; here: whole logins, where
//! keys land, what waits for replicas, and what a failover costs.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use socialgate::store::{RedisStore, Store, StoreError, Ttl, Wait};
use support::redis::{RedisCluster, RedisServer, SERVICE, SentinelGroup, wait_until};
use support::site::FakeSite;
use support::*;
use url::Url;

const MINUTE: Ttl = Ttl::For(Duration::from_secs(60));
/// How long one HTTP request may take while Redis fails over: a request makes a few store
/// calls, each bounded by the store's 2 s; beyond this it hangs.
const REQUEST_BOUND: Duration = Duration::from_secs(5);
/// How long writes wait for a replica here: the most allowed, so that a machine starved by
/// other work does not make a healthy replica look lost (which stops the waiting for 5 s).
const PATIENT: Wait = Wait {
    replicas: 1,
    timeout: Duration::from_secs(1),
};
const PATIENT_TOML: &str = "wait_timeout = \"1s\"";

/// Panics in the gateway's tasks (tokio catches them; the hook still sees them), told from
/// a failed assertion of a test by the thread they happen on.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// The shop's login through OK, with a refresh token (`offline_access`).
fn shop_login(gw: &TestGateway) -> String {
    gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid profile offline_access"),
        ("state", "st-9"),
        ("provider", "ok"),
    ])
}

/// The forum's login, through the SSO session when there is one.
fn forum_login(gw: &TestGateway) -> String {
    gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", FORUM),
        ("redirect_uri", FORUM_REDIRECT),
        ("scope", "openid profile"),
        ("state", "st-10"),
    ])
}

async fn status_of(url: &str) -> u16 {
    browser().get(url).send().await.unwrap().status().as_u16()
}

async fn wait_ready(instance: &str) {
    let url = format!("{instance}/readyz");
    wait_until(&format!("{url} ready"), Duration::from_secs(30), || async {
        status_of(&url).await == 200
    })
    .await;
}

async fn refresh(gw: &TestGateway, refresh_token: &str) -> (u16, serde_json::Value) {
    token_request(
        gw,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await
}

fn text(v: &serde_json::Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_string()
}

// ---- Cluster ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_two_instances_with_keys_on_every_primary() {
    count_panics();
    let cluster = RedisCluster::start(3, 1).await;
    let shop_site = FakeSite::start().await;
    let forum_site = FakeSite::start().await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(cluster.url()),
        instances: 2,
        shop_extra: format!("backchannel_logout_uri = \"{}\"", shop_site.url),
        forum_extra: format!("backchannel_logout_uri = \"{}\"", forum_site.url),
        extra_toml: "[limits]\nlogins_per_address = \"off\"".into(),
        ..Options::default()
    })
    .await;
    wait_ready(&gw.instances[0]).await;
    wait_ready(&gw.instances[1]).await;
    let waits_before = cluster.calls("wait").await;

    const PEOPLE: usize = 6;
    for person_no in 1..=PEOPLE {
        let person = browser();
        // Each step on the other instance than the one before.
        gw.route_to(person_no % 2);
        let site = follow_with(&person, &shop_login(&gw)).await.site();
        let code = param(&site, "code").unwrap();
        gw.route_to((person_no + 1) % 2);
        let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
        assert_eq!(status, 200, "{tokens}");
        let sub = jwt_claims(&text(&tokens, "id_token"))["sub"].clone();
        for instance in &gw.instances {
            let (status, _, claims) = userinfo_at(instance, &text(&tokens, "access_token")).await;
            assert_eq!(status, 200, "{claims}");
            assert_eq!(claims["sub"], sub);
        }
        gw.route_to(person_no % 2);
        let (status, refreshed) = refresh(&gw, &text(&tokens, "refresh_token")).await;
        assert_eq!(status, 200, "{refreshed}");

        // The SSO session, joined by the forum without the network.
        let network_logins = gw.ok.calls("token");
        let forum = follow_with(&person, &forum_login(&gw)).await.site();
        assert_eq!(gw.ok.calls("token"), network_logins);
        let code = param(&forum, "code").unwrap();
        let (status, forum_tokens) = redeem(&gw, &code, FORUM_REDIRECT, FORUM, FORUM_SECRET).await;
        assert_eq!(status, 200, "{forum_tokens}");

        // Logout through the other instance: both sites are told, the session's tokens are
        // refused (the shop's offline_access ones outlive it, OIDC Core §11).
        gw.route_to((person_no + 1) % 2);
        let logout = format!(
            "{}/logout?id_token_hint={}",
            gw.issuer,
            text(&tokens, "id_token")
        );
        let (status, _) = follow_with(&person, &logout).await.page();
        assert_eq!(status, 200);
        for (site, client) in [(&shop_site, SHOP), (&forum_site, FORUM)] {
            let notices = site.wait_for_tokens(person_no).await;
            assert_eq!(notices.len(), person_no, "{client}");
            assert_eq!(jwt_claims(&notices[person_no - 1])["aud"], client);
        }
        let (status, _, _) = userinfo(&gw, &text(&forum_tokens, "access_token")).await;
        assert_eq!(status, 401);
        let (status, _, _) = userinfo(&gw, &text(&refreshed, "access_token")).await;
        assert_eq!(status, 200);
    }

    // Keys spread over every primary (one key per operation: nothing pins them to a slot),
    // all under the prefix.
    let per_primary = cluster.keys_per_primary().await;
    for (i, keys) in per_primary.iter().enumerate() {
        assert!(
            !keys.is_empty(),
            "primary {i} holds no key: {per_primary:?}"
        );
        assert!(
            keys.iter().all(|k| k.starts_with("socialgate:")),
            "{keys:?}"
        );
    }
    // Writes people rely on waited for a replica, on the primary that holds each key.
    assert!(cluster.calls("wait").await > waits_before);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_writes_wait_for_the_replica_of_their_own_primary() {
    let cluster = RedisCluster::start(3, 1).await;
    let store = RedisStore::open_with(&cluster.url(), Some(PATIENT), Vec::new()).unwrap();
    store.ping().await.unwrap();
    let waits_before = cluster.calls("wait").await;
    const KEYS: usize = 30;
    for i in 0..KEYS {
        store
            .put(&format!("code:{i}"), vec![b'v'], MINUTE)
            .await
            .unwrap();
    }
    // One WAIT per write, none fell short (a shortfall would pause the next ones).
    assert_eq!(cluster.calls("wait").await - waits_before, KEYS as u64);
    // Each key is on its primary's replica the moment the write returned.
    for (i, primary) in cluster.nodes[..3].iter().enumerate() {
        let replica = &cluster.nodes[3 + i];
        let mine = primary.keys().await;
        assert!(!mine.is_empty(), "primary {i} got none of {KEYS} keys");
        assert_eq!(replica.keys().await, mine, "primary {i}'s replica");
    }
    assert_eq!(cluster.keys().await.len(), KEYS);
}

// ---- Sentinel ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_wait_for_the_replica_and_transient_ones_do_not() {
    let group = SentinelGroup::start(1).await;
    let timeout = PATIENT.timeout;
    let store = RedisStore::open_with(&group.url(), Some(PATIENT), vec!["login:"]).unwrap();
    store.ping().await.unwrap();
    let primary = &group.primary;
    let waits = primary.calls("wait").await;

    store.put("code:a", b"v".to_vec(), MINUTE).await.unwrap();
    assert_eq!(primary.calls("wait").await, waits + 1);
    // On the replica the moment the write returned.
    let copy: Option<String> = group.replica.command(&["GET", "socialgate:code:a"]).await;
    assert_eq!(copy.as_deref(), Some("v"));
    // Every kind of write waits; reads and transient keys do not.
    assert!(store.put_new("lock:a", vec![], MINUTE).await.unwrap());
    store
        .add_to_set("sso-clients:a", "shop", MINUTE)
        .await
        .unwrap();
    store
        .remove_from_set("sso-clients:a", "shop")
        .await
        .unwrap();
    assert!(store.expire("code:a", Ttl::Forever).await.unwrap());
    assert_eq!(store.take("code:a").await.unwrap(), Some(b"v".to_vec()));
    store.delete("lock:a").await.unwrap();
    assert_eq!(primary.calls("wait").await, waits + 7);
    store.put("login:a", vec![], MINUTE).await.unwrap();
    store
        .count("login:n", Duration::from_secs(60))
        .await
        .unwrap();
    store.get("code:a").await.unwrap();
    store.set_members("sso-clients:a").await.unwrap();
    assert_eq!(primary.calls("wait").await, waits + 7);

    // What WAIT costs, for the README: the same writes with and without it.
    const ROUNDS: u32 = 300;
    let started = Instant::now();
    for i in 0..ROUNDS {
        store
            .put(&format!("code:{i}"), vec![0; 200], MINUTE)
            .await
            .unwrap();
    }
    let waited = started.elapsed() / ROUNDS;
    let started = Instant::now();
    for i in 0..ROUNDS {
        store
            .put(&format!("login:{i}"), vec![0; 200], MINUTE)
            .await
            .unwrap();
    }
    let plain = started.elapsed() / ROUNDS;
    eprintln!(
        "WAIT 1 cost on loopback: {waited:?} per write with it, {plain:?} without \
         ({ROUNDS} sequential writes each)"
    );
    assert_eq!(primary.calls("wait").await, waits + 7 + u64::from(ROUNDS));

    // The replica frozen: a write waits out the timeout, then stands on the primary alone;
    // the writes after it do not wait while the replica stays short.
    group.replica.pause();
    let started = Instant::now();
    store
        .put("code:frozen", b"f".to_vec(), MINUTE)
        .await
        .unwrap();
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
    let on_primary: Option<String> = primary.command(&["GET", "socialgate:code:frozen"]).await;
    assert_eq!(on_primary.as_deref(), Some("f"));
    let waits = primary.calls("wait").await;
    store
        .put("code:after", b"a".to_vec(), MINUTE)
        .await
        .unwrap();
    assert_eq!(primary.calls("wait").await, waits);
    group.replica.resume();
}

#[tokio::test]
async fn sentinel_urls_carry_the_data_nodes_and_the_sentinels_passwords() {
    // The primary and the Sentinel each want a password of their own.
    let primary = RedisServer::start_with(&["--requirepass", "data-s3cret"]).await;
    let sentinel = RedisServer::start_sentinel_with(
        SERVICE,
        primary.port(),
        1,
        &format!("sentinel auth-pass {SERVICE} data-s3cret\nrequirepass sent%s3cret"),
    )
    .await;
    let no_wait = Some(Wait {
        replicas: 0,
        timeout: PATIENT.timeout,
    });
    let at = |userinfo: &str, query: &str| {
        format!(
            "redis+sentinel://{userinfo}127.0.0.1:{}/{SERVICE}{query}",
            sentinel.port()
        )
    };
    let store = RedisStore::open_with(
        &at(":data-s3cret@", "?sentinel_password=sent%25s3cret"),
        no_wait,
        Vec::new(),
    )
    .unwrap();
    store.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"v".to_vec()));

    // A wrong password for either: unavailable, and the error shows neither password.
    for url in [
        at(":wrong-s3cret@", "?sentinel_password=sent%25s3cret"),
        at(":data-s3cret@", "?sentinel_password=wrong-s3cret"),
        at(":data-s3cret@", ""),
    ] {
        let store = RedisStore::open_with(&url, no_wait, Vec::new()).unwrap();
        let e = store.get("k").await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{url}: {e:?}");
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }
}

/// How one login attempt ended.
enum Outcome {
    /// Tokens for the site.
    Completed(serde_json::Value),
    /// The gateway said 503 at this step.
    Unavailable(String),
    /// A login under way when the primary died, its pending state not yet on the replica
    /// (it does not wait: see TRANSIENT_KEYS): the network's callback finds nothing, 400.
    Abandoned,
    /// Anything else: a failure of the test.
    Unexpected(String),
}

/// Everything the login workers saw.
#[derive(Default)]
struct Tally {
    /// Tokens, and when their login started.
    completed: Vec<(Instant, serde_json::Value)>,
    unavailable: Vec<String>,
    abandoned: usize,
    unexpected: Vec<String>,
    slowest: Duration,
}

/// One GET or POST, bounded: `Err` when it fails or hangs.
async fn bounded(
    request: reqwest::RequestBuilder,
    slowest: &mut Duration,
) -> Result<reqwest::Response, String> {
    let started = Instant::now();
    let result = tokio::time::timeout(REQUEST_BOUND, request.send()).await;
    *slowest = (*slowest).max(started.elapsed());
    match result {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(format!("no answer: {e}")),
        Err(_) => Err(format!("no answer within {REQUEST_BOUND:?}")),
    }
}

/// A new person logs in at the shop through OK and the shop redeems the code.
async fn log_in(issuer: &str, authorize: &str, slowest: &mut Duration) -> Outcome {
    let person = browser();
    let mut url = authorize.to_string();
    let mut site = None;
    for _ in 0..10 {
        let response = match bounded(person.get(&url), slowest).await {
            Ok(r) => r,
            Err(e) => return Outcome::Unexpected(format!("{url}: {e}")),
        };
        let status = response.status().as_u16();
        let step = Url::parse(&url).unwrap().path().to_string();
        match status {
            300..=399 => {
                let next = Url::parse(&url)
                    .unwrap()
                    .join(&location(&response))
                    .unwrap();
                if next.host_str() != Some("127.0.0.1") {
                    site = Some(next);
                    break;
                }
                url = next.to_string();
            }
            503 => return Outcome::Unavailable(step),
            400 if step.starts_with("/callback/") => return Outcome::Abandoned,
            _ => {
                let body = response.text().await.unwrap_or_default();
                return Outcome::Unexpected(format!("{step}: {status}: {body:.300}"));
            }
        }
    }
    let Some(code) = site.as_ref().and_then(|s| param(s, "code")) else {
        return Outcome::Unexpected(format!("no code for the site: {site:?}"));
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SHOP_REDIRECT),
        ("client_id", SHOP),
        ("client_secret", SHOP_SECRET),
    ];
    let request = browser().post(format!("{issuer}/token")).form(&form);
    match bounded(request, slowest).await {
        Ok(r) if r.status() == 200 => match r.json().await {
            Ok(tokens) => Outcome::Completed(tokens),
            Err(e) => Outcome::Unexpected(format!("/token: {e}")),
        },
        Ok(r) if r.status() == 503 => Outcome::Unavailable("/token".into()),
        Ok(r) => Outcome::Unexpected(format!(
            "/token: {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        )),
        Err(e) => Outcome::Unexpected(format!("/token: {e}")),
    }
}

/// Logs people in, one after another, until `stop`.
async fn login_worker(
    issuer: String,
    authorize: String,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let mut slowest = Duration::ZERO;
        let outcome = log_in(&issuer, &authorize, &mut slowest).await;
        {
            let mut tally = tally.lock().unwrap();
            tally.slowest = tally.slowest.max(slowest);
            match outcome {
                Outcome::Completed(tokens) => tally.completed.push((started, tokens)),
                Outcome::Unavailable(step) => tally.unavailable.push(step),
                Outcome::Abandoned => tally.abandoned += 1,
                Outcome::Unexpected(what) => tally.unexpected.push(what),
            }
        }
        // A 503 is answered at once: breathe rather than spin.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What happened to logins while a primary died and a replica took over.
struct Failover {
    tally: Tally,
    /// Logins completed before the kill.
    before_kill: usize,
    /// From the kill until the replica was promoted.
    promoted: Duration,
    /// From the kill until a login started after the promotion completed.
    resumed: Duration,
    /// The slowest request before the kill.
    slowest_before: Duration,
}

/// Two people log in over and over through `gw`; after 6 logins `kill` runs, then logins go
/// on until `promoted` holds and 6 logins started after it have completed.
async fn logins_through_failover<P, Fut>(
    gw: &TestGateway,
    kill: impl FnOnce(),
    promoted: P,
) -> Failover
where
    P: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(login_worker(
                gw.issuer.clone(),
                shop_login(gw),
                tally.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let completed = |tally: &Mutex<Tally>| tally.lock().unwrap().completed.len();
    // The balancer sends each new connection to one instance: alternate them as we poll.
    let mut flip = 0;
    let mut step = || {
        flip += 1;
        gw.route_to(flip % 2);
    };
    while completed(&tally) < 6 {
        step();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before_kill = completed(&tally);
    let slowest_before = tally.lock().unwrap().slowest;

    let killed = Instant::now();
    kill();
    let deadline = killed + Duration::from_secs(60);
    while !promoted().await {
        step();
        assert!(Instant::now() < deadline, "no replica was promoted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let promoted = killed.elapsed();
    // Service resumes by itself: logins started after the promotion complete.
    let after = |tally: &Mutex<Tally>| {
        let t = tally.lock().unwrap();
        t.completed
            .iter()
            .filter(|(started, _)| *started > killed + promoted)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut resumed = None;
    while after(&tally) < 6 {
        if resumed.is_none() && after(&tally) > 0 {
            resumed = Some(killed.elapsed());
        }
        step();
        assert!(Instant::now() < deadline, "service did not resume");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = resumed.unwrap_or_else(|| killed.elapsed());
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    Failover {
        tally,
        before_kill,
        promoted,
        resumed,
        slowest_before,
    }
}

impl Failover {
    /// Prints what happened; asserts that every refusal was a 503, that some requests met
    /// the failover, and that none hung.
    fn report(&self, layout: &str) {
        let tally = &self.tally;
        let mut refusals = std::collections::BTreeMap::<&str, usize>::new();
        for step in &tally.unavailable {
            *refusals.entry(step.as_str()).or_default() += 1;
        }
        eprintln!(
            "{layout} failover: primary killed; replica promoted after {:?}; logins completed \
             again from {:?}; {} logins before the kill, {} in all; 503 answers by step \
             {refusals:?}; {} logins abandoned mid-way; slowest request {:?} (before the \
             kill: {:?})",
            self.promoted,
            self.resumed,
            self.before_kill,
            tally.completed.len(),
            tally.abandoned,
            tally.slowest,
            self.slowest_before,
        );
        assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);
        assert!(
            !tally.unavailable.is_empty(),
            "no request met the failover: the test did not test it"
        );
        assert!(tally.slowest < REQUEST_BOUND);
    }

    /// Every login a site completed, before the kill or after, still holds: the access
    /// token at either instance, the refresh token (its records survived on the replica).
    async fn assert_every_login_holds(&self, gw: &TestGateway) {
        for (_, tokens) in &self.tally.completed {
            let sub = jwt_claims(&text(tokens, "id_token"))["sub"].clone();
            for instance in &gw.instances {
                let (status, _, claims) =
                    userinfo_at(instance, &text(tokens, "access_token")).await;
                assert_eq!(status, 200, "{claims}");
                assert_eq!(claims["sub"], sub);
            }
            let (status, refreshed) = refresh(gw, &text(tokens, "refresh_token")).await;
            assert_eq!(status, 200, "{refreshed}");
        }
        for instance in &gw.instances {
            wait_ready(instance).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_primary_during_logins_loses_no_completed_login() {
    count_panics();
    // Three Sentinels, a majority of two to agree the primary is down.
    let group = SentinelGroup::start(3).await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(group.url()),
        store_extra: PATIENT_TOML.into(),
        instances: 2,
        extra_toml: "[limits]\nlogins_per_address = \"off\"".into(),
        ..Options::default()
    })
    .await;
    wait_ready(&gw.instances[0]).await;
    wait_ready(&gw.instances[1]).await;
    // What one login costs in WAITs (for the README).
    let waits = group.primary.calls("wait").await;
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    let outcome = log_in(&gw.issuer, &shop_login(&gw), &mut slowest).await;
    assert!(matches!(outcome, Outcome::Completed(_)));
    eprintln!(
        "one login, authorize to tokens: {:?}, {} writes waited for the replica",
        started.elapsed(),
        group.primary.calls("wait").await - waits
    );

    // SIGKILL, as a crash: no goodbye to the replica or the Sentinels.
    let new_port = group.replica.port();
    let failover = logins_through_failover(
        &gw,
        || group.primary.crash(),
        || async {
            let named = group.named_primaries().await;
            named.iter().all(|p| *p == Some(new_port))
        },
    )
    .await;
    failover.report("Sentinel");
    // The replica is the primary now, for the Sentinels and for itself.
    assert_eq!(
        group.replica.info("replication", "role").await.as_deref(),
        Some("master")
    );
    failover.assert_every_login_holds(&gw).await;
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_cluster_primary_during_logins_loses_no_completed_login() {
    count_panics();
    let cluster = RedisCluster::start(3, 1).await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(cluster.url()),
        store_extra: PATIENT_TOML.into(),
        instances: 2,
        extra_toml: "[limits]\nlogins_per_address = \"off\"".into(),
        ..Options::default()
    })
    .await;
    wait_ready(&gw.instances[0]).await;
    wait_ready(&gw.instances[1]).await;
    // The first primary dies; its replica takes over once the others agree it is down.
    let (primary, replica) = (&cluster.nodes[0], &cluster.nodes[3]);
    let failover = logins_through_failover(
        &gw,
        || primary.crash(),
        || async { replica.info("replication", "role").await.as_deref() == Some("master") },
    )
    .await;
    failover.report("Cluster");
    failover.assert_every_login_holds(&gw).await;
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

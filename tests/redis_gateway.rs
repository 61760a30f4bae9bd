//! Several gateway instances on one real Redis, behind one issuer: any request may reach any
//! instance; Redis going away gives 503s and readiness failures, and service comes back by
//! itself.

mod support;

use std::time::Duration;

use support::redis::RedisServer;
use support::site::FakeSite;
use support::*;
use url::Url;

async fn two_instances(redis: &RedisServer, options: Options) -> TestGateway {
    TestGateway::start_with(Options {
        store_url: Some(redis.url()),
        instances: 2,
        ..options
    })
    .await
}

/// One hop: GET `url` in the gateway's browser; returns the Location it redirects to.
async fn hop(gw: &TestGateway, url: &str) -> String {
    let response = gw.browser.get(url).send().await.unwrap();
    assert!(
        response.status().is_redirection(),
        "{url}: {}",
        response.status()
    );
    let location = response.headers()["location"].to_str().unwrap();
    Url::parse(url).unwrap().join(location).unwrap().to_string()
}

fn authorize(gw: &TestGateway, client: &str, redirect_uri: &str, provider: Option<&str>) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("scope", "openid profile"),
        ("state", "st-7"),
    ];
    if let Some(p) = provider {
        params.push(("provider", p));
    }
    gw.authorize_url(&params)
}

async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = browser().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn status_of(url: &str) -> u16 {
    browser().get(url).send().await.unwrap().status().as_u16()
}

/// Polls `/readyz` of `instance` until it answers `want` (up to 15 s).
async fn wait_ready(instance: &str, want: u16) {
    let url = format!("{instance}/readyz");
    for _ in 0..150 {
        if status_of(&url).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered {want}");
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn two_instances_serve_one_person_interchangeably() {
    let redis = RedisServer::start().await;
    let shop_site = FakeSite::start().await;
    let forum_site = FakeSite::start().await;
    let gw = two_instances(
        &redis,
        Options {
            shop_extra: format!("backchannel_logout_uri = \"{}\"", shop_site.url),
            forum_extra: format!("backchannel_logout_uri = \"{}\"", forum_site.url),
            ..Options::default()
        },
    )
    .await;
    wait_ready(&gw.instances[0], 200).await;
    wait_ready(&gw.instances[1], 200).await;
    // Both instances publish the same keys: they share them through Redis.
    let (_, jwks_a) = get_json(&format!("{}/jwks", gw.instances[0])).await;
    let (_, jwks_b) = get_json(&format!("{}/jwks", gw.instances[1])).await;
    assert_eq!(kids(&jwks_a), kids(&jwks_b));

    // Authorize on A, the network's callback on B, the token on A.
    gw.route_to(0);
    let at_ok = hop(&gw, &authorize(&gw, SHOP, SHOP_REDIRECT, Some("ok"))).await;
    let callback = hop(&gw, &at_ok).await;
    assert!(callback.starts_with(&format!("{}/callback/ok?", gw.issuer)));
    gw.route_to(1);
    let site = Url::parse(&hop(&gw, &callback).await).unwrap();
    assert_eq!(param(&site, "state").as_deref(), Some("st-7"));
    let code = param(&site, "code").unwrap();
    gw.route_to(0);
    let (status, shop_tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{shop_tokens}");
    let shop_id = jwt_claims(shop_tokens["id_token"].as_str().unwrap());
    let kid = jwt_header(shop_tokens["id_token"].as_str().unwrap())["kid"].clone();
    assert!(kids(&jwks_b).contains(&kid.as_str().unwrap().to_string()));

    // The SSO session made through A and B is seen by B: the forum's login needs no network.
    gw.route_to(1);
    let forum = gw
        .follow(&authorize(&gw, FORUM, FORUM_REDIRECT, None))
        .await
        .site();
    assert_eq!(gw.ok.calls("token"), 1);
    let code = param(&forum, "code").unwrap();
    gw.route_to(0);
    let (status, forum_tokens) = redeem(&gw, &code, FORUM_REDIRECT, FORUM, FORUM_SECRET).await;
    assert_eq!(status, 200, "{forum_tokens}");
    let forum_id = jwt_claims(forum_tokens["id_token"].as_str().unwrap());
    assert_eq!(forum_id["sub"], shop_id["sub"]);
    assert_eq!(forum_id["sid"], shop_id["sid"]);

    // The access token from A works at B.
    let (status, _, _) = userinfo_at(
        &gw.instances[1],
        forum_tokens["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    // Logout on B ends the session for A too, and both sites are told.
    gw.route_to(1);
    let logout = format!(
        "{}/logout?id_token_hint={}",
        gw.issuer,
        shop_tokens["id_token"].as_str().unwrap()
    );
    let (status, _) = gw.follow(&logout).await.page();
    assert_eq!(status, 200);
    for (site, client) in [(&shop_site, SHOP), (&forum_site, FORUM)] {
        let tokens = site.wait_for_tokens(1).await;
        assert_eq!(tokens.len(), 1);
        let claims = jwt_claims(&tokens[0]);
        assert_eq!(claims["aud"], client);
        assert_eq!(claims["sid"], shop_id["sid"]);
    }
    gw.route_to(0);
    let (status, body) = gw
        .follow(&authorize(&gw, FORUM, FORUM_REDIRECT, None))
        .await
        .page();
    assert_eq!(status, 200);
    assert!(body.contains("provider=ok"), "the login page: {body}");
    let (status, _, _) = userinfo_at(
        &gw.instances[0],
        forum_tokens["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    // Nothing the gateway keeps in Redis is readable as a code or token: keys are namespaced
    // and hashed.
    let keys = redis.keys().await;
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.starts_with("socialgate:")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains(&code)), "{keys:?}");
}

#[tokio::test]
async fn a_code_redeemed_at_two_instances_at_once_is_accepted_once() {
    let redis = RedisServer::start().await;
    let gw = two_instances(&redis, Options::default()).await;
    gw.route_to(0);
    for round in 0..5 {
        // Later rounds come from the SSO session: a fresh code each time.
        let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", SHOP_REDIRECT),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ];
        let a = browser()
            .post(format!("{}/token", gw.instances[0]))
            .form(&form)
            .send();
        let b = browser()
            .post(format!("{}/token", gw.instances[1]))
            .form(&form)
            .send();
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}");
    }
}

#[tokio::test]
async fn redis_down_gives_503_and_service_resumes_by_itself() {
    let mut redis = RedisServer::start().await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    wait_ready(&gw.issuer, 200).await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
    let (_, jwks_before) = get_json(&format!("{}/jwks", gw.issuer)).await;

    redis.stop();
    wait_ready(&gw.issuer, 503).await;
    // A login: a page saying so, not a panic or a hang.
    let fresh = browser();
    let response = fresh
        .get(authorize(&gw, SHOP, SHOP_REDIRECT, Some("ok")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    assert!(body.contains("Service unavailable"), "{body}");
    // The token endpoint: JSON, as RFC 6749 clients expect.
    let (status, body) = redeem(&gw, "any-code", SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    // Userinfo needs the store (logout check): 503 JSON.
    let (status, _, body) = userinfo(&gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    // Keys are in memory: sites can still verify tokens.
    let (status, jwks_during) = get_json(&format!("{}/jwks", gw.issuer)).await;
    assert_eq!(status, 200);
    assert_eq!(kids(&jwks_during), kids(&jwks_before));

    // Redis comes back empty (no persistence): the gateway reconnects by itself, puts its
    // keys back, and logins work again.
    redis.restart().await;
    wait_ready(&gw.issuer, 200).await;
    let (_, jwks_after) = get_json(&format!("{}/jwks", gw.issuer)).await;
    assert_eq!(kids(&jwks_after), kids(&jwks_before));
    let mut gw = gw;
    gw.browser = browser();
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, body) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_instance_started_while_redis_is_down_becomes_ready_when_it_is_up() {
    let mut redis = RedisServer::start().await;
    redis.stop();
    let gw = TestGateway::start_with(Options {
        store_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    assert_eq!(status_of(&format!("{}/readyz", gw.issuer)).await, 503);
    let (status, body) = get_json(&format!("{}/jwks", gw.issuer)).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    redis.restart().await;
    wait_ready(&gw.issuer, 200).await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, body) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn instances_rotate_keys_together() {
    let redis = RedisServer::start().await;
    let gw = two_instances(
        &redis,
        Options {
            extra_toml: "[tokens]\nlifetime = \"1s\"\nkey_rotation = \"2s\"".into(),
            ..Options::default()
        },
    )
    .await;
    wait_ready(&gw.instances[0], 200).await;
    let (_, first) = get_json(&format!("{}/jwks", gw.instances[0])).await;
    // One generation: an RSA key and a P-256 key.
    assert_eq!(kids(&first).len(), 2);
    // Within a few rotation periods, a second generation appears, and both instances publish
    // the same set at some moment while doing so.
    let mut agreed = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, a) = get_json(&format!("{}/jwks", gw.instances[0])).await;
        let (_, b) = get_json(&format!("{}/jwks", gw.instances[1])).await;
        if kids(&a).len() >= 4 && kids(&a) == kids(&b) {
            agreed = Some(kids(&a));
            break;
        }
    }
    let agreed = agreed.expect("both instances publish the rotated key set");
    assert!(
        agreed.iter().any(|k| !kids(&first).contains(k)),
        "a new key was added: {agreed:?}"
    );
    // Tokens signed by either instance carry a published kid.
    for i in 0..2 {
        gw.route_to(i);
        let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
        let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
        assert_eq!(status, 200);
        let kid = jwt_header(tokens["id_token"].as_str().unwrap())["kid"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, published) = get_json(&format!("{}/jwks", gw.instances[1 - i])).await;
        assert!(kids(&published).contains(&kid), "{kid} in {published}");
    }
}

#[tokio::test]
async fn a_refresh_token_family_keeps_two_records_however_often_it_rotates() {
    let redis = RedisServer::start().await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(redis.url()),
        ..Options::default()
    })
    .await;
    wait_ready(&gw.issuer, 200).await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid offline_access"),
            ("provider", "ok"),
        ]))
        .await
        .site();
    let code = param(&site, "code").unwrap();
    let (status, mut tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
    for _ in 0..10 {
        let (status, next) = token_request(
            &gw,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                ("client_id", SHOP),
                ("client_secret", SHOP_SECRET),
            ],
        )
        .await;
        assert_eq!(status, 200, "{next}");
        tokens = next;
    }
    let refresh_keys: Vec<String> = redis
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("socialgate:refresh"))
        .collect();
    assert_eq!(refresh_keys.len(), 2, "{refresh_keys:?}");
}

/// A third site with a back-channel logout endpoint, beside the shop and the forum.
const BLOG: &str = "blog";
const BLOG_SECRET: &str = "blog-secret-0123456789";
const BLOG_REDIRECT: &str = "https://blog.example.ru/oidc/callback";

/// GET `url` of one instance as if through the issuer (its `Host`), in `client`'s browser;
/// returns the `Location` it redirects to.
async fn hop_at_instance(client: &reqwest::Client, issuer: &str, url: &str) -> Url {
    let host = Url::parse(issuer).unwrap();
    let host = format!("{}:{}", host.host_str().unwrap(), host.port().unwrap());
    let response = client
        .get(url)
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "{url}: {}",
        response.status()
    );
    location_url(&response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_adding_sites_to_one_session_at_once_lose_neither() {
    let redis = RedisServer::start().await;
    let shop_site = FakeSite::start().await;
    let forum_site = FakeSite::start().await;
    let blog_site = FakeSite::start().await;
    let gw = two_instances(
        &redis,
        Options {
            shop_extra: format!("backchannel_logout_uri = \"{}\"", shop_site.url),
            forum_extra: format!("backchannel_logout_uri = \"{}\"", forum_site.url),
            // 25 rounds of three logins from one address: more than a minute's default.
            extra_toml: format!(
                "[limits]\nlogins_per_address = \"off\"\n\n\
                 [clients.{BLOG}]\nclient_secret = \"{BLOG_SECRET}\"\n\
                 redirect_uris = [\"{BLOG_REDIRECT}\"]\nproviders = [\"ok\"]\n\
                 backchannel_logout_uri = \"{}\"",
                blog_site.url
            ),
            ..Options::default()
        },
    )
    .await;
    wait_ready(&gw.instances[0], 200).await;
    wait_ready(&gw.instances[1], 200).await;
    const ROUNDS: usize = 25;
    for round in 1..=ROUNDS {
        // A person logs in at the shop through the network...
        let person = browser();
        let site = follow_with(&person, &authorize(&gw, SHOP, SHOP_REDIRECT, Some("ok")))
            .await
            .site();
        let code = param(&site, "code").unwrap();
        let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
        assert_eq!(status, 200, "{tokens}");
        // ...then enters the forum through one instance and the blog through the other at the
        // same moment: both join the session.
        let forum = format!(
            "{}{}",
            gw.instances[0],
            &authorize(&gw, FORUM, FORUM_REDIRECT, None)[gw.issuer.len()..]
        );
        let blog = format!(
            "{}{}",
            gw.instances[1],
            &authorize(&gw, BLOG, BLOG_REDIRECT, None)[gw.issuer.len()..]
        );
        let (forum, blog) = tokio::join!(
            hop_at_instance(&person, &gw.issuer, &forum),
            hop_at_instance(&person, &gw.issuer, &blog)
        );
        assert!(forum.as_str().starts_with(FORUM_REDIRECT), "{forum}");
        assert!(param(&forum, "code").is_some(), "{forum}");
        assert!(blog.as_str().starts_with(BLOG_REDIRECT), "{blog}");
        assert!(param(&blog, "code").is_some(), "{blog}");
        // Logout tells all three sites.
        let logout = format!(
            "{}/logout?id_token_hint={}",
            gw.issuer,
            tokens["id_token"].as_str().unwrap()
        );
        let (status, _) = follow_with(&person, &logout).await.page();
        assert_eq!(status, 200);
        for (site, name) in [(&shop_site, SHOP), (&forum_site, FORUM), (&blog_site, BLOG)] {
            let tokens = site.wait_for_tokens(round).await;
            assert_eq!(tokens.len(), round, "{name} in round {round}");
            assert_eq!(jwt_claims(&tokens[round - 1])["aud"], name);
        }
    }
}

/// A gateway instance the test starts and stops itself, as an operator would a process.
struct Instance(tokio::task::JoinHandle<()>);

impl Instance {
    /// An instance from the config file at `path`, serving on `listener`.
    async fn start(path: &std::path::Path, listener: tokio::net::TcpListener) -> Instance {
        let app = gateway_app(path, Some(UPSTREAM_TIMEOUT)).await;
        Instance(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }))
    }

    /// Stops serving; the gateway goes once the requests in flight are done.
    fn stop(self) {
        self.0.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_notice_being_retried_when_its_instance_stops_is_delivered_by_another() {
    let redis = RedisServer::start().await;
    let site = FakeSite::start().await;
    // The fakes and the config come from a TestGateway, whose own instance (on a listener
    // nobody calls, with a store of its own) stays out of the way; the issuer's listener is
    // served by instances on Redis that the test starts and stops.
    let (public, issuer) = reserve().await;
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw = TestGateway::start_on(
        unused,
        issuer,
        Options {
            shop_extra: format!("backchannel_logout_uri = \"{}\"", site.url),
            ..Options::default()
        },
    )
    .await;
    let own = std::fs::read_to_string(gw.dir.path().join("config.toml")).unwrap();
    let shared = own.replace("url = \"memory://\"", &format!("url = \"{}\"", redis.url()));
    assert_ne!(own, shared);
    let config = gw.dir.path().join("redis.toml");
    std::fs::write(&config, shared).unwrap();
    let first = Instance::start(&config, public).await;

    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
    let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"].clone();
    // The site is down for the first attempt; the instance stops before the retry.
    site.fail_next(1);
    let logout = format!(
        "{}/logout?id_token_hint={}",
        gw.issuer,
        tokens["id_token"].as_str().unwrap()
    );
    let (status, _) = gw.follow(&logout).await.page();
    assert_eq!(status, 200);
    for _ in 0..200 {
        if site.attempts() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.stop();
    // The retry was due half a second after the failure: nobody made it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(site.attempts(), 1);
    assert!(site.tokens().is_empty());
    let queued: Vec<String> = redis
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("socialgate:backchannel"))
        .collect();
    assert!(!queued.is_empty(), "the notice waits in Redis");

    // Another instance on the same Redis (or this one restarted) delivers it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _second = Instance::start(&config, listener).await;
    let delivered = site.wait_for_tokens(1).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(site.attempts(), 2, "the second of its three attempts");
    let claims = jwt_claims(&delivered[0]);
    assert_eq!(claims["aud"], SHOP);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], "ok:575123456789");
    // Delivered, it is gone from the store.
    for _ in 0..100 {
        let left = redis.keys().await;
        if !left.iter().any(|k| k.starts_with("socialgate:backchannel")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the delivered notice stays in Redis: {:?}",
        redis.keys().await
    );
}

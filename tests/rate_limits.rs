//! Rate limits (`[limits]`): failed client authentications per address and per client id,
//! and login steps per address; over a limit, 429 with `Retry-After` and a log line naming
//! the client and the address (never the secret). Addresses come from the connection, or
//! from `X-Forwarded-For` only when the connection is a trusted proxy's. With Redis, every
//! instance counts together.
//!
//! Windows here are a day long, so a test never straddles one (they are aligned to the
//! clock: a minute's window would end mid-test once in a while).

mod support;

use support::redis::RedisServer;
use support::*;

const WRONG: &str = "a-wrong-secret-guess-000";

fn limits(lines: &str) -> Options {
    Options {
        extra_toml: format!("[limits]\n{lines}\n"),
        ..Options::default()
    }
}

/// A token request with client_secret_post, from `forwarded_for` when given.
async fn token_as(
    instance: &str,
    client: &str,
    secret: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = browser().post(format!("{instance}/token")).form(&[
        ("grant_type", "authorization_code"),
        ("code", "no-such-code"),
        ("redirect_uri", SHOP_REDIRECT),
        ("client_id", client),
        ("client_secret", secret),
    ]);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// Seconds until the next UTC midnight, when a day's window ends.
fn until_midnight() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    86_400 - now % 86_400
}

/// A 429 at the token endpoint: `temporarily_unavailable`, retry at the window's end.
async fn assert_limited(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after.abs_diff(until_midnight()) <= 2, "{retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_eq!(
        body["error_description"],
        format!("too many failed client authentications; retry in {retry_after}s")
    );
}

#[tokio::test]
async fn failed_client_authentications_from_one_address_are_limited() {
    let capture = capture::logs();
    let gw = TestGateway::start_with(limits(
        "auth_failures_per_address = \"5/1d\"\nauth_failures_per_client = \"off\"",
    ))
    .await;
    for _ in 0..5 {
        let response = token_as(&gw.issuer, SHOP, WRONG, None).await;
        assert_eq!(response.status(), 401);
    }
    assert_limited(token_as(&gw.issuer, SHOP, WRONG, None).await).await;
    // Past the limit even the right secret is refused: a guesser learns nothing.
    assert_limited(token_as(&gw.issuer, SHOP, SHOP_SECRET, None).await).await;
    assert_limited(token_as(&gw.issuer, FORUM, FORUM_SECRET, None).await).await;

    let logs = capture.text();
    // Once, when the limit was reached (the other tests of this binary use other limits).
    let crossed = logs
        .lines()
        .filter(|l| l.contains("failed client authentications over the limit"))
        .filter(|l| l.contains("client=shop address=127.0.0.1 by=\"address\" limit=5 "))
        .count();
    assert_eq!(crossed, 1, "{logs}");
    assert!(!logs.contains(WRONG), "a guessed secret in the logs");
}

#[tokio::test]
async fn failed_authentications_of_one_client_are_limited_from_every_address() {
    let gw = TestGateway::start_with(limits(
        "auth_failures_per_client = \"3/1d\"\nauth_failures_per_address = \"off\"\n\
         trusted_proxies = [\"127.0.0.1\"]",
    ))
    .await;
    // Three guessers behind the trusted proxy, each failing once.
    for address in ["198.51.100.1", "198.51.100.2", "2001:db8::7"] {
        let response = token_as(&gw.issuer, SHOP, WRONG, Some(address)).await;
        assert_eq!(response.status(), 401);
    }
    assert_limited(token_as(&gw.issuer, SHOP, SHOP_SECRET, Some("203.0.113.50")).await).await;
    // Another client is not affected; nor are made-up client ids counted by id.
    let forum = token_as(&gw.issuer, FORUM, FORUM_SECRET, Some("198.51.100.1")).await;
    assert_eq!(
        forum.status(),
        400,
        "the code is unknown, the client is fine"
    );
    for _ in 0..5 {
        let unknown = token_as(&gw.issuer, "no-such-client", WRONG, None).await;
        assert_eq!(unknown.status(), 401);
    }
}

async fn authorize_from(gw: &TestGateway, forwarded_for: Option<&str>) -> reqwest::Response {
    let url = gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid"),
    ]);
    let mut request = browser().get(url);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn login_steps_from_one_address_are_limited_with_a_page() {
    let gw = TestGateway::start_with(limits(
        "logins_per_address = \"3/1d\"\ntrusted_proxies = [\"127.0.0.0/8\"]",
    ))
    .await;
    for _ in 0..3 {
        let chooser = authorize_from(&gw, Some("198.51.100.1")).await;
        assert_eq!(chooser.status(), 200);
    }
    let refused = authorize_from(&gw, Some("198.51.100.1")).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after.abs_diff(until_midnight()) <= 2);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(&format!("Try again in {retry_after} seconds.")),
        "{page}"
    );
    // The callback counts too.
    let callback = browser()
        .get(format!("{}/callback/ok?code=x&state=y", gw.issuer))
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 429);
    // Another person behind the same proxy logs in.
    let site = gw
        .follow(&format!(
            "{}&provider=ok",
            gw.authorize_url(&[
                ("response_type", "code"),
                ("client_id", SHOP),
                ("redirect_uri", SHOP_REDIRECT),
                ("scope", "openid"),
            ])
        ))
        .await
        .site();
    assert!(param(&site, "code").is_some(), "{site}");
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let gw = TestGateway::start_with(limits("logins_per_address = \"2/1d\"")).await;
    // No trusted proxies: each request claims another address, all count as 127.0.0.1.
    for (i, address) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let response = authorize_from(&gw, Some(address)).await;
        let expected = if i < 2 { 200 } else { 429 };
        assert_eq!(response.status(), expected, "request {i}");
    }
}

#[tokio::test]
async fn with_redis_every_instance_counts_together() {
    let redis = RedisServer::start().await;
    let gw = TestGateway::start_with(Options {
        store_url: Some(redis.url()),
        instances: 2,
        ..limits("auth_failures_per_address = \"4/1d\"\nauth_failures_per_client = \"off\"")
    })
    .await;
    for i in 0..4 {
        let response = token_as(&gw.instances[i % 2], FORUM, WRONG, None).await;
        assert_eq!(response.status(), 401);
    }
    assert_limited(token_as(&gw.instances[0], FORUM, FORUM_SECRET, None).await).await;
    assert_limited(token_as(&gw.instances[1], FORUM, FORUM_SECRET, None).await).await;
}

//! `/metrics` (`[metrics]`): Prometheus text with what an operator needs — logins by provider
//! and outcome, network latency, tokens by grant, refusals by reason, store latency, HTTP
//! requests, the memory store's use. Off by default; on the main listener or an address of
//! its own.
//!
//! The recorder is one per process, so one test here counts and checks exact values; the
//! others only look at where `/metrics` is served.

mod support;

use support::fakes::ok::OkBehaviour;
use support::*;

fn metrics_on(extra: &str) -> Options {
    Options {
        extra_toml: format!("[metrics]\n{extra}\n"),
        ..Options::default()
    }
}

async fn scrape(url: &str) -> (u16, String) {
    let response = browser().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the sample `name{labels}` (labels as Prometheus writes them, sorted as given).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_logins_tokens_refusals_and_the_store() {
    let gw = TestGateway::start_with(metrics_on("enabled = true")).await;
    // A login through OK, redeemed; SSO for the forum; a failed login; refusals.
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, _) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
    let forum = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", FORUM),
            ("redirect_uri", FORUM_REDIRECT),
            ("scope", "openid"),
        ]))
        .await
        .site();
    assert!(param(&forum, "code").is_some());
    gw.ok.set_behaviour(OkBehaviour::ApiError(102));
    let failed = browser();
    let site = follow_with(
        &failed,
        &gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
            ("provider", "ok"),
        ]),
    )
    .await
    .site();
    assert_eq!(param(&site, "error").as_deref(), Some("server_error"));
    let (status, _) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", SHOP),
            ("client_secret", "wrong-secret-0000000000"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", "https://evil.example/callback"),
        ]))
        .await
        .page();
    assert_eq!(status, 400);

    let (status, text) = scrape(&format!("{}/metrics", gw.issuer)).await;
    assert_eq!(status, 200, "{text}");
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    assert_eq!(
        value(r#"socialgate_logins_total{provider="ok",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_logins_total{provider="ok",outcome="sso"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_logins_total{provider="ok",outcome="failure"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_upstream_seconds_count{provider="ok"}"#),
        2.0
    );
    assert_eq!(
        value(r#"socialgate_tokens_issued_total{grant="authorization_code"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_refusals_total{reason="invalid_client"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_refusals_total{reason="server_error"}"#),
        1.0
    );
    assert_eq!(
        value(r#"socialgate_refusals_total{reason="unregistered_redirect_uri"}"#),
        1.0
    );
    assert!(value(r#"socialgate_store_seconds_count{op="take"}"#) >= 3.0);
    assert!(value(r#"socialgate_http_requests_total{status="200"}"#) >= 1.0);
    assert!(value(r#"socialgate_store_memory_bytes{pool="sessions"}"#) > 0.0);
    assert_eq!(
        value(r#"socialgate_store_evictions_total{pool="sessions"}"#),
        0.0
    );
    assert!(
        text.contains("# TYPE socialgate_upstream_seconds histogram"),
        "{text}"
    );
    // Nothing secret or personal in it.
    for leak in [SHOP_SECRET, "575123456789", "Иван", &code] {
        assert!(!text.contains(leak), "{leak} in metrics");
    }
}

#[tokio::test]
async fn metrics_are_off_unless_enabled() {
    let gw = TestGateway::start().await;
    let (status, _) = scrape(&format!("{}/metrics", gw.issuer)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = TestGateway::start_with(metrics_on(&format!("listen = \"127.0.0.1:{port}\""))).await;
    let (status, _) = scrape(&format!("{}/metrics", gw.issuer)).await;
    assert_eq!(status, 404, "not on the main listener");
    let (status, text) = scrape(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    assert!(text.contains("socialgate_store_memory_bytes"), "{text}");
    // It stops with the gateway.
    gw.shut_down().await;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

//! SIGHUP re-reads the config: a valid new one serves new requests (a new site, a changed
//! limit) while sessions and tokens carry on; an invalid one, or one that changes what
//! takes a restart, is refused with a log line and the running config stays.
//!
//! The signal goes to this test process, where each gateway listens for it; every test
//! first makes a request, so the gateway's handler is in place before the signal comes.

mod support;

use std::time::{Duration, Instant};

use support::*;

const BLOG: &str = "blog";
const BLOG_REDIRECT: &str = "https://blog.example.ru/callback";

fn hang_up() {
    let sent = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(std::process::id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
}

fn config_path(gw: &TestGateway) -> std::path::PathBuf {
    gw.dir.path().join("config.toml")
}

fn blog_authorize(gw: &TestGateway) -> String {
    gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", BLOG),
        ("redirect_uri", BLOG_REDIRECT),
        ("scope", "openid"),
    ])
}

async fn status_of(url: &str) -> u16 {
    browser().get(url).send().await.unwrap().status().as_u16()
}

/// Waits until `check` holds, failing after 10 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sighup_adds_a_site_while_sessions_and_tokens_carry_on() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(status_of(&blog_authorize(&gw)).await, 400, "no blog yet");

    let mut config = std::fs::read_to_string(config_path(&gw)).unwrap();
    config.push_str(&format!(
        "\n[clients.{BLOG}]\nname = \"Blog\"\nclient_secret = \"blog-secret-0123456789\"\n\
         redirect_uris = [\"{BLOG_REDIRECT}\"]\nproviders = [\"ok\"]\n"
    ));
    std::fs::write(config_path(&gw), config).unwrap();
    hang_up();
    eventually("the blog is known", || async {
        status_of(&blog_authorize(&gw)).await != 400
    })
    .await;

    // The person logged in before the reload enters the new site without OK.
    let before = gw.ok.calls("authorize");
    let site = gw.follow(&blog_authorize(&gw)).await.site();
    assert!(param(&site, "code").is_some(), "{site}");
    assert_eq!(gw.ok.calls("authorize"), before);
    // Tokens issued before the reload still work.
    let (status, _, claims) = bearer_get(&format!("{}/userinfo", gw.issuer), &access).await;
    assert_eq!(status, 200);
    assert_eq!(claims["sub"], "ok:575123456789");
}

#[tokio::test]
async fn a_config_that_cannot_be_taken_is_refused_and_the_running_one_stays() {
    let capture = capture::logs();
    let gw = TestGateway::start().await;
    let shop = gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid"),
    ]);
    assert_eq!(status_of(&shop).await, 200);
    let original = std::fs::read_to_string(config_path(&gw)).unwrap();

    // Invalid: a typo'd key.
    std::fs::write(
        config_path(&gw),
        original.replace("[clients.shop]\n", "[clients.shop]\nredirect_urls = []\n"),
    )
    .unwrap();
    hang_up();
    eventually("the refusal is logged", || async {
        capture
            .text()
            .lines()
            .any(|l| l.contains("config reload refused") && l.contains("redirect_urls"))
    })
    .await;
    assert_eq!(status_of(&shop).await, 200, "the running config stays");

    // Valid, but a change only a restart can apply.
    std::fs::write(
        config_path(&gw),
        original.replace("data_dir = \"data\"", "data_dir = \"elsewhere\""),
    )
    .unwrap();
    hang_up();
    eventually("the refusal is logged", || async {
        capture.text().lines().any(|l| {
            l.contains("config reload refused")
                && l.contains("[server] changed: that takes a restart; nothing was reloaded")
        })
    })
    .await;
    assert_eq!(status_of(&shop).await, 200);
    std::fs::write(config_path(&gw), original).unwrap();
}

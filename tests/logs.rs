//! Secrets and tokens never reach the logs, even at debug level: logins that succeed and
//! logins that fail are run with every log line captured, then searched.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::fakes::ok::OkBehaviour;
use support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let gw = TestGateway::start().await;
    let mut issued = Vec::new();
    for provider in ["ok", "vk"] {
        let code = login_code(&gw, SHOP, SHOP_REDIRECT, provider).await;
        let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
        assert_eq!(status, 200);
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let userinfo = browser()
            .get(format!("{}/userinfo", gw.issuer))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), 200);
        issued.push(code);
        issued.push(access);
        issued.push(tokens["id_token"].as_str().unwrap().to_string());
    }
    // Failures log their reasons; the reasons must not carry secrets either.
    gw.ok.set_behaviour(OkBehaviour::ApiError(104));
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
    assert_eq!(param(&site, "error").as_deref(), Some("server_error"));
    let (status, _) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", SHOP_REDIRECT),
            ("client_id", SHOP),
            ("client_secret", "a-wrong-secret-guess-123"),
        ],
    )
    .await;
    assert_eq!(status, 401);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works: the events are there.
    assert!(logs.contains("upstream login succeeded"), "{logs}");
    assert!(logs.contains("upstream login failed"));
    assert!(logs.contains("invalid_client"));
    for secret in [
        "0F1E2D3C4B5A69788796A5B4", // OK secret key
        "vk-secret-Zx81",           // VK client secret
        SHOP_SECRET,
        "a-wrong-secret-guess-123",
        "tkn.-",  // OK access tokens
        "vk1.a.", // VK access tokens
        "session_secret",
    ] {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
    for token in &issued {
        assert!(
            !logs.contains(token.as_str()),
            "an issued code/token is in the logs"
        );
    }
}

//! Secrets and tokens never reach the logs, even at debug level: logins that succeed and
//! logins that fail are run with every log line captured, then searched.

mod support;

use support::fakes::ok::OkBehaviour;
use support::*;

const UPSTREAM_KEY: &str = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";

/// An OK app launch, a publish widget in the person's session and the upstream token broker,
/// on a gateway that keeps the networks' tokens; returns the secrets they handled.
async fn platform_services() -> Vec<String> {
    let gw = TestGateway::start_with(Options {
        extra_toml: format!("[upstream]\ntoken_key = \"{UPSTREAM_KEY}\"\n"),
        shop_extra: "upstream_access = true\nupstream_methods = [\"users.getInfo\"]".into(),
        ..Options::default()
    })
    .await;
    let mut secrets = Vec::new();
    let mut launch = gw.ok.launch(&[]);
    for (k, v) in &launch {
        if ["session_key", "session_secret_key", "auth_sig", "sig"].contains(&k.as_str()) {
            secrets.push(v.clone());
        }
    }
    launch.push(("client_id".into(), SHOP.into()));
    launch.push(("client_secret".into(), SHOP_SECRET.into()));
    let launched = browser()
        .post(format!("{}/launch/ok", gw.issuer))
        .form(&launch)
        .send()
        .await
        .unwrap();
    assert_eq!(launched.status(), 200);

    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (_, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    let bearer = tokens["access_token"].as_str().unwrap().to_string();
    let (status, _, upstream) =
        bearer_get(&format!("{}/api/upstream/token", gw.issuer), &bearer).await;
    assert_eq!(status, 200);
    let ok_token = upstream["access_token"].as_str().unwrap().to_string();
    let called = browser()
        .post(format!("{}/api/upstream/ok/call", gw.issuer))
        .bearer_auth(&bearer)
        .json(&serde_json::json!({"method": "users.getInfo", "params": {"uids": "575123456789"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), 200);
    let widget = browser()
        .post(format!("{}/api/ok/widget", gw.issuer))
        .basic_auth(SHOP, Some(SHOP_SECRET))
        .json(&serde_json::json!({
            "attachment": {"media": [{"type": "text", "text": "hi"}]},
            "access_token": ok_token,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(widget.status(), 200);
    secrets.extend([bearer, ok_token]);
    secrets
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let capture = support::capture::logs();

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

    issued.extend(platform_services().await);

    let logs = capture.text();
    // The capture works: the events are there.
    assert!(logs.contains("upstream login succeeded"), "{logs}");
    assert!(logs.contains("upstream login failed"));
    assert!(logs.contains("invalid_client"));
    assert!(logs.contains("app launch verified"));
    assert!(logs.contains("network method called for a person"));
    for secret in [
        "0F1E2D3C4B5A69788796A5B4", // OK secret key
        "vk-secret-Zx81",           // VK client secret
        SHOP_SECRET,
        "a-wrong-secret-guess-123",
        "tkn.-",  // OK access tokens
        "vk1.a.", // VK access tokens
        "session_secret",
        UPSTREAM_KEY,
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

/// A forged line as an attacker would smuggle it into a value: a newline, then a timestamp
/// and a level of its own, a carriage return and a terminal escape.
const FORGED: &str = "x\n1999-01-01T00:00:00Z ERROR socialgate: forged line\r\u{1b}[2Jgone";
/// The same, as the log must show it: on one line, spelt out.
const FORGED_SHOWN: &str =
    "x\\n1999-01-01T00:00:00Z ERROR socialgate: forged line\\r\\u{1b}[2Jgone";

/// Values from outside reach the log escaped, whichever field carries them: the `provider`
/// and `client_id` of authorize requests, a network's `error_msg`, a client id at the token
/// endpoint. (The unit tests of `socialgate::logging` cover each kind of character.)
#[tokio::test]
async fn outside_values_cannot_forge_log_lines() {
    let capture = support::capture::logs();
    let gw = TestGateway::start().await;
    let authorize = |extra: &[(&str, &str)]| {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
        ];
        params.extend_from_slice(extra);
        gw.authorize_url(&params)
    };

    // An unknown provider: sent back to the site as an error, with the name in its reason.
    let site = gw.follow(&authorize(&[("provider", FORGED)])).await.site();
    assert_eq!(param(&site, "error").as_deref(), Some("invalid_request"));
    // Before the client is known: an error page, with the name in its reason.
    let (status, _) = gw
        .follow(&gw.authorize_url(&[("client_id", FORGED), ("provider", FORGED)]))
        .await
        .page();
    assert_eq!(status, 400);
    // OK answers an error whose message carries the forged line.
    gw.ok.set_behaviour(OkBehaviour::ApiErrorSaying(
        100,
        "PARAM : bad\n1999-01-01T00:00:00Z ERROR socialgate: forged line\r\u{1b}[2Jgone",
    ));
    let site = gw.follow(&authorize(&[("provider", "ok")])).await.site();
    assert_eq!(param(&site, "error").as_deref(), Some("server_error"));
    gw.ok.set_behaviour(OkBehaviour::Normal);
    // A client id at the token endpoint.
    let (status, _) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", SHOP_REDIRECT),
            ("client_id", FORGED),
            ("client_secret", "whatever-secret"),
        ],
    )
    .await;
    assert_eq!(status, 401);

    let logs = capture.text();
    for forbidden in ['\r', '\u{1b}'] {
        assert!(
            !logs.contains(forbidden),
            "{forbidden:?} reached the log:\n{logs}"
        );
    }
    for line in logs.lines() {
        assert!(!line.starts_with("1999-01-01"), "a forged line:\n{logs}");
    }
    // The provider's name, spelt out inside the reason sent back to the site.
    assert!(
        logs.lines()
            .any(|l| l.contains("login error returned to the site")
                && l.contains(&format!(
                    "description=provider {FORGED_SHOWN} is not available"
                ))),
        "{logs}"
    );
    // The network's message: its line is whole, the forged part inside it.
    assert!(
        logs.lines().any(|l| l.contains("upstream login failed")
            && l.contains("PARAM : bad")
            && l.ends_with("forged line[2Jgone")),
        "{logs}"
    );
}

//! Refresh tokens and revocation: who gets them, rotation and reuse detection, scope
//! narrowing, their end with the login session (or not, for offline_access), expiry, and
//! RFC 7009 revocation of refresh and access tokens.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::fakes::wire::pkce_s256;
use support::*;

/// A string field of a JSON answer.
fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {v}"))
        .to_string()
}

/// The family part of a token answer's refresh token (`{family}.{secret}`).
fn family_of(tokens: &Value) -> String {
    s(tokens, "refresh_token")
        .split('.')
        .next()
        .unwrap()
        .to_string()
}

/// An error answer: this status and this `error`.
#[track_caller]
fn assert_error(answer: &(u16, Value), status: u16, error: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
}

/// Logs in to `client` through `provider` in `browser` with `scope` and a nonce; returns the
/// code.
async fn code_in(
    gw: &TestGateway,
    browser: &reqwest::Client,
    client: &str,
    redirect_uri: &str,
    provider: &str,
    scope: &str,
) -> String {
    let site = follow_with(
        browser,
        &gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", "st-r"),
            ("nonce", "nonce-r"),
            ("provider", provider),
        ]),
    )
    .await
    .site();
    param(&site, "code").unwrap_or_else(|| panic!("no code in {site}"))
}

/// Shop's tokens for a login through OK in `gw.browser` with `scope`.
async fn shop_tokens(gw: &TestGateway, scope: &str) -> Value {
    let code = code_in(gw, &gw.browser, SHOP, SHOP_REDIRECT, "ok", scope).await;
    let (status, body) = redeem(gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The refresh_token grant with client_secret_post (`secret: None` for a public client).
async fn refresh_as(
    gw: &TestGateway,
    client: &str,
    secret: Option<&str>,
    token: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", client),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(gw, &form).await
}

/// Shop refreshes `token`.
async fn refresh(gw: &TestGateway, token: &str) -> (u16, Value) {
    refresh_as(gw, SHOP, Some(SHOP_SECRET), token, None).await
}

/// Shop refreshes `token` successfully; returns the answer.
async fn refreshed(gw: &TestGateway, token: &str) -> Value {
    let (status, body) = refresh(gw, token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `/userinfo` with a bearer token: status and JSON.
async fn userinfo_answer(gw: &TestGateway, access_token: &str) -> (u16, Value) {
    let (status, _, body) = userinfo(gw, access_token).await;
    (status, body)
}

/// POSTs `form` to `/revoke`; returns status, Cache-Control and JSON.
async fn revoke(gw: &TestGateway, form: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let response = browser()
        .post(format!("{}/revoke", gw.issuer))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    (status, cache, response.json().await.unwrap())
}

/// Shop revokes `token` (client_secret_post); the answer must be RFC 7009's empty success.
async fn shop_revokes(gw: &TestGateway, token: &str) {
    let (status, cache, body) = revoke(
        gw,
        &[
            ("token", token),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::json!({}));
    assert_eq!(cache.as_deref(), Some("no-store"));
}

// ---- who gets a refresh token ----

#[tokio::test]
async fn no_refresh_token_without_offline_access_or_client_opt_in() {
    let gw = TestGateway::start().await;
    let tokens = shop_tokens(&gw, "openid profile email").await;
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(tokens.get("access_token").is_some(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn offline_access_gets_a_refresh_token_that_mints_new_tokens() {
    let gw = TestGateway::start().await;
    let first = shop_tokens(&gw, "openid profile offline_access").await;
    assert_eq!(first["scope"], "openid profile offline_access");
    let r1 = s(&first, "refresh_token");
    let old = jwt_claims(&s(&first, "id_token"));
    assert_eq!(old["nonce"], "nonce-r");

    let second = refreshed(&gw, &r1).await;
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid profile offline_access");
    let r2 = s(&second, "refresh_token");
    assert_ne!(r2, r1);
    assert_ne!(s(&second, "access_token"), s(&first, "access_token"));
    assert_ne!(s(&second, "id_token"), s(&first, "id_token"));

    // OIDC Core §12.2: same subject and authentication, a new issue time, no nonce.
    let new = jwt_claims(&s(&second, "id_token"));
    assert_eq!(new["iss"], gw.issuer);
    assert_eq!(new["sub"], "ok:575123456789");
    assert_eq!(new["sub"], old["sub"]);
    assert_eq!(new["auth_time"], old["auth_time"]);
    assert!(new["iat"].as_u64().unwrap() >= old["iat"].as_u64().unwrap());
    assert_eq!(new["aud"], SHOP);
    assert_eq!(new["name"], "Иван Петров");
    assert!(new.get("nonce").is_none(), "{new}");
    // Offline access does not belong to the login session.
    assert!(new.get("sid").is_none(), "{new}");

    let (status, claims) = userinfo_answer(&gw, &s(&second, "access_token")).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["sub"], "ok:575123456789");
    assert_eq!(claims["name"], "Иван Петров");
}

// ---- rotation ----

#[tokio::test]
async fn a_rotated_token_presented_again_revokes_its_family_only() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let other = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let r2 = s(&refreshed(&gw, &r1).await, "refresh_token");

    let replay = refresh(&gw, &r1).await;
    assert_error(&replay, 400, "invalid_grant");
    // Whoever holds R2 (the thief or the site) is cut off as well.
    let after = refresh(&gw, &r2).await;
    assert_error(&after, 400, "invalid_grant");
    assert_error(&refresh(&gw, &r1).await, 400, "invalid_grant");

    // Another login's family is not touched.
    let other_next = refreshed(&gw, &other).await;
    assert_eq!(other_next["scope"], "openid offline_access");
    refreshed(&gw, &s(&other_next, "refresh_token")).await;
}

#[tokio::test]
async fn concurrent_uses_of_one_refresh_token_succeed_once() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let (a, b) = tokio::join!(refresh(&gw, &r1), refresh(&gw, &r1));
    let (ok, refused) = match (a.0, b.0) {
        (200, _) => (a, b),
        (_, 200) => (b, a),
        _ => panic!("neither use succeeded: {} / {}", a.1, b.1),
    };
    assert_error(&refused, 400, "invalid_grant");
    assert!(ok.1.get("refresh_token").is_some(), "{}", ok.1);
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_burnt() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let (status, body) = refresh_as(&gw, FORUM, Some(FORUM_SECRET), &r1, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "the refresh token was issued to another client"
    );
    assert!(body.get("access_token").is_none());
    assert_error(&refresh(&gw, &r1).await, 400, "invalid_grant");
}

#[tokio::test]
async fn bad_client_credentials_or_missing_token_do_not_burn_it() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let wrong = refresh_as(&gw, SHOP, Some("not-the-shop-secret"), &r1, None).await;
    assert_error(&wrong, 401, "invalid_client");
    let missing = token_request(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await;
    assert_error(&missing, 400, "invalid_request");
    let empty = refresh(&gw, "").await;
    assert_error(&empty, 400, "invalid_request");
    // Neither request touched the token.
    let next = refreshed(&gw, &r1).await;
    assert_eq!(next["scope"], "openid offline_access");
}

// ---- scope ----

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid profile offline_access").await,
        "refresh_token",
    );
    let narrow = refresh_as(&gw, SHOP, Some(SHOP_SECRET), &r1, Some("openid")).await;
    assert_eq!(narrow.0, 200, "{}", narrow.1);
    assert_eq!(narrow.1["scope"], "openid");
    let id = jwt_claims(&s(&narrow.1, "id_token"));
    assert_eq!(id["sub"], "ok:575123456789");
    assert!(id.get("name").is_none(), "{id}");
    let (status, claims) = userinfo_answer(&gw, &s(&narrow.1, "access_token")).await;
    assert_eq!(status, 200);
    assert!(claims.get("name").is_none(), "{claims}");
    let r2 = s(&narrow.1, "refresh_token");

    let wider = refresh_as(&gw, SHOP, Some(SHOP_SECRET), &r2, Some("openid email")).await;
    assert_error(&wider, 400, "invalid_scope");
    assert_eq!(wider.1["error_description"], "scope email was not granted");

    // The refused request did not use R2 up, and R2 still carries the original grant.
    let full = refreshed(&gw, &r2).await;
    assert_eq!(full["scope"], "openid profile offline_access");
    let id = jwt_claims(&s(&full, "id_token"));
    assert_eq!(id["name"], "Иван Петров");
    assert!(id.get("email").is_none(), "{id}");
}

// ---- the login session ----

#[tokio::test]
async fn logout_ends_session_refresh_tokens_but_not_offline_ones() {
    let gw = TestGateway::start_with(Options {
        shop_extra: "refresh_tokens = true".into(),
        ..Options::default()
    })
    .await;
    let session = shop_tokens(&gw, "openid profile").await;
    assert_eq!(session["scope"], "openid profile");
    let id_token = s(&session, "id_token");
    let sid = jwt_claims(&id_token)["sid"].clone();
    assert!(sid.is_string(), "{sid}");
    // Session-bound tokens carry the session through a refresh.
    let bound = refreshed(&gw, &s(&session, "refresh_token")).await;
    assert_eq!(jwt_claims(&s(&bound, "id_token"))["sid"], sid);
    let bound_token = s(&bound, "refresh_token");

    // The same browser, the same session: single sign-on, now with offline_access.
    let offline = shop_tokens(&gw, "openid profile offline_access").await;
    assert_eq!(jwt_claims(&s(&offline, "id_token"))["sid"], sid);
    let offline_token = s(&offline, "refresh_token");
    let old_access = s(&session, "access_token");
    assert_eq!(userinfo_answer(&gw, &old_access).await.0, 200);

    let url = format!("{}/logout?id_token_hint={id_token}", gw.issuer);
    let (status, _) = gw.follow(&url).await.page();
    assert_eq!(status, 200);

    let ended = refresh(&gw, &bound_token).await;
    assert_error(&ended, 400, "invalid_grant");
    assert_eq!(ended.1["error_description"], "the login session has ended");

    // OIDC Core §11: offline access outlives the login.
    let later = refreshed(&gw, &offline_token).await;
    assert_eq!(later["scope"], "openid profile offline_access");
    assert!(jwt_claims(&s(&later, "id_token")).get("sid").is_none());
    let (status, claims) = userinfo_answer(&gw, &s(&later, "access_token")).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["sub"], "ok:575123456789");

    // Access tokens issued in the session end with it.
    for access in [old_access, s(&offline, "access_token")] {
        let answer = userinfo_answer(&gw, &access).await;
        assert_error(&answer, 401, "invalid_token");
    }
}

#[tokio::test]
async fn an_unused_refresh_token_expires() {
    let gw = TestGateway::start_with(Options {
        extra_toml: "[tokens]\nrefresh_lifetime = \"2s\"".into(),
        ..Options::default()
    })
    .await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    // Each rotation starts a new lifetime: used in time, the chain outlives 2 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r2 = s(&refreshed(&gw, &r1).await, "refresh_token");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r3 = s(&refreshed(&gw, &r2).await, "refresh_token");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let expired = refresh(&gw, &r3).await;
    assert_error(&expired, 400, "invalid_grant");
}

// ---- revocation (RFC 7009) ----

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    shop_revokes(&gw, &r1).await;
    assert_error(&refresh(&gw, &r1).await, 400, "invalid_grant");

    // Revoking a token that was rotated already ends the tokens it was rotated into.
    let a1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let a2 = s(&refreshed(&gw, &a1).await, "refresh_token");
    // Not by another client, though.
    let (status, _, _) = revoke(
        &gw,
        &[
            ("token", a1.as_str()),
            ("client_id", FORUM),
            ("client_secret", FORUM_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let a3 = s(&refreshed(&gw, &a2).await, "refresh_token");
    shop_revokes(&gw, &a1).await;
    assert_error(&refresh(&gw, &a3).await, 400, "invalid_grant");
    assert_error(&refresh(&gw, &a1).await, 400, "invalid_grant");

    // And revoking the current one ends it (through HTTP Basic this time).
    let b1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );
    let b2 = s(&refreshed(&gw, &b1).await, "refresh_token");
    let response = browser()
        .post(format!("{}/revoke", gw.issuer))
        .basic_auth(SHOP, Some(SHOP_SECRET))
        .form(&[("token", b2.as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_error(&refresh(&gw, &b2).await, 400, "invalid_grant");
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_the_access_tokens_of_its_family() {
    let gw = TestGateway::start().await;
    let first = shop_tokens(&gw, "openid profile offline_access").await;
    let second = refreshed(&gw, &s(&first, "refresh_token")).await;
    let third = refreshed(&gw, &s(&second, "refresh_token")).await;
    let family: Vec<String> = [&first, &second, &third]
        .iter()
        .map(|t| s(t, "access_token"))
        .collect();
    // Another family of the same person and client, and a login with no refresh token.
    let other = shop_tokens(&gw, "openid profile offline_access").await;
    let plain = s(&shop_tokens(&gw, "openid profile").await, "access_token");
    for access in family.iter().chain([&s(&other, "access_token"), &plain]) {
        assert_eq!(userinfo_answer(&gw, access).await.0, 200);
    }
    // The family travels in the access token, as a tag, and never reaches userinfo.
    let tag = jwt_claims(&family[0])["family"].clone();
    assert_eq!(tag, jwt_claims(&family[2])["family"]);
    assert!(!tag.as_str().unwrap().contains(&family_of(&first)));
    assert_eq!(jwt_claims(&plain).get("family"), None);
    let (_, claims) = userinfo_answer(&gw, &family[0]).await;
    assert_eq!(claims.get("family"), None, "{claims}");

    // Revoking a token rotated long ago revokes every access token issued in its family: from
    // the code and from each refresh.
    shop_revokes(&gw, &s(&first, "refresh_token")).await;
    for access in &family {
        let (status, challenge, body) = userinfo(&gw, access).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_token", "{body}");
        assert!(
            challenge.unwrap().contains("error=\"invalid_token\""),
            "a bearer challenge"
        );
    }
    assert_error(
        &refresh(&gw, &s(&third, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    // Nothing else is touched.
    assert_eq!(
        userinfo_answer(&gw, &s(&other, "access_token")).await.0,
        200
    );
    assert_eq!(userinfo_answer(&gw, &plain).await.0, 200);

    // Revoking the current token of the other family ends its access token too.
    shop_revokes(&gw, &s(&other, "refresh_token")).await;
    assert_error(
        &userinfo_answer(&gw, &s(&other, "access_token")).await,
        401,
        "invalid_token",
    );
    assert_eq!(userinfo_answer(&gw, &plain).await.0, 200);
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_access_tokens_of_its_family() {
    let gw = TestGateway::start().await;
    let first = shop_tokens(&gw, "openid offline_access").await;
    let second = refreshed(&gw, &s(&first, "refresh_token")).await;
    assert_eq!(
        userinfo_answer(&gw, &s(&second, "access_token")).await.0,
        200
    );
    // The first refresh token again: a copy in the wrong hands.
    assert_error(
        &refresh(&gw, &s(&first, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    for tokens in [&first, &second] {
        assert_error(
            &userinfo_answer(&gw, &s(tokens, "access_token")).await,
            401,
            "invalid_token",
        );
    }
}

#[tokio::test]
async fn revoking_an_access_token_stops_it_at_userinfo() {
    let gw = TestGateway::start().await;
    let tokens = shop_tokens(&gw, "openid profile").await;
    let access = s(&tokens, "access_token");
    assert_eq!(userinfo_answer(&gw, &access).await.0, 200);
    // Another client cannot revoke it.
    let (status, _, _) = revoke(
        &gw,
        &[
            ("token", access.as_str()),
            ("client_id", FORUM),
            ("client_secret", FORUM_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(userinfo_answer(&gw, &access).await.0, 200);

    shop_revokes(&gw, &access).await;
    let answer = userinfo_answer(&gw, &access).await;
    assert_error(&answer, 401, "invalid_token");
}

#[tokio::test]
async fn revocation_answers_and_refusals() {
    let gw = TestGateway::start().await;
    let r1 = s(
        &shop_tokens(&gw, "openid offline_access").await,
        "refresh_token",
    );

    // Unknown tokens are not an error (RFC 7009 §2.2).
    shop_revokes(&gw, "no-such-token").await;
    shop_revokes(&gw, "a.b.c").await;

    // Another client's token: the same answer, but nothing happens to it.
    let (status, cache, body) = revoke(
        &gw,
        &[
            ("token", r1.as_str()),
            ("client_id", FORUM),
            ("client_secret", FORUM_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::json!({}));
    assert_eq!(cache.as_deref(), Some("no-store"));

    let (status, cache, body) = revoke(
        &gw,
        &[
            ("token", r1.as_str()),
            ("client_id", SHOP),
            ("client_secret", "not-the-shop-secret"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(cache.as_deref(), Some("no-store"));

    let (status, _, body) =
        revoke(&gw, &[("client_id", SHOP), ("client_secret", SHOP_SECRET)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");

    // None of this revoked the token.
    let next = refreshed(&gw, &r1).await;
    assert_eq!(next["scope"], "openid offline_access");
}

// ---- public clients ----

#[tokio::test]
async fn a_public_client_refreshes_with_its_client_id_alone() {
    let gw = TestGateway::start().await;
    let verifier = "v".repeat(20) + "-refresh-verifier-with-entropy-0123456789";
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "openid offline_access"),
            ("code_challenge", &pkce_s256(&verifier)),
            ("code_challenge_method", "S256"),
            ("provider", "vk"),
        ]))
        .await
        .site();
    let code = param(&site, "code").unwrap_or_else(|| panic!("no code in {site}"));
    let (status, tokens) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_REDIRECT),
            ("client_id", SPA),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid offline_access");
    let r1 = s(&tokens, "refresh_token");

    // Without a client_id it is nobody's request.
    let anonymous = token_request(
        &gw,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_error(&anonymous, 401, "invalid_client");

    let (status, next) = refresh_as(&gw, SPA, None, &r1, None).await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(s(&next, "refresh_token"), r1);
    let id = jwt_claims(&s(&next, "id_token"));
    assert_eq!(id["aud"], SPA);
    assert_eq!(id["sub"], "vk:1234567");
    let (status, _) = refresh_as(&gw, SPA, None, &s(&next, "refresh_token"), None).await;
    assert_eq!(status, 200);
}

// ---- grant types ----

#[tokio::test]
async fn the_password_grant_is_unsupported() {
    let gw = TestGateway::start().await;
    let answer = token_request(
        &gw,
        &[
            ("grant_type", "password"),
            ("username", "ivan"),
            ("password", "secret"),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await;
    assert_error(&answer, 400, "unsupported_grant_type");
}

//! The upstream token broker: a site allowed to (a CRM) gets the person's own OK or VK token,
//! or has the gateway call an OK or VK method for the person, signed as the network wants,
//! with only the person's access token from the gateway. The fakes check every signature
//! and token, so a wrongly signed call fails here as at the network.

mod support;

use serde_json::{Value, json};
use support::*;

/// 32 bytes of base64: the key the networks' tokens are sealed with in the store.
const TOKEN_KEY: &str = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";

fn options() -> Options {
    Options {
        extra_toml: format!("[upstream]\ntoken_key = \"{TOKEN_KEY}\"\n"),
        shop_extra: r#"upstream_access = true
upstream_methods = ["users.getInfo", "messages.getHistory"]"#
            .into(),
        forum_extra: r#"upstream_methods = ["users.getInfo"]"#.into(),
        ..Options::default()
    }
}

/// The access token a site gets after logging the person in through `provider`.
async fn access_token(
    gw: &TestGateway,
    client: &str,
    secret: &str,
    redirect: &str,
    provider: &str,
) -> String {
    let code = login_code(gw, client, redirect, provider).await;
    let (status, tokens) = redeem(gw, &code, redirect, client, secret).await;
    assert_eq!(status, 200, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_string()
}

async fn upstream_token(gw: &TestGateway, bearer: &str) -> (u16, Option<String>, Value) {
    bearer_get(&format!("{}/api/upstream/token", gw.issuer), bearer).await
}

async fn call(gw: &TestGateway, bearer: &str, provider: &str, body: Value) -> (u16, Value) {
    let response = browser()
        .post(format!("{}/api/upstream/{provider}/call", gw.issuer))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_crm_gets_the_persons_ok_token_and_calls_ok_methods_signed_by_the_gateway() {
    let gw = TestGateway::start_with(options()).await;
    let bearer = access_token(&gw, SHOP, SHOP_SECRET, SHOP_REDIRECT, "ok").await;

    let (status, _, body) = upstream_token(&gw, &bearer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "ok");
    assert!(
        body["access_token"].as_str().unwrap().starts_with("tkn.-"),
        "{body}"
    );
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((1700..=1800).contains(&expires_in), "{body}");

    let (status, answer) = call(
        &gw,
        &bearer,
        "ok",
        json!({"method": "users.getInfo", "params": {"uids": "575123456789", "fields": "name,gender"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!([{"uid": "575123456789", "name": "Иван Петров", "gender": "male"}])
    );
    // What reached OK: the gateway's signature in the person's session (the fake checked
    // `sig` with md5(token + secret)), and the token that the site was given.
    let sent = gw.ok.last_request("api");
    let sent = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(sent("method").as_deref(), Some("users.getInfo"));
    assert_eq!(
        sent("application_key").as_deref(),
        Some("CBAFJIICABABABABA")
    );
    assert_eq!(
        sent("access_token").as_deref(),
        body["access_token"].as_str()
    );
    assert!(sent("sig").is_some());

    // OK's own error objects come back as OK sent them.
    let (status, answer) = call(
        &gw,
        &bearer,
        "ok",
        json!({"method": "users.getInfo", "params": {}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_code"], 100, "{answer}");
}

#[tokio::test]
async fn revoking_the_sites_refresh_token_closes_the_broker_to_its_access_tokens() {
    let mut options = options();
    options.shop_extra.push_str("\nrefresh_tokens = true");
    let gw = TestGateway::start_with(options).await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
    let bearer = tokens["access_token"].as_str().unwrap();
    let (status, _, body) = upstream_token(&gw, bearer).await;
    assert_eq!(status, 200, "{body}");

    let response = browser()
        .post(format!("{}/revoke", gw.issuer))
        .basic_auth(SHOP, Some(SHOP_SECRET))
        .form(&[("token", tokens["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (status, challenge, body) = upstream_token(&gw, bearer).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    assert!(challenge.unwrap().starts_with("Bearer"));
    let (status, answer) = call(
        &gw,
        bearer,
        "ok",
        json!({"method": "users.getInfo", "params": {"uids": "575123456789"}}),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "invalid_token");
    assert_eq!(
        gw.ok.calls("api"),
        1,
        "only the login's profile call reached OK"
    );
}

#[tokio::test]
async fn vk_methods_are_called_with_the_token_and_v() {
    let gw = TestGateway::start_with(options()).await;
    let bearer = access_token(&gw, SHOP, SHOP_SECRET, SHOP_REDIRECT, "vk").await;
    let (status, answer) = call(
        &gw,
        &bearer,
        "vk",
        json!({"method": "messages.getHistory", "params": {"peer_id": 2000000001, "count": 1}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["response"]["items"][0]["text"],
        "Здравствуйте! Когда доставка?"
    );
    let sent = gw.vk.last_request("method");
    let sent = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(sent("peer_id").as_deref(), Some("2000000001"));
    assert_eq!(sent("v").as_deref(), Some("5.199"));
    // Logged in with VK: not OK.
    let (status, answer) = call(
        &gw,
        &bearer,
        "ok",
        json!({"method": "users.getInfo", "params": {"uids": "1"}}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error_description"],
        "the person logged in with vk, not ok"
    );
}

#[tokio::test]
async fn an_expired_ok_token_is_refreshed_before_it_is_handed_out() {
    let gw = TestGateway::start_with(Options {
        ok_token_lifetime: "0",
        ..options()
    })
    .await;
    let bearer = access_token(&gw, SHOP, SHOP_SECRET, SHOP_REDIRECT, "ok").await;
    assert_eq!(gw.ok.calls("token"), 1);
    let (status, _, body) = upstream_token(&gw, &bearer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(gw.ok.calls("token"), 2, "refreshed at OK");
    // The refreshed token is one OK knows: a call with it passes OK's checks.
    let (status, answer) = call(
        &gw,
        &bearer,
        "ok",
        json!({"method": "users.getInfo", "params": {"uids": "575123456789"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["uid"], "575123456789");
}

#[tokio::test]
async fn only_what_the_client_is_allowed() {
    let gw = TestGateway::start_with(options()).await;
    let shop = access_token(&gw, SHOP, SHOP_SECRET, SHOP_REDIRECT, "ok").await;
    // A method not in upstream_methods.
    let (status, answer) = call(
        &gw,
        &shop,
        "ok",
        json!({"method": "mediatopic.post", "params": {}}),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"], "insufficient_scope");
    assert_eq!(
        answer["error_description"],
        "method mediatopic.post is not in this client's upstream_methods"
    );
    let api_calls = gw.ok.calls("api");
    // The forum may call users.getInfo but not fetch the token itself. (It logs in through
    // the shop's SSO session: the same network login, the same kept token.)
    let forum = access_token(&gw, FORUM, FORUM_SECRET, FORUM_REDIRECT, "ok").await;
    let (status, challenge, body) = upstream_token(&gw, &forum).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error_description"],
        "this client may not fetch the person's network token (upstream_access)"
    );
    assert!(
        challenge
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\"")
    );
    let (status, _) = call(
        &gw,
        &forum,
        "ok",
        json!({"method": "users.getInfo", "params": {"uids": "575123456789"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        gw.ok.calls("api"),
        api_calls + 1,
        "one call, no second login at OK"
    );
    // No bearer, a forged one.
    let response = browser()
        .get(format!("{}/api/upstream/token", gw.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, _, body) = upstream_token(&gw, "not.a.token").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test]
async fn after_logout_the_network_token_is_gone_with_the_session() {
    let gw = TestGateway::start_with(options()).await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (_, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    let bearer = tokens["access_token"].as_str().unwrap();
    assert_eq!(upstream_token(&gw, bearer).await.0, 200);
    let hint = tokens["id_token"].as_str().unwrap();
    let logout = format!("{}/logout?id_token_hint={hint}", gw.issuer);
    let (status, _) = gw.follow(&logout).await.page();
    assert_eq!(status, 200);
    let (status, _, body) = upstream_token(&gw, bearer).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error_description"], "the session has ended");
}

#[tokio::test]
async fn an_app_launch_has_no_network_token_to_broker() {
    let gw = TestGateway::start_with(options()).await;
    let mut form = gw.ok.launch(&[]);
    form.push(("client_id".into(), SHOP.into()));
    form.push(("client_secret".into(), SHOP_SECRET.into()));
    let tokens: Value = browser()
        .post(format!("{}/launch/ok", gw.issuer))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, _, body) = upstream_token(&gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error_description"],
        "this access token has no network login behind it (an app launch or an offline refresh)"
    );
}

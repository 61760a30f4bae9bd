//! App launches inside OK: a site forwards the parameters OK opened its iframe app with to
//! `POST /launch/ok` and gets tokens for the person, without ever holding OK's secret. Every
//! forged or altered launch is refused with the check that failed, and nothing is issued.

mod support;

use support::fakes::ok::launch_sig;
use support::*;

/// POSTs launch parameters to `/launch/{provider}` as `client` (client_secret_post).
async fn launch_as(
    gw: &TestGateway,
    provider: &str,
    client: &str,
    secret: Option<&str>,
    params: &[(String, String)],
) -> (u16, serde_json::Value) {
    let mut form: Vec<(String, String)> = params.to_vec();
    form.push(("client_id".into(), client.into()));
    if let Some(secret) = secret {
        form.push(("client_secret".into(), secret.into()));
    }
    let response = browser()
        .post(format!("{}/launch/{provider}", gw.issuer))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    (status, response.json().await.unwrap())
}

async fn launch(gw: &TestGateway, params: &[(String, String)]) -> (u16, serde_json::Value) {
    launch_as(gw, "ok", SHOP, Some(SHOP_SECRET), params).await
}

/// Replaces (or adds) one parameter, leaving `sig` as OK computed it.
fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != name).cloned().collect();
    out.push((name.into(), value.into()));
    out
}

/// As `with`, then signed again with `secret` (a forger who knows some secret).
fn resigned(
    params: &[(String, String)],
    name: &str,
    value: &str,
    secret: &str,
) -> Vec<(String, String)> {
    let mut out = with(params, name, value);
    out.retain(|(k, _)| k != "sig");
    let sig = launch_sig(&out, secret);
    out.push(("sig".into(), sig));
    out
}

const OK_SECRET: &str = "0F1E2D3C4B5A69788796A5B4";

fn assert_refused(status: u16, body: &serde_json::Value, description: &str) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_launch", "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    assert!(body.get("id_token").is_none() && body.get("access_token").is_none());
}

#[tokio::test]
async fn a_genuine_launch_gets_tokens_with_the_same_sub_as_an_oauth_login_and_its_context() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[
        ("refplace", "catalog"),
        ("custom_args", "ref=banner_7"),
        ("mob", "true"),
        ("mob_platform", "androidweb"),
        ("first_start", "1"),
        ("referer", "friend_feed"),
    ]);
    let (status, tokens) = launch(&gw, &params).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(tokens.get("refresh_token").is_none());
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], SHOP);
    assert_eq!(id["provider"], "ok");
    assert_eq!(id["provider_user_id"], "575123456789");
    assert_eq!(id["name"], "Иван Петров");
    assert_eq!(id["email"], "ivan@example.ru");
    assert_eq!(
        id["launch"],
        serde_json::json!({
            "refplace": "catalog",
            "custom_args": "ref=banner_7",
            "mob": "true",
            "mob_platform": "androidweb",
            "referer": "friend_feed",
            "first_start": "1",
            "api_server": "https://api.ok.ru/",
            "web_server": "https://ok.ru",
            "apiconnection": "512000000001_1700000000000",
        })
    );
    assert!(id.get("sid").is_none(), "a launch opens no SSO session");
    // Nothing secret of the launch reaches the site's token.
    let text = id.to_string();
    for (k, v) in &params {
        if ["session_key", "session_secret_key", "auth_sig", "sig"].contains(&k.as_str()) {
            assert!(!text.contains(v.as_str()), "{k} leaked into the id_token");
        }
    }
    // The profile was read in the launch's own session, signed with its session secret.
    let call = gw.ok.last_request("api");
    assert_eq!(param_of(&call, "method"), Some("users.getCurrentUser"));
    assert_eq!(
        param_of(&call, "session_key"),
        param_of(&params, "session_key")
    );
    assert_eq!(param_of(&call, "access_token"), None);

    // The same OK account through an OAuth login: the same `sub`.
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, oauth) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{oauth}");
    assert_eq!(
        jwt_claims(oauth["id_token"].as_str().unwrap())["sub"],
        id["sub"]
    );
    assert_eq!(id["sub"], "ok:575123456789");

    // The access token works at /userinfo.
    let (status, _, claims) = userinfo(&gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["sub"], "ok:575123456789");
}

fn param_of<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn an_altered_parameter_breaks_sig() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[("refplace", "catalog")]);
    let altered = with(&params, "refplace", "banner");
    let (status, body) = launch(&gw, &altered).await;
    assert_refused(status, &body, "sig does not match the launch parameters");
    assert_eq!(gw.ok.calls("api"), 0, "nothing is asked of OK");
}

#[tokio::test]
async fn a_forged_sig_is_refused() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    let forged = with(&params, "sig", "0123456789abcdef0123456789abcdef");
    let (status, body) = launch(&gw, &forged).await;
    assert_refused(status, &body, "sig does not match the launch parameters");
    // Signed with a guessed secret: no better.
    let guessed = resigned(&params, "custom_args", "x", "not-the-secret");
    let (status, body) = launch(&gw, &guessed).await;
    assert_refused(status, &body, "sig does not match the launch parameters");
}

#[tokio::test]
async fn a_missing_sig_is_refused() {
    let gw = TestGateway::start().await;
    let params: Vec<(String, String)> = gw
        .ok
        .launch(&[])
        .into_iter()
        .filter(|(k, _)| k != "sig")
        .collect();
    let (status, body) = launch(&gw, &params).await;
    assert_refused(status, &body, "`sig` is missing");
}

#[tokio::test]
async fn a_wrong_auth_sig_is_refused_even_with_a_valid_sig() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    // Someone who could sign (the app's own secret leaked to them) claims another person.
    let other = resigned(&params, "logged_user_id", "575000000001", OK_SECRET);
    let (status, body) = launch(&gw, &other).await;
    assert_refused(
        status,
        &body,
        "auth_sig does not match logged_user_id and session_key",
    );
    assert_eq!(gw.ok.calls("api"), 0);
}

#[tokio::test]
async fn another_apps_application_key_is_refused() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    let other = resigned(&params, "application_key", "CBAOTHERAPPABABA", OK_SECRET);
    let (status, body) = launch(&gw, &other).await;
    assert_refused(
        status,
        &body,
        "application_key is not this app's public key",
    );
}

#[tokio::test]
async fn a_launch_the_person_did_not_authorize_is_refused() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    let unauthorized = resigned(&params, "authorized", "0", OK_SECRET);
    let (status, body) = launch(&gw, &unauthorized).await;
    assert_refused(
        status,
        &body,
        "the person has not authorized the app (authorized is not 1)",
    );
}

#[tokio::test]
async fn a_session_ok_has_ended_is_refused() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    gw.ok
        .end_launch_session(param_of(&params, "session_key").unwrap());
    let (status, body) = launch(&gw, &params).await;
    assert_refused(status, &body, "OK reports the launch's session as expired");
    assert_eq!(gw.ok.calls("api"), 1);
}

#[tokio::test]
async fn a_parameter_given_twice_is_refused() {
    let gw = TestGateway::start().await;
    let mut params = gw.ok.launch(&[("refplace", "catalog")]);
    params.push(("refplace".into(), "banner".into()));
    let (status, body) = launch(&gw, &params).await;
    assert_refused(status, &body, "`refplace` is given twice");
}

#[tokio::test]
async fn only_an_authenticated_client_allowed_the_network_may_verify_launches() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    // A wrong secret.
    let (status, body) = launch_as(&gw, "ok", SHOP, Some("wrong-secret-0123456789"), &params).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // A public client: anyone could claim to be it.
    let (status, body) = launch_as(&gw, "ok", SPA, None, &params).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        body["error_description"],
        "app launches are verified for confidential clients only"
    );
    // A client not allowed that network, and a network that launches no apps.
    let (status, body) = launch_as(&gw, "vk", FORUM, Some(FORUM_SECRET), &params).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(
        body["error_description"],
        "provider vk is not available to this client"
    );
    let (status, body) = launch_as(&gw, "vk", SHOP, Some(SHOP_SECRET), &params).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error_description"], "VK does not launch apps");
    assert_eq!(gw.ok.calls("api"), 0);
}

#[tokio::test]
async fn ok_unreachable_during_a_launch_is_temporarily_unavailable() {
    let gw = TestGateway::start().await;
    let params = gw.ok.launch(&[]);
    gw.ok
        .set_behaviour(support::fakes::ok::OkBehaviour::ApiHttp502);
    let (status, body) = launch(&gw, &params).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
}

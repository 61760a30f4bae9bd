//! Single sign-on across sites (one login at the network, codes for every site after it),
//! what a site may ask about reusing it (`prompt`, `max_age`), the session cookie and its
//! lifetimes, and logout everywhere: RP-initiated logout at `/logout` with its
//! confirmation form, and back-channel logout tokens checked as a site would check them.

mod support;

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use support::fakes::ok::OkUser;
use support::site::FakeSite;
use support::*;
use url::Url;

/// The shop's registered page for after logout.
const BYE: &str = "https://shop.example.ru/bye";
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const LOGOUT_TOKEN_TYP: &str = "logout+jwt";

// ---- helpers: requests ----

/// `/authorize` for `client` (shop or forum) with its own state, plus `extra` parameters.
fn authorize_url(gw: &TestGateway, client: &str, extra: &[(&str, &str)]) -> String {
    let redirect = redirect_of(client);
    let state = format!("st-{client}");
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid profile email"),
        ("state", state.as_str()),
    ];
    params.extend_from_slice(extra);
    gw.authorize_url(&params)
}

fn redirect_of(client: &str) -> &'static str {
    match client {
        SHOP => SHOP_REDIRECT,
        FORUM => FORUM_REDIRECT,
        other => panic!("no redirect URI for {other}"),
    }
}

fn secret_of(client: &str) -> &'static str {
    match client {
        SHOP => SHOP_SECRET,
        FORUM => FORUM_SECRET,
        other => panic!("no secret for {other}"),
    }
}

/// The site got a code (and its state and our issuer back); returns the code.
fn code_at(site: &Url, client: &str, gw: &TestGateway) -> String {
    assert!(
        site.as_str().starts_with(redirect_of(client)),
        "redirected to {site}"
    );
    assert_eq!(param(site, "error"), None, "{site}");
    assert_eq!(
        param(site, "state").as_deref(),
        Some(format!("st-{client}").as_str())
    );
    assert_eq!(param(site, "iss").as_deref(), Some(gw.issuer.as_str()));
    param(site, "code").expect("a code")
}

/// The site got `error` (no code) with its state.
fn assert_client_error(site: &Url, client: &str, error: &str) {
    assert_site_error(site, redirect_of(client), &format!("st-{client}"), error);
}

/// `/authorize` in the test's browser ends at the site with a code.
async fn authorize_code(gw: &TestGateway, client: &str, extra: &[(&str, &str)]) -> String {
    let site = gw.follow(&authorize_url(gw, client, extra)).await.site();
    code_at(&site, client, gw)
}

/// Redeems `code` as `client`; the token response.
async fn redeem_ok(gw: &TestGateway, client: &str, code: &str) -> Value {
    let (status, body) = redeem(gw, code, redirect_of(client), client, secret_of(client)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A whole login at `client` through `provider`; the token response.
async fn login(gw: &TestGateway, client: &str, provider: &str) -> Value {
    let code = authorize_code(gw, client, &[("provider", provider)]).await;
    redeem_ok(gw, client, &code).await
}

/// Single sign-on at `client` (no provider named); the token response.
async fn sso(gw: &TestGateway, client: &str) -> Value {
    let code = authorize_code(gw, client, &[]).await;
    redeem_ok(gw, client, &code).await
}

fn id_claims(tokens: &Value) -> Value {
    jwt_claims(tokens["id_token"].as_str().expect("an id_token"))
}

/// The gateway's provider chooser for `client`; returns its login links (absolute).
fn assert_login_page(gw: &TestGateway, landing: Landing, client: &str) -> Vec<Url> {
    let (status, body) = landing.page();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Log in with"), "{body}");
    let links: Vec<Url> = tags(&body, "a")
        .iter()
        .filter_map(|a| attr(a, "href"))
        .filter(|h| h.starts_with("/authorize?"))
        .map(|h| Url::parse(&format!("{}{h}", gw.issuer)).unwrap())
        .collect();
    assert!(!links.is_empty(), "no login links in {body}");
    for link in &links {
        assert_eq!(param(link, "client_id").as_deref(), Some(client));
        assert_eq!(
            param(link, "state").as_deref(),
            Some(format!("st-{client}").as_str())
        );
    }
    links
}

/// The forum gets no code from the browser's session: it is shown the login page with
/// exactly the OK button.
async fn assert_forum_must_log_in(gw: &TestGateway) {
    let landing = gw.follow(&authorize_url(gw, FORUM, &[])).await;
    let links = assert_login_page(gw, landing, FORUM);
    let providers: Vec<Option<String>> = links.iter().map(|l| param(l, "provider")).collect();
    assert_eq!(providers, vec![Some("ok".to_string())]);
}

async fn assert_token_rejected(gw: &TestGateway, access_token: &str) {
    let (status, challenge, body) = userinfo(gw, access_token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    let challenge = challenge.expect("a WWW-Authenticate challenge");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

fn logout_url(gw: &TestGateway, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{}/logout", gw.issuer)).unwrap();
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url.to_string()
}

/// GET `/logout` in the test's browser, without following anything.
async fn logout_get(gw: &TestGateway, params: &[(&str, &str)]) -> reqwest::Response {
    gw.browser.get(logout_url(gw, params)).send().await.unwrap()
}

async fn logout_post(gw: &TestGateway, fields: &[(String, String)]) -> reqwest::Response {
    gw.browser
        .post(format!("{}/logout", gw.issuer))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// `/logout` refused with an error page: 400, no redirect, the explanation shown.
async fn assert_logout_refused(gw: &TestGateway, params: &[(&str, &str)], explanation: &str) {
    let response = logout_get(gw, params).await;
    assert_eq!(response.status(), 400, "{params:?}");
    assert!(response.headers().get("location").is_none(), "{params:?}");
    let body = response.text().await.unwrap();
    assert!(body.contains(explanation), "{params:?}: {body}");
    assert!(!body.contains("evil.example"), "{body}");
}

/// `/authorize` for the forum presenting `cookie` as the session cookie: whether it got a
/// code by single sign-on (otherwise it must be the login page).
async fn forum_sso_with_cookie(gw: &TestGateway, cookie: &str) -> bool {
    let response = jarless()
        .get(authorize_url(gw, FORUM, &[]))
        .header("cookie", format!("socialgate_session={cookie}"))
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        303 | 302 => {
            let site = location_url(&response);
            code_at(&site, FORUM, gw);
            true
        }
        200 => {
            let body = response.text().await.unwrap();
            assert!(body.contains("Log in with"), "{body}");
            false
        }
        other => panic!("unexpected HTTP {other} from /authorize"),
    }
}

/// The login's hops done one by one in `client`: gateway → OK → gateway callback. Returns
/// the `/authorize` response and the callback's.
async fn login_by_hand(
    client: &reqwest::Client,
    authorize: &str,
) -> (reqwest::Response, reqwest::Response) {
    let to_network = client.get(authorize).send().await.unwrap();
    assert_eq!(to_network.status(), 303, "/authorize sends to the network");
    let at_network = client.get(location(&to_network)).send().await.unwrap();
    assert!(at_network.status().is_redirection());
    let callback = location(&at_network);
    assert!(callback.contains("/callback/ok?"), "{callback}");
    let back = client.get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 303, "the callback sends to the site");
    (to_network, back)
}

/// The `socialgate_session` Set-Cookie of a response, if any.
fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("socialgate_session="))
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    let (_, value) = pair.split_once('=').unwrap();
    assert!(!value.is_empty(), "{set_cookie}");
    value.to_string()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

// ---- helpers: HTML ----

/// The links of a page: (href, text).
fn links(html: &str) -> Vec<(String, String)> {
    html.match_indices("<a ")
        .map(|(i, _)| {
            let tag = &html[i..];
            let end = tag.find("</a>").expect("a closed link");
            let open_end = tag.find('>').unwrap();
            (
                attr(&tag[..open_end], "href").expect("a link with an href"),
                html_unescape(&tag[open_end + 1..end]),
            )
        })
        .collect()
}

/// The opening tags `<name …>` in `html` (attribute values are escaped, so no `>` inside).
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .map(|(i, _)| {
            let tag = &html[i..];
            &tag[..tag.find('>').expect("a closed tag")]
        })
        .collect()
}

/// An attribute's value, unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"').expect("a closing quote");
    Some(html_unescape(&tag[start..start + end]))
}

fn html_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let entity_end = rest[i..].find(';').expect("an entity ends with ;");
        let entity = &rest[i + 1..i + entity_end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("unknown entity &{e};"),
        };
        out.push(c);
        rest = &rest[i + entity_end + 1..];
    }
    out.push_str(rest);
    out
}

/// The logout confirmation page: one form POSTing to `/logout`; its hidden fields in page
/// order, exactly as a browser would submit them.
fn logout_form(body: &str) -> Vec<(String, String)> {
    assert!(body.contains("Log out of every site"), "{body}");
    let forms = tags(body, "form");
    assert_eq!(forms.len(), 1, "{body}");
    assert_eq!(attr(forms[0], "method").as_deref(), Some("post"));
    assert_eq!(attr(forms[0], "action").as_deref(), Some("/logout"));
    tags(body, "input")
        .iter()
        .filter(|i| attr(i, "type").as_deref() == Some("hidden"))
        .map(|i| {
            (
                attr(i, "name").expect("a named input"),
                attr(i, "value").unwrap_or_default(),
            )
        })
        .collect()
}

/// A confirmation page answer (200); its form's fields.
async fn confirmation(response: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    logout_form(&body)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ---- helpers: JWTs ----

async fn jwks(gw: &TestGateway) -> Value {
    browser()
        .get(format!("{}/jwks", gw.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn jwk_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS {jwks}"))
}

fn public_key(jwk: &Value) -> DecodingKey {
    assert_eq!(jwk["kty"], "RSA");
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

/// The JWK's public key for `alg`, which the JWK must be made for.
fn public_key_for(jwk: &Value, alg: Algorithm) -> DecodingKey {
    match alg {
        Algorithm::RS256 => public_key(jwk),
        Algorithm::ES256 => {
            assert_eq!(
                (&jwk["kty"], &jwk["crv"], &jwk["alg"]),
                (&json!("EC"), &json!("P-256"), &json!("ES256"))
            );
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap()
        }
        other => panic!("the gateway signs with no {other:?} key"),
    }
}

/// Verifies a token as a site does: RS256 signature by the JWKS key named by `kid`, media
/// type, issuer, audience, expiry. Returns the claims.
async fn verify_jwt(gw: &TestGateway, token: &str, typ: &str, audience: &str) -> Value {
    verify_jwt_signed(gw, token, typ, audience, Algorithm::RS256).await
}

/// `verify_jwt` for a token that must be signed with `alg`.
async fn verify_jwt_signed(
    gw: &TestGateway,
    token: &str,
    typ: &str,
    audience: &str,
    alg: Algorithm,
) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.expect("a kid");
    let jwks = jwks(gw).await;
    let key = public_key_for(jwk_for(&jwks, &kid), alg);
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[gw.issuer.as_str()]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{typ} token does not verify: {e}"))
        .claims;
    assert_eq!(claims["iss"], gw.issuer.as_str());
    assert_eq!(claims["aud"], audience);
    claims
}

/// Checks a back-channel logout token against what the site knows (its id_token's claims);
/// returns its `jti`.
async fn assert_logout_token(gw: &TestGateway, token: &str, client: &str, id: &Value) -> String {
    assert_logout_token_signed(gw, token, client, id, Algorithm::RS256).await
}

/// `assert_logout_token` for a client whose tokens are signed with `alg`.
async fn assert_logout_token_signed(
    gw: &TestGateway,
    token: &str,
    client: &str,
    id: &Value,
    alg: Algorithm,
) -> String {
    let claims = verify_jwt_signed(gw, token, LOGOUT_TOKEN_TYP, client, alg).await;
    assert_eq!(claims["sub"], id["sub"], "{claims}");
    assert_eq!(claims["sid"], id["sid"], "{claims}");
    assert!(claims["sid"].is_string(), "{claims}");
    assert_eq!(
        claims["events"],
        json!({ BACKCHANNEL_EVENT: {} }),
        "{claims}"
    );
    assert!(claims.get("nonce").is_none(), "{claims}");
    let iat = claims["iat"].as_u64().expect("iat");
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(exp - iat, 120, "{claims}");
    let jti = claims["jti"].as_str().expect("a jti").to_string();
    assert!(!jti.is_empty());
    jti
}

/// A token with these claims, signed with the gateway's own key (read from its data
/// directory) under the `kid` of `like`: a perfect signature on whatever claims we choose.
async fn sign_with_gateway_key(gw: &TestGateway, like: &str, claims: &Value) -> String {
    let kid = jsonwebtoken::decode_header(like).unwrap().kid.unwrap();
    let jwks = jwks(gw).await;
    let public = public_key(jwk_for(&jwks, &kid));
    let mut lenient = Validation::new(Algorithm::RS256);
    lenient.validate_aud = false;
    lenient.validate_exp = false;
    lenient.required_spec_claims.clear();
    let file = gw.dir.path().join("data").join("signing-keys.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid);
    header.typ = Some("JWT".into());
    for key in stored["keys"].as_array().unwrap() {
        let pem = key["pem"].as_str().unwrap();
        let private = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, claims, &private).unwrap();
        if jsonwebtoken::decode::<Value>(&token, &public, &lenient).is_ok() {
            return token;
        }
    }
    panic!("no stored key matches the published one");
}

/// A token with its payload replaced and the original signature kept.
fn with_payload(token: &str, claims: &Value) -> String {
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

// ---- single sign-on ----

#[tokio::test]
async fn second_site_gets_a_code_from_the_session_without_the_network() {
    let gw = TestGateway::start().await;
    let shop = login(&gw, SHOP, "ok").await;
    assert_eq!(gw.ok.calls("authorize"), 1);
    assert_eq!(gw.ok.calls("token"), 1);

    // No provider named: the live session answers.
    let forum = sso(&gw, FORUM).await;
    assert_eq!(gw.ok.calls("authorize"), 1, "no second visit to OK");
    assert_eq!(gw.ok.calls("token"), 1, "no second code exchange at OK");

    let shop_id = verify_jwt(&gw, shop["id_token"].as_str().unwrap(), "JWT", SHOP).await;
    let forum_id = verify_jwt(&gw, forum["id_token"].as_str().unwrap(), "JWT", FORUM).await;
    assert_eq!(shop_id["aud"], SHOP);
    assert_eq!(forum_id["aud"], FORUM);
    assert_eq!(forum_id["sub"], "ok:575123456789");
    assert_eq!(forum_id["sub"], shop_id["sub"]);
    assert!(shop_id["sid"].is_string(), "{shop_id}");
    assert_eq!(forum_id["sid"], shop_id["sid"]);
    assert!(shop_id["auth_time"].is_u64(), "{shop_id}");
    assert_eq!(forum_id["auth_time"], shop_id["auth_time"]);
    // The forum gets the claims of its own scopes from the session's identity.
    assert_eq!(forum_id["email"], "ivan@example.ru");
    assert_eq!(forum_id["name"], "Иван Петров");
}

#[tokio::test]
async fn a_site_that_does_not_allow_the_sessions_network_gets_no_sso() {
    let gw = TestGateway::start().await;
    login(&gw, SHOP, "vk").await;
    // The VK session serves the shop (which allows VK)…
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;
    // …but not the forum, which allows only OK: its login page, with the OK button.
    assert_forum_must_log_in(&gw).await;
    let site = gw
        .follow(&authorize_url(&gw, FORUM, &[("prompt", "none")]))
        .await
        .site();
    assert_client_error(&site, FORUM, "login_required");
    assert_eq!(gw.ok.calls("authorize"), 0);
}

#[tokio::test]
async fn prompt_none_uses_the_session_or_answers_login_required() {
    let mut gw = TestGateway::start().await;
    let shop = login(&gw, SHOP, "ok").await;
    let code = authorize_code(&gw, FORUM, &[("prompt", "none")]).await;
    let forum = redeem_ok(&gw, FORUM, &code).await;
    assert_eq!(id_claims(&forum)["sid"], id_claims(&shop)["sid"]);
    assert_eq!(gw.ok.calls("authorize"), 1);
    assert_eq!(gw.ok.calls("token"), 1);

    // `none` with anything else is a contradiction, even with a live session.
    let site = gw
        .follow(&authorize_url(&gw, FORUM, &[("prompt", "none login")]))
        .await
        .site();
    assert_client_error(&site, FORUM, "invalid_request");
    assert_eq!(
        param(&site, "error_description").as_deref(),
        Some("prompt=none cannot be combined with other prompt values")
    );

    // Another browser has no session.
    gw.browser = browser();
    let site = gw
        .follow(&authorize_url(&gw, FORUM, &[("prompt", "none")]))
        .await
        .site();
    assert_client_error(&site, FORUM, "login_required");
    assert_eq!(gw.ok.calls("authorize"), 1);
}

#[tokio::test]
async fn prompt_login_and_max_age_decide_whether_the_session_is_reused() {
    let gw = TestGateway::start().await;
    let first = id_claims(&login(&gw, SHOP, "ok").await);
    let first_auth_time = first["auth_time"].as_u64().unwrap();

    // prompt=login without a provider: the login page, whose buttons keep the prompt.
    let landing = gw
        .follow(&authorize_url(&gw, FORUM, &[("prompt", "login")]))
        .await;
    let links = assert_login_page(&gw, landing, FORUM);
    assert_eq!(links.len(), 1);
    assert_eq!(param(&links[0], "prompt").as_deref(), Some("login"));
    assert_eq!(gw.ok.calls("authorize"), 1);

    // With the provider: to OK again; the same person, so the same session.
    let code = authorize_code(&gw, FORUM, &[("prompt", "login"), ("provider", "ok")]).await;
    assert_eq!(gw.ok.calls("authorize"), 2);
    assert_eq!(gw.ok.calls("token"), 2);
    let again = id_claims(&redeem_ok(&gw, FORUM, &code).await);
    assert_eq!(again["sid"], first["sid"]);
    assert_eq!(again["sub"], first["sub"]);
    let again_auth_time = again["auth_time"].as_u64().unwrap();
    assert!(again_auth_time >= first_auth_time, "{again} vs {first}");

    // max_age=0 is a forced login too.
    let code = authorize_code(&gw, FORUM, &[("max_age", "0"), ("provider", "ok")]).await;
    assert_eq!(gw.ok.calls("authorize"), 3);
    assert_eq!(gw.ok.calls("token"), 3);
    let third = id_claims(&redeem_ok(&gw, FORUM, &code).await);
    assert_eq!(third["sid"], first["sid"]);
    let third_auth_time = third["auth_time"].as_u64().unwrap();
    assert!(third_auth_time >= again_auth_time);

    // A generous max_age reuses the session, with the latest network login's time.
    let code = authorize_code(&gw, SHOP, &[("max_age", "3600")]).await;
    assert_eq!(gw.ok.calls("authorize"), 3);
    assert_eq!(gw.ok.calls("token"), 3);
    let reused = id_claims(&redeem_ok(&gw, SHOP, &code).await);
    assert_eq!(reused["sid"], first["sid"]);
    assert_eq!(reused["auth_time"], third_auth_time);

    let site = gw
        .follow(&authorize_url(&gw, SHOP, &[("max_age", "abc")]))
        .await
        .site();
    assert_client_error(&site, SHOP, "invalid_request");
    assert_eq!(
        param(&site, "error_description").as_deref(),
        Some("max_age must be a whole number of seconds")
    );
    assert_eq!(gw.ok.calls("authorize"), 3);
}

#[tokio::test]
async fn a_forced_login_is_forced_at_the_network_too_where_the_network_allows() {
    let gw = TestGateway::start().await;
    login(&gw, SHOP, "vk").await;
    assert_eq!(gw.vk.last_param("authorize", "revoke"), None);

    // prompt=login: VK is asked to show its login screen even to a person it knows.
    authorize_code(&gw, SHOP, &[("prompt", "login"), ("provider", "vk")]).await;
    assert_eq!(gw.vk.calls("authorize"), 2);
    assert_eq!(
        gw.vk.last_param("authorize", "revoke").as_deref(),
        Some("1")
    );
    // A max_age the session meets: no network at all.
    authorize_code(&gw, SHOP, &[("max_age", "3600")]).await;
    assert_eq!(gw.vk.calls("authorize"), 2);
    // One it does not meet: VK cannot be told an age, so it is asked for a fresh login.
    authorize_code(&gw, SHOP, &[("max_age", "0"), ("provider", "vk")]).await;
    assert_eq!(gw.vk.calls("authorize"), 3);
    assert_eq!(
        gw.vk.last_param("authorize", "revoke").as_deref(),
        Some("1")
    );
    assert_eq!(gw.vk.last_param("authorize", "max_age"), None);
    // Without either, a network login is plain again.
    let other = browser();
    let site = follow_with(&other, &authorize_url(&gw, SHOP, &[("provider", "vk")]))
        .await
        .site();
    code_at(&site, SHOP, &gw);
    assert_eq!(gw.vk.calls("authorize"), 4);
    assert_eq!(gw.vk.last_param("authorize", "revoke"), None);

    // OK documents no such parameter: its login is asked exactly as always.
    let names = |gw: &TestGateway| {
        let mut names: Vec<String> = gw
            .ok
            .last_request("authorize")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        names.sort();
        names
    };
    login(&gw, SHOP, "ok").await;
    let plain = names(&gw);
    authorize_code(&gw, SHOP, &[("prompt", "login"), ("provider", "ok")]).await;
    assert_eq!(gw.ok.calls("authorize"), 2);
    assert_eq!(names(&gw), plain);
}

#[tokio::test]
async fn another_person_on_the_same_browser_gets_a_new_session_and_the_old_one_is_logged_out() {
    let site = FakeSite::start().await;
    let gw = TestGateway::start_with(Options {
        shop_extra: format!("backchannel_logout_uri = \"{}\"", site.url),
        ..Options::default()
    })
    .await;
    let ivan = login(&gw, SHOP, "ok").await;
    let ivan_id = id_claims(&ivan);
    assert_eq!(ivan_id["sub"], "ok:575123456789");

    gw.ok.set_person(OkUser {
        uid: "575000000002".into(),
        name: "Анна Смирнова".into(),
        first_name: "Анна".into(),
        last_name: "Смирнова".into(),
        email: Some("anna@example.ru".into()),
        ..OkUser::sample()
    });
    let code = authorize_code(&gw, SHOP, &[("prompt", "login"), ("provider", "ok")]).await;
    let anna = redeem_ok(&gw, SHOP, &code).await;
    let anna_id = id_claims(&anna);
    assert_eq!(anna_id["sub"], "ok:575000000002");
    assert!(anna_id["sid"].is_string());
    assert_ne!(anna_id["sid"], ivan_id["sid"]);

    // The shop is told that Ivan's session ended.
    let tokens = site.wait_for_tokens(1).await;
    assert_eq!(tokens.len(), 1);
    assert_logout_token(&gw, &tokens[0], SHOP, &ivan_id).await;

    // Ivan's tokens stop working, Anna's work; the forum now gets Anna.
    assert_token_rejected(&gw, ivan["access_token"].as_str().unwrap()).await;
    let (status, _, claims) = userinfo(&gw, anna["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(claims["sub"], "ok:575000000002");
    let forum_id = id_claims(&sso(&gw, FORUM).await);
    assert_eq!(forum_id["sub"], "ok:575000000002");
    assert_eq!(forum_id["sid"], anna_id["sid"]);
    assert_eq!(site.tokens().len(), 1, "Anna's session was not logged out");
}

// ---- the session cookie ----

#[tokio::test]
async fn session_cookie_is_set_at_the_callback_and_renewed_for_another_person() {
    let gw = TestGateway::start().await;
    let client = &gw.browser;
    let shop_ok = authorize_url(&gw, SHOP, &[("provider", "ok")]);
    let (started, back) = login_by_hand(client, &shop_ok).await;
    // No session before anyone logged in.
    assert_eq!(session_set_cookie(&started), None);
    code_at(&location_url(&back), SHOP, &gw);
    let cookie = session_set_cookie(&back).expect("the callback sets the session cookie");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".to_string()), "{cookie}");
    assert!(attributes.contains(&"samesite=lax".to_string()), "{cookie}");
    assert!(attributes.contains(&"path=/".to_string()), "{cookie}");
    // An http loopback issuer: a Secure cookie would never come back.
    assert!(!attributes.contains(&"secure".to_string()), "{cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain=")),
        "{cookie}"
    );
    // It idles out with the session (8 hours by default).
    assert!(
        attributes.contains(&"max-age=28800".to_string()),
        "{cookie}"
    );
    let ivan_cookie = cookie_value(&cookie);

    gw.ok.set_person(OkUser {
        uid: "575000000002".into(),
        ..OkUser::sample()
    });
    let shop_ok_again = authorize_url(&gw, SHOP, &[("provider", "ok"), ("prompt", "login")]);
    let (_, back) = login_by_hand(client, &shop_ok_again).await;
    code_at(&location_url(&back), SHOP, &gw);
    let cookie = session_set_cookie(&back).expect("a new session, a new cookie");
    let anna_cookie = cookie_value(&cookie);
    assert_ne!(anna_cookie, ivan_cookie);

    // The old value is worthless now; the new one carries the session.
    assert!(!forum_sso_with_cookie(&gw, &ivan_cookie).await);
    assert!(forum_sso_with_cookie(&gw, &anna_cookie).await);
}

#[tokio::test]
async fn every_network_login_renews_the_session_cookie_even_for_the_same_person() {
    let gw = TestGateway::start().await;
    let client = &gw.browser;
    let (_, back) = login_by_hand(client, &authorize_url(&gw, SHOP, &[("provider", "ok")])).await;
    let first = id_claims(&redeem_ok(&gw, SHOP, &code_at(&location_url(&back), SHOP, &gw)).await);
    let before = cookie_value(&session_set_cookie(&back).unwrap());
    let again = authorize_url(&gw, SHOP, &[("provider", "ok"), ("prompt", "login")]);
    let (_, back) = login_by_hand(client, &again).await;
    let second = id_claims(&redeem_ok(&gw, SHOP, &code_at(&location_url(&back), SHOP, &gw)).await);
    let after = cookie_value(&session_set_cookie(&back).unwrap());
    // The same SSO session (same sid), under a new cookie value: a copy taken before the
    // re-login is worthless.
    assert_eq!(first["sid"], second["sid"]);
    assert_ne!(before, after);
    assert!(!forum_sso_with_cookie(&gw, &before).await);
    assert!(forum_sso_with_cookie(&gw, &after).await);
}

#[tokio::test]
async fn a_hint_from_another_browser_ends_nothing() {
    let gw = TestGateway::start().await;
    let shop = login(&gw, SHOP, "ok").await;
    // Someone holding the person's id_token, in a browser without their session.
    let stranger = browser();
    let response = stranger
        .get(logout_url(
            &gw,
            &[("id_token_hint", shop["id_token"].as_str().unwrap())],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The person is still logged in: the forum gets a code from the session.
    let forum = sso(&gw, FORUM).await;
    assert_eq!(id_claims(&forum)["sid"], id_claims(&shop)["sid"]);
    assert_eq!(gw.ok.calls("token"), 1);
}

// ---- session lifetimes (these tests wait for expiry) ----

#[tokio::test]
async fn session_idles_out_after_idle_timeout_counted_from_its_last_use() {
    let gw = TestGateway::start_with(Options {
        extra_toml: "[session]\nidle_timeout = \"2s\"\nmax_lifetime = \"1h\"".into(),
        ..Options::default()
    })
    .await;
    let (_, back) = login_by_hand(
        &gw.browser,
        &authorize_url(&gw, SHOP, &[("provider", "ok")]),
    )
    .await;
    let cookie = cookie_value(&session_set_cookie(&back).unwrap());
    let logged_in = Instant::now();

    tokio::time::sleep(Duration::from_millis(1000)).await;
    authorize_code(&gw, FORUM, &[]).await;
    // Over 2 s after the login but 1.2 s after the last use: still live.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(logged_in.elapsed() > Duration::from_secs(2));
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_forum_must_log_in(&gw).await;
    // Not only the browser forgot its cookie: the gateway forgot the session.
    assert!(!forum_sso_with_cookie(&gw, &cookie).await);
    assert_eq!(gw.ok.calls("authorize"), 1);
}

#[tokio::test]
async fn session_ends_at_max_lifetime_however_active() {
    let gw = TestGateway::start_with(Options {
        extra_toml: "[session]\nidle_timeout = \"1h\"\nmax_lifetime = \"3s\"".into(),
        ..Options::default()
    })
    .await;
    login(&gw, SHOP, "ok").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    authorize_code(&gw, FORUM, &[]).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_forum_must_log_in(&gw).await;
    let site = gw
        .follow(&authorize_url(&gw, SHOP, &[("prompt", "none")]))
        .await
        .site();
    assert_client_error(&site, SHOP, "login_required");
    assert_eq!(gw.ok.calls("authorize"), 1);
}

// ---- RP-initiated logout ----

/// Shop and forum with back-channel endpoints; the shop with a page for after logout.
async fn gateway_with_sites() -> (TestGateway, FakeSite, FakeSite) {
    let shop_site = FakeSite::start().await;
    let forum_site = FakeSite::start().await;
    let gw = TestGateway::start_with(Options {
        shop_extra: format!(
            "post_logout_redirect_uris = [\"{BYE}\"]\nbackchannel_logout_uri = \"{}\"",
            shop_site.url
        ),
        forum_extra: format!("backchannel_logout_uri = \"{}\"", forum_site.url),
        ..Options::default()
    })
    .await;
    (gw, shop_site, forum_site)
}

#[tokio::test]
async fn logout_from_a_site_ends_the_session_everywhere_and_tells_every_site() {
    let (gw, shop_site, forum_site) = gateway_with_sites().await;
    let shop = login(&gw, SHOP, "ok").await;
    let forum = sso(&gw, FORUM).await;
    let shop_id_token = shop["id_token"].as_str().unwrap();
    let shop_id = verify_jwt(&gw, shop_id_token, "JWT", SHOP).await;
    let forum_id = verify_jwt(&gw, forum["id_token"].as_str().unwrap(), "JWT", FORUM).await;
    let shop_access = shop["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&gw, shop_access).await.0, 200);
    assert_eq!(shop_site.attempts() + forum_site.attempts(), 0);

    let response = logout_get(
        &gw,
        &[
            ("id_token_hint", shop_id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "xyz"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "https://shop.example.ru/bye?state=xyz");

    let shop_tokens = shop_site.wait_for_tokens(1).await;
    let forum_tokens = forum_site.wait_for_tokens(1).await;
    let shop_jti = assert_logout_token(&gw, &shop_tokens[0], SHOP, &shop_id).await;
    let forum_jti = assert_logout_token(&gw, &forum_tokens[0], FORUM, &forum_id).await;
    assert_ne!(shop_jti, forum_jti);

    // The session is gone for this browser and for the tokens issued through it.
    assert_forum_must_log_in(&gw).await;
    let site = gw
        .follow(&authorize_url(&gw, SHOP, &[("prompt", "none")]))
        .await
        .site();
    assert_client_error(&site, SHOP, "login_required");
    assert_token_rejected(&gw, shop_access).await;
    assert_token_rejected(&gw, forum["access_token"].as_str().unwrap()).await;

    // One notice each, no more.
    assert_eq!(shop_site.tokens().len(), 1);
    assert_eq!(forum_site.tokens().len(), 1);
    assert_eq!(shop_site.attempts(), 1);
    assert_eq!(forum_site.attempts(), 1);
}

/// A site signed ES256 presents its ES256 id_token as the hint and is told of the logout
/// with an ES256 logout token; the RS256 site beside it gets an RS256 one.
#[tokio::test]
async fn an_es256_site_logs_out_with_its_es256_hint_and_hears_of_it_in_es256() {
    let shop_site = FakeSite::start().await;
    let forum_site = FakeSite::start().await;
    let gw = TestGateway::start_with(Options {
        shop_extra: format!(
            "post_logout_redirect_uris = [\"{BYE}\"]\nbackchannel_logout_uri = \"{}\"\nid_token_signed_response_alg = \"ES256\"",
            shop_site.url
        ),
        forum_extra: format!("backchannel_logout_uri = \"{}\"", forum_site.url),
        ..Options::default()
    })
    .await;
    let shop = login(&gw, SHOP, "ok").await;
    let forum = sso(&gw, FORUM).await;
    let shop_id_token = shop["id_token"].as_str().unwrap();
    let shop_id = verify_jwt_signed(&gw, shop_id_token, "JWT", SHOP, Algorithm::ES256).await;
    let forum_id = verify_jwt(&gw, forum["id_token"].as_str().unwrap(), "JWT", FORUM).await;
    let shop_access = shop["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&gw, shop_access).await.0, 200);

    // The hint is taken (a redirect to the registered page, no confirmation asked).
    let response = logout_get(
        &gw,
        &[
            ("id_token_hint", shop_id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "xyz"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "https://shop.example.ru/bye?state=xyz");

    let shop_tokens = shop_site.wait_for_tokens(1).await;
    let forum_tokens = forum_site.wait_for_tokens(1).await;
    assert_logout_token_signed(&gw, &shop_tokens[0], SHOP, &shop_id, Algorithm::ES256).await;
    assert_logout_token(&gw, &forum_tokens[0], FORUM, &forum_id).await;
    assert_token_rejected(&gw, shop_access).await;
}

#[tokio::test]
async fn logout_without_a_hint_asks_first_and_only_the_gateways_own_form_confirms() {
    let (gw, shop_site, _forum_site) = gateway_with_sites().await;
    let shop = login(&gw, SHOP, "ok").await;
    let shop_id = id_claims(&shop);

    let first = confirmation(logout_get(&gw, &[]).await).await;
    let names: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, vec!["confirm"], "{first:?}");
    assert!(!field(&first, "confirm")[0].is_empty());
    // Asking is not logging out.
    sso(&gw, FORUM).await;

    // A made-up confirmation only brings the question back.
    let wrong = vec![("confirm".to_string(), "yes".to_string())];
    let second = confirmation(logout_post(&gw, &wrong).await).await;
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;
    // The first page's token was spent by that attempt.
    let stale = confirmation(logout_post(&gw, &first).await).await;
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;
    assert_ne!(field(&second, "confirm"), field(&stale, "confirm"));
    // A link (GET) carrying a valid token does not confirm either.
    let token = field(&stale, "confirm")[0].to_string();
    let latest = confirmation(logout_get(&gw, &[("confirm", &token)]).await).await;
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;
    assert_eq!(shop_site.attempts(), 0);

    // The person presses the button: the form as the page has it.
    let response = logout_post(&gw, &latest).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("You are logged out."), "{body}");
    assert!(tags(&body, "form").is_empty(), "{body}");
    // No site named: the way on is the gateway's home page.
    assert_eq!(
        links(&body),
        [("/".to_string(), "Go to the home page".to_string())]
    );

    let tokens = shop_site.wait_for_tokens(1).await;
    assert_logout_token(&gw, &tokens[0], SHOP, &shop_id).await;
    assert_forum_must_log_in(&gw).await;
}

#[tokio::test]
async fn confirmed_logout_returns_to_the_sites_registered_page() {
    let (gw, shop_site, forum_site) = gateway_with_sites().await;
    let shop_id = id_claims(&login(&gw, SHOP, "ok").await);
    let forum_id = id_claims(&sso(&gw, FORUM).await);

    let fields = confirmation(
        logout_get(
            &gw,
            &[
                ("client_id", SHOP),
                ("post_logout_redirect_uri", BYE),
                ("state", "s 9&x"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(field(&fields, "client_id"), vec![SHOP]);
    assert_eq!(field(&fields, "post_logout_redirect_uri"), vec![BYE]);
    assert_eq!(field(&fields, "state"), vec!["s 9&x"]);
    assert_eq!(field(&fields, "confirm").len(), 1, "{fields:?}");
    authorize_code(&gw, SHOP, &[("prompt", "none")]).await;

    let response = logout_post(&gw, &fields).await;
    assert_eq!(response.status(), 303);
    let to = location_url(&response);
    assert_eq!(to.as_str().split('?').next(), Some(BYE));
    assert_eq!(param(&to, "state").as_deref(), Some("s 9&x"));

    let tokens = shop_site.wait_for_tokens(1).await;
    assert_logout_token(&gw, &tokens[0], SHOP, &shop_id).await;
    let tokens = forum_site.wait_for_tokens(1).await;
    assert_logout_token(&gw, &tokens[0], FORUM, &forum_id).await;
    assert_forum_must_log_in(&gw).await;
}

#[tokio::test]
async fn logout_requests_that_cannot_be_trusted_get_an_error_page_and_change_nothing() {
    let (gw, shop_site, forum_site) = gateway_with_sites().await;
    let shop = login(&gw, SHOP, "ok").await;
    let hint = shop["id_token"].as_str().unwrap();
    let claims = jwt_claims(hint);
    const NOT_REGISTERED: &str = "asked to return you after logout to an address it has not";
    const NOT_ISSUED: &str = "logout request that this login service did not issue";

    // Only the exact registered URI, never an open redirect.
    for uri in [
        "https://evil.example/steal",
        "https://shop.example.ru/bye/../../evil.example",
        "https://shop.example.ru/bye?next=https://evil.example",
        "https://shop.example.ru/",
    ] {
        assert_logout_refused(
            &gw,
            &[("id_token_hint", hint), ("post_logout_redirect_uri", uri)],
            NOT_REGISTERED,
        )
        .await;
    }
    // The forum did not register the shop's page.
    assert_logout_refused(
        &gw,
        &[("client_id", FORUM), ("post_logout_redirect_uri", BYE)],
        NOT_REGISTERED,
    )
    .await;
    // Nobody to check the URI against.
    assert_logout_refused(&gw, &[("post_logout_redirect_uri", BYE)], NOT_REGISTERED).await;

    // Hints the gateway did not issue as they are.
    let mut someone_else = claims.clone();
    someone_else["sub"] = json!("ok:1");
    let altered = with_payload(hint, &someone_else);
    let other = TestGateway::start().await;
    let foreign = login(&other, SHOP, "ok").await;
    let foreign_hint = foreign["id_token"].as_str().unwrap();
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://other.example.ru");
    let other_issuer = sign_with_gateway_key(&gw, hint, &other_issuer).await;
    for bad in [
        "garbage",
        "a.b.c",
        altered.as_str(),
        foreign_hint,
        other_issuer.as_str(),
        // An access token is not an id_token.
        shop["access_token"].as_str().unwrap(),
    ] {
        assert_logout_refused(
            &gw,
            &[("id_token_hint", bad), ("post_logout_redirect_uri", BYE)],
            NOT_ISSUED,
        )
        .await;
        assert_logout_refused(&gw, &[("id_token_hint", bad)], NOT_ISSUED).await;
    }
    // The hint is the shop's; the request claims to be the forum's.
    assert_logout_refused(
        &gw,
        &[("id_token_hint", hint), ("client_id", FORUM)],
        NOT_ISSUED,
    )
    .await;
    assert_logout_refused(
        &gw,
        &[("client_id", "intruder")],
        "not registered with this login service",
    )
    .await;

    // A genuine id_token of someone else's session (say, a prankster's own, in a link on
    // their page) proves nothing about this browser: the person is asked first.
    gw.ok.set_person(OkUser {
        uid: "575000000666".into(),
        ..OkUser::sample()
    });
    let prankster = browser();
    let site = follow_with(&prankster, &authorize_url(&gw, SHOP, &[("provider", "ok")]))
        .await
        .site();
    let theirs = redeem_ok(&gw, SHOP, &code_at(&site, SHOP, &gw)).await;
    let their_hint = theirs["id_token"].as_str().unwrap();
    assert_ne!(jwt_claims(their_hint)["sid"], claims["sid"]);
    let fields = confirmation(
        logout_get(
            &gw,
            &[
                ("id_token_hint", their_hint),
                ("post_logout_redirect_uri", BYE),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(field(&fields, "id_token_hint"), vec![their_hint]);

    // Still logged in everywhere; no site was told anything.
    sso(&gw, FORUM).await;
    assert_eq!(
        userinfo(&gw, shop["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    assert_eq!(shop_site.attempts() + forum_site.attempts(), 0);

    // The forging above is sound: the same claims with the right issuer are accepted.
    let genuine = sign_with_gateway_key(&gw, hint, &claims).await;
    let response = logout_get(
        &gw,
        &[
            ("id_token_hint", &genuine),
            ("post_logout_redirect_uri", BYE),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), BYE);
    shop_site.wait_for_tokens(1).await;
}

#[tokio::test]
async fn the_logged_out_page_leads_back_to_the_site_the_logout_named() {
    let (gw, shop_site, _forum_site) = gateway_with_sites().await;
    // With the shop's client_id and no page to return to: confirmed, then a link to the
    // origin of the shop's registered redirect URI, in the browser's language.
    login(&gw, SHOP, "ok").await;
    let fields = confirmation(logout_get(&gw, &[("client_id", SHOP)]).await).await;
    let response = gw
        .browser
        .post(format!("{}/logout", gw.issuer))
        .header("accept-language", "ru-RU,ru;q=0.9")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("<h1>Выход выполнен</h1>"), "{body}");
    assert_eq!(
        links(&body),
        [(
            "https://shop.example.ru/".to_string(),
            "Вернуться на сайт «Shop»".to_string()
        )]
    );
    shop_site.wait_for_tokens(1).await;

    // The shop's own id_token as the hint (no confirmation needed): the site is its audience.
    let shop = login(&gw, SHOP, "ok").await;
    let response = logout_get(
        &gw,
        &[("id_token_hint", shop["id_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("You are logged out."), "{body}");
    assert_eq!(
        links(&body),
        [(
            "https://shop.example.ru/".to_string(),
            "Back to “Shop”".to_string()
        )]
    );
    shop_site.wait_for_tokens(2).await;
}

#[tokio::test]
async fn logout_error_pages_link_back_only_to_a_registered_site() {
    let (gw, _shop_site, _forum_site) = gateway_with_sites().await;
    let shop = login(&gw, SHOP, "ok").await;
    let refused = |params: Vec<(&'static str, &'static str)>| {
        let gw = &gw;
        async move {
            let response = logout_get(gw, &params).await;
            assert_eq!(response.status(), 400, "{params:?}");
            let body = response.text().await.unwrap();
            assert!(body.contains("<h1>Logout error</h1>"), "{body}");
            (links(&body), body)
        }
    };
    // A hint the gateway did not issue, from a registered site: back to it.
    let (to, body) = refused(vec![("id_token_hint", "garbage"), ("client_id", FORUM)]).await;
    assert_eq!(
        to,
        [(
            "https://forum.example.ru/".to_string(),
            "Back to “forum”".to_string()
        )]
    );
    assert!(
        body.contains("You are still logged in. Go back to the site and log out there again."),
        "{body}"
    );
    // Nobody named, somebody unknown, or the return address itself refused: no link, only
    // what to do.
    for params in [
        vec![("id_token_hint", "garbage")],
        vec![("id_token_hint", "garbage"), ("client_id", "intruder")],
        vec![
            ("client_id", SHOP),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![
            ("client_id", SHOP),
            ("post_logout_redirect_uri", "https://shop.example.ru/"),
        ],
    ] {
        let (to, body) = refused(params.clone()).await;
        assert!(to.is_empty(), "{params:?}: {body}");
        assert!(
            body.contains("You are still logged in. Go back to the site with your browser&#39;s Back button and log out there again."),
            "{params:?}: {body}"
        );
    }
    // Still logged in, as the pages say.
    assert_eq!(
        userinfo(&gw, shop["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
}

// ---- back-channel delivery ----

/// A gateway whose shop notifies `site`, with a person logged in at the shop; logs out
/// with the shop's hint.
async fn login_then_logout(site: &FakeSite) -> TestGateway {
    let gw = TestGateway::start_with(Options {
        shop_extra: format!(
            "post_logout_redirect_uris = [\"{BYE}\"]\nbackchannel_logout_uri = \"{}\"",
            site.url
        ),
        ..Options::default()
    })
    .await;
    let shop = login(&gw, SHOP, "ok").await;
    let response = logout_get(
        &gw,
        &[
            ("id_token_hint", shop["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", BYE),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), BYE);
    gw
}

#[tokio::test]
async fn backchannel_retries_a_site_that_answers_5xx() {
    let site = FakeSite::start().await;
    site.fail_next(2);
    let gw = login_then_logout(&site).await;
    let logged_out = Instant::now();
    let tokens = site.wait_for_tokens(1).await;
    // 503, 500 ms, 503, 1 s, 200.
    assert!(
        logged_out.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        logged_out.elapsed()
    );
    assert_eq!(site.attempts(), 3);
    assert_eq!(tokens.len(), 1);
    let claims = verify_jwt(&gw, &tokens[0], LOGOUT_TOKEN_TYP, SHOP).await;
    assert_eq!(claims["sub"], "ok:575123456789");
}

#[tokio::test]
async fn backchannel_gives_up_after_three_attempts() {
    let site = FakeSite::start().await;
    site.fail_next(1000);
    let _gw = login_then_logout(&site).await;
    wait_until("3 attempts", || site.attempts() >= 3).await;
    // A fourth attempt would come 2 s after the third.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(site.attempts(), 3);
    assert!(site.tokens().is_empty());
}

#[tokio::test]
async fn a_hanging_site_does_not_hold_up_the_logout() {
    let site = FakeSite::start().await;
    site.hold();
    let _gw = login_then_logout(&site).await;
    // The person is back at the shop while the site still holds the notice. Had the logout
    // waited for it, the held attempt would have timed out and been retried before the
    // logout returned: one attempt, answered after release, shows it did not.
    assert!(site.tokens().is_empty());
    wait_until("the notice reaches the site", || site.attempts() == 1).await;
    assert!(site.tokens().is_empty());
    site.release();
    let tokens = site.wait_for_tokens(1).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(site.attempts(), 1);
}

// ---- discovery ----

#[tokio::test]
async fn discovery_announces_logout_revocation_and_refresh() {
    let gw = TestGateway::start().await;
    let doc: Value = browser()
        .get(format!("{}/.well-known/openid-configuration", gw.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{}/logout", gw.issuer).as_str()
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{}/revoke", gw.issuer).as_str()
    );
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("refresh_token")), "{doc}");
    assert!(grants.contains(&json!("authorization_code")), "{doc}");
    let scopes = doc["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&json!("offline_access")), "{doc}");
}

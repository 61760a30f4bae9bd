//! Every error a person or a site can meet, each with its precise outcome: pages where a
//! redirect would be unsafe, RFC 6749 errors at the site's redirect URI otherwise, and
//! `invalid_grant` / `invalid_client` at the token endpoint.

mod support;

use base64::Engine;
use support::fakes::ok::OkBehaviour;
use support::fakes::vk::VkBehaviour;
use support::fakes::wire::pkce_s256;
use support::*;
use url::Url;

fn shop_authorize(gw: &TestGateway, provider: &str) -> String {
    gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid email"),
        ("state", "site-state-42"),
        ("provider", provider),
    ])
}

/// The shop got `error` (and no code) with its own state back; the error_description.
fn assert_shop_error(site: &Url, error: &str) -> String {
    assert_site_error(site, SHOP_REDIRECT, "site-state-42", error).expect("an error_description")
}

async fn get(url: &str) -> reqwest::Response {
    browser().get(url).send().await.unwrap()
}

// ---- /authorize: errors shown as pages, never redirects ----

#[tokio::test]
async fn unknown_client_gets_error_page_not_redirect() {
    let gw = TestGateway::start().await;
    let response = get(&gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", "intruder"),
        ("redirect_uri", "https://evil.example/steal"),
        ("scope", "openid"),
    ]))
    .await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    let body = response.text().await.unwrap();
    assert!(
        body.contains("not registered with this login service"),
        "{body}"
    );
    assert!(!body.contains("evil.example"));
    // No site to send the person to: the page says what to do instead, and links nowhere.
    assert!(
        body.contains(
            "Go back to the site with your browser&#39;s Back button and let its owners know."
        ),
        "{body}"
    );
    assert!(!body.contains("<a "), "{body}");
}

#[tokio::test]
async fn error_pages_speak_the_browsers_language_first_and_unknown_addresses_get_one() {
    let gw = TestGateway::start().await;
    let url = gw.authorize_url(&[("response_type", "code"), ("client_id", "intruder")]);
    let page = |accept: &'static str, url: String| async move {
        let response = browser()
            .get(url)
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let first_heading = |body: &str| -> String {
        let start = body.find("<h1").unwrap();
        let start = start + body[start..].find('>').unwrap() + 1;
        let end = start + body[start..].find("</h1>").unwrap();
        body[start..end].to_string()
    };
    let (status, english) = page("en-US,en;q=0.9", url.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(first_heading(&english), "Login error");
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("Ошибка входа"), "both languages, always");
    let (_, russian) = page("ru-RU,ru;q=0.9,en;q=0.5", url).await;
    assert_eq!(first_heading(&russian), "Ошибка входа");

    let (status, missing) = page("en", format!("{}/no-such-page", gw.issuer)).await;
    assert_eq!(status, 404);
    assert_eq!(first_heading(&missing), "Not found");
    assert!(missing.contains("Страница не найдена"));
    assert!(
        missing.contains(r#"<a class="button primary" href="/">Go to the home page</a>"#),
        "{missing}"
    );
    let (status, missing) = page("ru", format!("{}/no/such/page?x=1", gw.issuer)).await;
    assert_eq!(status, 404);
    assert_eq!(first_heading(&missing), "Страница не найдена");
    assert!(missing.contains("<html lang=\"ru\">"));
    assert!(
        missing.contains(r#"<a class="button primary" href="/">На главную страницу</a>"#),
        "{missing}"
    );
    // A browser gets it as a page, whatever it asked for.
    let response = browser()
        .get(format!("{}/wp-login.php", gw.issuer))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_error_page_not_redirect() {
    let gw = TestGateway::start().await;
    for uri in [
        "https://evil.example/steal",
        // Prefix, extra path, extra query, other query: exact match only.
        "https://shop.example.ru/bitrix/tools/oauth/socialgate.php/../../x",
        "https://shop.example.ru/bitrix/tools/oauth/socialgate.php?next=https://evil.example",
        "https://blog.example.ru/wp-admin/admin-ajax.php?action=other",
        "https://shop.example.ru/bitrix/tools/oauth/",
    ] {
        let response = get(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", uri),
            ("scope", "openid"),
            ("provider", "ok"),
        ]))
        .await;
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none(), "{uri}");
        let body = response.text().await.unwrap();
        assert!(body.contains("has not registered"), "{body}");
        // The client is known, but this request may not come from it: no link back.
        assert!(!body.contains("<a "), "{body}");
        assert!(!body.contains("shop.example.ru"), "{body}");
    }
    assert_eq!(gw.ok.calls("authorize"), 0);
}

#[tokio::test]
async fn authorize_without_redirect_uri_gets_error_page() {
    let gw = TestGateway::start().await;
    let response = get(&gw.authorize_url(&[("client_id", SHOP), ("scope", "openid")])).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("`redirect_uri`"));
}

// ---- /authorize: errors returned to a verified redirect URI ----

#[tokio::test]
async fn scope_without_openid_is_invalid_scope() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "profile email"),
            ("state", "site-state-42"),
        ]))
        .await
        .site();
    assert_shop_error(&site, "invalid_scope");
}

#[tokio::test]
async fn unsupported_response_type_is_refused() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "token"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
            ("state", "site-state-42"),
        ]))
        .await
        .site();
    assert_shop_error(&site, "unsupported_response_type");
}

#[tokio::test]
async fn public_client_without_pkce_is_refused() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "openid"),
            ("provider", "ok"),
        ]))
        .await
        .site();
    assert_eq!(param(&site, "error").as_deref(), Some("invalid_request"));
    assert!(param(&site, "error_description").unwrap().contains("PKCE"));
}

#[tokio::test]
async fn plain_pkce_is_refused() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "openid"),
            (
                "code_challenge",
                "a-plain-verifier-that-is-long-enough-to-pass-length",
            ),
            ("code_challenge_method", "plain"),
        ]))
        .await
        .site();
    assert_eq!(param(&site, "error").as_deref(), Some("invalid_request"));
    assert!(
        param(&site, "error_description")
            .unwrap()
            .contains("must be S256")
    );
}

#[tokio::test]
async fn provider_not_allowed_for_client_is_refused() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
            ("state", "site-state-42"),
            ("provider", "demo"),
        ]))
        .await
        .site();
    let description = assert_shop_error(&site, "invalid_request");
    assert_eq!(description, "provider demo is not available to this client");
}

#[tokio::test]
async fn prompt_none_answers_login_required() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
            ("state", "site-state-42"),
            ("prompt", "none"),
        ]))
        .await
        .site();
    assert_shop_error(&site, "login_required");
}

// ---- the callback ----

#[tokio::test]
async fn callback_with_unknown_state_gets_error_page_and_issues_nothing() {
    let gw = TestGateway::start().await;
    let (status, body) = gw
        .follow(&format!(
            "{}/callback/ok?code=anything&state=forged-state",
            gw.issuer
        ))
        .await
        .page();
    assert_eq!(status, 400);
    assert!(
        body.contains("is invalid, was already used, or has expired"),
        "{body}"
    );
    let (status, _) = gw
        .follow(&format!("{}/callback/ok?code=anything", gw.issuer))
        .await
        .page();
    assert_eq!(status, 400);
    assert_eq!(gw.ok.calls("token"), 0);
}

#[tokio::test]
async fn replayed_callback_gets_error_page() {
    let gw = TestGateway::start().await;
    // Stop at the gateway's callback URL, use it, then use it again.
    let client = &gw.browser;
    let to_ok = client.get(shop_authorize(&gw, "ok")).send().await.unwrap();
    let ok_url = to_ok.headers()["location"].to_str().unwrap().to_string();
    let to_callback = client.get(&ok_url).send().await.unwrap();
    let callback = to_callback.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let first = gw.follow(&callback).await.site();
    assert!(param(&first, "code").is_some());
    let (status, body) = gw.follow(&callback).await.page();
    assert_eq!(status, 400);
    assert!(body.contains("already used"), "{body}");
    // The callback's state is all the request had: no site is known to link to.
    assert!(
        body.contains("Open the site you were logging in to and start the login again."),
        "{body}"
    );
    assert!(!body.contains("<a "), "{body}");
    assert_eq!(gw.ok.calls("token"), 1);
}

/// The gateway's callback URL for a login the browser started at `provider`: the browser is
/// at the network and the network sends it back to this URL.
async fn callback_of_a_started_login(gw: &TestGateway, provider: &str) -> String {
    let client = &gw.browser;
    let to_network = client
        .get(shop_authorize(gw, provider))
        .send()
        .await
        .unwrap();
    let network_url = location(&to_network);
    let to_callback = client.get(&network_url).send().await.unwrap();
    location(&to_callback)
}

/// The browser that started the login finishes it at `callback`: the shop gets a code that
/// redeems.
async fn assert_login_completes(gw: &TestGateway, callback: &str) {
    let site = gw.follow(callback).await.site();
    assert_eq!(param(&site, "error"), None, "{site}");
    assert_eq!(param(&site, "state").as_deref(), Some("site-state-42"));
    let code = param(&site, "code").expect("a code");
    let (status, tokens) = redeem(gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
}

#[tokio::test]
async fn callback_opened_in_another_browser_is_refused_and_cancels_nothing() {
    // Login CSRF: an attacker logs in at the network and sends the callback link to a victim.
    // The same request is also what someone who learnt a login's upstream `state` would send
    // to cancel it: refused, without using the login up.
    let gw = TestGateway::start().await;
    let to_ok = gw
        .browser
        .get(shop_authorize(&gw, "ok"))
        .send()
        .await
        .unwrap();
    let cookie = to_ok.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("socialgate_browser="), "{cookie}");
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let to_callback = gw.browser.get(location(&to_ok)).send().await.unwrap();
    let callback = location(&to_callback);
    let other = browser();
    for _ in 0..2 {
        let (status, body) = follow_with(&other, &callback).await.page();
        assert_eq!(status, 400);
        assert!(body.contains("started in another browser"), "{body}");
        // The pending login named the shop and its registered redirect URI: a way back there.
        assert!(
            body.contains(
                r#"<a class="button primary" href="https://shop.example.ru/">Back to “Shop”</a>"#
            ),
            "{body}"
        );
        assert!(body.contains("Go back to the site and start the login again in this browser."));
    }
    assert_eq!(
        gw.ok.calls("token"),
        0,
        "nothing is exchanged for the other browser"
    );
    // The browser that started the login still finishes it.
    assert_login_completes(&gw, &callback).await;
    assert_eq!(gw.ok.calls("token"), 1);
}

#[tokio::test]
async fn callback_state_of_another_provider_is_refused_and_cancels_nothing() {
    let gw = TestGateway::start().await;
    let callback = callback_of_a_started_login(&gw, "ok").await;
    let at_ok = Url::parse(&callback).unwrap();
    assert_eq!(at_ok.path(), "/callback/ok");
    let state = param(&at_ok, "state").unwrap();
    let code = param(&at_ok, "code").unwrap();
    let (status, body) = gw
        .follow(&format!(
            "{}/callback/vk?code={code}&state={state}",
            gw.issuer
        ))
        .await
        .page();
    assert_eq!(status, 400);
    assert!(
        body.contains("is invalid, was already used, or has expired"),
        "{body}"
    );
    assert_eq!(gw.ok.calls("token") + gw.vk.calls("token"), 0);
    assert_login_completes(&gw, &callback).await;
}

#[tokio::test]
async fn of_two_simultaneous_callbacks_of_one_login_exactly_one_finishes_it() {
    let gw = TestGateway::start().await;
    let callback = callback_of_a_started_login(&gw, "ok").await;
    let (a, b) = tokio::join!(gw.follow(&callback), gw.follow(&callback));
    let mut codes = 0;
    let mut refusals = 0;
    for landing in [a, b] {
        match landing {
            Landing::Site(site) => {
                assert!(param(&site, "code").is_some(), "{site}");
                codes += 1;
            }
            Landing::Page { status, body, .. } => {
                assert_eq!(status, 400);
                assert!(body.contains("already used"), "{body}");
                refusals += 1;
            }
        }
    }
    assert_eq!((codes, refusals), (1, 1));
    assert_eq!(gw.ok.calls("token"), 1);
}

#[tokio::test]
async fn person_declining_at_ok_returns_access_denied_to_site() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::Deny);
    let site = gw.follow(&shop_authorize(&gw, "ok")).await.site();
    let description = assert_shop_error(&site, "access_denied");
    assert!(description.contains("declined"), "{description}");
    assert_eq!(gw.ok.calls("token"), 0);
}

#[tokio::test]
async fn person_declining_at_vk_returns_access_denied_to_site() {
    let gw = TestGateway::start().await;
    gw.vk.set_behaviour(VkBehaviour::Deny);
    let site = gw.follow(&shop_authorize(&gw, "vk")).await.site();
    assert_shop_error(&site, "access_denied");
}

// ---- the network fails ----

async fn upstream_failure(gw: &TestGateway, provider: &str, error: &str) -> String {
    let site = gw.follow(&shop_authorize(gw, provider)).await.site();
    assert_shop_error(&site, error)
}

#[tokio::test]
async fn ok_token_endpoint_5xx_is_temporarily_unavailable() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::TokenHttp500);
    let d = upstream_failure(&gw, "ok", "temporarily_unavailable").await;
    assert_eq!(d, "OK is unavailable: it answered HTTP 500");
}

#[tokio::test]
async fn ok_malformed_token_answer_is_server_error() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::TokenMalformedJson);
    let d = upstream_failure(&gw, "ok", "server_error").await;
    assert!(d.starts_with("OK sent an invalid answer"), "{d}");
}

#[tokio::test]
async fn ok_hanging_token_endpoint_times_out_as_temporarily_unavailable() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::TokenHang);
    let d = upstream_failure(&gw, "ok", "temporarily_unavailable").await;
    assert_eq!(d, "OK is unavailable: it did not answer in time");
}

#[tokio::test]
async fn ok_api_error_object_with_http_200_is_server_error() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::ApiError(102));
    let d = upstream_failure(&gw, "ok", "server_error").await;
    assert!(
        d.starts_with("OK refused the login: users.getCurrentUser failed with error 102"),
        "{d}"
    );
}

#[tokio::test]
async fn ok_api_5xx_and_hang_are_temporarily_unavailable() {
    let gw = TestGateway::start().await;
    gw.ok.set_behaviour(OkBehaviour::ApiHttp502);
    let d = upstream_failure(&gw, "ok", "temporarily_unavailable").await;
    assert_eq!(d, "OK is unavailable: it answered HTTP 502");
    gw.ok.set_behaviour(OkBehaviour::ApiHang);
    let d = upstream_failure(&gw, "ok", "temporarily_unavailable").await;
    assert_eq!(d, "OK is unavailable: it did not answer in time");
}

#[tokio::test]
async fn ok_signature_is_accepted_by_the_fake_that_checks_it() {
    // The fake answers 104 to a wrong sig; a successful login proves ours is right, and the
    // call carried the fields the claim map reads, signed without the token.
    let gw = TestGateway::start().await;
    let site = gw.follow(&shop_authorize(&gw, "ok")).await.site();
    assert!(param(&site, "code").is_some(), "{site}");
    let params = gw.ok.last_params("api").unwrap();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("method").as_deref(), Some("users.getCurrentUser"));
    assert_eq!(get("application_key").as_deref(), Some("CBAFJIICABABABABA"));
    assert_eq!(get("sig").map(|s| s.len()), Some(32));
}

#[tokio::test]
async fn ok_wrong_secret_is_refused_by_ok_and_reported_as_server_error() {
    // OK refuses the code exchange (with HTTP 200) when the configured secret is wrong.
    let gw = TestGateway::start_with(Options {
        ok_secret_key: "WRONG-SECRET",
        ..Options::default()
    })
    .await;
    let d = upstream_failure(&gw, "ok", "server_error").await;
    assert!(d.starts_with("OK refused the login: invalid_client"), "{d}");
    assert!(!d.contains("WRONG-SECRET"));
    assert_eq!(gw.ok.calls("api"), 0);
}

#[tokio::test]
async fn vk_api_error_is_server_error() {
    let gw = TestGateway::start().await;
    gw.vk.set_behaviour(VkBehaviour::ApiError(5));
    let d = upstream_failure(&gw, "vk", "server_error").await;
    assert!(
        d.starts_with("VK refused the login: users.get failed with error 5"),
        "{d}"
    );
}

#[tokio::test]
async fn vk_token_5xx_malformed_and_hang() {
    let gw = TestGateway::start().await;
    gw.vk.set_behaviour(VkBehaviour::TokenHttp500);
    upstream_failure(&gw, "vk", "temporarily_unavailable").await;
    gw.vk.set_behaviour(VkBehaviour::TokenMalformedJson);
    upstream_failure(&gw, "vk", "server_error").await;
    gw.vk.set_behaviour(VkBehaviour::TokenHang);
    upstream_failure(&gw, "vk", "temporarily_unavailable").await;
}

// ---- the token endpoint ----

#[tokio::test]
async fn reused_code_is_invalid_grant() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SHOP_REDIRECT),
        ("client_id", SHOP),
        ("client_secret", SHOP_SECRET),
    ];
    let (status, first) = token_request(&gw, &form).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = token_request(&gw, &form).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
}

#[tokio::test]
async fn code_of_another_client_is_invalid_grant() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, body) = redeem(&gw, &code, SHOP_REDIRECT, FORUM, FORUM_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "the code was issued to another client"
    );
}

#[tokio::test]
async fn code_with_other_redirect_uri_is_invalid_grant() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (status, body) = redeem(&gw, &code, WP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

async fn spa_code(gw: &TestGateway, verifier: &str) -> String {
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &pkce_s256(verifier)),
            ("code_challenge_method", "S256"),
            ("provider", "vk"),
        ]))
        .await
        .site();
    param(&site, "code").unwrap_or_else(|| panic!("no code in {site}"))
}

#[tokio::test]
async fn public_client_with_right_verifier_gets_tokens_and_wrong_one_invalid_grant() {
    let gw = TestGateway::start().await;
    let verifier = "a".repeat(20) + "-verifier-with-enough-entropy-0123456789";
    let code = spa_code(&gw, &verifier).await;
    let form = |code: &str, v: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", SPA_REDIRECT.to_string()),
            ("client_id", SPA.to_string()),
            ("code_verifier", v.to_string()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let wrong = form(&code, "another-verifier-of-the-right-length-0123456789");
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .form(&as_refs(&wrong))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // The failed attempt used the code up: a new login, with the right verifier.
    let code = spa_code(&gw, &verifier).await;
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .form(&form(&code, &verifier))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(jwt_claims(body["id_token"].as_str().unwrap())["aud"], SPA);
}

#[tokio::test]
async fn missing_verifier_for_pkce_login_is_invalid_grant() {
    let gw = TestGateway::start().await;
    let code = spa_code(&gw, &"v".repeat(50)).await;
    let (status, body) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_REDIRECT),
            ("client_id", SPA),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .basic_auth(SHOP, Some("not-the-secret-at-all"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", SHOP_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"socialgate\""
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // A failed client authentication does not burn the code.
    let (status, _) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn basic_auth_secret_with_reserved_characters_is_form_decoded() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, FORUM, FORUM_REDIRECT, "ok").await;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(FORUM),
        encode(FORUM_SECRET)
    ));
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .header("authorization", format!("Basic {credentials}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", FORUM_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn unsupported_grant_type_and_missing_code() {
    let gw = TestGateway::start().await;
    let (status, body) = token_request(
        &gw,
        &[
            ("grant_type", "password"),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) = token_request(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SHOP),
            ("client_secret", SHOP_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

// ---- a weak client: the WordPress plugin ----

#[tokio::test]
async fn wordpress_style_client_without_pkce_or_nonce_logs_in_keeping_its_query() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", WP_REDIRECT),
            ("scope", "openid email profile"),
            ("state", "wp-state"),
            ("provider", "vk"),
        ]))
        .await
        .site();
    assert!(
        site.as_str().starts_with(&format!("{WP_REDIRECT}&code=")),
        "{site}"
    );
    assert_eq!(
        param(&site, "action").as_deref(),
        Some("openid-connect-authorize")
    );
    let code = param(&site, "code").unwrap();
    let (status, body) = redeem(&gw, &code, WP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "vk:1234567");
    assert!(claims.get("nonce").is_none());
}

// ---- userinfo ----

#[tokio::test]
async fn userinfo_refuses_missing_forged_and_id_tokens() {
    let gw = TestGateway::start().await;
    let userinfo = |token: Option<String>| {
        let mut r = browser().get(format!("{}/userinfo", gw.issuer));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let response = userinfo(None).await.unwrap();
    assert_eq!(response.status(), 401);
    // No credentials: a bare challenge without an error code (RFC 6750 §3.1).
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"socialgate\""
    );
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (_, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(Some(id_token)).await.unwrap().status(), 401);
    let access = tokens["access_token"].as_str().unwrap();
    let mut forged: Vec<&str> = access.split('.').collect();
    let other_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"iss":"x","sub":"ok:1","exp":99999999999}"#);
    forged[1] = &other_payload;
    assert_eq!(
        userinfo(Some(forged.join("."))).await.unwrap().status(),
        401
    );
    let ok = userinfo(Some(access.to_string())).await.unwrap();
    assert_eq!(ok.status(), 200);
}

// ---- the login page ----

#[tokio::test]
async fn login_page_lists_the_clients_providers_in_the_persons_language() {
    let gw = TestGateway::start().await;
    let url = gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid"),
        ("state", "s<script>"),
    ]);
    let ru = browser()
        .get(&url)
        .header("accept-language", "ru-RU,ru;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(ru.status(), 200);
    let body = ru.text().await.unwrap();
    assert!(body.contains("Войти через Одноклассники"), "{body}");
    assert!(body.contains("Войти через ВКонтакте"));
    assert!(
        body.contains("для продолжения на сайте <strong>«Shop»</strong>"),
        "{body}"
    );
    assert!(
        !body.contains("Демо"),
        "demo is not among the shop's providers"
    );
    assert!(!body.contains("<script>"));
    assert!(!body.contains("<script"));
    let en = browser()
        .get(&url)
        .header("accept-language", "en-GB,en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Log in with OK"));
    assert!(en.contains("Log in with VK"));
    assert!(
        en.contains("to continue to <strong>“Shop”</strong>"),
        "{en}"
    );
    // Each button starts the login at that network with the site's parameters.
    let href_start = en.find("href=\"/authorize?").unwrap() + "href=\"".len();
    let href_end = en[href_start..].find('"').unwrap() + href_start;
    let href = en[href_start..href_end]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let site = gw.follow(&format!("{}{}", gw.issuer, href)).await.site();
    assert_eq!(param(&site, "state").as_deref(), Some("s<script>"));
    assert!(param(&site, "code").is_some());
}

#[tokio::test]
async fn basic_auth_secret_sent_without_form_encoding_is_accepted() {
    // Many HTTP clients (curl -u, reqwest) send the secret as is; it still has to match.
    let gw = TestGateway::start().await;
    let code = login_code(&gw, FORUM, FORUM_REDIRECT, "ok").await;
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .basic_auth(FORUM, Some(FORUM_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", FORUM_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_scopes_are_ignored_and_not_echoed() {
    let gw = TestGateway::start().await;
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid wallet admin email"),
            ("provider", "vk"),
        ]))
        .await
        .site();
    let code = param(&site, "code").unwrap();
    let (status, body) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "openid email");
}

#[tokio::test]
async fn browser_apps_may_call_the_token_endpoint_cross_origin_but_not_authorize() {
    let gw = TestGateway::start().await;
    let preflight = browser()
        .request(reqwest::Method::OPTIONS, format!("{}/token", gw.issuer))
        .header("origin", "https://app.example.ru")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let discovery = browser()
        .get(format!("{}/.well-known/openid-configuration", gw.issuer))
        .header("origin", "https://app.example.ru")
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.headers()["access-control-allow-origin"], "*");
    let authorize = browser()
        .get(gw.authorize_url(&[("client_id", SHOP)]))
        .header("origin", "https://app.example.ru")
        .send()
        .await
        .unwrap();
    assert!(
        authorize
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

// ---- where codes and tokens travel (RFC 9700 §4.2, §4.3, §4.12, §4.16) ----

/// What every answer that may carry a code, or show the login, says to the browser.
fn assert_unframed_and_unreferred(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

#[tokio::test]
async fn codes_travel_in_303_redirects_that_no_page_may_frame_or_refer_on() {
    let gw = TestGateway::start().await;
    // The chooser, where a person clicks: no other site may frame it.
    let chooser = gw.browser.get(gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid"),
    ]));
    let chooser = chooser.send().await.unwrap();
    assert_eq!(chooser.status(), 200);
    assert_unframed_and_unreferred(&chooser, "the login page");

    // A form POST to /authorize is answered with 303: the browser GETs the next hop and
    // never re-POSTs the form to another server (a 307 would).
    let form = [
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid"),
        ("state", "st-1"),
        ("provider", "ok"),
    ];
    let to_network = gw
        .browser
        .post(format!("{}/authorize", gw.issuer))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(to_network.status(), 303);
    assert_unframed_and_unreferred(&to_network, "the redirect to the network");
    let at_network = gw.browser.get(location(&to_network)).send().await.unwrap();
    let back = gw.browser.get(location(&at_network)).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let site = location_url(&back);
    assert!(site.as_str().starts_with(SHOP_REDIRECT), "{site}");
    assert!(param(&site, "code").is_some());
    // The site's page may not pass the code on in a Referer.
    assert_unframed_and_unreferred(&back, "the redirect with the code");
}

#[tokio::test]
async fn tokens_are_read_only_from_the_authorization_header_and_posted_forms() {
    let gw = TestGateway::start().await;
    let code = login_code(&gw, SHOP, SHOP_REDIRECT, "ok").await;
    let (_, tokens) = redeem(&gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    let access = tokens["access_token"].as_str().unwrap();
    // RFC 6750 §2.3's URI query parameter ends up in histories and logs: not read.
    let in_query = browser()
        .get(format!("{}/userinfo?access_token={access}", gw.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 401);
    assert_eq!(
        in_query.headers()["www-authenticate"],
        "Bearer realm=\"socialgate\""
    );
    let in_body = browser()
        .post(format!("{}/userinfo", gw.issuer))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status(), 401);
    assert_eq!(
        bearer_get(&format!("{}/userinfo", gw.issuer), access)
            .await
            .0,
        200
    );
    // The token endpoint takes no request in a URL.
    let get_token = browser()
        .get(format!(
            "{}/token?grant_type=authorization_code&code={code}&client_id={SHOP}&client_secret={SHOP_SECRET}",
            gw.issuer
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get_token.status(), 405);
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_unread() {
    let gw = TestGateway::start().await;
    let filler = "a".repeat(64 * 1024);
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .form(&[("grant_type", "authorization_code"), ("code", &filler)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

//! The fake OK: it must reject what the real OK rejects, the way OK does.

use std::time::Duration;

use crate::support::fakes::ok::{self as fake_ok, FakeOk, FakeOkConfig, OkBehaviour, OkUser};
use crate::support::{jarless, location_url, param};
use reqwest::StatusCode;
use serde_json::{Value, json};

const OK_REDIRECT: &str = "http://127.0.0.1:9/callback/ok";

async fn ok_code(ok: &FakeOk, scope: &str) -> String {
    let cfg = FakeOkConfig::new(OK_REDIRECT);
    let resp = jarless()
        .get(ok.authorize_url())
        .query(&[
            ("client_id", cfg.app_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", OK_REDIRECT),
            ("scope", scope),
            ("state", "st-42"),
            ("layout", "w"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(loc.as_str().split('?').next(), Some(OK_REDIRECT));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-42"));
    param(&loc, "code").expect("code in redirect")
}

/// Token request as a form body.
async fn ok_token(ok: &FakeOk, code: &str, secret: &str) -> (StatusCode, Value) {
    let cfg = FakeOkConfig::new(OK_REDIRECT);
    let resp = jarless()
        .post(ok.token_url())
        .form(&[
            ("code", code),
            ("client_id", cfg.app_id.as_str()),
            ("client_secret", secret),
            ("redirect_uri", OK_REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn ok_login(ok: &FakeOk, scope: &str) -> String {
    let code = ok_code(ok, scope).await;
    let (status, body) = ok_token(ok, &code, "0F1E2D3C4B5A69788796A5B4").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A signed fb.do call (GET, query parameters); `tamper` replaces the computed sig.
async fn ok_api(
    ok: &FakeOk,
    token: &str,
    extra: &[(&str, &str)],
    tamper: Option<&str>,
) -> (StatusCode, Value) {
    let mut params: Vec<(String, String)> = vec![
        ("application_key".into(), "CBAFJIICABABABABA".into()),
        ("format".into(), "json".into()),
        ("method".into(), "users.getCurrentUser".into()),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        params.push(((*k).into(), (*v).into()));
    }
    let secret = fake_ok::session_secret_key(token, "0F1E2D3C4B5A69788796A5B4");
    let sig = tamper
        .map(str::to_owned)
        .unwrap_or_else(|| fake_ok::sign_params(&params, &secret));
    params.push(("access_token".into(), token.into()));
    params.push(("sig".into(), sig));
    let resp = jarless()
        .get(ok.api_url())
        .query(&params)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[test]
fn ok_sig_matches_worked_examples() {
    // Public example from a published OK client library.
    let ssk = fake_ok::session_secret_key(
        "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7",
        "ABC123DEF456GHI789JKL123",
    );
    assert_eq!(ssk, "b1a2b89707a94624c43afae67d59274c");
    let params = [
        ("method", "events.get"),
        ("application_key", "ABCDEFGHIGKLMNOPK"),
        ("format", "json"),
        (
            "access_token",
            "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7",
        ),
    ];
    assert_eq!(
        fake_ok::sign_params(&params, &ssk),
        "232c8eb921951c4dba9b72606f9ddb4c"
    );

    // Our own.
    let ssk = fake_ok::session_secret_key(
        "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR",
        "0F1E2D3C4B5A69788796A5B4",
    );
    assert_eq!(ssk, "7c9268eec7eac7d9710a8f5381b63ebc");
    let params = [
        ("sig", "ignored"),
        ("method", "users.getCurrentUser"),
        ("format", "json"),
        ("fields", "uid,name,email,pic190x190"),
        ("application_key", "CBAFJIICABABABABA"),
    ];
    assert_eq!(
        fake_ok::sign_params(&params, &ssk),
        "b283ab160a5bfd87f3cef1ceec114b75"
    );
    let params = [
        ("type", "USER"),
        ("method", "mediatopic.post"),
        ("format", "json"),
        (
            "attachment",
            r#"{"media":[{"type":"text","text":"Привет, мир"}]}"#,
        ),
        ("application_key", "CBAFJIICABABABABA"),
    ];
    assert_eq!(
        fake_ok::sign_params(&params, &ssk),
        "1ac9865ec5525d3eec875173b38f4c5e"
    );
    // App-launch auth_sig = md5(logged_user_id + session_key + secret).
    assert_eq!(
        fake_ok::md5_hex("575123456789-s-AbCdEf1234560F1E2D3C4B5A69788796A5B4"),
        "f11d11daf1268cb53f85ca020fca1d46"
    );
}

#[tokio::test]
async fn ok_full_login_returns_sample_user() {
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let code = ok_code(&ok, "VALUABLE_ACCESS;GET_EMAIL").await;
    assert_eq!(
        ok.last_param("authorize", "scope").as_deref(),
        Some("VALUABLE_ACCESS;GET_EMAIL")
    );
    let (status, tok) = ok_token(&ok, &code, "0F1E2D3C4B5A69788796A5B4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tok["token_type"], "session");
    assert_eq!(tok["expires_in"], json!("1800"), "expires_in is a string");
    assert!(tok["refresh_token"].is_string());
    let token = tok["access_token"].as_str().unwrap();
    assert!(token.contains('.') && token.contains('-') && token.contains('_'));

    let (status, me) = ok_api(&ok, token, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let s = OkUser::sample();
    assert_eq!(me["uid"], json!(s.uid), "uid is a string");
    assert_eq!(me["name"], "Иван Петров");
    assert_eq!(me["first_name"], "Иван");
    assert_eq!(me["last_name"], "Петров");
    assert_eq!(me["gender"], "male");
    assert_eq!(me["birthday"], "1990-05-17");
    assert_eq!(me["locale"], "ru");
    assert_eq!(me["pic190x190"], "https://i.mycdn.me/i?r=sample");
    assert_eq!(me["has_email"], true);
    assert_eq!(me["email"], "ivan@example.ru");

    // `fields` (case-insensitive) restricts the answer; uid always comes.
    let (_, me) = ok_api(&ok, token, &[("fields", "NAME,Email")], None).await;
    let mut keys: Vec<&String> = me.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["email", "name", "uid"]);
    let last = ok.last_params("api").unwrap();
    assert!(last.contains(&("fields".to_owned(), "NAME,Email".to_owned())));
    assert!(last.contains(&("access_token".to_owned(), token.to_owned())));

    // POST with a form body is accepted too.
    let secret = fake_ok::session_secret_key(token, "0F1E2D3C4B5A69788796A5B4");
    let mut form = vec![
        ("application_key", "CBAFJIICABABABABA".to_owned()),
        ("method", "users.getCurrentUser".to_owned()),
    ];
    form.push(("sig", fake_ok::sign_params(&form, &secret)));
    form.push(("access_token", token.to_owned()));
    let me: Value = jarless()
        .post(ok.api_url())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["uid"], "575123456789");

    assert_eq!(ok.calls("authorize"), 1);
    assert_eq!(ok.calls("token"), 1);
    assert_eq!(ok.calls("api"), 3);
}

#[tokio::test]
async fn ok_token_rejects_wrong_secret_and_reused_code_at_http_200() {
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let code = ok_code(&ok, "VALUABLE_ACCESS").await;

    let (status, body) = ok_token(&ok, &code, "wrong-secret").await;
    assert_eq!(status, StatusCode::OK, "OK answers token errors with 200");
    assert_eq!(body["error"], "invalid_client");
    assert!(body.get("access_token").is_none());

    // The same code still works (parameters in the query string this time)...
    let resp = jarless()
        .post(ok.token_url())
        .query(&[
            ("code", code.as_str()),
            ("client_id", "512000000001"),
            ("client_secret", "0F1E2D3C4B5A69788796A5B4"),
            ("redirect_uri", OK_REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");

    // ...but only once.
    let (status, body) = ok_token(&ok, &code, "0F1E2D3C4B5A69788796A5B4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"], "invalid_grant");

    // Redirect mismatch and wrong grant type.
    let code = ok_code(&ok, "VALUABLE_ACCESS").await;
    let body: Value = jarless()
        .post(ok.token_url())
        .form(&[
            ("code", code.as_str()),
            ("client_id", "512000000001"),
            ("client_secret", "0F1E2D3C4B5A69788796A5B4"),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let body: Value = jarless()
        .post(ok.token_url())
        .form(&[("grant_type", "password"), ("client_id", "512000000001")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn ok_fb_do_rejects_bad_sig_key_token_and_method_at_http_200() {
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let token = ok_login(&ok, "VALUABLE_ACCESS").await;

    let (status, body) = ok_api(&ok, &token, &[], Some("0123456789abcdef0123456789abcdef")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_code"], 104);
    assert_eq!(body["error_data"], Value::Null);
    assert_eq!(body["error_msg"], "PARAM_SIGNATURE : Invalid signature");

    // Signing with the app secret instead of the session secret is wrong too.
    let mut params = vec![
        ("application_key", "CBAFJIICABABABABA"),
        ("method", "users.getCurrentUser"),
    ];
    let bad_sig = fake_ok::sign_params(&params, "0F1E2D3C4B5A69788796A5B4");
    params.push(("sig", &bad_sig));
    params.push(("access_token", &token));
    let body: Value = jarless()
        .get(ok.api_url())
        .query(&params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error_code"], 104);

    let (status, body) = ok_api(&ok, &token, &[("application_key", "NOPE")], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_code"], 101);
    let (_, body) = ok_api(&ok, "tkn.-unknown", &[], None).await;
    assert_eq!(body["error_code"], 102);
    let (_, body) = ok_api(&ok, &token, &[("method", "friends.get")], None).await;
    assert_eq!(body["error_code"], 3);
}

#[tokio::test]
async fn ok_email_needs_app_permission_and_semicolon_scope() {
    let mut cfg = FakeOkConfig::new(OK_REDIRECT);
    cfg.app_has_get_email = false;
    let ok = FakeOk::start(cfg).await;
    let token = ok_login(&ok, "VALUABLE_ACCESS;GET_EMAIL").await;
    let (_, me) = ok_api(
        &ok,
        &token,
        &[("fields", "uid,name,email,pic190x190")],
        None,
    )
    .await;
    assert_eq!(me["uid"], "575123456789");
    assert!(me.get("email").is_none(), "{me}");

    // App has GET_EMAIL but the scope is comma-separated: OK does not see GET_EMAIL.
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let token = ok_login(&ok, "VALUABLE_ACCESS,GET_EMAIL").await;
    let (_, me) = ok_api(&ok, &token, &[], None).await;
    assert_eq!(me["has_email"], true);
    assert!(me.get("email").is_none(), "{me}");

    // A user without email: no email, has_email false.
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    ok.set_person(OkUser {
        email: None,
        gender: None,
        ..OkUser::sample()
    });
    let token = ok_login(&ok, "VALUABLE_ACCESS;GET_EMAIL").await;
    let (_, me) = ok_api(&ok, &token, &[], None).await;
    assert_eq!(me["has_email"], false);
    assert!(
        me.get("email").is_none() && me.get("gender").is_none(),
        "{me}"
    );
}

#[tokio::test]
async fn ok_authorize_never_redirects_to_unregistered_uri_and_denies() {
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let attempts: [&[(&str, &str)]; 3] = [
        &[
            ("client_id", "512000000001"),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("state", "s"),
        ],
        &[
            ("client_id", "999"),
            ("response_type", "code"),
            ("redirect_uri", OK_REDIRECT),
            ("state", "s"),
        ],
        &[
            ("client_id", "512000000001"),
            ("response_type", "code"),
            ("redirect_uri", OK_REDIRECT),
        ],
    ];
    for query in attempts {
        let resp = jarless()
            .get(ok.authorize_url())
            .query(query)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query:?}");
        assert!(resp.headers().get(reqwest::header::LOCATION).is_none());
    }

    ok.set_behaviour(OkBehaviour::Deny);
    let resp = jarless()
        .get(ok.authorize_url())
        .query(&[
            ("client_id", "512000000001"),
            ("response_type", "code"),
            ("redirect_uri", OK_REDIRECT),
            ("scope", "VALUABLE_ACCESS"),
            ("state", "st-9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-9"));
    assert!(param(&loc, "code").is_none());

    // A registered redirect_uri with a query gets the code appended with '&'.
    let ok = FakeOk::start(FakeOkConfig::new("http://127.0.0.1:9/cb?tenant=a")).await;
    let resp = jarless()
        .get(ok.authorize_url())
        .query(&[
            ("client_id", "512000000001"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/cb?tenant=a"),
            ("state", "x"),
        ])
        .send()
        .await
        .unwrap();
    let loc = location_url(&resp);
    assert_eq!(param(&loc, "tenant").as_deref(), Some("a"));
    assert!(param(&loc, "code").is_some());
}

#[tokio::test]
async fn ok_failure_behaviours() {
    let ok = FakeOk::start(FakeOkConfig::new(OK_REDIRECT)).await;
    let token = ok_login(&ok, "VALUABLE_ACCESS").await;

    ok.set_behaviour(OkBehaviour::ApiError(10));
    let (status, body) = ok_api(&ok, &token, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_code"], 10);
    assert_eq!(body["error_msg"], "PERMISSION_DENIED : Permission denied");

    ok.set_behaviour(OkBehaviour::ApiHttp502);
    let resp = jarless().get(ok.api_url()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);

    ok.set_behaviour(OkBehaviour::Normal);
    let code = ok_code(&ok, "VALUABLE_ACCESS").await;
    ok.set_behaviour(OkBehaviour::TokenHttp500);
    let resp = ok_token_raw(&ok, &code).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    ok.set_behaviour(OkBehaviour::TokenMalformedJson);
    let text = ok_token_raw(&ok, &code).await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    ok.set_behaviour(OkBehaviour::TokenHang);
    let hung = tokio::time::timeout(Duration::from_millis(300), ok_token_raw(&ok, &code)).await;
    assert!(hung.is_err(), "token endpoint should hang");
}

async fn ok_token_raw(ok: &FakeOk, code: &str) -> reqwest::Response {
    jarless()
        .post(ok.token_url())
        .form(&[
            ("code", code),
            ("client_id", "512000000001"),
            ("client_secret", "0F1E2D3C4B5A69788796A5B4"),
            ("redirect_uri", OK_REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .unwrap()
}

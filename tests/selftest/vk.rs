//! The fake VK (classic OAuth): it must reject what the real VK rejects, the way VK does.

use crate::support::fakes::vk::{FakeVk, FakeVkConfig, VkBehaviour, VkUser};
use crate::support::{jarless, location_url, param};
use reqwest::StatusCode;
use serde_json::{Value, json};

const VK_REDIRECT: &str = "http://127.0.0.1:9/callback/vk";

async fn vk_code(vk: &FakeVk, scope: &str) -> String {
    let resp = jarless()
        .get(vk.authorize_url())
        .query(&[
            ("client_id", "51234567"),
            ("redirect_uri", VK_REDIRECT),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "vk-st"),
            ("display", "page"),
            ("v", "5.199"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(param(&loc, "state").as_deref(), Some("vk-st"));
    param(&loc, "code").expect("code in redirect")
}

async fn vk_token(vk: &FakeVk, code: &str, secret: &str) -> (StatusCode, Value) {
    let resp = jarless()
        .get(vk.token_url())
        .query(&[
            ("client_id", "51234567"),
            ("client_secret", secret),
            ("redirect_uri", VK_REDIRECT),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn vk_users_get(vk: &FakeVk, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = jarless()
        .get(vk.users_get_url())
        .query(params)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn vk_full_login_returns_sample_user_and_email_from_token() {
    let vk = FakeVk::start(FakeVkConfig::new(VK_REDIRECT)).await;
    let code = vk_code(&vk, "email,offline").await;
    assert_eq!(
        vk.last_param("authorize", "scope").as_deref(),
        Some("email,offline")
    );
    let (status, tok) = vk_token(&vk, &code, "vk-secret-Zx81").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tok["user_id"], json!(1234567u64), "user_id is a number");
    assert_eq!(tok["expires_in"], json!(86400));
    assert_eq!(tok["email"], "maria@example.ru");
    let token = tok["access_token"].as_str().unwrap();

    let (status, body) = vk_users_get(
        &vk,
        &[
            ("user_ids", "1234567"),
            ("fields", "photo_200,sex,bdate,screen_name"),
            ("access_token", token),
            ("v", "5.199"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let u = &body["response"][0];
    let s = VkUser::sample();
    assert_eq!(u["id"], json!(s.id));
    assert_eq!(u["first_name"], "Мария");
    assert_eq!(u["last_name"], "Иванова");
    assert_eq!(u["photo_200"], "https://sun9-1.userapi.com/sample.jpg");
    assert_eq!(u["sex"], 1);
    assert_eq!(u["bdate"], "7.11.1993");
    assert_eq!(u["screen_name"], "maria");
    assert!(u.get("email").is_none(), "never an email in users.get");

    // Without `fields`: only the basics. POST form works too.
    let body: Value = jarless()
        .post(vk.users_get_url())
        .form(&[("access_token", token), ("v", "5.199")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let u = &body["response"][0];
    assert!(u.get("photo_200").is_none() && u.get("sex").is_none());
    assert_eq!(u["is_closed"], false);
    let last = vk.last_params("api").unwrap();
    assert!(last.contains(&("v".to_owned(), "5.199".to_owned())));
    assert_eq!(
        (vk.calls("authorize"), vk.calls("token"), vk.calls("api")),
        (1, 1, 2)
    );

    // Without the email scope: no email in the token answer.
    let code = vk_code(&vk, "offline").await;
    let (_, tok) = vk_token(&vk, &code, "vk-secret-Zx81").await;
    assert!(tok["access_token"].is_string());
    assert!(tok.get("email").is_none(), "{tok}");
}

#[tokio::test]
async fn vk_token_rejects_wrong_secret_and_reused_code_with_401() {
    let vk = FakeVk::start(FakeVkConfig::new(VK_REDIRECT)).await;
    let code = vk_code(&vk, "email").await;

    let (status, body) = vk_token(&vk, &code, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error":"invalid_client","error_description":"client_secret is incorrect"})
    );

    let (status, _) = vk_token(&vk, &code, "vk-secret-Zx81").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = vk_token(&vk, &code, "vk-secret-Zx81").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error":"invalid_grant","error_description":"Code is invalid or expired."})
    );

    // redirect_uri mismatch.
    let code = vk_code(&vk, "email").await;
    let resp = jarless()
        .post(vk.token_url())
        .form(&[
            ("client_id", "51234567"),
            ("client_secret", "vk-secret-Zx81"),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn vk_users_get_requires_v_and_a_valid_token() {
    let vk = FakeVk::start(FakeVkConfig::new(VK_REDIRECT)).await;
    let code = vk_code(&vk, "").await;
    let (_, tok) = vk_token(&vk, &code, "vk-secret-Zx81").await;
    let token = tok["access_token"].as_str().unwrap();

    let (status, body) = vk_users_get(&vk, &[("access_token", token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["error_code"], 8);
    assert_eq!(
        body["error"]["error_msg"],
        "Invalid request: v (version) is required or invalid"
    );
    assert!(body.get("response").is_none());

    let (status, body) = vk_users_get(&vk, &[("access_token", "bogus"), ("v", "5.199")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["error_code"], 5);
    assert!(!body.to_string().contains("bogus"), "token never echoed");

    vk.set_behaviour(VkBehaviour::ApiError(6));
    let (status, body) = vk_users_get(&vk, &[("access_token", token), ("v", "5.199")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["error_code"], 6);
    vk.set_behaviour(VkBehaviour::ApiHttp502);
    let resp = jarless().get(vk.users_get_url()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn vk_authorize_never_redirects_to_unregistered_uri_and_denies() {
    let vk = FakeVk::start(FakeVkConfig::new(VK_REDIRECT)).await;
    let resp = jarless()
        .get(vk.authorize_url())
        .query(&[
            ("client_id", "51234567"),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get(reqwest::header::LOCATION).is_none());
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("redirect_uri is incorrect")
    );

    vk.set_behaviour(VkBehaviour::Deny);
    let resp = jarless()
        .get(vk.authorize_url())
        .query(&[
            ("client_id", "51234567"),
            ("redirect_uri", VK_REDIRECT),
            ("response_type", "code"),
            ("scope", "email"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "error_reason").as_deref(), Some("user_denied"));
    assert_eq!(
        param(&loc, "error_description").as_deref(),
        Some("User denied your request")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("s1"));
}

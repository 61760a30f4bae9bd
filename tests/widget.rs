//! OK's publish widget through the gateway: a site asks for the signed widget URL (JSON or a
//! form), opens it, and asks whether the result it got back is genuine; it never holds the
//! OK secret. Signatures are checked here against an independent implementation of OK's
//! documented formula.

mod support;

use serde_json::{Value, json};
use support::fakes::ok::{md5_hex, session_secret_key};
use support::*;
use url::Url;

const OK_SECRET: &str = "0F1E2D3C4B5A69788796A5B4";
const OK_APP_ID: &str = "512000000001";

/// POSTs JSON to `path` as the shop (client_secret in the body).
async fn post_json(gw: &TestGateway, path: &str, mut body: Value) -> (u16, Value) {
    body["client_id"] = json!(SHOP);
    body["client_secret"] = json!(SHOP_SECRET);
    let response = browser()
        .post(format!("{}{path}", gw.issuer))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The widget URL's query as pairs.
fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn text_post() -> Value {
    json!({"media": [{"type": "text", "text": "Привет"}, {"type": "link", "url": "https://shop.example.ru/item/7"}]})
}

#[tokio::test]
async fn a_site_gets_a_signed_widget_url_for_its_post() {
    let gw = TestGateway::start().await;
    let (status, body) = post_json(
        &gw,
        "/api/ok/widget",
        json!({
            "attachment": text_post(),
            "return_url": SHOP_REDIRECT,
            "group_id": "53038939046008",
            "popup": true,
            "nohead": false,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with("https://connect.ok.ru/dk?"), "{url}");
    let q = query(url);
    assert_eq!(get(&q, "st.cmd"), Some("WidgetMediatopicPost"));
    assert_eq!(get(&q, "st.app"), Some(OK_APP_ID));
    assert_eq!(get(&q, "st.return"), Some(SHOP_REDIRECT));
    assert_eq!(get(&q, "st.groupId"), Some("53038939046008"));
    assert_eq!(get(&q, "st.popup"), Some("on"));
    assert_eq!(get(&q, "st.nohead"), Some("off"));
    assert_eq!(get(&q, "st.silent"), None);
    assert_eq!(get(&q, "st.access_token"), None);
    let attachment = get(&q, "st.attachment").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(attachment).unwrap(),
        text_post()
    );
    // OK's formula, with the app's secret: attachment, then return URL, then secret.
    let expected = md5_hex(&format!(
        "st.attachment={attachment}st.return={SHOP_REDIRECT}{OK_SECRET}"
    ));
    assert_eq!(get(&q, "st.signature"), Some(expected.as_str()));
    // The secret itself never leaves the gateway.
    assert!(!url.contains(OK_SECRET));
}

#[tokio::test]
async fn a_form_with_the_attachment_as_json_text_and_basic_auth_works_too() {
    let gw = TestGateway::start().await;
    let response = browser()
        .post(format!("{}/api/ok/widget", gw.issuer))
        .basic_auth(SHOP, Some(SHOP_SECRET))
        .form(&[
            ("attachment", text_post().to_string().as_str()),
            ("utext", "on"),
            ("silent", "off"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let q = query(body["url"].as_str().unwrap());
    let attachment = get(&q, "st.attachment").unwrap();
    // Without a return URL: attachment, then secret.
    let expected = md5_hex(&format!("st.attachment={attachment}{OK_SECRET}"));
    assert_eq!(get(&q, "st.signature"), Some(expected.as_str()));
    assert_eq!(get(&q, "st.utext"), Some("on"));
    assert_eq!(get(&q, "st.silent"), Some("off"));
    assert_eq!(get(&q, "st.return"), None);
}

#[tokio::test]
async fn the_access_token_variant_is_signed_with_the_session_secret() {
    let gw = TestGateway::start().await;
    let token = "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR";
    let (status, body) = post_json(
        &gw,
        "/api/ok/widget",
        json!({"attachment": text_post(), "access_token": token}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let q = query(body["url"].as_str().unwrap());
    assert_eq!(get(&q, "st.access_token"), Some(token));
    let attachment = get(&q, "st.attachment").unwrap();
    let secret = session_secret_key(token, OK_SECRET);
    let expected = md5_hex(&format!("st.attachment={attachment}{secret}"));
    assert_eq!(get(&q, "st.signature"), Some(expected.as_str()));
}

/// A post refused with `invalid_request` and this description; no URL is signed.
async fn assert_refused(request: Value, description: &str) {
    let gw = TestGateway::start().await;
    let (status, body) = post_json(&gw, "/api/ok/widget", request).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(body["error_description"], description);
    assert!(body.get("url").is_none());
}

#[tokio::test]
async fn a_return_url_the_client_did_not_register_is_refused() {
    assert_refused(
        json!({"attachment": text_post(), "return_url": "https://evil.example/steal"}),
        "return_url is not one of the client's redirect_uris",
    )
    .await;
}

#[tokio::test]
async fn a_post_without_attachment_is_refused() {
    assert_refused(json!({}), "attachment is missing").await;
}

#[tokio::test]
async fn an_attachment_that_is_not_json_is_refused() {
    assert_refused(
        json!({"attachment": "{not json"}),
        "attachment is not JSON: key must be a string at line 1 column 2",
    )
    .await;
}

#[tokio::test]
async fn a_second_link_is_refused() {
    assert_refused(
        json!({"attachment": {"media": [
            {"type": "link", "url": "https://a.example/"},
            {"type": "link", "url": "https://b.example/"}]}}),
        "attachment: media[1] (link): at most one link per topic",
    )
    .await;
}

#[tokio::test]
async fn an_app_block_alone_is_refused() {
    assert_refused(
        json!({"attachment": {"media": [{"type": "app",
            "images": [{"url": "https://i.example/1.jpg"}], "actions": [{"text": "Play"}]}]}}),
        "attachment: an `app` block is never posted alone: add text, a photo or a link",
    )
    .await;
}

#[tokio::test]
async fn a_poll_without_answers_is_refused() {
    assert_refused(
        json!({"attachment": {"media": [{"type": "poll", "question": "Q?", "answers": []}]}}),
        "attachment: media[0] (poll): `answers` must be a non-empty list",
    )
    .await;
}

#[tokio::test]
async fn a_switch_that_is_neither_on_nor_off_is_refused() {
    assert_refused(
        json!({"attachment": text_post(), "popup": "maybe"}),
        "popup must be on or off",
    )
    .await;
}

#[tokio::test]
async fn only_an_authenticated_client_allowed_ok_gets_a_widget() {
    let gw = TestGateway::start().await;
    let response = browser()
        .post(format!("{}/api/ok/widget", gw.issuer))
        .json(&json!({"client_id": SHOP, "client_secret": "wrong-secret-000000", "attachment": text_post()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = browser()
        .post(format!("{}/api/ok/widget", gw.issuer))
        .basic_auth(SHOP, Some("wrong-secret-000000"))
        .json(&json!({"attachment": text_post()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"socialgate\""
    );
    // The forum may not use VK; VK has no publish widget.
    let response = browser()
        .post(format!("{}/api/vk/widget", gw.issuer))
        .json(
            &json!({"client_id": FORUM, "client_secret": FORUM_SECRET, "attachment": text_post()}),
        )
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    let (status, body) = post_json(&gw, "/api/vk/widget", json!({"attachment": text_post()})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "VK has no publish widget");
}

#[tokio::test]
async fn a_widget_result_is_verified_against_its_signature() {
    let gw = TestGateway::start().await;
    let id = "67601141224721";
    let genuine = md5_hex(&format!("id={id}{OK_SECRET}"));
    let check = |body: Value| post_json(&gw, "/api/ok/widget/verify", body);
    let (status, body) = check(json!({"id": id, "signature": genuine})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"genuine": true}));

    let (_, body) = check(json!({"id": "67601141224722", "signature": genuine})).await;
    assert_eq!(
        body,
        json!({"genuine": false, "reason": "the signature does not match the id"})
    );
    // OK answers id 0 to an app it has not approved; signed, but no post was made.
    let zero = md5_hex(&format!("id=0{OK_SECRET}"));
    let (_, body) = check(json!({"id": "0", "signature": zero})).await;
    assert_eq!(
        body,
        json!({"genuine": false, "reason": "id 0: OK has not approved this app for the publish widget"})
    );
    // In the access-token variant OK signs with the session secret.
    let token = "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR";
    let session = md5_hex(&format!("id={id}{}", session_secret_key(token, OK_SECRET)));
    let (_, body) = check(json!({"id": id, "signature": session, "access_token": token})).await;
    assert_eq!(body, json!({"genuine": true}));
    let (_, body) = check(json!({"id": id, "signature": session})).await;
    assert_eq!(body["genuine"], false);
    let (status, body) = check(json!({"id": id})).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("signature is missing"))
    );
}

#[tokio::test]
async fn the_widget_base_can_be_set_per_provider() {
    let gw = TestGateway::start_with(Options {
        extra_providers: r#"
[providers.okwidget]
kind = "ok"
app_id = "512000000002"
public_key = "CBAOTHERAPPABABA"
secret_key = "A1B2C3D4E5F60718293A4B5C"
widget_url = "https://connect.ok.example/dk"
"#
        .into(),
        shop_providers: vec!["ok".into(), "okwidget".into()],
        ..Options::default()
    })
    .await;
    let (status, body) = post_json(
        &gw,
        "/api/okwidget/widget",
        json!({"attachment": text_post()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with("https://connect.ok.example/dk?"), "{url}");
    let q = query(url);
    assert_eq!(get(&q, "st.app"), Some("512000000002"));
    let attachment = get(&q, "st.attachment").unwrap();
    let expected = md5_hex(&format!(
        "st.attachment={attachment}A1B2C3D4E5F60718293A4B5C"
    ));
    assert_eq!(get(&q, "st.signature"), Some(expected.as_str()));
}

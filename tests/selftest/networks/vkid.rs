//! The fake VK ID.

use super::*;

#[tokio::test]
async fn vkid_pkce_login_with_device_id() {
    let vk = FakeNetwork::start(Network::VkId, REDIRECT).await;
    assert_eq!(vk.client_id(), "52345678");
    let params = with(
        auth_params(&vk, "vkid.personal_info email"),
        "provider",
        "ok_ru",
    );
    let loc = code_for(&vk, &params).await;
    assert!(
        vk.last_request("authorize")
            .contains(&("provider".into(), "ok_ru".into()))
    );
    let code = param(&loc, "code").unwrap();
    let device_id = param(&loc, "device_id").unwrap();
    assert!(device_id.len() >= 40);
    assert_eq!(param(&loc, "expires_in").as_deref(), Some("600"));
    assert_eq!(param(&loc, "type").as_deref(), Some("code_v2"));

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", "52345678"),
        ("device_id", device_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
    ];
    let (status, tok) = post_form(&vk.token_url(), &form, None).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["user_id"], json!(246813579), "a number");
    assert_eq!(tok["state"], "st-1");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    assert_eq!(tok["scope"], "vkid.personal_info email");
    assert!(tok["refresh_token"].is_string());
    assert_eq!(tok["id_token"].as_str().unwrap().split('.').count(), 3);
    let token = tok["access_token"].as_str().unwrap();

    let (status, me) = post_form(
        &vk.userinfo_url(),
        &[("client_id", "52345678"), ("access_token", token)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({ "user": {
            "user_id": "246813579",
            "first_name": "Ольга",
            "last_name": "Соколова",
            "avatar": "https://sun9-75.userapi.com/s/v1/ig2/sokolova.jpg?size=200x200",
            "email": "o.sokolova@example.ru",
            "phone": "79*******00",
            "sex": 1,
            "verified": false,
            "birthday": "14.03.1991",
        } })
    );
    for form in [
        [("client_id", "52345678"), ("access_token", "vk2.a.nope")],
        [("client_id", "11111111"), ("access_token", token)],
    ] {
        let (status, err) = post_form(&vk.userinfo_url(), &form, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            err,
            json!({ "error": "invalid_token", "error_description": "invalid access_token" })
        );
    }

    // The same code again.
    let (status, err) = post_form(&vk.token_url(), &form, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");

    // No email scope, no email; a client_secret is ignored.
    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let mut form = form;
    form[1].1 = &code;
    form[4].1 = &device_id;
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", "whatever"));
    let (status, tok) = post_form(&vk.token_url(), &with_secret, None).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "vkid.personal_info");
    let token = tok["access_token"].as_str().unwrap();
    let (_, me) = post_form(
        &vk.userinfo_url(),
        &[("client_id", "52345678"), ("access_token", token)],
        None,
    )
    .await;
    assert!(me["user"].get("email").is_none(), "{me}");
}

#[tokio::test]
async fn vkid_refusals() {
    let vk = FakeNetwork::start(Network::VkId, REDIRECT).await;
    // PKCE is mandatory.
    let (status, loc) = authorize(&vk, &without(auth_params(&vk, ""), &["code_challenge"])).await;
    assert_eq!(status, StatusCode::FOUND);
    let loc = loc.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        param(&loc, "error_description").as_deref(),
        Some("code_challenge is required")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));

    let token_form = |code: &str, device_id: &str, verifier: &str, client_id: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("client_id", client_id.to_owned()),
            ("device_id", device_id.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("state", "st-1".to_owned()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let url = vk.token_url();
        async move { status_json(jarless().post(url).form(&form).send().await.unwrap()).await }
    };

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let (status, err) = post(token_form(&code, &device_id, VERIFIER, "999")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, err) = post(token_form(&code, "another-device", VERIFIER, "52345678")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(err["error_description"], "device_id is invalid");
    // Presented once, gone.
    let (status, err) = post(token_form(&code, &device_id, VERIFIER, "52345678")).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let (status, err) = post(token_form(&code, &device_id, OTHER_VERIFIER, "52345678")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_description"], "code_verifier is invalid");

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let mut form = token_form(&code, &device_id, VERIFIER, "52345678");
    form[5].1 = "http://127.0.0.1:9/elsewhere".to_owned();
    let (status, err) = post(form).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let form = token_form(&code, &device_id, VERIFIER, "52345678")
        .into_iter()
        .filter(|(k, _)| *k != "state")
        .collect();
    let (status, err) = post(form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_request");
}

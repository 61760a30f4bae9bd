//! The fake Mail.ru.

use super::*;

#[tokio::test]
async fn mailru_login_and_http_200_errors() {
    let mr = FakeNetwork::start(Network::MailRu, MAILRU_REDIRECT).await;
    // The trailing slash is part of the registered address.
    let params = with(
        auth_params(&mr, "userinfo"),
        "redirect_uri",
        "http://127.0.0.1:9/callback/mailru",
    );
    assert_eq!(authorize(&mr, &params).await.0, StatusCode::BAD_REQUEST);

    let params = without(
        auth_params(&mr, "userinfo"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = code(&mr, &params).await;
    let form = |code: &str, secret: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", MAILRU_REDIRECT.to_owned()),
            ("client_id", "a3f1c9e07b2d4e5f8a6b1c2d3e4f5a6b".to_owned()),
            ("client_secret", secret.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let url = mr.token_url();
        async move { status_json(jarless().post(url).form(&form).send().await.unwrap()).await }
    };
    let secret = "f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5";
    let (status, err) = send(form(&code, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (err["error"].as_str(), err["error_code"].as_u64()),
        (Some("invalid_client"), Some(2))
    );
    let (status, tok) = send(form(&code, secret)).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["expires_in"], 3600);
    assert!(tok["refresh_token"].is_string());
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_grant", "error_code": 4, "error_description": "invalid code" })
    );

    let me = |token: String| {
        let url = mr.userinfo_url();
        async move {
            status_json(
                jarless()
                    .get(url)
                    .query(&[("access_token", token)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, me_ok) = me(token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({
            "id": "8412503917265340211",
            "email": "anna.kuznetsova@mail.ru",
            "name": "Анна Кузнецова",
            "first_name": "Анна",
            "last_name": "Кузнецова",
            "nickname": "anna.kuznetsova",
            "gender": "f",
            "image": "https://filin.mail.ru/pic?d=anna-kuznetsova&width=180&height=180",
            "birthday": "02.12.1995",
            "locale": "ru_RU",
        })
    );
    // Quirk: an unknown token is HTTP 200 with an error.
    let (status, err) = me("deadbeef".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        err,
        json!({ "error": "invalid_token", "error_code": 2, "error_description": "token not found" })
    );

    // With PKCE and Basic: the verifier must match.
    let code = self::code(&mr, &auth_params(&mr, "userinfo")).await;
    let (status, err) = post_form(
        &mr.token_url(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", MAILRU_REDIRECT),
            ("code_verifier", OTHER_VERIFIER),
        ],
        Some((mr.client_id(), secret)),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

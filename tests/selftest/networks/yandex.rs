//! The fake Yandex.

use super::*;

#[tokio::test]
async fn yandex_login_oauth_header_and_scopes() {
    let ya = FakeNetwork::start(Network::Yandex, REDIRECT).await;
    // No scope: the app's scopes; Basic client auth; PKCE.
    let code = code(&ya, &auth_params(&ya, "")).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, tok) = post_form(
        &ya.token_url(),
        &form,
        Some((ya.client_id(), ya.client_secret())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 31536000);
    assert!(tok["refresh_token"].is_string());
    assert!(ya.last_token_authorization().unwrap().starts_with("Basic "));
    let token = tok["access_token"].as_str().unwrap();

    let info = |auth: String, query: &'static str| {
        let url = format!("{}{query}", ya.userinfo_url());
        async move {
            jarless()
                .get(url)
                .header(AUTHORIZATION, auth)
                .send()
                .await
                .unwrap()
        }
    };
    let (status, me) = status_json(info(format!("OAuth {token}"), "?format=json").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({
            "id": "1130000031415926",
            "login": "ivan.petrov",
            "client_id": "0b1c2d3e4f5a69788796a5b4c3d2e1f0",
            "psuid": "1.AAqbmw.1130000031415926.c2FtcGxlLXBzdWlk",
            "display_name": "ivan.petrov",
            "real_name": "Иван Петров",
            "first_name": "Иван",
            "last_name": "Петров",
            "sex": "male",
            "default_email": "ivan.petrov@yandex.ru",
            "emails": ["ivan.petrov@yandex.ru"],
            "default_avatar_id": "131652443/abcdEF-1",
            "is_avatar_empty": false,
            "birthday": "1988-07-21",
        })
    );
    assert!(
        ya.last_request("userinfo")
            .contains(&("format".into(), "json".into()))
    );
    let resp = info(format!("OAuth {token}"), "").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert!(resp.text().await.unwrap().contains("<user/>"));
    // Quirk: Bearer is not accepted; errors are plain text.
    for auth in [format!("Bearer {token}"), "OAuth y0_nope".to_owned()] {
        let resp = info(auth, "?format=json").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(!resp.text().await.unwrap().contains(token));
    }

    // A narrower scope, no PKCE, credentials in the body: only what was granted.
    let params = without(
        auth_params(&ya, "login:info"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&ya, &params).await;
    let (status, tok) = post_form(
        &ya.token_url(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", ya.client_id()),
            ("client_secret", ya.client_secret()),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    let token = tok["access_token"].as_str().unwrap();
    let (_, me) = status_json(info(format!("OAuth {token}"), "?format=json").await).await;
    let mut keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "client_id",
            "display_name",
            "first_name",
            "id",
            "last_name",
            "login",
            "psuid",
            "real_name",
            "sex"
        ]
    );

    // A scope the app does not have.
    let (status, loc) = authorize(&ya, &auth_params(&ya, "login:info login:phone")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        param(&loc.unwrap(), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn yandex_token_refusals() {
    let ya = FakeNetwork::start(Network::Yandex, REDIRECT).await;
    let code = code(&ya, &auth_params(&ya, "")).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, id: &'static str, secret: &'static str| {
        let url = ya.token_url();
        async move {
            let req = jarless().post(url).form(&form).basic_auth(id, Some(secret));
            status_json(req.send().await.unwrap()).await
        }
    };
    let id = "0b1c2d3e4f5a69788796a5b4c3d2e1f0";
    let secret = "5e4d3c2b1a0f9e8d7c6b5a4938271605";
    let (status, err) = send(form(&code, VERIFIER), id, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        err,
        json!({ "error": "invalid_client", "error_description": "Wrong client secret" })
    );
    let (status, err) = send(form(&code, VERIFIER), "nope", secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error_description"], "Client not found");
    // The client was refused before the code was looked at: it still works, once.
    let (status, _) = send(form(&code, VERIFIER), id, secret).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = send(form(&code, VERIFIER), id, secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_grant", "error_description": "Code has expired" })
    );
    let code = self::code(&ya, &auth_params(&ya, "")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), id, secret).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A challenge was sent: a verifier is required.
    let code = self::code(&ya, &auth_params(&ya, "")).await;
    let no_verifier = form(&code, VERIFIER).into_iter().take(2).collect();
    let (status, err) = send(no_verifier, id, secret).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

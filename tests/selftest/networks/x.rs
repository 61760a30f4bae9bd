//! The fake X.

use super::*;

#[tokio::test]
async fn x_login_needs_basic_and_scopes() {
    let x = FakeNetwork::start(Network::X, REDIRECT).await;
    let scope = "users.read tweet.read offline.access";
    let code = code(&x, &auth_params(&x, scope)).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("code", code.to_owned()),
            ("grant_type", "authorization_code".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, basic: Option<(&'static str, &'static str)>| {
        let url = x.token_url();
        async move {
            let mut req = jarless().post(url).form(&form);
            if let Some((id, secret)) = basic {
                req = req.basic_auth(id, Some(secret));
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let id = "dGhpc0lzQW5YQ2xpZW50SWQ6MTpjaQ";
    let secret = "Wq9rT3yU7iO1pA5sD8fG2hJ6kL0zX4cV9bN3mQ7wE1rT5yU8iO";
    for basic in [None, Some((id, "wrong"))] {
        let (status, err) = send(form(&code, VERIFIER), basic).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            err,
            json!({ "error": "unauthorized_client", "error_description": "Missing valid authorization header" })
        );
    }
    let (status, tok) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 7200);
    assert_eq!(tok["scope"], scope);
    assert!(tok["refresh_token"].is_string());
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_request", "error_description": "Value passed for the authorization code was invalid." })
    );

    let me = |query: &'static str, token: String| {
        let url = format!("{}{query}", x.userinfo_url());
        async move { status_json(jarless().get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let (status, me_ok) = me("?user.fields=profile_image_url", token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({ "data": {
            "id": "1512345678901234567",
            "name": "Alex Morgan",
            "username": "alex_morgan",
            "profile_image_url": "https://pbs.twimg.com/profile_images/1512345678/alex_normal.jpg",
        } })
    );
    let (_, me_ok) = me("", token).await;
    assert!(me_ok["data"].get("profile_image_url").is_none());
    let (status, err) = me("", "nope".to_owned()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        err,
        json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" })
    );

    // Verifier mismatch; then a token without tweet.read.
    let code = self::code(&x, &auth_params(&x, "users.read")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_request");
    let code = self::code(&x, &auth_params(&x, "users.read")).await;
    let (status, tok) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tok.get("refresh_token").is_none());
    let (status, err) = me("", tok["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["title"], "Forbidden");
    assert_eq!(err["status"], 403);

    // PKCE and scope are required at authorize.
    let params = without(
        auth_params(&x, scope),
        &["code_challenge", "code_challenge_method"],
    );
    let loc = authorize(&x, &params).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    let loc = authorize(&x, &auth_params(&x, "")).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
}

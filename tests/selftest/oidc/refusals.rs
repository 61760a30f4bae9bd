//! What the fake refuses at authorize and token, and its one-time codes.

use super::*;

#[tokio::test]
async fn authorize_refusals() {
    let fake = FakeOidc::start(Flavour::Google, REDIRECT).await;
    let doc = discover(&fake, "").await;
    let scope = "openid email";

    let resp = authorize(&doc, &fake, scope, &[("client_id", "nobody")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(is_html(&resp));
    let resp = authorize(
        &doc,
        &fake,
        scope,
        &[("redirect_uri", "http://127.0.0.1:9/evil")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(is_html(&resp));

    let refused = |resp: reqwest::Response| {
        assert_eq!(resp.status(), StatusCode::FOUND);
        let loc = location_url(&resp);
        assert!(param(&loc, "code").is_none());
        assert_eq!(param(&loc, "state").as_deref(), Some(STATE));
        param(&loc, "error").unwrap()
    };
    assert_eq!(
        refused(authorize(&doc, &fake, "email profile", &[]).await),
        "invalid_scope"
    );
    let bad_method = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S512"),
    ];
    assert_eq!(
        refused(authorize(&doc, &fake, scope, &bad_method).await),
        "invalid_request"
    );
    // Google's prompt takes none, consent and select_account, never login.
    assert_eq!(
        refused(authorize(&doc, &fake, scope, &[("prompt", "login")]).await),
        "invalid_request"
    );
    assert_eq!(
        refused(authorize(&doc, &fake, scope, &[("prompt", "none consent")]).await),
        "invalid_request"
    );
    authorize_ok(&doc, &fake, scope, &[("prompt", "select_account consent")]).await;
    fake.set_behaviour(Behaviour::Deny);
    assert_eq!(
        refused(authorize(&doc, &fake, scope, &[]).await),
        "access_denied"
    );
    assert_eq!(fake.calls("authorize"), 8);
}

#[tokio::test]
async fn gitlab_takes_prompt_login_and_a_max_age_in_seconds() {
    let fake = FakeOidc::start(Flavour::GitLab, REDIRECT).await;
    let doc = discover(&fake, "").await;
    let scope = "openid";
    authorize_ok(&doc, &fake, scope, &[("prompt", "login"), ("max_age", "0")]).await;
    let resp = authorize(&doc, &fake, scope, &[("max_age", "soon")]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert!(param(&loc, "code").is_none());
}

#[tokio::test]
async fn token_refusals_and_one_time_codes() {
    let fake = FakeOidc::start(Flavour::Google, REDIRECT).await;
    let doc = discover(&fake, "").await;
    let secret = fake.client_secret().to_owned();
    let pkce = [("code_verifier", VERIFIER)];
    let error = |r: &(StatusCode, reqwest::header::HeaderMap, Value)| {
        (r.0, r.2["error"].as_str().unwrap_or("").to_owned())
    };
    let invalid_client = (StatusCode::UNAUTHORIZED, "invalid_client".to_owned());
    let invalid_grant = (StatusCode::BAD_REQUEST, "invalid_grant".to_owned());

    // Client authentication fails before the code is looked at: the code survives.
    let code = pkce_code(&doc, &fake).await;
    let r = token(&doc, &fake, &code, Auth::Post("wrong"), &pkce).await;
    assert_eq!(error(&r), invalid_client);
    assert!(r.1.contains_key(reqwest::header::WWW_AUTHENTICATE));
    assert_eq!(
        error(&token(&doc, &fake, &code, Auth::Basic("wrong"), &pkce).await),
        invalid_client
    );
    assert_eq!(
        error(&token(&doc, &fake, &code, Auth::None, &pkce).await),
        invalid_client
    );
    // A wrong verifier uses the code up.
    let wrong = [("code_verifier", "x".repeat(43))];
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = token(&doc, &fake, &code, Auth::Post(&secret), &wrong).await;
    assert_eq!(error(&r), invalid_grant);
    assert_eq!(
        error(&token(&doc, &fake, &code, Auth::Post(&secret), &pkce).await),
        invalid_grant
    );

    let code = pkce_code(&doc, &fake).await;
    assert_eq!(
        error(&token(&doc, &fake, &code, Auth::Post(&secret), &[]).await),
        invalid_grant
    );

    let code = pkce_code(&doc, &fake).await;
    let other_redirect = [
        ("code_verifier", VERIFIER),
        ("redirect_uri", "http://127.0.0.1:9/x"),
    ];
    let r = token(&doc, &fake, &code, Auth::Post(&secret), &other_redirect).await;
    assert_eq!(error(&r), invalid_grant);

    // Reuse after success.
    let code = pkce_code(&doc, &fake).await;
    assert_eq!(
        token(&doc, &fake, &code, Auth::Post(&secret), &pkce)
            .await
            .0,
        StatusCode::OK
    );
    let r = token(&doc, &fake, &code, Auth::Basic(&secret), &pkce).await;
    assert_eq!(error(&r), invalid_grant);

    // Form bodies only.
    let code = pkce_code(&doc, &fake).await;
    let resp = jarless()
        .post(ep(&doc, "token_endpoint"))
        .json(&json!({ "grant_type": "authorization_code", "code": code,
            "client_id": fake.client_id(), "client_secret": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let r = token(
        &doc,
        &fake,
        &code,
        Auth::Post(&secret),
        &[("grant_type", "password"), pkce[0]],
    )
    .await;
    assert_eq!(
        error(&r),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type".to_owned())
    );

    // userinfo: an unknown or missing bearer token.
    let (status, headers, _) = userinfo(&doc, "ya29.not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[reqwest::header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    let resp = jarless()
        .get(ep(&doc, "userinfo_endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

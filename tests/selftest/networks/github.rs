//! The fake GitHub.

use super::*;

async fn github_get(url: &str, token: &str, ua: bool) -> reqwest::Response {
    let mut req = jarless()
        .get(url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(ACCEPT, "application/vnd.github+json");
    if ua {
        req = req.header(USER_AGENT, UA);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn github_login_form_or_json_tokens_and_emails() {
    let gh = FakeNetwork::start(Network::GitHub, REDIRECT).await;
    let code = code(&gh, &auth_params(&gh, "read:user user:email")).await;
    let form = [
        ("client_id", gh.client_id()),
        ("client_secret", gh.client_secret()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    // Without Accept: JSON the answer is form-encoded.
    let resp = jarless()
        .post(gh.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    let answer: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        answer[1],
        ("scope".to_owned(), "read:user,user:email".to_owned())
    );
    assert_eq!(answer[2], ("token_type".to_owned(), "bearer".to_owned()));
    assert_eq!(answer[0].0, "access_token");
    let token = answer[0].1.clone();
    assert!(token.starts_with("gho_"));

    let (status, me) = status_json(github_get(&gh.userinfo_url(), &token, true).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["login"], "monalisa");
    assert_eq!(me["id"], json!(9919), "a number");
    assert_eq!(me["name"], "Mona Lisa");
    assert_eq!(me["email"], Value::Null);
    assert_eq!(
        me["avatar_url"],
        "https://avatars.githubusercontent.com/u/9919?v=4"
    );

    let emails_url = format!("{}/user/emails", gh.base_url);
    let (status, emails) = status_json(github_get(&emails_url, &token, true).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        emails,
        json!([
            { "email": "9919+monalisa@users.noreply.github.com", "primary": false, "verified": true, "visibility": null },
            { "email": "mona@example.com", "primary": true, "verified": true, "visibility": "private" },
        ])
    );
    gh.set_behaviour(Behaviour::EmailsPrimaryUnverified);
    let (_, emails) = status_json(github_get(&emails_url, &token, true).await).await;
    assert_eq!(emails[1]["verified"], false);
    assert_eq!(gh.calls("emails"), 2);

    // No User-Agent: 403 text; bad token: 401.
    for url in [gh.userinfo_url(), emails_url.clone()] {
        let resp = github_get(&url, &token, false).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("User-Agent header"));
        let (status, err) = status_json(github_get(&url, "gho_nope", true).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["message"], "Bad credentials");
        assert_eq!(err["status"], "401");
    }

    // Without user:email, /user/emails is 404; tokens as JSON on request.
    let params = without(
        auth_params(&gh, "read:user"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&gh, &params).await;
    let resp = jarless()
        .post(gh.token_url())
        .header(ACCEPT, "application/json")
        .form(&[
            ("client_id", gh.client_id()),
            ("client_secret", gh.client_secret()),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let (status, tok) = status_json(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tok["scope"], "read:user");
    assert_eq!(tok["token_type"], "bearer");
    let token = tok["access_token"].as_str().unwrap();
    let (status, err) = status_json(github_get(&emails_url, token, true).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["message"], "Not Found");
    let resp = github_get(&gh.userinfo_url(), token, true).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn github_token_errors_are_http_200() {
    let gh = FakeNetwork::start(Network::GitHub, REDIRECT).await;
    let code = code(&gh, &auth_params(&gh, "user:email")).await;
    let send = |secret: &'static str, code: String, verifier: &'static str| {
        let url = gh.token_url();
        let id = gh.client_id().to_owned();
        async move {
            let resp = jarless()
                .post(url)
                .header(ACCEPT, "application/json")
                .form(&[
                    ("client_id", id.as_str()),
                    ("client_secret", secret),
                    ("code", &code),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap();
            status_json(resp).await
        }
    };
    let secret = "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e";
    let (status, err) = send("wrong", code.clone(), VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "incorrect_client_credentials");
    let (status, err) = send(secret, code.clone(), OTHER_VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "bad_verification_code");
    // That attempt used the code up.
    let (status, err) = send(secret, code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "bad_verification_code");
    assert_eq!(
        err["error_description"],
        "The code passed is incorrect or expired."
    );
    assert!(
        err["error_uri"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );

    // Form-encoded errors without Accept: JSON.
    let code = self::code(&gh, &auth_params(&gh, "")).await;
    let resp = jarless()
        .post(gh.token_url())
        .form(&[
            ("client_id", gh.client_id()),
            ("client_secret", secret),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .starts_with("error=redirect_uri_mismatch&")
    );
}

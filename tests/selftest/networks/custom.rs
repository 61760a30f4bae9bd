//! The fake Custom.

use super::*;

#[tokio::test]
async fn custom_login_basic_only_pkce_and_nested_profile() {
    let c = FakeNetwork::start(Network::Custom, REDIRECT).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, basic: bool| {
        let url = c.token_url();
        let (id, secret) = (c.client_id().to_owned(), c.client_secret().to_owned());
        async move {
            let mut req = jarless().post(url);
            if basic {
                req = req.basic_auth(id, Some(secret)).form(&form);
            } else {
                let mut form = form;
                form.push(("client_id", id));
                form.push(("client_secret", secret));
                req = req.form(&form);
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let code = code(&c, &auth_params(&c, "profile,mail")).await;
    let (status, err) = send(form(&code, VERIFIER), false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, tok) = send(form(&code, VERIFIER), true).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "profile,mail");
    assert!(c.last_token_authorization().unwrap().starts_with("Basic "));
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, VERIFIER), true).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let whoami = |token: String| {
        let url = c.userinfo_url();
        async move { status_json(jarless().get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let (status, me) = whoami(token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({ "status": "ok", "result": { "account": {
            "uid": 42017,
            "display": "Kira Lebedeva",
            "names": { "given": "Kira", "family": "Lebedeva" },
            "contact": { "mail": "kira@example.org", "mail_confirmed": true },
            "avatar": { "url": "https://id.example.org/avatars/42017.png" },
        } } })
    );
    let (status, err) = whoami("cst_nope".to_owned()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err, json!({ "status": "error", "message": "bad token" }));

    // Verifier mismatch; a space-separated scope is one unknown scope; PKCE is required.
    let code = self::code(&c, &auth_params(&c, "profile")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), true).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let loc = authorize(&c, &auth_params(&c, "profile mail"))
        .await
        .1
        .unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_scope"));
    let params = without(auth_params(&c, "profile"), &["code_challenge"]);
    let loc = authorize(&c, &params).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));

    // Only what was granted, and who set_person says.
    c.set_person(Person {
        email: None,
        ..Person::sample(Network::Custom)
    });
    let code = self::code(&c, &auth_params(&c, "profile,mail")).await;
    let (_, tok) = send(form(&code, VERIFIER), true).await;
    let (_, me) = whoami(tok["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        me["result"]["account"]["contact"],
        json!({ "mail_confirmed": true })
    );
    assert_eq!(pkce_s256(VERIFIER), CHALLENGE);
}

//! The fake Facebook.

use super::*;

#[tokio::test]
async fn facebook_login_and_appsecret_proof() {
    let fb = FakeNetwork::start(Network::Facebook, REDIRECT).await;
    let params = without(
        auth_params(&fb, "public_profile,email"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = code(&fb, &params).await;
    let token_query = |code: &str, secret: &str, redirect: &str| {
        vec![
            ("client_id", "1234567890123456".to_owned()),
            ("client_secret", secret.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("code", code.to_owned()),
        ]
    };
    let get_token = |q: Vec<(&'static str, String)>| {
        let url = fb.token_url();
        async move { status_json(jarless().get(url).query(&q).send().await.unwrap()).await }
    };
    let secret = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
    let (status, err) = get_token(token_query(&code, "wrong", REDIRECT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["message"], "Error validating client secret.");
    assert_eq!(err["error"]["type"], "OAuthException");
    assert_eq!(err["error"]["code"], 1);
    assert!(err["error"]["fbtrace_id"].is_string());
    let (status, tok) = get_token(token_query(&code, secret, REDIRECT)).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 5183944);
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = get_token(token_query(&code, secret, REDIRECT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "This authorization code has been used."
    );
    assert_eq!(err["error"]["code"], 100);

    let me = |query: Vec<(&'static str, String)>, bearer: Option<String>| {
        let url = fb.userinfo_url();
        async move {
            let mut req = jarless().get(url).query(&query);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let proof = appsecret_proof(secret, &token);
    assert_eq!(proof.len(), 64);
    let fields = (
        "fields",
        "id,name,first_name,last_name,email,picture".to_owned(),
    );
    let (status, me_ok) = me(
        vec![fields.clone(), ("appsecret_proof", proof.clone())],
        Some(token.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me_ok}");
    assert_eq!(
        me_ok,
        json!({
            "id": "10158123456789012",
            "name": "John Smith",
            "first_name": "John",
            "last_name": "Smith",
            "email": "john.smith@example.com",
            "picture": { "data": {
                "height": 50,
                "is_silhouette": false,
                "url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012&height=50&width=50",
                "width": 50,
            } },
        })
    );
    // The token as a query parameter works too; only the requested fields come.
    let (status, me_ok) = me(
        vec![
            ("fields", "id,name".to_owned()),
            ("access_token", token.clone()),
            ("appsecret_proof", proof.clone()),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({ "id": "10158123456789012", "name": "John Smith" })
    );

    let (status, err) = me(vec![fields.clone()], Some(token.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "API calls from the server require an appsecret_proof argument"
    );
    assert_eq!(err["error"]["type"], "GraphMethodException");
    assert_eq!(err["error"]["code"], 100);
    let wrong = appsecret_proof("not-the-secret", &token);
    let (status, err) = me(
        vec![fields.clone(), ("appsecret_proof", wrong)],
        Some(token.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "Invalid appsecret_proof provided in the API argument"
    );
    let (status, err) = me(vec![fields.clone()], Some("EAARnope".to_owned())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], 190);
    assert_eq!(
        err["error"]["message"],
        "Invalid OAuth access token - Cannot parse access token"
    );
    fb.set_behaviour(Behaviour::RequireNoProof);
    let (status, _) = me(vec![fields], Some(token.clone())).await;
    assert_eq!(status, StatusCode::OK);

    // Without the email permission, no email; the token endpoint takes POST too.
    fb.set_behaviour(Behaviour::Normal);
    let params = without(
        auth_params(&fb, "public_profile"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&fb, &params).await;
    let (status, err) = post_form(
        &fb.token_url(),
        &[
            ("client_id", fb.client_id()),
            ("client_secret", secret),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code", &code),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().starts_with(
        "Error validating verification code. Please make sure your redirect_uri is identical"
    ));
    let code = self::code(&fb, &params).await;
    let q: Vec<(&str, &str)> = vec![
        ("client_id", fb.client_id()),
        ("client_secret", secret),
        ("redirect_uri", REDIRECT),
        ("code", &code),
    ];
    let (status, tok) = post_form(&fb.token_url(), &q, None).await;
    assert_eq!(status, StatusCode::OK);
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let proof = appsecret_proof(secret, &token);
    let (_, me_ok) = me(
        vec![
            ("fields", "id,email".to_owned()),
            ("appsecret_proof", proof),
        ],
        Some(token),
    )
    .await;
    assert_eq!(me_ok, json!({ "id": "10158123456789012" }));
}

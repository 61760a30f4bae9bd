//! Each corrupting behaviour corrupts exactly its aspect; failures and key rotation.

use super::*;

/// A full login under `b`; the id_token and the access token.
async fn login_under(fake: &FakeOidc, doc: &Value, b: Behaviour) -> (String, String) {
    fake.set_behaviour(b);
    let code = pkce_code(doc, fake).await;
    let (status, _, body) = token(
        doc,
        fake,
        &code,
        Auth::Post(fake.client_secret()),
        &[("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b:?}: {body}");
    let s = |k: &str| body[k].as_str().unwrap().to_owned();
    (s("id_token"), s("access_token"))
}

#[tokio::test]
async fn each_corrupting_behaviour_corrupts_exactly_its_aspect() {
    for flavour in [Flavour::Google, Flavour::Microsoft] {
        let fake = FakeOidc::start(flavour, REDIRECT).await;
        let doc = discover(&fake, "contoso").await;
        let iss = doc["issuer"].as_str().unwrap().to_owned();
        let aud = fake.client_id().to_owned();
        let set = jwks(&doc).await;
        let check = |token: &str| verify(&set, token, &iss, &aud);

        let (t, _) = login_under(&fake, &doc, Behaviour::Normal).await;
        let good = check(&t).unwrap();

        let (t, _) = login_under(&fake, &doc, Behaviour::WrongAudience).await;
        assert_eq!(check(&t).unwrap_err(), "InvalidAudience");
        assert_eq!(jwt_claims(&t)["aud"], "someone-else");

        let (t, _) = login_under(&fake, &doc, Behaviour::WrongIssuer).await;
        assert_eq!(check(&t).unwrap_err(), "InvalidIssuer");
        assert_eq!(jwt_claims(&t)["iss"], "https://evil.example");

        let (t, _) = login_under(&fake, &doc, Behaviour::Expired).await;
        assert_eq!(check(&t).unwrap_err(), "ExpiredSignature");
        let c = jwt_claims(&t);
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            3600
        );
        assert!(good["iat"].as_u64().unwrap() - c["iat"].as_u64().unwrap() >= 7199);

        // Nonces: well signed, only the claim differs.
        let (t, _) = login_under(&fake, &doc, Behaviour::WrongNonce).await;
        let c = check(&t).unwrap();
        assert!(c["nonce"].is_string() && c["nonce"] != NONCE);
        let (t, _) = login_under(&fake, &doc, Behaviour::NoNonce).await;
        assert!(check(&t).unwrap().get("nonce").is_none());

        let (t, _) = login_under(&fake, &doc, Behaviour::BadSignature).await;
        assert_eq!(check(&t).unwrap_err(), "InvalidSignature");
        assert_eq!(jwt_claims(&t)["sub"], good["sub"]);

        let (t, _) = login_under(&fake, &doc, Behaviour::AlgNone).await;
        assert!(check(&t).unwrap_err().starts_with("header"));
        assert_eq!(jwt_header(&t)["alg"], "none");
        assert!(t.ends_with('.'));

        // HS256 keyed with the client secret: verifies with the secret, not with the JWKS.
        let (t, _) = login_under(&fake, &doc, Behaviour::Hs256WithClientSecret).await;
        assert_eq!(check(&t).unwrap_err(), "InvalidAlgorithm");
        let mut hs = Validation::new(Algorithm::HS256);
        hs.set_audience(&[&aud]);
        let secret = DecodingKey::from_secret(fake.client_secret().as_bytes());
        assert!(jsonwebtoken::decode::<Value>(&t, &secret, &hs).is_ok());

        let (t, _) = login_under(&fake, &doc, Behaviour::UnknownKid).await;
        assert_eq!(check(&t).unwrap_err(), "kid not in the JWKS");
        assert_eq!(jwks(&doc).await.keys.len(), 1);

        // userinfo for someone else.
        let (t, at) = login_under(&fake, &doc, Behaviour::UserinfoOtherSub).await;
        let sub = check(&t).unwrap()["sub"].clone();
        let (status, _, info) = userinfo(&doc, &at).await;
        assert_eq!(status, StatusCode::OK);
        assert!(info["sub"].is_string() && info["sub"] != sub);
    }
}

#[tokio::test]
async fn http_500s_are_html() {
    let fake = FakeOidc::start(Flavour::Microsoft, REDIRECT).await;
    let doc = discover(&fake, "common").await;
    let code = pkce_code(&doc, &fake).await;
    fake.set_behaviour(Behaviour::TokenHttp500);
    let (status, headers, _) =
        token(&doc, &fake, &code, Auth::Post(fake.client_secret()), &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    fake.set_behaviour(Behaviour::DiscoveryHttp500);
    let url = format!("{}/.well-known/openid-configuration", fake.issuer("common"));
    let resp = jarless().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(is_html(&resp));
    assert_eq!(fake.calls("discovery"), 2);
    assert_eq!(fake.calls("token"), 1);
}

#[tokio::test]
async fn rotate_key_changes_the_kid_and_the_jwks() {
    let fake = FakeOidc::start(Flavour::Google, REDIRECT).await;
    let doc = discover(&fake, "").await;
    let (iss, aud) = (fake.base_url.clone(), fake.client_id().to_owned());
    let before = jwks(&doc).await;
    let (old_token, _) = login_under(&fake, &doc, Behaviour::Normal).await;
    verify(&before, &old_token, &iss, &aud).unwrap();

    fake.rotate_key();
    let after = jwks(&doc).await;
    assert_eq!(after.keys.len(), 1);
    let kid = |set: &JwkSet| set.keys[0].common.key_id.clone().unwrap();
    assert_ne!(kid(&before), kid(&after));
    assert_eq!(kid(&after), fake.current_kid());
    assert_eq!(
        verify(&after, &old_token, &iss, &aud).unwrap_err(),
        "kid not in the JWKS"
    );
    let (new_token, _) = login_under(&fake, &doc, Behaviour::Normal).await;
    verify(&after, &new_token, &iss, &aud).unwrap();
    assert!(verify(&before, &new_token, &iss, &aud).is_err());
}

//! Each flavour logged in with by hand, as a relying party would.

use super::*;

#[tokio::test]
async fn google_login_pkce_nonce_verified_id_token_and_userinfo() {
    let fake = FakeOidc::start(Flavour::Google, REDIRECT).await;
    let base = &fake.base_url;
    assert_eq!(fake.issuer("ignored"), *base);
    let doc = discover(&fake, "").await;
    assert_eq!(doc["issuer"], json!(base));
    assert_eq!(
        ep(&doc, "authorization_endpoint"),
        format!("{base}/o/oauth2/v2/auth")
    );
    assert_eq!(ep(&doc, "token_endpoint"), format!("{base}/token"));
    assert_eq!(ep(&doc, "userinfo_endpoint"), format!("{base}/v1/userinfo"));
    assert_eq!(ep(&doc, "jwks_uri"), format!("{base}/oauth2/v3/certs"));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post", "client_secret_basic"])
    );

    let extra = [
        ("nonce", NONCE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let (loc, code) = authorize_ok(&doc, &fake, "openid email profile", &extra).await;
    // Extras the relying party must tolerate.
    assert_eq!(param(&loc, "authuser").as_deref(), Some("0"));
    assert_eq!(param(&loc, "prompt").as_deref(), Some("consent"));
    assert!(code.starts_with("4/0A"), "{code}");
    assert!(has(&fake.last_request("authorize"), "nonce", NONCE));

    let (status, headers, body) = token(
        &doc,
        &fake,
        &code,
        Auth::Post(fake.client_secret()),
        &[("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[reqwest::header::CACHE_CONTROL], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(
        body["scope"],
        "openid https://www.googleapis.com/auth/userinfo.email \
         https://www.googleapis.com/auth/userinfo.profile"
    );
    assert!(body["refresh_token"].is_string());
    assert!(has(&fake.last_request("token"), "code_verifier", VERIFIER));

    let set = jwks(&doc).await;
    let id_token = body["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(fake.current_kid().as_str()));
    assert_eq!(set.keys.len(), 1);
    let c = verify(&set, id_token, base, fake.client_id()).unwrap();
    let p = Person::sample(Flavour::Google);
    assert_eq!(c["sub"], json!(p.sub));
    assert_eq!(c["azp"], json!(fake.client_id()));
    assert_eq!(c["nonce"], NONCE);
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
    assert_eq!(c["email"], "ada.lovelace@gmail.com");
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["name"], "Ada Lovelace");
    assert_eq!(c["locale"], "en");
    assert_eq!(c["picture"], json!(p.picture));
    assert!(c.get("tid").is_none());

    let at = body["access_token"].as_str().unwrap();
    let (status, _, info) = userinfo(&doc, at).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["sub"], c["sub"]);
    assert_eq!(info["email"], c["email"]);
    assert_eq!(info["email_verified"], true);
    for endpoint in ["discovery", "jwks", "authorize", "token", "userinfo"] {
        assert_eq!(fake.calls(endpoint), 1, "{endpoint}");
    }
}

#[tokio::test]
async fn microsoft_tenant_issuers_guid_endpoints_basic_auth_and_claims() {
    let fake = FakeOidc::start(Flavour::Microsoft, REDIRECT).await;
    let base = &fake.base_url;
    assert_eq!(fake.issuer("common"), format!("{base}/common/v2.0"));

    // Multi-tenant: the literal `{tenantid}` template, endpoints under the tenant name.
    for tenant in ["common", "organizations", "consumers"] {
        let doc = discover(&fake, tenant).await;
        assert_eq!(doc["issuer"], json!(format!("{base}/{{tenantid}}/v2.0")));
        assert_eq!(
            ep(&doc, "authorization_endpoint"),
            format!("{base}/{tenant}/oauth2/v2.0/authorize")
        );
        assert_eq!(
            ep(&doc, "token_endpoint"),
            format!("{base}/{tenant}/oauth2/v2.0/token")
        );
        assert_eq!(
            ep(&doc, "jwks_uri"),
            format!("{base}/{tenant}/discovery/v2.0/keys")
        );
        assert_eq!(
            ep(&doc, "userinfo_endpoint"),
            format!("{base}/oidc/userinfo")
        );
    }
    // A named tenant: the GUID, not the name.
    let contoso = discover(&fake, "contoso").await;
    let tid_issuer = format!("{base}/{MS_SAMPLE_TID}/v2.0");
    assert_eq!(contoso["issuer"], json!(tid_issuer));
    assert_eq!(
        ep(&contoso, "token_endpoint"),
        format!("{base}/{MS_SAMPLE_TID}/oauth2/v2.0/token")
    );

    let common = discover(&fake, "common").await;
    for doc in [&common, &contoso] {
        let extra = [
            ("nonce", NONCE),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        let (loc, code) =
            authorize_ok(doc, &fake, "openid profile email offline_access", &extra).await;
        assert!(param(&loc, "session_state").is_some());
        // The secret carries `~` and `.`: basic auth must form-encode it.
        assert!(fake.client_secret().contains('~'));
        let (status, _, body) = token(
            doc,
            &fake,
            &code,
            Auth::Basic(fake.client_secret()),
            &[("code_verifier", VERIFIER)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ext_expires_in"], 3599);
        let id_token = body["id_token"].as_str().unwrap();
        let c = verify(&jwks(doc).await, id_token, &tid_issuer, fake.client_id()).unwrap();
        assert_eq!(c["tid"], MS_SAMPLE_TID);
        assert_eq!(c["ver"], "2.0");
        assert_eq!(c["nonce"], NONCE);
        assert!(c["oid"].as_str().unwrap().len() == 36);
        assert_eq!(c["email"], "alex.wilber@contoso.com");
        assert_eq!(c["preferred_username"], "alex.wilber@contoso.com");
        assert!(c.get("email_verified").is_none());
        assert!(c.get("picture").is_none());
        let (status, _, info) = userinfo(doc, body["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["sub"], c["sub"]);
        assert!(info.get("email_verified").is_none());
    }

    // Another person's directory: iss and tid follow the person, the template stays.
    let mut p = Person::sample(Flavour::Microsoft);
    p.tid = Some("0c9a7f3e-1111-4222-8333-944455556666".to_owned());
    p.sub = "AAAAAAAAAAAAAAAAAAAAAOtherPersonSub0000000".to_owned();
    fake.set_person(p.clone());
    let code = pkce_code(&common, &fake).await;
    let (_, _, body) = token(
        &common,
        &fake,
        &code,
        Auth::Post(fake.client_secret()),
        &[("code_verifier", VERIFIER)],
    )
    .await;
    let iss = format!("{base}/0c9a7f3e-1111-4222-8333-944455556666/v2.0");
    let set = jwks(&common).await;
    let c = verify(
        &set,
        body["id_token"].as_str().unwrap(),
        &iss,
        fake.client_id(),
    )
    .unwrap();
    assert_eq!(c["tid"], json!(p.tid));
    assert_eq!(c["sub"], json!(p.sub));
}

#[tokio::test]
async fn gitlab_plain_pkce_claims_follow_the_granted_scopes() {
    let fake = FakeOidc::start(Flavour::GitLab, REDIRECT).await;
    let base = &fake.base_url;
    let doc = discover(&fake, "").await;
    assert_eq!(doc["issuer"], json!(base));
    assert_eq!(
        ep(&doc, "authorization_endpoint"),
        format!("{base}/oauth/authorize")
    );
    assert_eq!(ep(&doc, "token_endpoint"), format!("{base}/oauth/token"));
    assert_eq!(
        ep(&doc, "userinfo_endpoint"),
        format!("{base}/oauth/userinfo")
    );
    assert_eq!(ep(&doc, "jwks_uri"), format!("{base}/oauth/discovery/keys"));
    let set = jwks(&doc).await;

    // openid only, plain PKCE: no person claims anywhere.
    let (_, code) = authorize_ok(&doc, &fake, "openid", &[("code_challenge", VERIFIER)]).await;
    assert!(has(
        &fake.last_request("authorize"),
        "code_challenge",
        VERIFIER
    ));
    let (status, _, body) = token(
        &doc,
        &fake,
        &code,
        Auth::Post(fake.client_secret()),
        &[("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid");
    let c = verify(
        &set,
        body["id_token"].as_str().unwrap(),
        base,
        fake.client_id(),
    )
    .unwrap();
    assert_eq!(c["sub"], "4817263");
    for absent in [
        "email",
        "email_verified",
        "name",
        "picture",
        "preferred_username",
        "nonce",
    ] {
        assert!(c.get(absent).is_none(), "{absent}");
    }
    let (_, _, info) = userinfo(&doc, body["access_token"].as_str().unwrap()).await;
    assert_eq!(info, json!({ "sub": "4817263" }));

    // No PKCE, no nonce, every scope: the GitLab claims.
    let (_, code) = authorize_ok(&doc, &fake, "openid profile email read_user", &[]).await;
    let (status, _, body) = token(&doc, &fake, &code, Auth::Basic(fake.client_secret()), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid profile email read_user");
    let c = verify(
        &set,
        body["id_token"].as_str().unwrap(),
        base,
        fake.client_id(),
    )
    .unwrap();
    assert_eq!(c["email"], "grace.hopper@example.org");
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["preferred_username"], "ghopper");
    assert_eq!(c["nickname"], "ghopper");
    assert_eq!(c["picture"], json!(Person::sample(Flavour::GitLab).picture));
    assert!(c.get("nonce").is_none());
    let (_, _, info) = userinfo(&doc, body["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], c["email"]);
    assert_eq!(info["preferred_username"], "ghopper");
}

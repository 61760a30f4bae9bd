//! Self-test of the fake OpenID Connect upstream (Google, Microsoft Entra ID, GitLab): driven by
//! hand as a relying party would, its id_tokens verified independently with jsonwebtoken, and
//! each refusal and corrupting behaviour checked, so that a gateway test passing against it
//! means something.

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::fakes::oidc::flavour::MS_SAMPLE_TID;
use support::fakes::oidc::{Behaviour, FakeOidc, Flavour, Person};
use support::{has, jarless, jwt_claims, jwt_header, location_url, param};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/callback/oidc";
/// RFC 7636 Appendix B: an independent check of the fake's S256.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const NONCE: &str = "n-0S6_WzA2Mj";
const STATE: &str = "st-42";

fn is_html(resp: &reqwest::Response) -> bool {
    resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html")
}

async fn discover(fake: &FakeOidc, tenant: &str) -> Value {
    let url = format!("{}/.well-known/openid-configuration", fake.issuer(tenant));
    let resp = jarless().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn ep<'a>(doc: &'a Value, name: &str) -> &'a str {
    doc[name].as_str().unwrap()
}

/// The authorize request, with `client_id`, `redirect_uri`, `response_type` and `state` right
/// unless `extra` overrides them.
async fn authorize(
    doc: &Value,
    fake: &FakeOidc,
    scope: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut params = vec![
        ("client_id", fake.client_id()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("state", STATE),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        params.push((k, v));
    }
    jarless()
        .get(ep(doc, "authorization_endpoint"))
        .query(&params)
        .send()
        .await
        .unwrap()
}

/// A successful authorize: the redirect back, with its code.
async fn authorize_ok(
    doc: &Value,
    fake: &FakeOidc,
    scope: &str,
    extra: &[(&str, &str)],
) -> (Url, String) {
    let resp = authorize(doc, fake, scope, extra).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location_url(&resp);
    assert_eq!(loc.as_str().split('?').next(), Some(REDIRECT));
    assert_eq!(param(&loc, "state").as_deref(), Some(STATE));
    let code = param(&loc, "code").expect("code in the redirect");
    (loc, code)
}

/// Code, nonce and S256 PKCE with the sample scopes.
async fn pkce_code(doc: &Value, fake: &FakeOidc) -> String {
    let extra = [
        ("nonce", NONCE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    authorize_ok(doc, fake, "openid email profile", &extra)
        .await
        .1
}

enum Auth<'a> {
    Post(&'a str),
    /// client_secret_basic, form-urlencoded first as RFC 6749 §2.3.1 asks.
    Basic(&'a str),
    None,
}

async fn token(
    doc: &Value,
    fake: &FakeOidc,
    code: &str,
    auth: Auth<'_>,
    extra: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    let mut req = jarless().post(ep(doc, "token_endpoint"));
    match auth {
        Auth::Post(secret) => {
            form.push(("client_id", fake.client_id()));
            form.push(("client_secret", secret));
        }
        Auth::Basic(secret) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let creds = STANDARD.encode(format!("{}:{}", enc(fake.client_id()), enc(secret)));
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {creds}"));
        }
        Auth::None => form.push(("client_id", fake.client_id())),
    }
    for (k, v) in extra {
        form.retain(|(fk, _)| fk != k);
        form.push((k, v));
    }
    let resp = req.form(&form).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(json!(text)),
    )
}

async fn jwks(doc: &Value) -> JwkSet {
    jarless()
        .get(ep(doc, "jwks_uri"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies an id_token as a relying party must: RS256, key by kid from the JWKS, iss, aud, exp.
fn verify(set: &JwkSet, token: &str, iss: &str, aud: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[iss]);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| format!("{:?}", e.kind()))
}

async fn userinfo(
    doc: &Value,
    access_token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = jarless()
        .get(ep(doc, "userinfo_endpoint"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

// ------------------------------------------------------------------------------------ flavours

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

// ------------------------------------------------------------------------------------ refusals

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
    fake.set_behaviour(Behaviour::Deny);
    assert_eq!(
        refused(authorize(&doc, &fake, scope, &[]).await),
        "access_denied"
    );
    assert_eq!(fake.calls("authorize"), 5);
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

// ---------------------------------------------------------------------------------- behaviours

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

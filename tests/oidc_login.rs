//! A site logs a person in through the gateway with an ordinary OIDC client library
//! (`openidconnect`): discovery, authorize with PKCE and nonce, callback, token, id_token
//! verification against the JWKS, userinfo. Through OK and through VK (fakes), for a site
//! with RS256 tokens (the default) and one with ES256.

mod support;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use support::fakes::ok::OkUser;
use support::fakes::vk::VkUser;
use support::*;

/// What the site ends up with after a login.
struct SiteLogin {
    /// All claims of the verified id_token.
    id_claims: serde_json::Value,
    id_token: String,
    access_token: String,
    userinfo: serde_json::Value,
}

/// A registered site: its client_id, secret and redirect URI.
struct Site {
    id: &'static str,
    secret: &'static str,
    redirect: &'static str,
}

const SHOP_SITE: Site = Site {
    id: SHOP,
    secret: SHOP_SECRET,
    redirect: SHOP_REDIRECT,
};

const FORUM_SITE: Site = Site {
    id: FORUM,
    secret: FORUM_SECRET,
    redirect: FORUM_REDIRECT,
};

/// Runs a whole login as the shop using `openidconnect`, verifying the id_token (signature
/// via the JWKS, iss, aud, exp, nonce) and at_hash.
async fn site_login(gw: &TestGateway, provider: &str, scopes: &[&str]) -> SiteLogin {
    login_as(gw, &SHOP_SITE, provider, scopes).await
}

/// A whole login as `site`; the algorithms the library accepts are those discovery lists.
async fn login_as(gw: &TestGateway, site: &Site, provider: &str, scopes: &[&str]) -> SiteLogin {
    let http = browser();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(gw.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(site.id.into()),
        Some(ClientSecret::new(site.secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(site.redirect.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        request = request.add_scope(Scope::new(s.to_string()));
    }
    let (url, csrf, nonce) = request
        .set_pkce_challenge(challenge)
        .add_extra_param("provider", provider)
        .url();

    let back = gw.follow(url.as_str()).await.site();
    assert_eq!(
        format!(
            "{}://{}{}",
            back.scheme(),
            back.host_str().unwrap(),
            back.path()
        ),
        site.redirect
    );
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(param(&back, "iss").as_deref(), Some(gw.issuer.as_str()));
    let code = param(&back, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    assert_eq!(
        tokens.token_type(),
        &openidconnect::core::CoreTokenType::Bearer
    );
    let id_token = tokens.id_token().expect("an id_token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid id_token");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject(), claims.subject());
    let raw_userinfo = http
        .get(format!("{}/userinfo", gw.issuer))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    SiteLogin {
        id_claims: jwt_claims(&id_token.to_string()),
        id_token: id_token.to_string(),
        access_token: tokens.access_token().secret().clone(),
        userinfo: raw_userinfo,
    }
}

#[tokio::test]
async fn ok_login_yields_verified_id_token_with_profile_and_email() {
    let gw = TestGateway::start().await;
    let login = site_login(&gw, "ok", &["profile", "email"]).await;
    let c = &login.id_claims;
    assert_eq!(c["sub"], "ok:575123456789");
    assert_eq!(c["provider"], "ok");
    assert_eq!(c["provider_user_id"], "575123456789");
    assert_eq!(c["name"], "Иван Петров");
    assert_eq!(c["given_name"], "Иван");
    assert_eq!(c["family_name"], "Петров");
    assert_eq!(c["gender"], "male");
    assert_eq!(c["birthdate"], "1990-05-17");
    assert_eq!(c["locale"], "ru");
    assert_eq!(c["picture"], "https://i.mycdn.me/i?r=sample");
    assert_eq!(c["email"], "ivan@example.ru");
    assert_eq!(c["email_verified"], false);
    assert_eq!(c["aud"], SHOP);
    assert_eq!(c["iss"], gw.issuer.as_str());
    // OK got its `;`-separated permissions, GET_EMAIL because the site asked for email.
    assert_eq!(
        gw.ok.last_param("authorize", "scope").as_deref(),
        Some("VALUABLE_ACCESS;GET_EMAIL")
    );
    // The userinfo answer carries the same person.
    for k in ["sub", "provider", "provider_user_id", "name", "email"] {
        assert_eq!(login.userinfo[k], c[k], "{k}");
    }
}

#[tokio::test]
async fn ok_login_without_get_email_permission_issues_token_without_email_claim() {
    let gw = TestGateway::start_with(Options {
        ok_has_get_email: false,
        ..Options::default()
    })
    .await;
    let login = site_login(&gw, "ok", &["profile", "email"]).await;
    assert_eq!(login.id_claims["sub"], "ok:575123456789");
    assert!(login.id_claims.get("email").is_none());
    assert!(login.id_claims.get("email_verified").is_none());
    assert!(login.userinfo.get("email").is_none());
}

#[tokio::test]
async fn claims_follow_scopes() {
    let gw = TestGateway::start().await;
    let login = site_login(&gw, "ok", &[]).await;
    let c = login.id_claims.as_object().unwrap();
    assert_eq!(c["sub"], "ok:575123456789");
    assert_eq!(c["provider"], "ok");
    for absent in ["name", "email", "picture", "given_name"] {
        assert!(!c.contains_key(absent), "{absent} without its scope");
    }
    // Without `email`, OK is not asked for GET_EMAIL.
    assert_eq!(
        gw.ok.last_param("authorize", "scope").as_deref(),
        Some("VALUABLE_ACCESS")
    );
}

#[tokio::test]
async fn vk_login_takes_email_from_token_response_and_maps_profile() {
    let gw = TestGateway::start().await;
    let login = site_login(&gw, "vk", &["profile", "email"]).await;
    let c = &login.id_claims;
    assert_eq!(c["sub"], "vk:1234567");
    assert_eq!(c["provider"], "vk");
    assert_eq!(c["provider_user_id"], "1234567");
    assert_eq!(c["given_name"], "Мария");
    assert_eq!(c["family_name"], "Иванова");
    assert_eq!(c["name"], "Мария Иванова");
    assert_eq!(c["gender"], "female");
    assert_eq!(c["birthdate"], "1993-11-07");
    assert_eq!(c["picture"], "https://sun9-1.userapi.com/sample.jpg");
    assert_eq!(c["email"], "maria@example.ru");
    assert_eq!(
        gw.vk.last_param("authorize", "scope").as_deref(),
        Some("email")
    );
    let api: Vec<(String, String)> = gw.vk.last_params("api").unwrap();
    assert!(api.contains(&("v".into(), "5.199".into())), "{api:?}");
    assert_eq!(login.userinfo["email"], "maria@example.ru");
}

#[tokio::test]
async fn sub_is_stable_per_account_and_distinct_between_accounts() {
    let mut gw = TestGateway::start().await;
    let first = site_login(&gw, "ok", &["profile"]).await;
    // Another browser: a second network login, not the first one's SSO session.
    gw.browser = browser();
    let again = site_login(&gw, "ok", &["profile"]).await;
    assert_eq!(gw.ok.calls("token"), 2);
    assert_eq!(first.id_claims["sub"], again.id_claims["sub"]);

    gw.ok.set_person(OkUser {
        uid: "575000000001".into(),
        ..OkUser::sample()
    });
    gw.browser = browser();
    let other = site_login(&gw, "ok", &["profile"]).await;
    assert_eq!(other.id_claims["sub"], "ok:575000000001");

    gw.vk.set_person(VkUser {
        id: 575123456789,
        ..VkUser::sample()
    });
    // The same number at another network is another person.
    let vk = site_login(&gw, "vk", &["profile"]).await;
    assert_ne!(vk.id_claims["sub"], first.id_claims["sub"]);
}

#[tokio::test]
async fn vk_hidden_birth_year_and_unknown_sex_are_normalized() {
    let gw = TestGateway::start().await;
    gw.vk.set_person(VkUser {
        sex: 0,
        bdate: Some("7.11".into()),
        email: None,
        ..VkUser::sample()
    });
    let login = site_login(&gw, "vk", &["profile", "email"]).await;
    assert_eq!(login.id_claims["birthdate"], "0000-11-07");
    assert!(login.id_claims.get("gender").is_none());
    assert!(login.id_claims.get("email").is_none());
}

async fn get_json(url: String) -> serde_json::Value {
    browser()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The JWKS key named `kid`.
fn jwk<'a>(jwks: &'a serde_json::Value, kid: &serde_json::Value) -> &'a serde_json::Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| &k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} is not in {jwks}"))
}

#[tokio::test]
async fn id_token_header_names_the_published_key() {
    let gw = TestGateway::start().await;
    let login = site_login(&gw, "ok", &[]).await;
    let header = jwt_header(&login.id_token);
    assert_eq!(header["alg"], "RS256");
    let jwks = get_json(format!("{}/jwks", gw.issuer)).await;
    let key = jwk(&jwks, &header["kid"]);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    // One generation of keys: this RSA key and its ES256 sibling.
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
}

#[tokio::test]
async fn the_jwks_publishes_an_es256_key_and_discovery_offers_both_algorithms() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use sha2::{Digest, Sha256};
    let gw = TestGateway::start().await;
    let discovery = get_json(format!("{}/.well-known/openid-configuration", gw.issuer)).await;
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
    let jwks = get_json(format!("{}/jwks", gw.issuer)).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.iter().map(|k| &k["alg"]).collect::<Vec<_>>(),
        ["RS256", "ES256"],
        "{jwks}"
    );
    let ec = keys[1].as_object().unwrap();
    let mut members: Vec<&str> = ec.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(
        members,
        ["alg", "crv", "kid", "kty", "use", "x", "y"],
        "no private `d`"
    );
    assert_eq!(ec["kty"], "EC");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["use"], "sig");
    let coordinate = |name: &str| B64.decode(ec[name].as_str().unwrap()).unwrap();
    assert_eq!((coordinate("x").len(), coordinate("y").len()), (32, 32));
    // RFC 7638: the SHA-256 of the required members, in this order, without whitespace.
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        ec["x"].as_str().unwrap(),
        ec["y"].as_str().unwrap()
    );
    assert_eq!(ec["kid"], B64.encode(Sha256::digest(canonical)));
    assert_ne!(ec["kid"], keys[0]["kid"]);
}

#[tokio::test]
async fn an_es256_site_gets_es256_tokens_a_library_verifies_and_an_rs256_site_still_rs256() {
    let gw = TestGateway::start_with(Options {
        shop_extra: "id_token_signed_response_alg = \"ES256\"".into(),
        ..Options::default()
    })
    .await;
    let jwks = get_json(format!("{}/jwks", gw.issuer)).await;
    // `openidconnect` verified the id_token with the EC key of the JWKS (and at_hash, with
    // SHA-256 as ES256 asks), and got userinfo with the ES256 access token.
    let shop = login_as(&gw, &SHOP_SITE, "ok", &["profile", "email"]).await;
    assert_eq!(shop.id_claims["aud"], SHOP);
    assert_eq!(shop.id_claims["sub"], "ok:575123456789");
    assert_eq!(shop.userinfo["sub"], "ok:575123456789");
    assert_eq!(shop.userinfo["email"], "ivan@example.ru");
    let id_header = jwt_header(&shop.id_token);
    let access_header = jwt_header(&shop.access_token);
    assert_eq!(id_header["alg"], "ES256");
    assert_eq!(id_header["typ"], "JWT");
    assert_eq!(access_header["alg"], "ES256");
    assert_eq!(access_header["typ"], "at+jwt");
    assert_eq!(access_header["kid"], id_header["kid"]);
    assert_eq!(jwk(&jwks, &id_header["kid"])["kty"], "EC");

    // The forum, in the same gateway and the same browser (its SSO session), stays RS256.
    let forum = login_as(&gw, &FORUM_SITE, "ok", &["profile"]).await;
    assert_eq!(forum.id_claims["aud"], FORUM);
    assert_eq!(forum.userinfo["sub"], "ok:575123456789");
    let forum_header = jwt_header(&forum.id_token);
    assert_eq!(forum_header["alg"], "RS256");
    assert_eq!(jwt_header(&forum.access_token)["alg"], "RS256");
    assert_eq!(jwk(&jwks, &forum_header["kid"])["kty"], "RSA");

    // The ES256 access token's header relabelled RS256: refused, not checked as RSA.
    let relabelled = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header = access_header.clone();
        header["alg"] = "RS256".into();
        let (_, rest) = shop.access_token.split_once('.').unwrap();
        format!(
            "{}.{rest}",
            b64.encode(serde_json::to_vec(&header).unwrap())
        )
    };
    let refused = browser()
        .get(format!("{}/userinfo", gw.issuer))
        .bearer_auth(&relabelled)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

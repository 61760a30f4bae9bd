//! Unit tests of the OpenID Connect provider kind.

use super::*;

fn rsa_key(alg: &str, usage: &str) -> Jwk {
    serde_json::from_value(serde_json::json!({
        "kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl", "e": "AQAB",
        "alg": alg, "use": usage,
    }))
    .unwrap()
}

const ISSUER: &str = "https://sso.example.com";

fn corp() -> Oidc {
    let descriptor = super::super::descriptor::DescriptorSource::DirOrBuiltin(
        std::path::PathBuf::from("/nonexistent"),
    )
    .load("oidc")
    .unwrap();
    let config = ProviderConfig {
        name: ProviderName::parse("corp").unwrap(),
        kind: "oidc".into(),
        descriptor,
        client_id: "gateway".into(),
        client_secret: Some("secret".to_string().into()),
        endpoints: None,
        options: [("issuer", ISSUER.to_string())].into_iter().collect(),
        scopes: Vec::new(),
        display_name: "Corp".into(),
    };
    let http = http::client(Duration::from_secs(1)).unwrap();
    let callback = Url::parse("https://gw.example/callback/corp").unwrap();
    Oidc::new(&config, ISSUER, callback, http)
}

fn detail<T>(result: Result<T, UpstreamError>) -> String {
    match result {
        Ok(_) => panic!("accepted"),
        Err(e) => e.detail().to_string(),
    }
}

#[test]
fn a_discovery_document_must_name_its_issuer_and_only_https_endpoints() {
    let oidc = corp();
    let document = |issuer: &str, token: &str| {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": token,
            "jwks_uri": format!("{ISSUER}/jwks"),
        })
        .to_string()
    };
    let ok = reqwest::StatusCode::OK;
    let good = document(ISSUER, &format!("{ISSUER}/token"));
    assert!(oidc.read_discovery(ok, good.as_bytes()).is_ok());
    // Another issuer's document (a mix-up): its endpoints are not this network's.
    let other = document("https://evil.example", &format!("{ISSUER}/token"));
    assert!(
        detail(oidc.read_discovery(ok, other.as_bytes()))
            .contains("names the issuer \"https://evil.example\"")
    );
    // The client secret and codes never go out in clear text.
    let plain = document(ISSUER, "http://sso.example.com/token");
    assert_eq!(
        detail(oidc.read_discovery(ok, plain.as_bytes())),
        "its token_endpoint is not https"
    );
}

#[test]
fn an_id_token_must_be_for_this_client_and_login_from_its_issuer() {
    let oidc = corp();
    let claims = |extra: serde_json::Value| {
        let mut c = serde_json::json!({
            "iss": ISSUER, "aud": "gateway", "sub": "1", "nonce": "n-1",
        });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c.as_object().unwrap().clone()
    };
    let check = |extra| oidc.check_claims(ISSUER, claims(extra), "n-1");
    assert!(check(serde_json::json!({})).is_ok());
    assert!(check(serde_json::json!({"azp": "gateway", "aud": ["gateway", "api"]})).is_ok());
    assert_eq!(
        detail(check(serde_json::json!({"iss": "https://evil.example"}))),
        "the id_token is from another issuer"
    );
    assert_eq!(
        detail(check(serde_json::json!({"azp": "another-client"}))),
        "the id_token was issued to another client"
    );
    assert_eq!(
        detail(check(serde_json::json!({"aud": ["gateway", "api"]}))),
        "the id_token has several audiences and no `azp`"
    );
    assert_eq!(
        detail(check(serde_json::json!({"nonce": "n-2"}))),
        "the id_token's nonce is not this login's"
    );
    // Microsoft's multi-tenant issuer: the person's own tenant, named in the token.
    let tenants = "https://login.example.com/{tenantid}/v2.0";
    let tenant = |iss: &str| {
        let c = claims(serde_json::json!({"iss": iss, "tid": "t-1"}));
        oidc.check_claims(tenants, c, "n-1")
    };
    assert!(tenant("https://login.example.com/t-1/v2.0").is_ok());
    assert_eq!(
        detail(tenant("https://login.example.com/t-2/v2.0")),
        "the id_token is from another issuer"
    );
}

#[test]
fn a_key_fits_only_the_algorithm_it_names_and_only_for_signing() {
    assert!(key_fits(&rsa_key("RS256", "sig"), Algorithm::RS256));
    assert!(!key_fits(&rsa_key("RS256", "sig"), Algorithm::RS384));
    assert!(!key_fits(&rsa_key("PS256", "sig"), Algorithm::RS256));
    assert!(!key_fits(&rsa_key("RS256", "enc"), Algorithm::RS256));
    assert!(!key_fits(&rsa_key("RS256", "sig"), Algorithm::ES256));
}

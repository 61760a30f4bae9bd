//! Self-test of the fake OpenID Connect upstream (Google, Microsoft Entra ID, GitLab): driven by
//! hand as a relying party would, its id_tokens verified independently with jsonwebtoken, and
//! each refusal and corrupting behaviour checked, so that a gateway test passing against it
//! means something.

mod behaviours;
mod flavours;
mod refusals;

use crate::support::fakes::oidc::flavour::MS_SAMPLE_TID;
use crate::support::fakes::oidc::{Behaviour, FakeOidc, Flavour, Person};
use crate::support::{has, jarless, jwt_claims, jwt_header, location_url, param};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::{CHALLENGE, VERIFIER};

const REDIRECT: &str = "http://127.0.0.1:9/callback/oidc";
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

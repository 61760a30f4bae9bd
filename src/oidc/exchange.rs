//! The token endpoint's logic (client authentication, one-time code redemption, PKCE,
//! minting the id_token and access token) and the userinfo answer.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64_STD, URL_SAFE_NO_PAD as B64};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::login::{CodeGrant, code_key, now};
use crate::config::ClientConfig;
use crate::error::{Error, TokenErrorCode};
use crate::gateway::Gateway;
use crate::provider::Identity;
use crate::store;
use crate::token::{at_hash, random_token};

/// Lifetime of issued id_tokens and access tokens.
pub const TOKEN_TTL_SECS: u64 = 3600;

/// `/token` form parameters.
#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub id_token: String,
    pub scope: String,
}

/// The claims inside an access token: the identity claims the scopes allow, plus the
/// token's own. `/userinfo` answers with `claims`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub client_id: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub scope: String,
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// The person as the site sees them: `sub`, `provider`, `provider_user_id`, and the
/// profile and email claims its scopes allow.
pub fn identity_claims(identity: &Identity, scopes: &[String]) -> Map<String, Value> {
    let mut c = Map::new();
    // Stable per network account, the same on every instance; no state needed to derive it.
    c.insert(
        "sub".into(),
        format!("{}:{}", identity.provider, identity.provider_user_id).into(),
    );
    c.insert("provider".into(), identity.provider.as_str().into());
    c.insert(
        "provider_user_id".into(),
        identity.provider_user_id.clone().into(),
    );
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        for (k, v) in [
            ("name", &identity.name),
            ("given_name", &identity.given_name),
            ("family_name", &identity.family_name),
            ("picture", &identity.picture),
            ("locale", &identity.locale),
            ("gender", &identity.gender),
            ("birthdate", &identity.birthdate),
        ] {
            if let Some(v) = v {
                c.insert(k.into(), v.clone().into());
            }
        }
    }
    if has("email") {
        if let Some(email) = &identity.email {
            c.insert("email".into(), email.clone().into());
            c.insert("email_verified".into(), identity.email_verified.into());
        }
    }
    c
}

/// How the client identified itself.
pub struct ClientAuth<'a> {
    /// `Authorization: Basic …` as received, if any.
    pub basic: Option<&'a str>,
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64, so a secret with
/// `+`, `%` or `:` survives. Returns the decoded id and secret, plus the secret as sent, for
/// clients that skip the encoding.
fn parse_basic(header: &str) -> Option<(String, String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = B64_STD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?, secret.to_string()))
}

fn authenticate<'g>(
    gw: &'g Gateway,
    auth: &ClientAuth<'_>,
    params: &TokenParams,
) -> Result<&'g ClientConfig, Error> {
    let basic = auth.basic.map(|h| {
        parse_basic(h).ok_or_else(|| {
            Error::token(
                TokenErrorCode::InvalidClient { basic: true },
                "malformed Basic credentials",
            )
        })
    });
    let invalid = |basic: bool| {
        Error::token(
            TokenErrorCode::InvalidClient { basic },
            "client authentication failed",
        )
    };
    let (client_id, secret, raw_secret, by_basic) = match basic {
        Some(creds) => {
            let (id, secret, raw) = creds?;
            if params.client_secret.is_some() {
                return Err(Error::token(
                    TokenErrorCode::InvalidRequest,
                    "use one client authentication method, not two",
                ));
            }
            if params.client_id.as_deref().is_some_and(|p| p != id) {
                return Err(invalid(true));
            }
            (id, Some(secret), Some(raw), true)
        }
        None => {
            let id = params.client_id.clone().ok_or_else(|| invalid(false))?;
            (id, params.client_secret.clone(), None, false)
        }
    };
    let client = gw
        .config
        .client(&client_id)
        .ok_or_else(|| invalid(by_basic))?;
    match (&client.client_secret, secret) {
        (Some(expected), Some(given)) => {
            let expected = expected.expose_secret().as_bytes();
            let matches = |s: &str| -> bool { expected.ct_eq(s.as_bytes()).into() };
            if matches(&given) || raw_secret.as_deref().is_some_and(matches) {
                Ok(client)
            } else {
                Err(invalid(by_basic))
            }
        }
        // A public client identifies itself by client_id; PKCE proves the rest.
        (None, None) => Ok(client),
        _ => Err(invalid(by_basic)),
    }
}

/// The authorization_code grant.
pub async fn token(
    gw: &Gateway,
    auth: ClientAuth<'_>,
    params: TokenParams,
) -> Result<TokenResponse, Error> {
    let client = authenticate(gw, &auth, &params)?;
    match params.grant_type.as_deref() {
        Some("authorization_code") => {}
        None => {
            return Err(Error::token(
                TokenErrorCode::InvalidRequest,
                "grant_type is missing",
            ));
        }
        Some(_) => {
            return Err(Error::token(
                TokenErrorCode::UnsupportedGrantType,
                "only authorization_code is supported",
            ));
        }
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::token(TokenErrorCode::InvalidRequest, "code is missing"))?;
    let invalid_grant = |why: &str| Error::token(TokenErrorCode::InvalidGrant, why);
    // Taken, not read: a code works once, even under concurrent redemption.
    let grant: CodeGrant = store::take_json(gw.store.as_ref(), &code_key(code))
        .await?
        .ok_or_else(|| invalid_grant("the code is invalid, expired or already used"))?;
    let request = &grant.request;
    if request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if params.redirect_uri.as_deref() != Some(request.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&request.code_challenge, &params.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
            let ok: bool = computed.as_bytes().ct_eq(challenge.as_bytes()).into();
            if !ok {
                return Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is missing")),
        // RFC 9700 §2.1.1: a verifier for a login that had no challenge is a downgrade.
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier sent but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    mint(gw, &grant)
}

fn mint(gw: &Gateway, grant: &CodeGrant) -> Result<TokenResponse, Error> {
    let request = &grant.request;
    let issuer = gw.config.server.issuer.as_str();
    let iat = now();
    let exp = iat + TOKEN_TTL_SECS;
    let claims = identity_claims(&grant.identity, &request.scopes);
    let scope = request.scopes.join(" ");
    let access = AccessClaims {
        iss: issuer.into(),
        aud: request.client_id.as_str().into(),
        client_id: request.client_id.as_str().into(),
        exp,
        iat,
        jti: random_token(),
        scope: scope.clone(),
        claims: claims.clone(),
    };
    let access_token = gw
        .key
        .sign_access_token(&access)
        .map_err(|e| Error::Internal(format!("cannot sign an access token: {e}")))?;
    let mut id = claims;
    for (k, v) in [
        ("iss", Value::from(issuer)),
        ("aud", request.client_id.as_str().into()),
        ("exp", exp.into()),
        ("iat", iat.into()),
        ("auth_time", grant.auth_time.into()),
        ("at_hash", at_hash(&access_token).into()),
    ] {
        id.insert(k.into(), v);
    }
    if let Some(nonce) = &request.nonce {
        id.insert("nonce".into(), nonce.clone().into());
    }
    let id_token = gw
        .key
        .sign_id_token(&id)
        .map_err(|e| Error::Internal(format!("cannot sign an id_token: {e}")))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: TOKEN_TTL_SECS,
        id_token,
        scope,
    })
}

/// `/userinfo`: the claims of a valid access token.
pub fn userinfo(gw: &Gateway, bearer: Option<&str>) -> Result<Map<String, Value>, Error> {
    let token = bearer.ok_or(Error::NoToken)?;
    let access: AccessClaims = gw
        .key
        .verify_access_token(token, gw.config.server.issuer.as_str())
        .map_err(Error::InvalidToken)?;
    Ok(access.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // id "shop", secret "a+b%c:d" encoded per RFC 6749 §2.3.1.
        let header = format!("Basic {}", B64_STD.encode("shop:a%2Bb%25c%3Ad"));
        assert_eq!(
            parse_basic(&header),
            Some((
                "shop".to_string(),
                "a+b%c:d".to_string(),
                "a%2Bb%25c%3Ad".to_string()
            ))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}

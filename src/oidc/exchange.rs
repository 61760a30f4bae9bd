//! The token endpoint's logic (client authentication, one-time code redemption, PKCE,
//! minting the id_token and access token) and the userinfo answer.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64_STD, URL_SAFE_NO_PAD as B64};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::login::{CodeGrant, code_key};
use super::refresh;
use crate::config::{ClientConfig, ClientId};
use crate::error::{Error, TokenErrorCode};
use crate::gateway::Gateway;
use crate::primitives::{hash_secret, now, random_token};
use crate::provider::Identity;
use crate::session::Sid;
use crate::store::{self, Ttl};
use crate::token::{self, ACCESS_TOKEN_TYP, Expect, ID_TOKEN_TYP, at_hash};

/// `/token` form parameters.
#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// `/revoke` form parameters (RFC 7009).
#[derive(Debug, Default, Deserialize)]
pub struct RevokeParams {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
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
    /// The SSO session, for tokens that end with it (logout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Sid>,
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// `sub`: stable per network account, the same on every instance; no state needed to
/// derive it.
pub fn subject(identity: &Identity) -> String {
    format!("{}:{}", identity.provider, identity.provider_user_id)
}

/// The person as the site sees them: `sub`, `provider`, `provider_user_id`, and the
/// profile and email claims its scopes allow.
pub fn identity_claims(identity: &Identity, scopes: &[String]) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), subject(identity).into());
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

pub fn authenticate<'g>(
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

/// The token endpoint: the authorization_code and refresh_token grants.
pub async fn token(
    gw: &Gateway,
    auth: ClientAuth<'_>,
    params: TokenParams,
) -> Result<TokenResponse, Error> {
    let client = authenticate(gw, &auth, &params)?;
    match params.grant_type.as_deref() {
        Some("authorization_code") => {}
        Some("refresh_token") => return refresh::redeem(gw, client, &params).await,
        None => {
            return Err(Error::token(
                TokenErrorCode::InvalidRequest,
                "grant_type is missing",
            ));
        }
        Some(_) => {
            return Err(Error::token(
                TokenErrorCode::UnsupportedGrantType,
                "only authorization_code and refresh_token are supported",
            ));
        }
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::token(TokenErrorCode::InvalidRequest, "code is missing"))?;
    let invalid_grant = |why: &str| Error::token(TokenErrorCode::InvalidGrant, why);
    // Nothing is used up when tokens cannot be signed (keys not loaded yet).
    gw.keys.signing_key()?;
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
    let offline = request.scopes.iter().any(|s| s == "offline_access");
    let grant_in = Grant {
        client_id: &client.client_id,
        identity: &grant.identity,
        scopes: &request.scopes,
        auth_time: grant.auth_time,
        sid: Some(&grant.sid),
        nonce: request.nonce.as_deref(),
    };
    let mut response = mint(gw, &grant_in)?;
    if offline || client.refresh_tokens {
        // offline_access outlives the SSO session (OIDC Core §11); a client's
        // `refresh_tokens = true` gets tokens that end with it.
        let sid = (!offline).then(|| grant.sid.clone());
        response.refresh_token = Some(
            refresh::issue(
                gw,
                &client.client_id,
                &grant.identity,
                &request.scopes,
                grant.auth_time,
                sid,
            )
            .await?,
        );
    }
    Ok(response)
}

/// What a token response is minted from: a redeemed code or a refresh token.
pub struct Grant<'a> {
    pub client_id: &'a ClientId,
    pub identity: &'a Identity,
    pub scopes: &'a [String],
    pub auth_time: u64,
    /// The SSO session; `None` for tokens that outlive it (offline_access).
    pub sid: Option<&'a Sid>,
    pub nonce: Option<&'a str>,
}

pub fn mint(gw: &Gateway, grant: &Grant<'_>) -> Result<TokenResponse, Error> {
    let issuer = gw.config.server.issuer.as_str();
    let lifetime = gw.config.tokens.lifetime.as_secs();
    let key = gw.keys.signing_key()?;
    let iat = now();
    let exp = iat + lifetime;
    let claims = identity_claims(grant.identity, grant.scopes);
    let scope = grant.scopes.join(" ");
    let access = AccessClaims {
        iss: issuer.into(),
        aud: grant.client_id.as_str().into(),
        client_id: grant.client_id.as_str().into(),
        exp,
        iat,
        jti: random_token(),
        scope: scope.clone(),
        sid: grant.sid.cloned(),
        claims: claims.clone(),
    };
    let access_token = key
        .sign(&access, ACCESS_TOKEN_TYP)
        .map_err(|e| Error::Internal(format!("cannot sign an access token: {e}")))?;
    let mut id = claims;
    for (k, v) in [
        ("iss", Value::from(issuer)),
        ("aud", grant.client_id.as_str().into()),
        ("exp", exp.into()),
        ("iat", iat.into()),
        ("auth_time", grant.auth_time.into()),
        ("at_hash", at_hash(&access_token).into()),
    ] {
        id.insert(k.into(), v);
    }
    if let Some(sid) = grant.sid {
        id.insert("sid".into(), sid.clone().into());
    }
    if let Some(nonce) = grant.nonce {
        id.insert("nonce".into(), nonce.into());
    }
    let id_token = key
        .sign(&id, ID_TOKEN_TYP)
        .map_err(|e| Error::Internal(format!("cannot sign an id_token: {e}")))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        id_token,
        scope,
        refresh_token: None,
    })
}

/// `/userinfo`: the claims of a valid access token whose session was not logged out and
/// which was not revoked.
pub async fn userinfo(gw: &Gateway, bearer: Option<&str>) -> Result<Map<String, Value>, Error> {
    let token = bearer.ok_or(Error::NoToken)?;
    let access = verify_access_token(gw, token)?;
    if let Some(sid) = &access.sid {
        if gw.sessions().is_ended(sid).await? {
            return Err(Error::InvalidToken("the session has ended".into()));
        }
    }
    if gw.store.get(&revoked_key(&access.jti)).await?.is_some() {
        return Err(Error::InvalidToken("the token was revoked".into()));
    }
    Ok(access.claims)
}

pub fn verify_access_token(gw: &Gateway, token: &str) -> Result<AccessClaims, Error> {
    let expect = Expect {
        typ: ACCESS_TOKEN_TYP,
        issuer: gw.config.server.issuer.as_str(),
        allow_expired: false,
    };
    token::verify(&gw.keys, token, expect).map_err(|e| Error::InvalidToken(e.to_string()))
}

fn revoked_key(jti: &str) -> String {
    format!("access-revoked:{}", hash_secret(jti))
}

/// RFC 7009: revokes a refresh token's family, or an access token, if it belongs to the
/// client. Unknown tokens are not an error (§2.2): the answer reveals nothing.
pub async fn revoke(gw: &Gateway, auth: ClientAuth<'_>, params: RevokeParams) -> Result<(), Error> {
    let as_token_params = TokenParams {
        client_id: params.client_id,
        client_secret: params.client_secret,
        ..TokenParams::default()
    };
    let client = authenticate(gw, &auth, &as_token_params)?;
    let token = params
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::token(TokenErrorCode::InvalidRequest, "token is missing"))?;
    let _ = params.token_type_hint;
    if refresh::revoke(gw, client, &token).await? {
        return Ok(());
    }
    if let Ok(access) = verify_access_token(gw, &token) {
        if access.client_id == client.client_id.as_str() {
            revoke_access_token(gw, &access).await?;
        }
    }
    Ok(())
}

/// Revokes an access token until it would have expired anyway (RFC 7009).
pub async fn revoke_access_token(gw: &Gateway, access: &AccessClaims) -> Result<(), Error> {
    let left = access.exp.saturating_sub(now());
    if left > 0 {
        gw.store
            .put(
                &revoked_key(&access.jti),
                vec![],
                Ttl::For(std::time::Duration::from_secs(left)),
            )
            .await?;
    }
    Ok(())
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

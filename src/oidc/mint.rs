//! Token minting in one place: the id_token and JWT access token a site receives, from a
//! redeemed code or a refresh token (and, later, a verified app launch), and the
//! verification of the access tokens presented back.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::Error;
use super::types::{Nonce, Sid};
use crate::config::{ClientId, Config, Issuer, SigningAlg};
use crate::gateway::Gateway;
use crate::keys::{ACCESS_TOKEN_TYP, Expect, ID_TOKEN_TYP, KeyRing, VerifyError};
use crate::primitives::{now, random_token};
use crate::provider::Identity;

/// No `Debug`: it holds the tokens themselves.
#[derive(Serialize)]
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
    /// The refresh-token family the token was issued with (its tag, `refresh::family_tag`),
    /// for tokens that end when the family is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// What a token response is minted from: a redeemed code or a refresh token.
pub struct Grant<'a> {
    pub client_id: &'a ClientId,
    pub identity: &'a Identity,
    pub scopes: &'a [String],
    pub auth_time: u64,
    /// The SSO session; `None` for tokens that outlive it (offline_access).
    pub sid: Option<&'a Sid>,
    /// The refresh-token family's tag, when the grant has a refresh token.
    pub family: Option<&'a str>,
    pub nonce: Option<&'a Nonce>,
    /// How an app launch opened the app (the id_token's `launch` claim).
    pub launch: Option<&'a Map<String, Value>>,
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

/// `at_hash` (OIDC Core 3.1.3.6): left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    B64.encode(&digest[..16])
}

/// Signs the gateway's tokens with the current key and checks the ones presented back.
pub struct Minter<'a> {
    pub keys: &'a KeyRing,
    pub issuer: &'a Issuer,
    /// Of id_tokens and access tokens.
    pub lifetime: Duration,
    /// Which algorithm each client's tokens are signed with.
    pub config: &'a Config,
}

impl<'a> Minter<'a> {
    /// The gateway's: its keys, its issuer, its token lifetime, its clients.
    pub fn of(gw: &'a Gateway) -> Self {
        Minter {
            keys: &gw.keys,
            issuer: &gw.config.server.issuer,
            lifetime: gw.config.tokens.lifetime,
            config: &gw.config,
        }
    }

    /// Fails (keys not loaded yet) before anything is used up by a caller that checks first;
    /// for every algorithm, as it is not told the client.
    pub fn ready(&self) -> Result<(), Error> {
        for alg in SigningAlg::ALL {
            self.keys.signing_key(alg)?;
        }
        Ok(())
    }

    pub fn mint(&self, grant: &Grant<'_>) -> Result<TokenResponse, Error> {
        let issuer = self.issuer.as_str();
        let lifetime = self.lifetime.as_secs();
        let key = self
            .keys
            .signing_key(self.config.signing_alg(grant.client_id.as_str()))?;
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
            family: grant.family.map(String::from),
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
            id.insert("sid".into(), sid.as_str().into());
        }
        if let Some(nonce) = grant.nonce {
            id.insert("nonce".into(), nonce.as_str().into());
        }
        if let Some(launch) = grant.launch {
            id.insert("launch".into(), Value::Object(launch.clone()));
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

    /// An access token this gateway issued, unexpired.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.keys.verify(
            token,
            Expect {
                typ: ACCESS_TOKEN_TYP,
                issuer: self.issuer.as_str(),
                allow_expired: false,
            },
        )
    }

    /// An id_token this gateway issued, expired or not (a logout hint).
    pub fn verify_id_token_hint<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
    ) -> Result<T, VerifyError> {
        self.keys.verify(
            token,
            Expect {
                typ: ID_TOKEN_TYP,
                issuer: self.issuer.as_str(),
                allow_expired: true,
            },
        )
    }
}

//! One-time authorization codes: what a code stands for, kept under the code's hash for a
//! minute, and taken (not read) when redeemed, so a code works once across instances.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::authorize::AuthorizationRequest;
use super::sso::SsoSession;
use super::types::{Code, RedirectUri, Sid};
use crate::config::Issuer;
use crate::primitives::{hash_secret, random_token};
use crate::provider::Identity;
use crate::store::{self, Store, StoreError, Ttl};

/// How long a site has to redeem a code.
pub const CODE_TTL: Ttl = Ttl::For(Duration::from_secs(60));

/// What a one-time code stands for.
#[derive(Serialize, Deserialize)]
pub struct CodeGrant {
    pub request: AuthorizationRequest,
    pub identity: Identity,
    pub auth_time: u64,
    /// The SSO session the login belongs to.
    pub sid: Sid,
}

/// A code on its way to the site (with its `state` and RFC 9207 `iss`), and the SSO
/// session it came from.
pub struct Issued {
    pub redirect_uri: RedirectUri,
    pub params: Vec<(&'static str, String)>,
    pub sid: Sid,
}

fn key(code: &str) -> String {
    format!("code:{}", hash_secret(code))
}

/// Issues a code for `request`, logged in through `session`.
pub async fn issue(
    store: &dyn Store,
    issuer: &Issuer,
    request: AuthorizationRequest,
    session: &SsoSession,
) -> Result<Issued, StoreError> {
    let code = random_token();
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let grant = CodeGrant {
        request,
        identity: session.identity.clone(),
        auth_time: session.auth_time,
        sid: session.sid.clone(),
    };
    store::put_json(store, &key(&code), &grant, CODE_TTL).await?;
    let mut params = vec![("code", code)];
    if let Some(state) = state {
        params.push(("state", state.into_string()));
    }
    params.push(("iss", issuer.as_str().to_string()));
    Ok(Issued {
        redirect_uri,
        params,
        sid: session.sid.clone(),
    })
}

/// Takes the grant a code stands for: of two concurrent redemptions, one gets it.
pub async fn redeem(store: &dyn Store, code: &Code) -> Result<Option<CodeGrant>, StoreError> {
    store::take_json(store, &key(code.as_str())).await
}

//! Access tokens presented back: `/userinfo` answers with their claims while they are
//! valid, their session was not logged out and neither they nor their refresh-token family
//! were revoked; RFC 7009 revocation of access and refresh tokens.

use serde_json::{Map, Value};

use super::error::{Error, TokenErrorCode};
use super::mint::AccessClaims;
use super::mint::Minter;
use super::refresh;
use super::sso::Sessions;
use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::primitives::{hash_secret, now};
use crate::store::Ttl;

fn revoked_key(jti: &str) -> String {
    format!("access-revoked:{}", hash_secret(jti))
}

/// `/userinfo`: the claims of a valid access token whose session was not logged out and
/// which was not revoked.
pub async fn userinfo(gw: &Gateway, token: &str) -> Result<Map<String, Value>, Error> {
    Ok(verify(gw, token).await?.claims)
}

/// An access token this gateway issued, unexpired, not revoked (nor its refresh-token
/// family), its session not ended.
pub async fn verify(gw: &Gateway, token: &str) -> Result<AccessClaims, Error> {
    let access = Minter::of(gw)
        .verify_access(token)
        .map_err(|e| Error::InvalidToken(e.to_string()))?;
    if let Some(sid) = &access.sid {
        if Sessions::of(gw).is_ended(sid).await? {
            return Err(Error::InvalidToken("the session has ended".into()));
        }
    }
    if gw.store.get(&revoked_key(&access.jti)).await?.is_some() {
        return Err(Error::InvalidToken("the token was revoked".into()));
    }
    if let Some(tag) = &access.family {
        if refresh::is_revoked(gw.store.as_ref(), tag).await? {
            return Err(Error::InvalidToken(
                "the token's refresh token was revoked".into(),
            ));
        }
    }
    Ok(access)
}

/// RFC 7009: revokes a refresh token's family, or an access token, if it belongs to the
/// client. Unknown tokens are not an error (§2.2): the answer reveals nothing.
pub async fn revoke(gw: &Gateway, client: &ClientConfig, token: Option<&str>) -> Result<(), Error> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::token(TokenErrorCode::InvalidRequest, "token is missing"))?;
    if refresh::RefreshTokens::of(gw).revoke(client, token).await? {
        return Ok(());
    }
    if let Ok(access) = Minter::of(gw).verify_access(token) {
        if access.client_id == client.client_id.as_str() {
            revoke_access_token(gw, &access).await?;
        }
    }
    Ok(())
}

/// Revokes an access token until it would have expired anyway (RFC 7009).
async fn revoke_access_token(gw: &Gateway, access: &AccessClaims) -> Result<(), Error> {
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

//! Refresh tokens: opaque, stored as hashes, rotated on every use. Each login starts a
//! family; presenting a token that was already rotated (a stolen copy, or the thief's use
//! of the original) revokes the whole family (RFC 9700 §4.14.2).
//!
//! A token is `{family}.{secret}`: a used one is recognised by its family without keeping
//! a record per rotation, so the store holds two entries per live family, whatever its age.
//!
//! Access tokens minted with a family carry its tag; revoking the family marks the tag
//! revoked for as long as those access tokens live, so they stop working too (RFC 7009 §2.1).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, TokenErrorCode};
use super::mint::{Grant, Minter, TokenResponse};
use super::sso::Sessions;
use super::types::{RefreshToken, Sid};
use crate::config::{ClientConfig, ClientId};
use crate::gateway::Gateway;
use crate::primitives::{hash_secret, random_token};
use crate::provider::Identity;
use crate::store::{self, Store, StoreError, Ttl};

/// What every token of a family stands for.
#[derive(Serialize, Deserialize)]
pub struct Family {
    pub client_id: ClientId,
    pub identity: Identity,
    pub scopes: Vec<String>,
    pub auth_time: u64,
    /// Tied to this SSO session (ends with it); `None` for offline_access.
    pub sid: Option<Sid>,
}

/// The record of a family's current token.
#[derive(Serialize, Deserialize)]
struct RefreshGrant {
    family: String,
    #[serde(flatten)]
    of: Family,
}

fn token_key(token: &str) -> String {
    format!("refresh:{}", hash_secret(token))
}

/// The family a presented token claims to belong to.
fn family_of(token: &str) -> Option<&str> {
    token.split_once('.').map(|(family, _)| family)
}

/// Present while the family is valid; deleting it revokes every token of the family.
fn family_key(family: &str) -> String {
    format!("refresh-family:{family}")
}

/// How access tokens name their family: a hash, so an access token shown to a resource
/// server reveals nothing of the refresh tokens.
fn family_tag(family: &str) -> String {
    hash_secret(family)
}

/// Present while access tokens of a revoked family may still be presented.
fn revoked_tag_key(tag: &str) -> String {
    format!("refresh-family-revoked:{tag}")
}

/// A refresh token racing its family's revocation may mint an access token just after the
/// mark is set: the mark outlives the access-token lifetime by this much.
const REVOKED_MARK_MARGIN: Duration = Duration::from_secs(60);

/// Whether the family an access token was minted with (its `tag`) was revoked since.
pub async fn is_revoked(store: &dyn Store, tag: &str) -> Result<bool, StoreError> {
    Ok(store.get(&revoked_tag_key(tag)).await?.is_some())
}

/// A new family's first refresh token, and the tag access tokens of the family carry.
pub struct Started {
    pub token: RefreshToken,
    pub tag: String,
}

/// The refresh-token records in the store, and how long each token lives.
pub struct RefreshTokens<'a> {
    store: &'a dyn Store,
    ttl: Ttl,
    /// Of the access tokens minted with a family: how long a revoked family stays marked.
    access_lifetime: Duration,
}

impl<'a> RefreshTokens<'a> {
    pub fn of(gw: &'a Gateway) -> Self {
        RefreshTokens {
            store: gw.store.as_ref(),
            ttl: Ttl::For(gw.config.tokens.refresh_lifetime),
            access_lifetime: gw.config.tokens.lifetime,
        }
    }

    /// Starts a family for a fresh login; returns its first token.
    pub async fn issue(&self, family: Family) -> Result<Started, Error> {
        let grant = RefreshGrant {
            family: random_token(),
            of: family,
        };
        let owner = &grant.of.client_id;
        store::put_json(self.store, &family_key(&grant.family), owner, self.ttl).await?;
        Ok(Started {
            token: self.new_token(&grant).await?,
            tag: family_tag(&grant.family),
        })
    }

    async fn new_token(&self, grant: &RefreshGrant) -> Result<RefreshToken, Error> {
        let token = format!("{}.{}", grant.family, random_token());
        store::put_json(self.store, &token_key(&token), grant, self.ttl).await?;
        Ok(RefreshToken::new(token))
    }

    /// A token that is not current: if it was rotated already, this is a replay (a copy
    /// in the wrong hands, or the thief's use of the original): the whole family is revoked.
    async fn not_current(&self, client: &ClientConfig, presented: &str) -> Result<Error, Error> {
        if let Some(family) = family_of(presented) {
            if self.store.get(&family_key(family)).await?.is_some() {
                self.revoke_family(family).await?;
                tracing::warn!(
                    client = %client.client_id,
                    "a rotated refresh token was presented again; its family is revoked"
                );
            }
        }
        Ok(invalid("the refresh token is invalid, expired or revoked"))
    }

    /// Revokes the family's refresh tokens and the access tokens minted with them. The mark
    /// goes first: an access token is refused from the moment the family can no longer be
    /// refreshed.
    async fn revoke_family(&self, family: &str) -> Result<(), Error> {
        let mark = Ttl::For(self.access_lifetime + REVOKED_MARK_MARGIN);
        self.store
            .put(&revoked_tag_key(&family_tag(family)), vec![], mark)
            .await?;
        Ok(self.store.delete(&family_key(family)).await?)
    }

    /// RFC 7009 for a refresh token: revokes its family if it belongs to `client`. Returns
    /// whether the token is a refresh token of a live family.
    pub async fn revoke(&self, client: &ClientConfig, token: &str) -> Result<bool, Error> {
        let s = self.store;
        let Some(grant) = store::get_json::<RefreshGrant>(s, &token_key(token)).await? else {
            // A token rotated already: revoking it revokes the grant, i.e. its family.
            let Some(family) = family_of(token) else {
                return Ok(false);
            };
            let owner = store::get_json::<ClientId>(s, &family_key(family)).await?;
            if owner.as_ref() == Some(&client.client_id) {
                self.revoke_family(family).await?;
                tracing::info!(client = %client.client_id, "refresh token family revoked");
            }
            // Not a family (an access token is dotted too): not a refresh token.
            return Ok(owner.is_some());
        };
        if grant.of.client_id == client.client_id {
            self.revoke_family(&grant.family).await?;
            s.delete(&token_key(token)).await?;
            tracing::info!(client = %client.client_id, "refresh token revoked");
        }
        Ok(true)
    }
}

fn invalid(why: &str) -> Error {
    Error::token(TokenErrorCode::InvalidGrant, why)
}

/// The scopes a refresh asks for: a narrower set may be asked for (RFC 6749 §6), never a
/// wider one; none asked means all that were granted.
fn narrowed(granted: &[String], asked: Option<&str>) -> Result<Vec<String>, Error> {
    let Some(asked) = asked.filter(|s| !s.trim().is_empty()) else {
        return Ok(granted.to_vec());
    };
    let asked: Vec<String> = asked
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(extra) = asked.iter().find(|a| !granted.contains(a)) {
        return Err(Error::token(
            TokenErrorCode::InvalidScope,
            format!("scope {extra} was not granted"),
        ));
    }
    Ok(asked)
}

/// The refresh_token grant: a new access token, id_token and refresh token.
pub async fn redeem(
    gw: &Gateway,
    client: &ClientConfig,
    presented: &RefreshToken,
    scope: Option<&str>,
) -> Result<TokenResponse, Error> {
    let presented = presented.as_str();
    let tokens = RefreshTokens::of(gw);
    let s = tokens.store;
    // Read first: a request refused for its own fault (a wider scope) uses nothing up.
    let Some(grant) = store::get_json::<RefreshGrant>(s, &token_key(presented)).await? else {
        return Err(tokens.not_current(client, presented).await?);
    };
    if grant.of.client_id != client.client_id {
        // Someone else's token, so it leaked: burn it and its family.
        s.delete(&token_key(presented)).await?;
        tokens.revoke_family(&grant.family).await?;
        return Err(invalid("the refresh token was issued to another client"));
    }
    let scopes = narrowed(&grant.of.scopes, scope)?;
    // Signing must be possible before the token is used up: a client whose refresh fails
    // on our side retries, and that retry must not look like a replay.
    let minter = Minter::of(gw);
    minter.ready()?;
    // Taken: of two concurrent uses one rotates; the other, having read a token it could
    // not take, is a replay.
    if s.take(&token_key(presented)).await?.is_none() {
        tokens.revoke_family(&grant.family).await?;
        tracing::warn!(client = %client.client_id, "one refresh token used twice at once; its family is revoked");
        return Err(invalid("the refresh token is invalid, expired or revoked"));
    }
    // Extending the family never revives one revoked meanwhile.
    if !s.expire(&family_key(&grant.family), tokens.ttl).await? {
        return Err(invalid("the refresh token is invalid, expired or revoked"));
    }
    // Session-bound tokens live only as long as the SSO session. Refreshing does not keep
    // it alive: its idle time is the person's, at the gateway, as is the browser's cookie.
    if let Some(sid) = &grant.of.sid {
        if !Sessions::of(gw).is_live(sid).await? {
            tokens.revoke_family(&grant.family).await?;
            return Err(invalid("the login session has ended"));
        }
    }
    let mut response = minter.mint(&Grant {
        client_id: &grant.of.client_id,
        identity: &grant.of.identity,
        scopes: &scopes,
        auth_time: grant.of.auth_time,
        sid: grant.of.sid.as_ref(),
        family: Some(&family_tag(&grant.family)),
        nonce: None,
        launch: None,
    })?;
    response.refresh_token = Some(tokens.new_token(&grant).await?.into_string());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_may_narrow_the_scope_never_widen_it() {
        let granted: Vec<String> = ["openid", "email", "offline_access"]
            .map(String::from)
            .into();
        assert_eq!(narrowed(&granted, None).unwrap(), granted);
        assert_eq!(narrowed(&granted, Some("  ")).unwrap(), granted);
        assert_eq!(
            narrowed(&granted, Some("openid email")).unwrap(),
            ["openid", "email"]
        );
        match narrowed(&granted, Some("openid profile")) {
            Err(Error::Token(TokenErrorCode::InvalidScope, why)) => {
                assert_eq!(why, "scope profile was not granted")
            }
            _ => panic!("a wider scope must be refused"),
        }
    }
}

//! The networks' tokens for a person, brokered to the sites allowed them: a site presents the
//! person's access token from the gateway and gets the network's own token (refreshed when
//! it has expired and the network allows it), or has the gateway call a network method for
//! the person, signed as the network wants it (OK's `sig`, VK's `v`).

use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::oidc::access;
use crate::oidc::error::{Error, TokenErrorCode};
use crate::oidc::mint::AccessClaims;
use crate::oidc::upstream::{Kept, Vault, expiring};
use crate::provider::UpstreamError;

fn refused(why: impl Into<String>) -> Error {
    Error::InsufficientScope(why.into())
}

/// The person's access token, verified, and the client it was issued to.
async fn caller<'g>(
    gw: &'g Gateway,
    bearer: &str,
) -> Result<(AccessClaims, &'g ClientConfig), Error> {
    let access = access::verify(gw, bearer).await?;
    let client = gw
        .config
        .client(&access.client_id)
        .ok_or_else(|| Error::InvalidToken("the token's client is no longer registered".into()))?;
    Ok((access, client))
}

/// The network's tokens behind an access token, refreshed first when they have expired.
async fn kept_for(gw: &Gateway, access: &AccessClaims) -> Result<Kept, Error> {
    let sid = access.sid.as_ref().ok_or_else(|| {
        refused("this access token has no network login behind it (an app launch or an offline refresh)")
    })?;
    let vault = Vault::of(gw).ok_or_else(|| refused("no network tokens are kept here"))?;
    let mut kept = vault
        .get(sid)
        .await?
        .ok_or_else(|| refused("no network token is kept for this login"))?;
    if !expiring(&kept.tokens) {
        return Ok(kept);
    }
    let (Some(refresh), Some(provider)) = (
        kept.tokens.refresh_token.as_ref(),
        gw.providers.get(kept.provider.as_str()),
    ) else {
        return Err(Error::token(
            TokenErrorCode::InvalidGrant,
            "the network's token has expired and cannot be refreshed; the person must log in again",
        ));
    };
    let mut fresh = provider
        .protocol
        .refresh(refresh.expose_secret())
        .await
        .map_err(upstream)?;
    // Networks that do not rotate refresh tokens (OK) answer without one: keep the old.
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = kept.tokens.refresh_token.take();
    }
    vault.keep(sid, &kept.provider, &fresh).await?;
    tracing::info!(provider = %kept.provider, client = %access.client_id, "refreshed a network token");
    kept.tokens = fresh;
    Ok(kept)
}

/// A network that failed a broker call, for the site.
fn upstream(e: UpstreamError) -> Error {
    let code = match e {
        UpstreamError::Unavailable { .. } => TokenErrorCode::TemporarilyUnavailable,
        _ => TokenErrorCode::ServerError,
    };
    Error::token(code, e.to_string())
}

/// `GET /api/upstream/token`: the network's own token for the person, for a client with
/// `upstream_access`.
pub async fn token(gw: &Gateway, bearer: &str) -> Result<Kept, Error> {
    let (access, client) = caller(gw, bearer).await?;
    if !client.upstream_access {
        return Err(refused(
            "this client may not fetch the person's network token (upstream_access)",
        ));
    }
    kept_for(gw, &access).await
}

/// `POST /api/upstream/{provider}/call`: one network method for the person, if the client
/// lists it in `upstream_methods`; the network's answer as it gave it.
pub async fn call(
    gw: &Gateway,
    bearer: &str,
    provider: &str,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Value, Error> {
    let (access, client) = caller(gw, bearer).await?;
    if !client.upstream_methods.iter().any(|m| m == method) {
        return Err(refused(format!(
            "method {method} is not in this client's upstream_methods"
        )));
    }
    let kept = kept_for(gw, &access).await?;
    if kept.provider.as_str() != provider {
        return Err(Error::token(
            TokenErrorCode::InvalidRequest,
            format!(
                "the person logged in with {}, not {provider}",
                kept.provider
            ),
        ));
    }
    let configured = gw
        .providers
        .get(provider)
        .ok_or_else(|| Error::token(TokenErrorCode::InvalidRequest, "unknown provider"))?;
    let api = configured.protocol.signed_api().ok_or_else(|| {
        Error::token(
            TokenErrorCode::InvalidRequest,
            format!(
                "{}'s API cannot be called through the gateway",
                configured.display_name
            ),
        )
    })?;
    tracing::info!(provider, method, client = %client.client_id, "network method called for a person");
    api.call(kept.tokens.access_token.expose_secret(), method, params)
        .await
        .map_err(upstream)
}

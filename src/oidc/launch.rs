//! App launches: a site forwards the parameters a platform opened its app with (OK's iframe
//! apps), the network's provider checks them, and the site gets tokens for the person, as
//! from the token endpoint. Nothing is stored; the tokens end with their lifetime, not with
//! an SSO session, since the person logged in at the platform, not here.

use super::clients::provider_for;
use super::error::{Error, TokenErrorCode};
use super::mint::{Grant, Minter, TokenResponse};
use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::primitives::now;
use crate::provider::{LaunchError, UpstreamError};

/// What a launch's tokens may carry: the person's profile and email, as the network gave them.
const SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Verifies a launch of `provider`'s app for `client` and mints its tokens.
pub async fn launch(
    gw: &Gateway,
    client: &ClientConfig,
    provider: &str,
    params: &[(String, String)],
) -> Result<TokenResponse, Error> {
    // A public client proves nothing about itself: anyone could replay a launch as it.
    if client.client_secret.is_none() {
        return Err(Error::token(
            TokenErrorCode::UnauthorizedClient,
            "app launches are verified for confidential clients only",
        ));
    }
    let configured = provider_for(gw, client, provider)?;
    let minter = Minter::of(gw);
    minter.ready()?;
    let launch = configured
        .protocol
        .verify_launch(params)
        .await
        .map_err(|e| match e {
            LaunchError::Unsupported => Error::token(
                TokenErrorCode::InvalidRequest,
                format!("{} does not launch apps", configured.display_name),
            ),
            LaunchError::Invalid(why) => {
                tracing::warn!(provider, client = %client.client_id, reason = %why, "app launch refused");
                Error::token(TokenErrorCode::InvalidLaunch, why)
            }
            LaunchError::Upstream(e @ UpstreamError::Unavailable { .. }) => {
                Error::token(TokenErrorCode::TemporarilyUnavailable, e.to_string())
            }
            LaunchError::Upstream(e) => Error::token(TokenErrorCode::ServerError, e.to_string()),
        })?;
    tracing::info!(provider, client = %client.client_id, "app launch verified");
    metrics::counter!("socialgate_tokens_issued_total", "grant" => "launch").increment(1);
    let scopes = SCOPES.map(String::from);
    minter.mint(&Grant {
        client_id: &client.client_id,
        identity: &launch.identity,
        scopes: &scopes,
        auth_time: now(),
        sid: None,
        family: None,
        nonce: None,
        launch: Some(&launch.context),
    })
}

//! The login between `/authorize` and the site's redirect URI: remember the site's request
//! while the person is at the network, then turn the network's answer into a one-time code.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::logout;
use super::request::{AuthorizationRequest, Validated};
use crate::error::{Error, PageError, SiteError, SiteErrorCode};
use crate::gateway::Gateway;
use crate::primitives::{hash_secret, now, random_token};
use crate::provider::{CallbackParams, Identity, ProviderName, UpstreamError, UpstreamLogin};
use crate::session::{Sid, SsoSession};
use crate::store::{self, Ttl};

/// How long a person may stay at the network's login page.
const LOGIN_TTL: Ttl = Ttl::For(Duration::from_secs(600));
/// How long a site has to redeem a code.
pub const CODE_TTL: Ttl = Ttl::For(Duration::from_secs(60));

/// A login waiting for the network's callback, stored under its upstream `state`.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    request: AuthorizationRequest,
    /// Hash of the browser id cookie: the callback must come from the same browser.
    browser: String,
    provider: ProviderName,
    pkce_verifier: Option<String>,
    /// Sent to OpenID Connect networks and expected back in their id_token.
    #[serde(default)]
    nonce: String,
}

/// What a one-time code stands for, stored under the code's hash.
#[derive(Serialize, Deserialize)]
pub struct CodeGrant {
    pub request: AuthorizationRequest,
    pub identity: Identity,
    pub auth_time: u64,
    /// The SSO session the login belongs to.
    pub sid: Sid,
}

/// A code on its way to the site, and the SSO session it came from.
pub struct Issued {
    pub redirect_uri: String,
    pub params: Vec<(&'static str, String)>,
    pub sid: Sid,
}

/// Single sign-on: a code straight from the browser's live session, without the network,
/// when the site allows the session's network and its prompt/max_age accept the login's age.
pub async fn from_session(
    gw: &Gateway,
    v: &Validated<'_>,
    sid: Option<&str>,
) -> Result<Option<Issued>, Error> {
    let Some(sid) = sid else { return Ok(None) };
    let sessions = gw.sessions();
    let Some(mut session) = sessions.get(sid).await? else {
        return Ok(None);
    };
    let provider = session.identity.provider.clone();
    let allowed = v.client.providers.contains(&provider)
        && v.provider.as_ref().is_none_or(|p| *p == provider)
        && v.prompt.accepts(session.auth_time, now());
    if !allowed {
        return Ok(None);
    }
    sessions.touch(&mut session, &v.request.client_id).await?;
    tracing::info!(provider = %provider, client = %v.request.client_id, "single sign-on from a live session");
    issue_code(gw, v.request.clone(), &session).await.map(Some)
}

async fn issue_code(
    gw: &Gateway,
    request: AuthorizationRequest,
    session: &SsoSession,
) -> Result<Issued, Error> {
    let code = random_token();
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let grant = CodeGrant {
        request,
        identity: session.identity.clone(),
        auth_time: session.auth_time,
        sid: session.sid.clone(),
    };
    store::put_json(gw.store.as_ref(), &code_key(&code), &grant, CODE_TTL).await?;
    let mut params = vec![("code", code)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", gw.config.server.issuer.as_str().to_string()));
    Ok(Issued {
        redirect_uri,
        params,
        sid: session.sid.clone(),
    })
}

/// Starts the upstream login; returns the network's authorize URL.
pub async fn start(
    gw: &Gateway,
    request: AuthorizationRequest,
    provider: ProviderName,
    browser: &str,
) -> Result<String, Error> {
    let configured = gw
        .providers
        .get(provider.as_str())
        .ok_or(PageError::UnknownProvider)?;
    let scopes = configured.upstream_scopes(request.scopes.iter().map(String::as_str));
    let state = random_token();
    let pkce_verifier = configured.uses_pkce().then(random_token);
    let nonce = random_token();
    let login = UpstreamLogin {
        state: &state,
        pkce_verifier: pkce_verifier.as_deref(),
        nonce: &nonce,
    };
    let url = match configured.protocol.authorize_url(&login, &scopes).await {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(provider = %provider, error = %e, "cannot start the upstream login");
            return Err(upstream_failure(gw, &request, e));
        }
    };
    let pending = PendingLogin {
        request,
        browser: hash_secret(browser),
        provider,
        pkce_verifier,
        nonce,
    };
    store::put_json(gw.store.as_ref(), &login_key(&state), &pending, LOGIN_TTL).await?;
    Ok(url.to_string())
}

/// A network that failed the login, told to the site (its redirect URI is verified).
fn upstream_failure(gw: &Gateway, request: &AuthorizationRequest, e: UpstreamError) -> Error {
    let code = match e {
        UpstreamError::Unavailable { .. } => SiteErrorCode::TemporarilyUnavailable,
        UpstreamError::Refused { .. } | UpstreamError::Malformed { .. } => {
            SiteErrorCode::ServerError
        }
    };
    SiteError {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        issuer: gw.config.server.issuer.as_str().to_string(),
        code,
        description: e.to_string(),
    }
    .into()
}

fn login_key(state: &str) -> String {
    format!("login:{}", hash_secret(state))
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", hash_secret(code))
}

/// Finishes the login at `/callback/{provider}`; returns the site's redirect URI with a
/// fresh one-time code and the site's state. `browser` is the browser id cookie: a callback
/// link opened in another browser than the one that started the login (login CSRF) fails.
/// `current_sid` is the browser's SSO session, extended if it is the same person's.
pub async fn finish(
    gw: &Gateway,
    provider: &str,
    mut params: HashMap<String, String>,
    browser: Option<&str>,
    current_sid: Option<&str>,
) -> Result<Issued, Error> {
    let configured = gw
        .providers
        .get(provider)
        .ok_or(PageError::UnknownProvider)?;
    let state = params.remove("state").ok_or(PageError::BadState)?;
    // One use only: a replayed callback finds nothing.
    let pending: PendingLogin = store::take_json(gw.store.as_ref(), &login_key(&state))
        .await?
        .ok_or(PageError::BadState)?;
    if pending.provider.as_str() != provider {
        return Err(PageError::BadState.into());
    }
    if browser.map(hash_secret).as_deref() != Some(pending.browser.as_str()) {
        tracing::warn!(
            provider,
            "callback from another browser than the one that started the login"
        );
        return Err(PageError::OtherBrowser.into());
    }
    let request = pending.request;
    let to_site = |code: SiteErrorCode, description: String| -> Error {
        SiteError {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            issuer: gw.config.server.issuer.as_str().to_string(),
            code,
            description,
        }
        .into()
    };
    if let Some(error) = params.remove("error") {
        let network = configured.display_name.as_str();
        return Err(if error == "access_denied" {
            to_site(
                SiteErrorCode::AccessDenied,
                format!("the person declined the login at {network}"),
            )
        } else {
            // Only the error code's own characters: the value came from the browser.
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            to_site(
                SiteErrorCode::ServerError,
                format!("{network} returned error {error}"),
            )
        });
    }
    let code = params
        .remove("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            to_site(
                SiteErrorCode::ServerError,
                format!(
                    "{} returned neither a code nor an error",
                    configured.display_name
                ),
            )
        })?;
    let callback = CallbackParams {
        code,
        extra: params,
    };
    let login = UpstreamLogin {
        state: &state,
        pkce_verifier: pending.pkce_verifier.as_deref(),
        nonce: &pending.nonce,
    };
    let identity = configured
        .protocol
        .identify(&login, &callback)
        .await
        .map_err(|e| {
            tracing::warn!(provider, error = %e, "upstream login failed");
            upstream_failure(gw, &request, e)
        })?;
    tracing::info!(provider, client = %request.client_id, "upstream login succeeded");

    let sessions = gw.sessions();
    let current = match current_sid {
        Some(sid) => sessions.get(sid).await?,
        None => None,
    };
    let session = match current {
        Some(mut session) if session.is_same_person(&identity) => {
            session.identity = identity;
            session.auth_time = now();
            sessions.touch(&mut session, &request.client_id).await?;
            session
        }
        other => {
            // Someone else logs in on this browser: the previous person is logged out
            // everywhere first, so no site keeps them signed in here.
            if let Some(previous) = other {
                logout::end_session(gw, &previous.sid).await?;
            }
            sessions.create(identity, &request.client_id).await?
        }
    };
    issue_code(gw, request, &session).await
}

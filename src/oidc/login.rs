//! The login between `/authorize` and the site's redirect URI: decide how to answer the
//! site (single sign-on, `login_required`, the network chooser, or straight to a network),
//! remember the site's request while the person is at the network, then turn the network's
//! answer into a one-time code.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::authorize::{self, AuthorizationRequest, AuthorizeParams, Prompt, Validated};
use super::backchannel;
use super::code::{self, Issued};
use super::error::{Error, PageError, SiteErrorCode, SiteHome};
use super::sso::Sessions;
use super::types::{BrowserId, Sid};
use super::upstream::Vault;
use crate::config::Issuer;
use crate::gateway::Gateway;
use crate::primitives::{hash_secret, now, random_token};
use crate::provider::{
    CallbackParams, ConfiguredProvider, Freshness, ProviderName, UpstreamError, UpstreamLogin,
};
use crate::store::{self, Ttl};

/// How long a person may stay at the network's login page.
const LOGIN_TTL: Ttl = Ttl::For(Duration::from_secs(600));

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

/// How `/authorize` answers.
pub enum Authorized<'g> {
    /// Single sign-on: a code straight from the browser's live session.
    Issued(Issued),
    /// Off to the network. The login is bound to `browser`, which the browser must hold
    /// (`new_browser`: set it now) when it comes back.
    ToNetwork {
        url: String,
        browser: BrowserId,
        new_browser: bool,
    },
    /// The person picks one of the networks the site allows.
    Choose {
        client_name: &'g str,
        choices: Vec<Choice<'g>>,
    },
}

/// One network on the chooser, and the `/authorize` link that picks it.
pub struct Choice<'g> {
    pub provider: &'g ConfiguredProvider,
    pub href: String,
}

/// `/authorize`. `sid`: the browser's SSO session; `browser`: its binding cookie.
pub async fn authorize<'g>(
    gw: &'g Gateway,
    params: AuthorizeParams,
    sid: Option<&Sid>,
    browser: Option<BrowserId>,
) -> Result<Authorized<'g>, Error> {
    let validated = authorize::validate(&gw.config, params)?;
    if let Some(issued) = from_session(gw, &validated, sid).await? {
        return Ok(Authorized::Issued(issued));
    }
    let Validated {
        request,
        client,
        provider,
        prompt,
    } = validated;
    if prompt.none {
        let target = request.target(&gw.config.server.issuer);
        return Err(target.error(SiteErrorCode::LoginRequired, "the person must log in"));
    }
    if let Some(provider) = provider {
        let new_browser = browser.is_none();
        let browser = browser.unwrap_or_else(BrowserId::random);
        let url = start(gw, request, provider, &prompt, &browser).await?;
        return Ok(Authorized::ToNetwork {
            url,
            browser,
            new_browser,
        });
    }
    let choices = client
        .providers
        .iter()
        .filter_map(|name| gw.providers.get(name.as_str()))
        .map(|p| Choice {
            provider: p,
            href: format!("/authorize?{}", request.to_query(&p.name, &prompt)),
        })
        .collect();
    Ok(Authorized::Choose {
        client_name: &client.name,
        choices,
    })
}

/// Single sign-on: a code straight from the browser's live session, without the network,
/// when the site allows the session's network and its prompt/max_age accept the login's age.
async fn from_session(
    gw: &Gateway,
    v: &Validated<'_>,
    sid: Option<&Sid>,
) -> Result<Option<Issued>, Error> {
    let Some(sid) = sid else { return Ok(None) };
    let sessions = Sessions::of(gw);
    let Some(session) = sessions.get(sid).await? else {
        return Ok(None);
    };
    let provider = session.identity.provider.clone();
    let allowed = v.client.providers.contains(&provider)
        && v.provider.as_ref().is_none_or(|p| *p == provider)
        && v.prompt.accepts(session.auth_time, now());
    if !allowed {
        return Ok(None);
    }
    if !sessions.touch(&session, &v.request.client_id).await? {
        // Logged out a moment ago: as if there were no session.
        return Ok(None);
    }
    tracing::info!(provider = %provider, client = %v.request.client_id, "single sign-on from a live session");
    login_counted(provider.as_str(), "sso");
    let issued = code::issue(
        gw.store.as_ref(),
        &gw.config.server.issuer,
        v.request.clone(),
        &session,
    )
    .await?;
    Ok(Some(issued))
}

/// Starts the upstream login; returns the network's authorize URL.
async fn start(
    gw: &Gateway,
    request: AuthorizationRequest,
    provider: ProviderName,
    prompt: &Prompt,
    browser: &BrowserId,
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
        // What the site asked of the login, for the networks that can be asked it too.
        freshness: Freshness {
            fresh: prompt.login,
            max_age: prompt.max_age,
        },
    };
    let url = match configured.protocol.authorize_url(&login, &scopes).await {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(provider = %provider, error = %e, "cannot start the upstream login");
            return Err(upstream_failure(&gw.config.server.issuer, &request, e));
        }
    };
    let pending = PendingLogin {
        request,
        browser: hash_secret(browser.as_str()),
        provider,
        pkce_verifier,
        nonce,
    };
    store::put_json(gw.store.as_ref(), &login_key(&state), &pending, LOGIN_TTL).await?;
    Ok(url.to_string())
}

/// A network that failed the login, told to the site (its redirect URI is verified).
fn upstream_failure(issuer: &Issuer, request: &AuthorizationRequest, e: UpstreamError) -> Error {
    let code = match e {
        UpstreamError::Unavailable { .. } => SiteErrorCode::TemporarilyUnavailable,
        UpstreamError::Refused { .. } | UpstreamError::Malformed { .. } => {
            SiteErrorCode::ServerError
        }
    };
    request.target(issuer).error(code, e.to_string())
}

/// `socialgate_logins_total`: logins through the network (`success`, `failure`) and from a
/// live session (`sso`), by provider.
fn login_counted(provider: &str, outcome: &'static str) {
    metrics::counter!("socialgate_logins_total", "provider" => provider.to_string(), "outcome" => outcome)
        .increment(1);
}

pub(crate) fn login_key(state: &str) -> String {
    format!("login:{}", hash_secret(state))
}

/// Finishes the login at `/callback/{provider}`; returns the site's redirect URI with a
/// fresh one-time code and the site's state. `browser` is the browser id cookie: a callback
/// link opened in another browser than the one that started the login (login CSRF) fails.
/// `current_sid` is the browser's SSO session, extended if it is the same person's.
pub async fn finish(
    gw: &Gateway,
    provider: &str,
    mut params: HashMap<String, String>,
    browser: Option<&BrowserId>,
    current_sid: Option<&Sid>,
) -> Result<Issued, Error> {
    let configured = gw
        .providers
        .get(provider)
        .ok_or(PageError::UnknownProvider)?;
    let state = params.remove("state").ok_or(PageError::BadState)?;
    let key = login_key(&state);
    // Read, not taken, until the callback proves to be this login's: a state that leaked
    // (a Referer, a log) must not let another browser or provider path cancel the login.
    let pending: PendingLogin = store::get_json(gw.store.as_ref(), &key)
        .await?
        .ok_or(PageError::BadState)?;
    if pending.provider.as_str() != provider {
        return Err(PageError::BadState.into());
    }
    if browser.map(|b| hash_secret(b.as_str())).as_deref() != Some(pending.browser.as_str()) {
        tracing::warn!(
            provider,
            "callback from another browser than the one that started the login"
        );
        // The pending login names the site and a redirect URI it registered: the person
        // (the victim of a forged link, or someone whose cookies are blocked) may go back.
        let site = gw
            .config
            .client(pending.request.client_id.as_str())
            .and_then(|c| SiteHome::at(c, pending.request.redirect_uri.as_str()));
        return Err(PageError::OtherBrowser.with_site(site));
    }
    // One use only: of a replayed or doubled callback, only the first takes the login.
    if gw.store.take(&key).await?.is_none() {
        return Err(PageError::BadState.into());
    }
    let request = pending.request;
    let callback = network_answer(&gw.config.server.issuer, configured, &request, params)?;
    let login = UpstreamLogin {
        state: &state,
        pkce_verifier: pending.pkce_verifier.as_deref(),
        nonce: &pending.nonce,
        freshness: Freshness::default(),
    };
    let asked = std::time::Instant::now();
    let identified = configured.protocol.identify(&login, &callback).await;
    metrics::histogram!("socialgate_upstream_seconds", "provider" => configured.name.to_string())
        .record(asked.elapsed().as_secs_f64());
    let authenticated = identified.map_err(|e| {
        tracing::warn!(provider, error = %e, "upstream login failed");
        login_counted(provider, "failure");
        upstream_failure(&gw.config.server.issuer, &request, e)
    })?;
    tracing::info!(provider, client = %request.client_id, "upstream login succeeded");
    login_counted(provider, "success");
    let session = sso_session_for(gw, authenticated.identity, &request, current_sid).await?;
    if let (Some(vault), Some(tokens)) = (Vault::of(gw), &authenticated.tokens) {
        vault.keep(&session.sid, &configured.name, tokens).await?;
    }
    Ok(code::issue(
        gw.store.as_ref(),
        &gw.config.server.issuer,
        request,
        &session,
    )
    .await?)
}

/// The callback's code, or the network's refusal in words for the site.
fn network_answer(
    issuer: &Issuer,
    configured: &ConfiguredProvider,
    request: &AuthorizationRequest,
    mut params: HashMap<String, String>,
) -> Result<CallbackParams, Error> {
    let target = request.target(issuer);
    let network = configured.display_name.as_str();
    if let Some(error) = params.remove("error") {
        return Err(if error == "access_denied" {
            target.error(
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
            target.error(
                SiteErrorCode::ServerError,
                format!("{network} returned error {error}"),
            )
        });
    }
    let code = params
        .remove("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            target.error(
                SiteErrorCode::ServerError,
                format!("{network} returned neither a code nor an error"),
            )
        })?;
    Ok(CallbackParams {
        code,
        extra: params,
    })
}

/// The SSO session the login belongs to: the browser's own, extended, when it is the same
/// person's; else a new one.
async fn sso_session_for(
    gw: &Gateway,
    identity: crate::provider::Identity,
    request: &AuthorizationRequest,
    current_sid: Option<&Sid>,
) -> Result<super::sso::SsoSession, Error> {
    let sessions = Sessions::of(gw);
    let current = match current_sid {
        Some(sid) => sessions.get(sid).await?,
        None => None,
    };
    match current {
        Some(mut session) if session.is_same_person(&identity) => {
            session.identity = identity.clone();
            session.auth_time = now();
            sessions.save(&session).await?;
            if sessions.touch(&session, &request.client_id).await? {
                return Ok(session);
            }
            // Logged out meanwhile: this login starts a session of its own.
        }
        Some(previous) => {
            // Someone else logs in on this browser: the previous person is logged out
            // everywhere first, so no site keeps them signed in here.
            backchannel::end_session(gw, &previous.sid).await?;
        }
        None => {}
    }
    Ok(sessions.create(identity, &request.client_id).await?)
}

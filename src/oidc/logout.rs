//! Logout everywhere: RP-initiated logout (`/logout`, the `end_session_endpoint`) ends the
//! SSO session, and every site that got tokens through it receives a signed logout token
//! by back-channel (OpenID Connect Back-Channel Logout 1.0), sent in the background.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::exchange::subject;
use crate::config::{ClientConfig, ClientId};
use crate::error::{Error, PageError};
use crate::gateway::Gateway;
use crate::primitives::{now, random_token};
use crate::token::{self, Expect, ID_TOKEN_TYP, LOGOUT_TOKEN_TYP};

/// A logout token is for immediate delivery; two minutes covers the retries.
const LOGOUT_TOKEN_TTL: u64 = 120;
/// Tries per site; a site that is down for longer misses the notice (and it is logged).
const MAX_ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// `/logout` parameters (query string or form body).
#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
    /// Set by the gateway's own confirmation form.
    pub confirm: Option<String>,
}

pub enum Outcome {
    /// Ask the person first: nothing proves a site they use sent them here.
    Confirm(Vec<(&'static str, String)>),
    /// Logged out; where to send the person (the site's page) or `None` for ours.
    Done(Option<String>),
}

/// The claims of an id_token that matter as a logout hint.
#[derive(Deserialize)]
struct Hint {
    aud: String,
    sid: Option<String>,
}

/// RP-initiated logout. `browser_sid`: the browser's SSO session; `confirmed`: the person
/// pressed the gateway's own logout button.
pub async fn logout(
    gw: &Gateway,
    params: LogoutParams,
    browser_sid: Option<&str>,
    confirmed: bool,
) -> Result<Outcome, Error> {
    let issuer = gw.config.server.issuer.as_str();
    let hint: Option<Hint> = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(token) => {
            let expect = Expect {
                typ: ID_TOKEN_TYP,
                issuer,
                allow_expired: true,
            };
            Some(token::verify(&gw.keys, token, expect).map_err(|_| PageError::BadLogoutHint)?)
        }
    };
    let client_id = match (&hint, params.client_id.as_deref().filter(|c| !c.is_empty())) {
        (Some(h), Some(c)) if h.aud != c => return Err(PageError::BadLogoutHint.into()),
        (Some(h), _) => Some(h.aud.as_str()),
        (None, c) => c,
    };
    let client: Option<&ClientConfig> = match client_id {
        Some(id) => Some(gw.config.client(id).ok_or(PageError::UnknownClient)?),
        None => None,
    };
    let redirect = match params
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(uri) => {
            // Exact match against the client's list: never an open redirect.
            let client = client.ok_or(PageError::UnregisteredPostLogoutUri)?;
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(PageError::UnregisteredPostLogoutUri.into());
            }
            let mut url = url::Url::parse(uri).map_err(|_| PageError::UnregisteredPostLogoutUri)?;
            if let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    let hinted_sid = hint.as_ref().and_then(|h| h.sid.as_deref());
    // Only this browser's own session ends here: a hint alone (an id_token can leak from a
    // site) never ends a session someone else holds. A valid hint for this very session
    // shows that a site the person uses asked; anything else is confirmed first, so a link
    // on any page cannot log people out.
    let Some(sid) = browser_sid else {
        return Ok(Outcome::Done(redirect));
    };
    let proven = hint.is_some() && hinted_sid == Some(sid);
    if !proven && !confirmed {
        let mut fields = Vec::new();
        for (name, value) in [
            ("id_token_hint", params.id_token_hint),
            ("post_logout_redirect_uri", params.post_logout_redirect_uri),
            ("state", params.state),
            ("client_id", params.client_id),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                fields.push((name, v));
            }
        }
        return Ok(Outcome::Confirm(fields));
    }
    end_session(gw, sid).await?;
    Ok(Outcome::Done(redirect))
}

/// The logout token (Back-Channel Logout §2.4).
#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
    sub: String,
    sid: &'a str,
    events: Value,
}

/// One notice for one site.
struct Notice {
    client: ClientId,
    uri: String,
    token: String,
}

/// Ends the SSO session `sid` and notifies its sites in the background: the person's
/// logout never waits for a slow site.
pub async fn end_session(gw: &Gateway, sid: &str) -> Result<(), Error> {
    let Some(session) = gw.sessions().end(sid, gw.config.tokens.lifetime).await? else {
        return Ok(());
    };
    tracing::info!(
        provider = %session.identity.provider,
        sites = session.clients.len(),
        "SSO session ended"
    );
    let key = gw.keys.signing_key()?;
    let issuer = gw.config.server.issuer.as_str();
    let sub = subject(&session.identity);
    let mut notices = Vec::new();
    for client_id in &session.clients {
        let Some(uri) = gw
            .config
            .client(client_id.as_str())
            .and_then(|c| c.backchannel_logout_uri.clone())
        else {
            continue;
        };
        let iat = now();
        let claims = LogoutClaims {
            iss: issuer,
            aud: client_id.as_str(),
            iat,
            exp: iat + LOGOUT_TOKEN_TTL,
            jti: random_token(),
            sub: sub.clone(),
            sid,
            events: json!({ BACKCHANNEL_EVENT: {} }),
        };
        let token = key
            .sign(&claims, LOGOUT_TOKEN_TYP)
            .map_err(|e| Error::Internal(format!("cannot sign a logout token: {e}")))?;
        notices.push(Notice {
            client: client_id.clone(),
            uri,
            token,
        });
    }
    for notice in notices {
        tokio::spawn(deliver(gw.sites_http.clone(), notice));
    }
    Ok(())
}

/// POSTs one logout token, retrying network failures and 5xx answers a few times; a 4xx
/// is the site refusing the token, which a retry would not change.
async fn deliver(http: reqwest::Client, notice: Notice) {
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=MAX_ATTEMPTS {
        let result = http
            .post(&notice.uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", notice.token.as_str())])
            .send()
            .await;
        let (retry, why) = match result {
            Ok(r) if r.status().is_success() => {
                tracing::info!(client = %notice.client, attempt, "back-channel logout delivered");
                return;
            }
            Ok(r) => (r.status().is_server_error(), format!("HTTP {}", r.status())),
            // Without the URL: logs name the client, not its endpoints' query strings.
            Err(e) => (true, e.without_url().to_string()),
        };
        if !retry || attempt == MAX_ATTEMPTS {
            tracing::error!(client = %notice.client, attempt, error = %why, "back-channel logout failed; the site was not told");
            return;
        }
        tracing::warn!(client = %notice.client, attempt, error = %why, "back-channel logout failed; retrying");
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

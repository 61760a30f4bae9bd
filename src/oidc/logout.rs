//! RP-initiated logout (`/logout`, the `end_session_endpoint`): which session may end, and
//! where the person goes afterwards. The ending itself, and telling the sites, is
//! `backchannel`'s.

use serde::Deserialize;

use super::backchannel;
use super::error::{Error, PageError, SiteHome};
use super::mint::Minter;
use super::types::Sid;
use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::primitives::random_token;

/// `/logout` parameters (query string or form body). No `Debug`: the hint is an id_token.
#[derive(Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

pub enum Outcome {
    /// Ask the person first: nothing proves a site they use sent them here. The form
    /// carries `fields` back, `confirm` among them holding `csrf`, a one-time token the
    /// browser's session must remember.
    Confirm {
        fields: Vec<(&'static str, String)>,
        csrf: String,
    },
    /// Logged out. `redirect`: the site's registered page to send the person to, else
    /// `None` for ours, which links to `site` when the request named one.
    Done {
        redirect: Option<String>,
        site: Option<SiteHome>,
    },
}

/// The claims of an id_token that matter as a logout hint.
#[derive(Deserialize)]
struct Hint {
    aud: String,
    sid: Option<Sid>,
}

/// RP-initiated logout. `browser_sid`: the browser's SSO session; `confirmed`: the person
/// pressed the gateway's own logout button (its one-time token matched).
pub async fn logout(
    gw: &Gateway,
    params: LogoutParams,
    browser_sid: Option<&Sid>,
    confirmed: bool,
) -> Result<Outcome, Error> {
    // A hint the gateway did not issue still leaves a registered client_id to go back to.
    let hint = hint(gw, params.id_token_hint.as_deref()).map_err(|e| {
        let named = params
            .client_id
            .as_deref()
            .and_then(|id| gw.config.client(id));
        e.with_site(named.and_then(SiteHome::of))
    })?;
    let client = client(gw, hint.as_ref(), params.client_id.as_deref())?;
    let site = client.and_then(SiteHome::of);
    let redirect = post_logout_redirect(
        client,
        params.post_logout_redirect_uri.as_deref(),
        params.state.as_deref(),
    )?;
    // Only this browser's own session ends here: a hint alone (an id_token can leak from a
    // site) never ends a session someone else holds. A valid hint for this very session
    // shows that a site the person uses asked; anything else is confirmed first, so a link
    // on any page cannot log people out.
    let Some(sid) = browser_sid else {
        return Ok(Outcome::Done { redirect, site });
    };
    let proven = hint.as_ref().is_some_and(|h| h.sid.as_ref() == Some(sid));
    if !proven && !confirmed {
        return Ok(confirm(params));
    }
    backchannel::end_session(gw, sid).await?;
    Ok(Outcome::Done { redirect, site })
}

/// The id_token_hint, if given: one this gateway issued (expired is fine).
fn hint(gw: &Gateway, token: Option<&str>) -> Result<Option<Hint>, PageError> {
    match token.filter(|h| !h.is_empty()) {
        None => Ok(None),
        Some(token) => Minter::of(gw)
            .verify_id_token_hint(token)
            .map(Some)
            .map_err(|_| PageError::BadLogoutHint),
    }
}

/// The client the request is about: the hint's audience, or the `client_id` given, which
/// must agree.
fn client<'g>(
    gw: &'g Gateway,
    hint: Option<&Hint>,
    client_id: Option<&str>,
) -> Result<Option<&'g ClientConfig>, PageError> {
    let client_id = match (hint, client_id.filter(|c| !c.is_empty())) {
        (Some(h), Some(c)) if h.aud != c => return Err(PageError::BadLogoutHint),
        (Some(h), _) => Some(h.aud.as_str()),
        (None, c) => c,
    };
    client_id
        .map(|id| gw.config.client(id).ok_or(PageError::UnknownClient))
        .transpose()
}

/// Where to send the person afterwards: a URI the client registered, matched exactly
/// (never an open redirect), with the site's `state`.
fn post_logout_redirect(
    client: Option<&ClientConfig>,
    uri: Option<&str>,
    state: Option<&str>,
) -> Result<Option<String>, PageError> {
    let Some(uri) = uri.filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let client = client.ok_or(PageError::UnregisteredPostLogoutUri)?;
    if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return Err(PageError::UnregisteredPostLogoutUri);
    }
    let mut url = url::Url::parse(uri).map_err(|_| PageError::UnregisteredPostLogoutUri)?;
    if let Some(state) = state.filter(|s| !s.is_empty()) {
        url.query_pairs_mut().append_pair("state", state);
    }
    Ok(Some(url.to_string()))
}

/// The confirmation form: the request's own parameters, and a fresh one-time token.
fn confirm(params: LogoutParams) -> Outcome {
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
    let csrf = random_token();
    fields.push(("confirm", csrf.clone()));
    Outcome::Confirm { fields, csrf }
}

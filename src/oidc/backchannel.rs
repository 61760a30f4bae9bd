//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): ending an SSO session and
//! telling every site that got tokens through it, with a signed logout token POSTed in the
//! background, so the person's logout never waits for a slow site.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::error::Error;
use super::mint::subject;
use super::sso::Sessions;
use super::types::Sid;
use super::upstream::Vault;
use crate::config::ClientId;
use crate::gateway::Gateway;
use crate::keys::LOGOUT_TOKEN_TYP;
use crate::primitives::{now, random_token};

/// A logout token is for immediate delivery; two minutes covers the retries.
const LOGOUT_TOKEN_TTL: u64 = 120;
/// Tries per site; a site that is down for longer misses the notice (and it is logged).
const MAX_ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The logout token (Back-Channel Logout §2.4).
#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
    sub: String,
    sid: &'a Sid,
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
pub async fn end_session(gw: &Gateway, sid: &Sid) -> Result<(), Error> {
    // The networks' tokens go with the session, whatever became of its record.
    if let Some(vault) = Vault::of(gw) {
        vault.forget(sid).await?;
    }
    let Some(session) = Sessions::of(gw).end(sid, gw.config.tokens.lifetime).await? else {
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

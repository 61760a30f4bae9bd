//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): ending an SSO session and
//! telling every site that got tokens through it, with a signed logout token POSTed in the
//! background, so the person's logout never waits for a slow site.
//!
//! Notices wait in the store (`backchannel:{id}`, listed in the set `backchannel-queue`) with
//! their attempts and when the next is due, so a notice being retried when an instance stops
//! is delivered by another instance, or by this one once it is back. Every instance delivers:
//! an attempt is claimed first (`backchannel-claim:{id}`, for as long as an attempt may take),
//! so one instance makes it.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::Error;
use super::mint::subject;
use super::sso::Sessions;
use super::types::Sid;
use super::upstream::Vault;
use crate::config::ClientId;
use crate::gateway::{BACKCHANNEL_TIMEOUT, Gateway};
use crate::keys::LOGOUT_TOKEN_TYP;
use crate::primitives::{now, now_millis, random_token};
use crate::store::{self, Store, StoreError, Ttl};

/// A logout token is for immediate delivery: each attempt signs one valid for two minutes.
const LOGOUT_TOKEN_TTL: u64 = 120;
/// Tries per site, on network errors and 5xx; a site that is down for longer misses the
/// notice (and it is logged).
const MAX_ATTEMPTS: u32 = 3;
/// Before the second attempt; doubled before each next one.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long an attempt is claimed by the instance making it: longer than the POST may take,
/// so a notice whose instance stopped mid-attempt is retried by another after this.
const CLAIM: Duration = Duration::from_secs(3 * BACKCHANNEL_TIMEOUT.as_secs());
/// How often an instance looks for notices others left behind (besides at start, when a
/// logout queues some here, and when a retry of its own falls due).
const POLL_EVERY: Duration = Duration::from_secs(5);
/// How long an undelivered notice is kept: far longer than its attempts take, so only an
/// outage of every instance loses one.
const NOTICE_TTL: Ttl = Ttl::For(Duration::from_secs(3600));
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The ids of the notices waiting in the store.
const QUEUE: &str = "backchannel-queue";

fn notice_key(id: &str) -> String {
    format!("backchannel:{id}")
}

fn claim_key(id: &str) -> String {
    format!("backchannel-claim:{id}")
}

/// The logout token (Back-Channel Logout §2.4).
#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: &'a str,
    sub: &'a str,
    sid: &'a Sid,
    events: Value,
}

/// One notice for one site, as it waits in the store.
#[derive(Serialize, Deserialize)]
struct Notice {
    client: ClientId,
    uri: String,
    sub: String,
    sid: Sid,
    /// The logout token's `jti`, the same in every attempt: a site can tell a retry.
    jti: String,
    /// Attempts made or begun.
    attempts: u32,
    /// When the next attempt is due, Unix milliseconds.
    due: u64,
}

/// Ends the SSO session `sid` and queues a notice for each of its sites; this instance
/// sends them at once, in the background: the person's logout never waits for a slow site.
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
    let sub = subject(&session.identity);
    let store = gw.store.as_ref();
    for client in &session.clients {
        let Some(uri) = gw
            .config
            .client(client.as_str())
            .and_then(|c| c.backchannel_logout_uri.clone())
        else {
            continue;
        };
        let notice = Notice {
            client: client.clone(),
            uri,
            sub: sub.clone(),
            sid: sid.clone(),
            jti: random_token(),
            attempts: 0,
            due: now_millis(),
        };
        // The record first: a queued id without one is taken for a finished notice.
        let id = random_token();
        store::put_json(store, &notice_key(&id), &notice, NOTICE_TTL).await?;
        store.add_to_set(QUEUE, &id, NOTICE_TTL).await?;
    }
    gw.logout_notices.notify_one();
    Ok(())
}

/// Starts this instance's delivery of queued notices: at once (notices left from before a
/// restart), when a logout here queues some, when a retry falls due, and every
/// `POLL_EVERY`. It ends with the gateway.
pub fn spawn_delivery(gw: &Arc<Gateway>) {
    let gateway = Arc::downgrade(gw);
    let wake = gw.logout_notices.clone();
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            let Some(gw) = gateway.upgrade() else { return };
            let wait = match deliver_due(&gw).await {
                Ok(wait) => {
                    if failing {
                        tracing::info!("back-channel logout notices can be read again");
                        failing = false;
                    }
                    wait
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "cannot read the back-channel logout notices; retrying");
                        failing = true;
                    }
                    POLL_EVERY
                }
            };
            drop(gw);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
            }
        }
    });
}

/// Claims each notice that is due and starts its attempt; returns how long until the next
/// one falls due (at most `POLL_EVERY`).
async fn deliver_due(gw: &Arc<Gateway>) -> Result<Duration, StoreError> {
    let store = gw.store.as_ref();
    let started = now_millis();
    let mut next = started.saturating_add(millis(POLL_EVERY));
    for id in store.set_members(QUEUE).await? {
        let Some(notice) = store::get_json::<Notice>(store, &notice_key(&id)).await? else {
            // Delivered, given up or expired.
            store.remove_from_set(QUEUE, &id).await?;
            continue;
        };
        if notice.due > started {
            next = next.min(notice.due);
            continue;
        }
        if store
            .put_new(&claim_key(&id), vec![], Ttl::For(CLAIM))
            .await?
        {
            tokio::spawn(attempt(gw.clone(), id));
        }
    }
    Ok(Duration::from_millis(next.saturating_sub(now_millis())))
}

/// One claimed attempt, then the claim released and the delivery told of the next due time.
async fn attempt(gw: Arc<Gateway>, id: String) {
    match attempt_once(&gw, &id).await {
        Ok(()) => {
            // A claim not released expires; nothing is lost.
            let _ = gw.store.delete(&claim_key(&id)).await;
            gw.logout_notices.notify_one();
        }
        // The claim stays until it expires: the notice waits that long, not in a loop.
        Err(e) => tracing::error!(error = %e, "back-channel logout attempt not made"),
    }
}

/// POSTs the notice's logout token once, retrying network failures and 5xx answers later;
/// a 4xx is the site refusing the token, which a retry would not change.
async fn attempt_once(gw: &Gateway, id: &str) -> Result<(), Error> {
    let store = gw.store.as_ref();
    let key = notice_key(id);
    let Some(mut notice) = store::get_json::<Notice>(store, &key).await? else {
        return Ok(());
    };
    if notice.due > now_millis() {
        // Another instance made this attempt between our reading and our claim.
        return Ok(());
    }
    let token = sign(gw, &notice)?;
    // Counted before it is made, and due again only once the claim has run out: an instance
    // that stops mid-attempt leaves the retry to another.
    notice.attempts += 1;
    notice.due = now_millis().saturating_add(millis(CLAIM));
    store::put_json(store, &key, &notice, NOTICE_TTL).await?;
    let attempt = notice.attempts;
    let client = &notice.client;
    let result = gw
        .sites_http
        .post(&notice.uri)
        .header(reqwest::header::CACHE_CONTROL, "no-store")
        .form(&[("logout_token", token.as_str())])
        .send()
        .await;
    let (retry, why) = match result {
        Ok(r) if r.status().is_success() => {
            tracing::info!(%client, attempt, "back-channel logout delivered");
            return forget(store, id).await;
        }
        Ok(r) => (r.status().is_server_error(), format!("HTTP {}", r.status())),
        // Without the URL: logs name the client, not its endpoints' query strings.
        Err(e) => (true, e.without_url().to_string()),
    };
    if !retry || attempt >= MAX_ATTEMPTS {
        tracing::error!(%client, attempt, error = %why, "back-channel logout failed; the site was not told");
        return forget(store, id).await;
    }
    tracing::warn!(%client, attempt, error = %why, "back-channel logout failed; retrying");
    let delay = FIRST_RETRY_DELAY * 2u32.pow(attempt - 1);
    notice.due = now_millis().saturating_add(millis(delay));
    Ok(store::put_json(store, &key, &notice, NOTICE_TTL).await?)
}

/// A fresh logout token for the notice, signed with the current key of the client's
/// algorithm.
fn sign(gw: &Gateway, notice: &Notice) -> Result<String, Error> {
    let iat = now();
    let claims = LogoutClaims {
        iss: gw.config.server.issuer.as_str(),
        aud: notice.client.as_str(),
        iat,
        exp: iat + LOGOUT_TOKEN_TTL,
        jti: &notice.jti,
        sub: &notice.sub,
        sid: &notice.sid,
        events: json!({ BACKCHANNEL_EVENT: {} }),
    };
    gw.keys
        .signing_key(gw.config.signing_alg(notice.client.as_str()))?
        .sign(&claims, LOGOUT_TOKEN_TYP)
        .map_err(|e| Error::Internal(format!("cannot sign a logout token: {e}")))
}

/// The notice is done with (delivered or given up).
async fn forget(store: &dyn Store, id: &str) -> Result<(), Error> {
    store.delete(&notice_key(id)).await?;
    Ok(store.remove_from_set(QUEUE, id).await?)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

//! A demo relying party built into the gateway: with the shipped config a newcomer opens
//! `/`, logs in through the demo network and sees the claims a site would receive. Active
//! only when a client registers `{issuer}/demo-site/callback` as its redirect URI.

use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::oidc::clients::ClientCredentials;
use crate::oidc::error::{Error, PageError, TokenErrorCode};
use crate::oidc::exchange::{self, TokenRequest};
use crate::oidc::types::Code;

pub const CALLBACK_PATH: &str = "/demo-site/callback";

fn callback(gw: &Gateway) -> String {
    gw.config.server.issuer.url(CALLBACK_PATH)
}

/// The client whose redirect URI is the demo site's callback, if any.
pub fn client(gw: &Gateway) -> Option<&ClientConfig> {
    let callback = callback(gw);
    gw.config
        .clients
        .values()
        .find(|c| c.redirect_uris.contains(&callback))
}

/// Where the home page's "try it" button starts a login.
pub fn start_url(gw: &Gateway) -> Option<String> {
    let client = client(gw)?;
    let mut url = url::Url::parse(&gw.config.server.issuer.url("/authorize")).ok()?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client.client_id.as_str())
        .append_pair("redirect_uri", &callback(gw))
        .append_pair("scope", "openid profile email");
    Some(url.path().to_string() + "?" + url.query().unwrap_or(""))
}

/// What the demo site shows.
pub enum Shown {
    /// The id_token's claims, times written as dates.
    LoggedIn(Vec<(String, String)>),
    /// The login failed, or this result was shown already: OAuth's error and its words.
    Failed { error: String, description: String },
}

/// The claims that are times (seconds since 1970), shown as dates.
const TIMES: [&str; 3] = ["exp", "iat", "auth_time"];

/// Shows what the demo site received: redeems the code as a site would, or the error that
/// came back instead.
pub async fn show(
    gw: &Gateway,
    code: Option<String>,
    error: Option<String>,
    description: Option<String>,
) -> Result<Shown, Error> {
    let Some(code) = code else {
        return Ok(Shown::Failed {
            error: error.unwrap_or_else(|| "no code".into()),
            description: description.unwrap_or_default(),
        });
    };
    match finish(gw, code).await {
        Ok(claims) => Ok(Shown::LoggedIn(claims)),
        // A reload presents the code again; codes work once.
        Err(Error::Token(TokenErrorCode::InvalidGrant, _)) => Ok(Shown::Failed {
            error: "invalid_grant".into(),
            description: "this result was shown already: a login's code works once".into(),
        }),
        Err(e) => Err(e),
    }
}

/// Redeems the code as the demo site would and returns the id_token's claims for display.
async fn finish(gw: &Gateway, code: String) -> Result<Vec<(String, String)>, Error> {
    let client = client(gw).ok_or(PageError::UnknownClient)?;
    let credentials =
        ClientCredentials::posted(client.client_id.as_str(), client.client_secret.clone());
    let client = credentials.authenticate(&gw.config)?;
    let request = TokenRequest::AuthorizationCode {
        code: Code::new(code),
        redirect_uri: Some(callback(gw)),
        code_verifier: None,
    };
    let tokens = exchange::token(gw, client, request).await?;
    let claims: serde_json::Map<String, serde_json::Value> =
        decode_payload(&tokens.id_token).unwrap_or_default();
    Ok(claims
        .into_iter()
        .filter(|(k, _)| k != "at_hash")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            serde_json::Value::Number(n) if TIMES.contains(&k.as_str()) => {
                let at = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(n.as_u64().unwrap_or_default());
                (k, humantime::format_rfc3339_seconds(at).to_string())
            }
            other => (k, other.to_string()),
        })
        .collect())
}

/// The payload of a JWT this gateway just signed.
fn decode_payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

//! OK group tokens (the keys chat bots use): one cheap Bot API call per token, made on a
//! schedule, because OK drops a group token 30 days after its last use and a newly issued one
//! kills the old one without telling anybody.
//!
//! Each instance checks on its own (nothing goes through the store): a check is one call a
//! day per group, every call renews the token, and each instance's `/readyz` then reports
//! what it saw itself.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::provider::ProviderConfig;
use crate::provider::http;

/// The name `UpstreamError`s carry for these calls.
const NETWORK: &str = "OK";
/// After a check that could not reach OK, the next one comes this soon at the latest.
const RETRY_UNKNOWN: Duration = Duration::from_secs(15 * 60);

/// One group's token as the admin configured it.
#[derive(Clone, Debug)]
pub struct OkGroup {
    /// The admin's name for the group (`[ok_groups.NAME]`): what logs and reports show.
    pub name: String,
    pub access_token: SecretString,
    /// The Bot (Graph) API base, `https://api.ok.ru/graph`.
    pub api_url: Url,
    pub check_every: Duration,
}

/// Whether `provider` is an OK app, whose REST host also serves the Bot API.
pub fn is_ok(provider: &ProviderConfig) -> bool {
    provider.descriptor.protocol.name() == "ok"
}

/// The Bot API base on the host of OK's REST endpoint: `https://api.ok.ru/fb.do` →
/// `https://api.ok.ru/graph`.
pub fn api_url_beside(rest_endpoint: &Url) -> Url {
    let mut url = rest_endpoint.clone();
    url.set_path("/graph");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// What OK said of a token at the last check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// The first check is under way.
    Unchecked,
    Alive,
    /// OK refused the token for good (102 expired, 103 replaced); the reason says which.
    Dead(String),
    /// OK could not tell (unreachable, slow, an answer that says nothing of the token).
    Unknown(String),
}

impl fmt::Display for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenState::Unchecked => f.write_str("not checked yet"),
            TokenState::Alive => f.write_str("alive"),
            TokenState::Dead(reason) => write!(f, "dead: {reason}"),
            TokenState::Unknown(reason) => write!(f, "unknown: {reason}"),
        }
    }
}

/// `GET {api_url}/me/chats`: the cheapest Bot API call (the group's chats); any call renews
/// the token's 30 days. No `sig`: the Bot API knows the caller by the token alone.
pub async fn check(http: &reqwest::Client, group: &OkGroup) -> TokenState {
    let url = format!("{}/me/chats", group.api_url.as_str().trim_end_matches('/'));
    let request = http
        .get(url)
        .query(&[("access_token", group.access_token.expose_secret())]);
    match http::send(NETWORK, request).await {
        Ok((status, body)) => classify(status, &body),
        Err(e) => TokenState::Unknown(e.to_string()),
    }
}

/// OK's answer: a JSON object, errors as `error_code` with HTTP 200.
fn classify(status: reqwest::StatusCode, body: &[u8]) -> TokenState {
    let answer = match http::json(NETWORK, body) {
        Ok(v) => v,
        Err(_) if !status.is_success() => {
            return TokenState::Unknown(format!("OK answered HTTP {}", status.as_u16()));
        }
        Err(e) => return TokenState::Unknown(e.to_string()),
    };
    let Some(error) = http::parse_error(&answer) else {
        return if status.is_success() {
            TokenState::Alive
        } else {
            TokenState::Unknown(format!("OK answered HTTP {}", status.as_u16()))
        };
    };
    let detail = error.detail.as_deref().unwrap_or("no message");
    match error.error.as_str() {
        "error 102" => TokenState::Dead(format!(
            "expired, unused for 30 days (OK error 102: {detail})"
        )),
        "error 103" => TokenState::Dead(format!(
            "replaced by a newer token or revoked (OK error 103: {detail})"
        )),
        _ => TokenState::Unknown(format!("OK refused the check: {error}")),
    }
}

/// A group's last check: its state and when it was made.
#[derive(Clone, Debug)]
pub struct Checked {
    pub state: TokenState,
    pub at: Option<SystemTime>,
}

/// The configured group tokens with what their last checks said, and the upkeep that keeps
/// checking them. `states` is what `/metrics`' per-group gauge reads.
pub struct GroupTokens {
    http: reqwest::Client,
    groups: Vec<(OkGroup, RwLock<Checked>)>,
}

impl GroupTokens {
    pub fn new(groups: Vec<OkGroup>, http: reqwest::Client) -> Self {
        let unchecked = || {
            RwLock::new(Checked {
                state: TokenState::Unchecked,
                at: None,
            })
        };
        GroupTokens {
            http,
            groups: groups.into_iter().map(|g| (g, unchecked())).collect(),
        }
    }

    /// Each group's name and last check, in config order.
    pub fn states(&self) -> Vec<(&str, Checked)> {
        self.groups
            .iter()
            .map(|(g, last)| (g.name.as_str(), read(last)))
            .collect()
    }

    /// One line per group whose token is not known to be alive: dead, or not checkable.
    pub fn problems(&self) -> Vec<String> {
        self.states()
            .into_iter()
            .filter(|(_, c)| matches!(c.state, TokenState::Dead(_) | TokenState::Unknown(_)))
            .map(|(name, c)| {
                let at = c.at.map(humantime::format_rfc3339_seconds);
                let at = at.map_or_else(String::new, |t| format!(" (checked {t})"));
                format!("OK group {name}: token {}{at}", c.state)
            })
            .collect()
    }

    /// Checks every group now, one after the other (the command line's `check --online`).
    pub async fn check_all(&self) -> Vec<(&str, TokenState)> {
        let mut states = Vec::new();
        for (group, _) in &self.groups {
            states.push((group.name.as_str(), check(&self.http, group).await));
        }
        states
    }

    /// Starts one task per group: a check now, then every `check_every` (sooner after a
    /// check that could not reach OK). The tasks end when the gateway is dropped.
    pub fn spawn_upkeep(self: &Arc<Self>) {
        for index in 0..self.groups.len() {
            let tokens = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    let Some(live) = tokens.upgrade() else { return };
                    let wait = live.check_and_report(index).await;
                    drop(live);
                    tokio::time::sleep(wait).await;
                }
            });
        }
    }

    /// Checks group `index`, keeps and logs the result; returns how long until the next check.
    async fn check_and_report(&self, index: usize) -> Duration {
        let (group, last) = &self.groups[index];
        let state = check(&self.http, group).await;
        let name = group.name.as_str();
        let wait = match &state {
            TokenState::Alive => {
                tracing::info!(
                    group = name,
                    "OK group token checked: alive (renewed for 30 days)"
                );
                group.check_every
            }
            TokenState::Dead(reason) => {
                tracing::error!(
                    group = name,
                    %reason,
                    "OK group token is dead: the group's chat bot cannot work; issue a new token in the group's settings (Messages, API) and put it in the config"
                );
                group.check_every
            }
            TokenState::Unknown(reason) => {
                let retry = group.check_every.min(RETRY_UNKNOWN);
                tracing::warn!(
                    group = name,
                    %reason,
                    retry_in = %humantime::format_duration(retry),
                    "cannot check the OK group token; its state is unknown"
                );
                retry
            }
            TokenState::Unchecked => group.check_every,
        };
        let checked = Checked {
            state,
            at: Some(SystemTime::now()),
        };
        *last
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = checked;
        wait
    }
}

fn read(last: &RwLock<Checked>) -> Checked {
    last.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn state(status: u16, body: &str) -> TokenState {
        classify(StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    #[test]
    fn only_102_and_103_make_a_token_dead() {
        assert_eq!(
            state(200, r#"{"chats":[],"marker":null}"#),
            TokenState::Alive
        );
        let expired = r#"{"error_code":102,"error_msg":"PARAM_SESSION_EXPIRED : Session expired"}"#;
        assert_eq!(
            state(200, expired),
            TokenState::Dead(
                "expired, unused for 30 days (OK error 102: PARAM_SESSION_EXPIRED : Session expired)"
                    .into()
            )
        );
        // OK may write the code as a string.
        let replaced =
            r#"{"error_code":"103","error_msg":"PARAM_SESSION_KEY : Invalid session key"}"#;
        assert!(matches!(state(200, replaced), TokenState::Dead(r) if r.starts_with("replaced")));
        let blocked = r#"{"error_code":9,"error_msg":"IP_BLOCKED : IP blocked"}"#;
        assert_eq!(
            state(200, blocked),
            TokenState::Unknown("OK refused the check: error 9 (IP_BLOCKED : IP blocked)".into())
        );
    }

    #[test]
    fn an_answer_that_says_nothing_of_the_token_is_unknown() {
        assert_eq!(
            state(403, "<html>Forbidden</html>"),
            TokenState::Unknown("OK answered HTTP 403".into())
        );
        assert_eq!(
            state(404, "{}"),
            TokenState::Unknown("OK answered HTTP 404".into())
        );
        assert_eq!(
            state(200, "[]"),
            TokenState::Unknown(
                "OK sent an invalid answer: the answer is not a JSON object".into()
            )
        );
    }

    #[test]
    fn the_bot_api_sits_beside_the_rest_endpoint() {
        let rest = Url::parse("https://api.ok.ru/fb.do?x=1").unwrap();
        assert_eq!(api_url_beside(&rest).as_str(), "https://api.ok.ru/graph");
        let local = Url::parse("http://127.0.0.1:4000/fb.do").unwrap();
        assert_eq!(
            api_url_beside(&local).as_str(),
            "http://127.0.0.1:4000/graph"
        );
    }

    #[test]
    fn a_group_shows_no_token_in_debug() {
        let group = OkGroup {
            name: "bot".into(),
            access_token: SecretString::from("tkn1.secret-group-token"),
            api_url: Url::parse("https://api.ok.ru/graph").unwrap(),
            check_every: Duration::from_secs(60),
        };
        let shown = format!("{group:?}");
        assert!(!shown.contains("tkn1.secret"), "{shown}");
        assert!(shown.contains("bot"), "{shown}");
    }
}

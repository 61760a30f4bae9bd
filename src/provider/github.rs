//! GitHub: the profile shows only the email a person made public, and says nothing of its
//! verification. The emails endpoint (scope `user:email`) lists every address with its
//! `verified` and `primary` flags; the gateway hands on the verified primary one.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::generic::{self, Call, Network, Quirks};
use super::kind::{Kind, Opening};
use super::oauth2::UpstreamToken;
use super::{Identity, Provider, ProviderConfig, UpstreamError, http};

pub struct GitHubKind;

impl Kind for GitHubKind {
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        // `{api}/user` → `{api}/user/emails`, on github.com and on GitHub Enterprise alike.
        let emails = config.endpoints.as_ref().and_then(|e| {
            let mut url = e.userinfo.clone();
            url.path_segments_mut().ok()?.pop_if_empty().push("emails");
            Some(url)
        });
        generic::open(config, at, GitHub { emails })
    }
}

struct GitHub {
    emails: Option<Url>,
}

#[derive(Deserialize)]
pub(super) struct Email {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

impl GitHub {
    /// The person's addresses; `None` when the token may not read them (no `user:email`).
    async fn emails(
        &self,
        net: &Network,
        access_token: &str,
    ) -> Result<Option<Vec<Email>>, UpstreamError> {
        let Some(url) = &self.emails else {
            return Ok(None);
        };
        let request = net
            .http
            .get(url.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json");
        let (status, body) = http::send(net.network(), request).await?;
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            return Ok(None);
        }
        let value = net.answer(status, &body, Call::Endpoint("emails"))?;
        serde_json::from_value(value)
            .map(Some)
            .map_err(|_| net.malformed("the emails answer is not a list of addresses"))
    }
}

#[async_trait]
impl Quirks for GitHub {
    async fn finish(
        &self,
        net: &Network,
        token: &UpstreamToken,
        mut identity: Identity,
    ) -> Result<Identity, UpstreamError> {
        if let Some(emails) = self.emails(net, token.access_token.secret()).await? {
            let chosen = chosen_email(&emails, identity.email.as_deref());
            identity.email_verified = chosen.is_some();
            identity.email = chosen;
        }
        Ok(identity)
    }
}

/// The verified primary address, else the public one (`public`) if the list vouches for it.
pub(super) fn chosen_email(emails: &[Email], public: Option<&str>) -> Option<String> {
    let verified = |e: &&Email| e.verified;
    emails
        .iter()
        .filter(verified)
        .find(|e| e.primary)
        .or_else(|| {
            emails
                .iter()
                .filter(verified)
                .find(|e| Some(e.email.as_str()) == public)
        })
        .map(|e| e.email.clone())
}

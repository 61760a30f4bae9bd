//! GitHub: the profile shows only the email a person made public, and says nothing of its
//! verification. The emails endpoint (scope `user:email`) lists every address with its
//! `verified` and `primary` flags; the gateway hands on the verified primary one.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::ProviderConfig;
use super::generic::Generic;
use super::{CallbackParams, Identity, Provider, UpstreamError, UpstreamLogin, http};

pub struct GitHub {
    inner: Generic,
    emails: Option<Url>,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

impl GitHub {
    pub fn new(inner: Generic, config: &ProviderConfig, http: reqwest::Client) -> Self {
        // `{api}/user` → `{api}/user/emails`, on github.com and on GitHub Enterprise alike.
        let emails = config.endpoints.as_ref().and_then(|e| {
            let mut url = e.userinfo.clone();
            url.path_segments_mut().ok()?.pop_if_empty().push("emails");
            Some(url)
        });
        GitHub {
            inner,
            emails,
            http,
        }
    }

    /// The person's addresses; `None` when the token may not read them (no `user:email`).
    async fn emails(&self, access_token: &str) -> Result<Option<Vec<Email>>, UpstreamError> {
        let Some(url) = &self.emails else {
            return Ok(None);
        };
        let request = self
            .http
            .get(url.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json");
        let (status, body) = http::send(self.inner.network(), request).await?;
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            return Ok(None);
        }
        let value = self.inner.answer(status, &body, "emails")?;
        serde_json::from_value(value).map(Some).map_err(|_| {
            self.inner
                .malformed("the emails answer is not a list of addresses")
        })
    }
}

#[async_trait]
impl Provider for GitHub {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        self.inner.authorize_url(login, scopes).await
    }

    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Identity, UpstreamError> {
        let token = self.inner.exchange(login, callback, &[]).await?;
        let access_token = token.access_token.secret();
        let profile = self.inner.profile(access_token, &[]).await?;
        let mut identity = self.inner.identity(&profile)?;
        if let Some(emails) = self.emails(access_token).await? {
            let verified = |e: &&Email| e.verified;
            let chosen = emails
                .iter()
                .filter(verified)
                .find(|e| e.primary)
                .or_else(|| {
                    // The public address, if the list vouches for it.
                    let public = identity.email.as_deref()?;
                    emails.iter().filter(verified).find(|e| e.email == public)
                })
                .map(|e| e.email.clone());
            identity.email_verified = chosen.is_some();
            identity.email = chosen;
        }
        Ok(identity)
    }
}

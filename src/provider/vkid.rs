//! VK ID (id.vk.ru, OAuth 2.1): PKCE is mandatory, and the callback's `device_id` (with the
//! login's `state`) must go back with the code. Everything else is the descriptor's.

use async_trait::async_trait;
use url::Url;

use super::generic::Generic;
use super::{CallbackParams, Identity, Provider, UpstreamError, UpstreamLogin};

pub struct VkId {
    inner: Generic,
}

impl VkId {
    pub fn new(inner: Generic) -> Self {
        VkId { inner }
    }
}

#[async_trait]
impl Provider for VkId {
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
        let device_id = callback
            .extra
            .get("device_id")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| self.inner.malformed("the callback has no device_id"))?;
        let token = self
            .inner
            .exchange(
                login,
                callback,
                &[("device_id", device_id), ("state", login.state)],
            )
            .await?;
        if let Some(state) = token.extra.get("state").and_then(|s| s.as_str()) {
            if state != login.state {
                return Err(self
                    .inner
                    .malformed("the token answer is for another login"));
            }
        }
        let profile = self.inner.profile(token.access_token.secret(), &[]).await?;
        let identity = self.inner.identity(&profile)?;
        // The token names its owner; the profile must be the same person.
        let owner = match token.extra.get("user_id") {
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        if owner.is_some_and(|o| o != identity.provider_user_id) {
            return Err(self.inner.malformed("user_info answered for another user"));
        }
        Ok(identity)
    }
}

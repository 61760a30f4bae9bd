//! VK ID (id.vk.ru, OAuth 2.1): PKCE is mandatory, and the callback's `device_id` (with the
//! login's `state`) must go back with the code. Everything else is the descriptor's.

use std::sync::Arc;

use async_trait::async_trait;

use super::generic::{self, Network, Quirks};
use super::kind::{Kind, Opening};
use super::oauth2::UpstreamToken;
use super::{CallbackParams, Identity, Provider, ProviderConfig, UpstreamError, UpstreamLogin};

pub struct VkIdKind;

impl Kind for VkIdKind {
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        generic::open(config, at, VkId)
    }
}

struct VkId;

#[async_trait]
impl Quirks for VkId {
    fn token_params(
        &self,
        net: &Network,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Vec<(&'static str, String)>, UpstreamError> {
        let device_id = callback
            .extra
            .get("device_id")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| net.malformed("the callback has no device_id"))?;
        Ok(vec![
            ("device_id", device_id.clone()),
            ("state", login.state.to_string()),
        ])
    }

    fn check_token(
        &self,
        net: &Network,
        login: &UpstreamLogin<'_>,
        token: &UpstreamToken,
    ) -> Result<(), UpstreamError> {
        match token.extra.get("state").and_then(|s| s.as_str()) {
            Some(state) if state != login.state => {
                Err(net.malformed("the token answer is for another login"))
            }
            _ => Ok(()),
        }
    }

    /// The token names its owner; the profile must be the same person.
    async fn finish(
        &self,
        net: &Network,
        token: &UpstreamToken,
        identity: Identity,
    ) -> Result<Identity, UpstreamError> {
        let owner = match token.extra.get("user_id") {
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        if owner.is_some_and(|o| o != identity.provider_user_id) {
            return Err(net.malformed("user_info answered for another user"));
        }
        Ok(identity)
    }
}

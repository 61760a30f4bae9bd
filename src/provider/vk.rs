//! VK, classic OAuth: the email arrives in the token response (not from `users.get`),
//! `users.get` needs the API version `v`, and API errors arrive as HTTP 200 `{"error":{…}}`.

use async_trait::async_trait;
use url::Url;

use super::claims::map_claims;
use super::descriptor::ClaimMap;
use super::oauth2::OAuth2Flow;
use super::{CallbackParams, Identity, Provider, ProviderName, UpstreamError, UpstreamLogin, http};
use super::{Endpoints, ProviderConfig};

const DEFAULT_API_VERSION: &str = "5.199";

pub struct Vk {
    name: ProviderName,
    network: String,
    flow: OAuth2Flow,
    users_get: Url,
    api_version: String,
    claims: ClaimMap,
    http: reqwest::Client,
}

impl Vk {
    pub fn new(
        config: &ProviderConfig,
        endpoints: &Endpoints,
        callback: Url,
        http: reqwest::Client,
    ) -> Self {
        Vk {
            name: config.name.clone(),
            network: config.display_name.clone(),
            flow: OAuth2Flow::new(
                config,
                &endpoints.authorize,
                &endpoints.token,
                callback,
                http.clone(),
            ),
            users_get: endpoints.userinfo.clone(),
            api_version: config
                .descriptor
                .api_version
                .clone()
                .unwrap_or_else(|| DEFAULT_API_VERSION.into()),
            claims: config.descriptor.claims.clone(),
            http,
        }
    }

    fn malformed(&self, detail: &str) -> UpstreamError {
        UpstreamError::malformed(&self.network, detail)
    }

    /// `users.get` for the person the token belongs to.
    async fn user(
        &self,
        access_token: &str,
        user_id: &str,
    ) -> Result<serde_json::Value, UpstreamError> {
        let c = &self.claims;
        let fields: Vec<&str> = [&c.picture, &c.gender, &c.birthdate]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let fields = fields.join(",");
        let params = [
            ("user_ids", user_id),
            ("fields", fields.as_str()),
            ("access_token", access_token),
            ("v", self.api_version.as_str()),
        ];
        let request = self.http.post(self.users_get.clone()).form(&params);
        let (_, body) = http::send(&self.network, request).await?;
        let value = http::json(&self.network, &body)?;
        if let Some(err) = value.get("error") {
            let code = err.get("error_code").cloned().unwrap_or_default();
            let msg = err.get("error_msg").and_then(|m| m.as_str()).unwrap_or("");
            return Err(UpstreamError::Refused {
                network: self.network.clone(),
                detail: format!("users.get failed with error {code}: {msg}"),
            });
        }
        value
            .get("response")
            .and_then(|r| r.get(0))
            .filter(|u| u.is_object())
            .cloned()
            .ok_or_else(|| self.malformed("users.get returned no user"))
    }
}

#[async_trait]
impl Provider for Vk {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        Ok(self
            .flow
            .authorize_url(login, scopes, &[("v", &self.api_version)]))
    }

    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Identity, UpstreamError> {
        let token = self.flow.exchange(&callback.code, login, &[]).await?;
        let user_id = match token.extra.get("user_id") {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(self.malformed("the token answer has no user_id")),
        };
        let mut profile = self.user(token.access_token.secret(), &user_id).await?;
        let profile_id = profile.get("id").map(|v| v.to_string());
        if profile_id.as_deref() != Some(user_id.as_str()) {
            return Err(self.malformed("users.get answered for another user"));
        }
        if let (Some(email), Some(obj)) = (token.extra.get("email"), profile.as_object_mut()) {
            obj.insert("email".into(), email.clone());
        }
        map_claims(&self.name, &self.network, &self.claims, &profile)
    }
}

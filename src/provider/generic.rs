//! The `oauth2` protocol: a network described entirely by its descriptor (endpoints, how
//! the token reaches the profile call, where the claims sit in the profile JSON). Yandex,
//! Mail.ru, X and any network an admin adds are this; VK ID, GitHub and Facebook add their
//! quirks on top of it.

use async_trait::async_trait;
use reqwest::StatusCode;
use url::Url;

use super::claims::map_claims;
use super::descriptor::{ClaimMap, HttpMethod, TokenPlacement};
use super::oauth2::{OAuth2Flow, UpstreamToken};
use super::{CallbackParams, Identity, Provider, ProviderName, UpstreamError, UpstreamLogin, http};
use super::{Endpoints, ProviderConfig};

pub struct Generic {
    pub name: ProviderName,
    pub flow: OAuth2Flow,
    pub client_id: String,
    pub claims: ClaimMap,
    userinfo: Url,
    method: HttpMethod,
    placement: TokenPlacement,
    params: Vec<(String, String)>,
    http: reqwest::Client,
}

impl Generic {
    pub fn new(
        config: &ProviderConfig,
        endpoints: &Endpoints,
        callback: Url,
        http: reqwest::Client,
    ) -> Self {
        let d = &config.descriptor;
        Generic {
            name: config.name.clone(),
            flow: OAuth2Flow::new(
                config,
                &endpoints.authorize,
                &endpoints.token,
                callback,
                http.clone(),
            ),
            client_id: config.client_id.clone(),
            claims: d.claims.clone(),
            userinfo: endpoints.userinfo.clone(),
            method: d.userinfo_method,
            placement: d.userinfo_token,
            params: d
                .userinfo_params
                .iter()
                .map(|(k, v)| (k.clone(), v.replace("{client_id}", &config.client_id)))
                .collect(),
            http,
        }
    }

    pub fn network(&self) -> &str {
        self.flow.network()
    }

    pub fn malformed(&self, detail: impl Into<String>) -> UpstreamError {
        UpstreamError::malformed(self.network(), detail)
    }

    pub fn refused(&self, detail: impl Into<String>) -> UpstreamError {
        UpstreamError::refused(self.network(), detail)
    }

    /// The profile call, with `extra` parameters beside the descriptor's.
    pub async fn profile(
        &self,
        access_token: &str,
        extra: &[(&str, &str)],
    ) -> Result<serde_json::Value, UpstreamError> {
        let mut params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().copied())
            .collect();
        if matches!(self.placement, TokenPlacement::Query | TokenPlacement::Form) {
            params.push(("access_token", access_token));
        }
        let mut request = match self.method {
            HttpMethod::Get => self.http.get(self.userinfo.clone()).query(&params),
            HttpMethod::Post if self.placement == TokenPlacement::Form => {
                self.http.post(self.userinfo.clone()).form(&params)
            }
            HttpMethod::Post => self.http.post(self.userinfo.clone()).query(&params),
        };
        request = match self.placement {
            TokenPlacement::Bearer => request.bearer_auth(access_token),
            TokenPlacement::OauthHeader => request.header(
                reqwest::header::AUTHORIZATION,
                format!("OAuth {access_token}"),
            ),
            TokenPlacement::Query | TokenPlacement::Form => request,
        };
        let request = request.header(reqwest::header::ACCEPT, "application/json");
        let (status, body) = http::send(self.network(), request).await?;
        self.answer(status, &body, "profile")
    }

    /// A JSON answer of an API call, with the error (whatever its status) in words.
    pub fn answer(
        &self,
        status: StatusCode,
        body: &[u8],
        call: &str,
    ) -> Result<serde_json::Value, UpstreamError> {
        let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        if let Some(error) = value.as_ref().and_then(http::describe_error) {
            return Err(self.refused(format!("the {call} call failed: {error}")));
        }
        if !status.is_success() {
            let said = value
                .as_ref()
                .and_then(|v| {
                    ["message", "detail", "title"]
                        .iter()
                        .find_map(|k| v.get(*k))
                })
                .and_then(|m| m.as_str())
                .map(|m| format!(": {}", http::clean(m)))
                .unwrap_or_default();
            return Err(self.refused(format!(
                "the {call} call answered HTTP {}{said}",
                status.as_u16()
            )));
        }
        match value {
            Some(v) if v.is_object() || v.is_array() => Ok(v),
            _ => Err(self.malformed(format!("the {call} answer is not JSON"))),
        }
    }

    pub fn identity(&self, profile: &serde_json::Value) -> Result<Identity, UpstreamError> {
        if !profile.is_object() {
            return Err(self.malformed("the profile is not a JSON object"));
        }
        map_claims(&self.name, self.network(), &self.claims, profile)
    }

    pub async fn exchange(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
        extra: &[(&str, &str)],
    ) -> Result<UpstreamToken, UpstreamError> {
        self.flow.exchange(&callback.code, login, extra).await
    }
}

#[async_trait]
impl Provider for Generic {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        Ok(self.flow.authorize_url(login, scopes, &[]))
    }

    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Identity, UpstreamError> {
        let token = self.exchange(login, callback, &[]).await?;
        let profile = self.profile(token.access_token.secret(), &[]).await?;
        self.identity(&profile)
    }
}

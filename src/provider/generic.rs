//! The OAuth 2.0 login every network but the OpenID Connect and demo ones runs: authorize,
//! exchange the code, read the profile, map its claims. A network described entirely by its
//! descriptor (the `oauth2` protocol: Yandex, Mail.ru, X, any an admin adds) runs it as is;
//! OK, VK, VK ID, GitHub and Facebook each add their quirks through the `Quirks` hooks.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use url::Url;

use super::claims::map_claims;
use super::descriptor::{ClaimMap, HttpMethod, TokenPlacement};
use super::http::{self, ApiError};
use super::kind::{Kind, Opening};
use super::oauth2::{OAuth2Flow, UpstreamToken};
use super::{
    Authenticated, CallbackParams, Identity, Launch, LaunchError, Provider, ProviderConfig,
    ProviderName, PublishWidget, SignedApi, UpstreamError, UpstreamLogin, UpstreamTokens,
};

/// What a network does differently from the descriptor-driven flow. Every hook defaults to
/// the plain flow, so a quirk module writes only what its network needs.
#[async_trait]
pub trait Quirks: Send + Sync + 'static {
    /// Authorize parameters beside the descriptor's (VK's API version `v`).
    fn authorize_params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Parameters sent beside the code (VK ID's `device_id`).
    fn token_params(
        &self,
        _net: &Network,
        _login: &UpstreamLogin<'_>,
        _callback: &CallbackParams,
    ) -> Result<Vec<(&'static str, String)>, UpstreamError> {
        Ok(Vec::new())
    }

    /// Checks of the token answer before it is used (VK ID's echoed `state`).
    fn check_token(
        &self,
        _net: &Network,
        _login: &UpstreamLogin<'_>,
        _token: &UpstreamToken,
    ) -> Result<(), UpstreamError> {
        Ok(())
    }

    /// Parameters of the descriptor's profile call beside its own (Facebook's
    /// `appsecret_proof`).
    fn profile_params(&self, _access_token: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The profile call (OK's signed `users.getCurrentUser`, VK's `users.get`); by default
    /// the descriptor's userinfo endpoint.
    async fn profile(
        &self,
        net: &Network,
        token: &UpstreamToken,
    ) -> Result<serde_json::Value, UpstreamError> {
        let access_token = token.access_token.secret();
        let extra = self.profile_params(access_token);
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        net.profile(access_token, &extra).await
    }

    /// The identity once mapped, for what the profile does not say (GitHub's verified
    /// email) or must be checked against the token (VK ID's owner).
    async fn finish(
        &self,
        _net: &Network,
        _token: &UpstreamToken,
        identity: Identity,
    ) -> Result<Identity, UpstreamError> {
        Ok(identity)
    }

    /// Whether the gateway can call the network's API for a person (`call_api`).
    fn has_api(&self) -> bool {
        false
    }

    /// One call of the network's API for a person (OK's signed REST methods, VK's methods).
    async fn call_api(
        &self,
        net: &Network,
        _access_token: &str,
        _method: &str,
        _params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, UpstreamError> {
        Err(net.refused("its API cannot be called through the gateway"))
    }

    /// The network's publish widget (OK's); most have none.
    fn publish_widget(&self) -> Option<&dyn PublishWidget> {
        None
    }

    /// Verifies an app launch inside the network (OK's iframe apps); most launch none.
    async fn verify_launch(
        &self,
        _net: &Network,
        _params: &[(String, String)],
    ) -> Result<Launch, LaunchError> {
        Err(LaunchError::Unsupported)
    }
}

/// The `oauth2` protocol: no quirks.
pub struct Plain;

impl Quirks for Plain {}

impl Kind for Plain {
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        open(config, at, Plain)
    }
}

/// Opens a network on the generic flow with these quirks.
pub fn open(
    config: &ProviderConfig,
    at: &Opening<'_>,
    quirks: impl Quirks,
) -> Result<Arc<dyn Provider>, String> {
    let net = Network::new(config, at.callback.clone(), at.http.clone())?;
    Ok(Arc::new(Generic { net, quirks }))
}

/// How an API call is named when it fails.
#[derive(Clone, Copy)]
pub enum Call<'a> {
    /// An endpoint of the descriptor's kind: "the profile call answered HTTP 401".
    Endpoint(&'a str),
    /// A REST method that answers HTTP 200 whatever happened (OK's and VK's): "users.get
    /// failed with error 5: …".
    Method(&'a str),
}

/// One network app and what the flow needs of it: the code flow, the profile call, the
/// claim map.
pub struct Network {
    pub name: ProviderName,
    pub flow: OAuth2Flow,
    pub client_id: String,
    pub claims: ClaimMap,
    /// The profile endpoint (OK's REST endpoint, VK's `users.get`).
    pub userinfo: Url,
    method: HttpMethod,
    placement: TokenPlacement,
    params: Vec<(String, String)>,
    pub http: reqwest::Client,
}

impl Network {
    pub(super) fn new(
        config: &ProviderConfig,
        callback: Url,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let endpoints = config.endpoints()?;
        let d = &config.descriptor;
        let flow = OAuth2Flow::new(
            config,
            d.token_auth.unwrap_or_default(),
            &endpoints.authorize,
            &endpoints.token,
            callback,
            http.clone(),
        );
        Ok(Network {
            name: config.name.clone(),
            flow,
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
        })
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

    /// The descriptor's profile call, with `extra` parameters beside the descriptor's.
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
        self.call(request, Call::Endpoint("profile")).await
    }

    /// Sends an API call for a site and returns the network's JSON answer as it is, error
    /// objects included: the site reads them as the network's documentation says.
    pub async fn relay(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, UpstreamError> {
        let (_, body) = http::send(self.network(), request).await?;
        http::json_value(self.network(), &body)
    }

    /// Sends an API call and reads its JSON answer.
    pub async fn call(
        &self,
        request: reqwest::RequestBuilder,
        call: Call<'_>,
    ) -> Result<serde_json::Value, UpstreamError> {
        let (status, body) = http::send(self.network(), request).await?;
        self.answer(status, &body, call)
    }

    /// A JSON answer of an API call, with the error (whatever its status) in words.
    pub fn answer(
        &self,
        status: StatusCode,
        body: &[u8],
        call: Call<'_>,
    ) -> Result<serde_json::Value, UpstreamError> {
        let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        if let Some(error) = value.as_ref().and_then(http::parse_error) {
            return Err(self.refused(failed(call, &error)));
        }
        let name = match call {
            Call::Method(_) => {
                return value
                    .filter(|v| v.is_object())
                    .ok_or_else(|| self.malformed("the answer is not a JSON object"));
            }
            Call::Endpoint(name) => name,
        };
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
                "the {name} call answered HTTP {}{said}",
                status.as_u16()
            )));
        }
        match value {
            Some(v) if v.is_object() || v.is_array() => Ok(v),
            _ => Err(self.malformed(format!("the {name} answer is not JSON"))),
        }
    }

    pub fn identity(&self, profile: &serde_json::Value) -> Result<Identity, UpstreamError> {
        if !profile.is_object() {
            return Err(self.malformed("the profile is not a JSON object"));
        }
        map_claims(&self.name, self.network(), &self.claims, profile)
    }
}

/// A failed call in words, in the shape its network's users know.
fn failed(call: Call<'_>, error: &ApiError) -> String {
    match call {
        Call::Endpoint(name) => format!("the {name} call failed: {error}"),
        Call::Method(method) => format!(
            "{method} failed with {}: {}",
            error.error,
            error.detail.as_deref().unwrap_or_default()
        ),
    }
}

/// A site's parameters for an API call as the networks take them (text as is, anything else
/// as JSON text), without those the gateway sets itself.
pub fn api_params(
    params: &serde_json::Map<String, serde_json::Value>,
    reserved: &[&str],
) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| !reserved.contains(&k.as_str()))
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k.clone(), s.clone()),
            other => (k.clone(), other.to_string()),
        })
        .collect()
}

/// A network on the generic flow.
struct Generic<Q> {
    net: Network,
    quirks: Q,
}

#[async_trait]
impl<Q: Quirks> Provider for Generic<Q> {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        let extra = self.quirks.authorize_params();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(self.net.flow.authorize_url(login, scopes, &extra))
    }

    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Authenticated, UpstreamError> {
        let extra = self.quirks.token_params(&self.net, login, callback)?;
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let token = self
            .net
            .flow
            .exchange(&callback.code, login, &extra)
            .await?;
        self.quirks.check_token(&self.net, login, &token)?;
        let profile = self.quirks.profile(&self.net, &token).await?;
        let identity = self.net.identity(&profile)?;
        let identity = self.quirks.finish(&self.net, &token, identity).await?;
        Ok(Authenticated {
            identity,
            tokens: Some(UpstreamTokens::from_answer(&token)),
        })
    }

    async fn refresh(&self, refresh_token: &str) -> Result<UpstreamTokens, UpstreamError> {
        let token = self.net.flow.refresh(refresh_token).await?;
        Ok(UpstreamTokens::from_answer(&token))
    }

    fn signed_api(&self) -> Option<&dyn SignedApi> {
        self.quirks.has_api().then_some(self as &dyn SignedApi)
    }

    async fn verify_launch(&self, params: &[(String, String)]) -> Result<Launch, LaunchError> {
        self.quirks.verify_launch(&self.net, params).await
    }

    fn publish_widget(&self) -> Option<&dyn PublishWidget> {
        self.quirks.publish_widget()
    }
}

#[async_trait]
impl<Q: Quirks> SignedApi for Generic<Q> {
    async fn call(
        &self,
        access_token: &str,
        method: &str,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, UpstreamError> {
        self.quirks
            .call_api(&self.net, access_token, method, params)
            .await
    }
}

//! The OAuth 2.0 authorization-code flow every network shares, on the `oauth2` crate:
//! building the authorize URL and exchanging the code. Lenient where real networks are
//! (OK's string `expires_in`, `token_type=session`, errors sent with HTTP 200).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use super::ProviderConfig;
use super::descriptor::{ForceLogin, TokenAuth};
use super::{UpstreamError, UpstreamLogin, http};

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    UpstreamToken,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A token endpoint's answer, read leniently. Fields beyond the standard ones (VK's
/// `user_id` and `email`) stay in `extra`. Its `Debug` shows no token and only the names of
/// the extra fields (an `id_token`, an email).
#[derive(Serialize, Deserialize)]
pub struct UpstreamToken {
    pub access_token: AccessToken,
    #[serde(default = "bearer")]
    pub token_type: BasicTokenType,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_in: Option<u64>,
    pub refresh_token: Option<RefreshToken>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for UpstreamToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamToken")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Token requests go through the shared client and `http::send` (timeouts, size limit).
struct Transport<'a>(&'a OAuth2Flow);

impl<'c> oauth2::AsyncHttpClient<'c> for Transport<'_> {
    type Error = UpstreamError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, UpstreamError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.0.send(request))
    }
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

/// A token endpoint's answer as the `oauth2` crate reads it. An error object sent with
/// HTTP 200 (OK does so) becomes a 400, so the crate reads it as the error it is.
fn token_answer(mut status: reqwest::StatusCode, body: Vec<u8>) -> oauth2::HttpResponse {
    if status.is_success() {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
            if http::describe_error(&v).is_some() {
                status = reqwest::StatusCode::BAD_REQUEST;
            }
        }
    }
    let mut response = oauth2::HttpResponse::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        oauth2::http::header::CONTENT_TYPE,
        oauth2::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Str(String),
        // `3599.0`, `-1`: a lifetime the gateway does not use is no reason to fail a login.
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::Num(n)) => Some(n),
        Some(N::Str(s)) => s.trim().parse().ok(),
        Some(N::Other(_)) | None => None,
    })
}

impl oauth2::TokenResponse for UpstreamToken {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

/// The code flow against one network app.
pub struct OAuth2Flow {
    network: String,
    client: OAuthClient,
    scope_separator: String,
    /// The descriptor's fixed authorize parameters (VK's `display`, VK ID's `provider`).
    authorize_params: Vec<(String, String)>,
    /// The parameter that asks the network for a fresh login, if it has one.
    force_login: Option<ForceLogin>,
    /// Whether the network takes `max_age`.
    max_age: bool,
    http: reqwest::Client,
}

impl OAuth2Flow {
    /// `auth`: the descriptor's `token_auth`, or what an OpenID Connect network offers.
    pub fn new(
        config: &ProviderConfig,
        auth: TokenAuth,
        authorize: &Url,
        token: &Url,
        callback: Url,
        http: reqwest::Client,
    ) -> Self {
        let mut client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(authorize.clone()))
            .set_token_uri(TokenUrl::from_url(token.clone()))
            .set_redirect_uri(RedirectUrl::from_url(callback))
            .set_auth_type(match auth {
                TokenAuth::ClientSecretBasic => AuthType::BasicAuth,
                TokenAuth::ClientSecretPost | TokenAuth::None => AuthType::RequestBody,
            });
        // A public client sends only its id; the secret goes nowhere it is not needed.
        if let (Some(secret), true) = (&config.client_secret, auth != TokenAuth::None) {
            client =
                client.set_client_secret(ClientSecret::new(secret.expose_secret().to_string()));
        }
        OAuth2Flow {
            network: config.display_name.clone(),
            client,
            scope_separator: config.descriptor.scope_separator.clone(),
            authorize_params: config
                .descriptor
                .authorize_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            force_login: config.descriptor.force_login.clone(),
            max_age: config.descriptor.max_age,
            http,
        }
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    pub fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
        extra: &[(&str, &str)],
    ) -> Url {
        let state = login.state.to_string();
        let mut auth = self.client.authorize_url(move || CsrfToken::new(state));
        if !scopes.is_empty() {
            // One joined scope: networks differ in the separator (OK `;`, VK `,`).
            auth = auth.add_scope(Scope::new(scopes.join(&self.scope_separator)));
        }
        let freshness = login.freshness;
        // A network told nothing of the age limit can honour it only by a fresh login.
        let force = (freshness.fresh || (freshness.max_age.is_some() && !self.max_age))
            .then_some(self.force_login.as_ref())
            .flatten();
        for (k, v) in &self.authorize_params {
            // A fixed `prompt=consent`, say, gives way to the forced login's `prompt=login`.
            if force.is_none_or(|f| f.param != *k) {
                auth = auth.add_extra_param(k.as_str(), v.as_str());
            }
        }
        if let Some(f) = force {
            auth = auth.add_extra_param(f.param.as_str(), f.value.as_str());
        }
        if let (true, Some(max_age)) = (self.max_age, freshness.max_age) {
            auth = auth.add_extra_param("max_age", max_age.to_string());
        }
        if let Some(verifier) = login.pkce_verifier {
            auth = auth.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(
                &PkceCodeVerifier::new(verifier.to_string()),
            ));
        }
        for (k, v) in extra {
            auth = auth.add_extra_param(*k, *v);
        }
        auth.url().0
    }

    /// Exchanges the code; `extra` are parameters some networks want beside it.
    pub async fn exchange(
        &self,
        code: &str,
        login: &UpstreamLogin<'_>,
        extra: &[(&str, &str)],
    ) -> Result<UpstreamToken, UpstreamError> {
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()));
        if let Some(v) = login.pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v.to_string()));
        }
        for (k, v) in extra {
            request = request.add_extra_param(k.to_string(), v.to_string());
        }
        request
            .request_async(&Transport(self))
            .await
            .map_err(|e| self.request_error(e))
    }

    /// A token request's failure in words.
    fn request_error(
        &self,
        e: RequestTokenError<UpstreamError, BasicErrorResponse>,
    ) -> UpstreamError {
        match e {
            RequestTokenError::Request(e) => e,
            RequestTokenError::ServerResponse(e) => self.refused(match e.error_description() {
                Some(d) => format!("{} ({})", http::clean(e.error().as_ref()), http::clean(d)),
                None => http::clean(e.error().as_ref()),
            }),
            RequestTokenError::Parse(_, body) => self.explain_body(&body),
            RequestTokenError::Other(detail) => UpstreamError::Malformed {
                network: self.network.clone(),
                detail,
            },
        }
    }

    /// The refresh_token grant (RFC 6749 §6), read as leniently as the code's.
    pub async fn refresh(&self, refresh_token: &str) -> Result<UpstreamToken, UpstreamError> {
        let refresh_token = RefreshToken::new(refresh_token.to_string());
        self.client
            .exchange_refresh_token(&refresh_token)
            .request_async(&Transport(self))
            .await
            .map_err(|e| self.request_error(e))
    }

    /// Runs one token request through the shared client.
    async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, UpstreamError> {
        let (parts, body) = req.into_parts();
        let builder = self
            .http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body);
        let (status, body) = http::send(&self.network, builder).await?;
        Ok(token_answer(status, body))
    }

    /// The code exchange with `body` as the network's answer, read as a real one is: for
    /// the fuzz targets, which have no network to ask.
    pub(super) fn exchange_answered(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
    ) -> Result<UpstreamToken, UpstreamError> {
        let answer = |_| Ok::<_, UpstreamError>(token_answer(status, body.to_vec()));
        self.client
            .exchange_code(AuthorizationCode::new("code".into()))
            .request(&answer)
            .map_err(|e| self.request_error(e))
    }

    fn refused(&self, detail: String) -> UpstreamError {
        UpstreamError::refused(&self.network, detail)
    }

    /// Words for an answer that is not a token: a network-specific error object, or garbage.
    fn explain_body(&self, body: &[u8]) -> UpstreamError {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        if let Some(e) = http::describe_error(&v) {
            return self.refused(e);
        }
        UpstreamError::Malformed {
            network: self.network.clone(),
            detail: "the token answer is not valid JSON with an access_token".into(),
        }
    }
}

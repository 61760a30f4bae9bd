//! The `oidc` protocol: any OpenID Connect network (Google, Microsoft Entra ID, GitLab, or
//! one an admin names by its issuer). Endpoints come from the discovery document; the
//! id_token is verified against the network's JWKS (signature, `iss`, `aud`, `azp`,
//! `nonce`, expiry) before any of its claims is believed.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

use super::claims::map_claims;
use super::descriptor::ClaimMap;
use super::oauth2::OAuth2Flow;
use super::settings::is_secure_endpoint;
use super::{
    Authenticated, CallbackParams, Provider, ProviderConfig, ProviderName, UpstreamError,
    UpstreamLogin, UpstreamTokens, http,
};

mod options;

pub use options::OidcKind;

/// How long a discovery document is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a stale document still serves when the network cannot be reached.
const DISCOVERY_STALE: Duration = Duration::from_secs(24 * 3600);
/// Clock skew allowed on `exp`.
const LEEWAY: u64 = 60;
/// Signature algorithms an id_token may use: public-key ones only, never `none` or an HMAC
/// keyed with the client secret.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Microsoft's multi-tenant documents name the issuer with this placeholder for the
/// person's tenant (the token's `tid`).
const TENANT_PLACEHOLDER: &str = "{tenantid}";

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    userinfo_endpoint: Option<Url>,
    jwks_uri: Url,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

pub(in crate::provider) struct Discovered {
    flow: OAuth2Flow,
    issuer: String,
    userinfo: Option<Url>,
    jwks_uri: Url,
    fetched: Instant,
}

pub struct Oidc {
    name: ProviderName,
    network: String,
    /// Where the discovery document is: `{issuer}/.well-known/openid-configuration`.
    issuer: String,
    issuer_from_discovery: bool,
    client_id: String,
    claims: ClaimMap,
    config: ProviderConfig,
    callback: Url,
    http: reqwest::Client,
    discovered: RwLock<Option<Arc<Discovered>>>,
    keys: RwLock<Arc<Keys>>,
    /// One discovery or JWKS fetch at a time; holds when and why the last discovery failed.
    fetching: tokio::sync::Mutex<Option<(Instant, String)>>,
}

struct Keys {
    set: JwkSet,
    /// `None`: never fetched.
    fetched: Option<Instant>,
}

impl Oidc {
    pub fn new(
        config: &ProviderConfig,
        issuer: &str,
        callback: Url,
        http: reqwest::Client,
    ) -> Self {
        Oidc {
            name: config.name.clone(),
            network: config.display_name.clone(),
            issuer: issuer.trim_end_matches('/').to_string(),
            issuer_from_discovery: config.descriptor.issuer_from_discovery,
            client_id: config.client_id.clone(),
            claims: config.descriptor.claims.clone(),
            config: config.clone(),
            callback,
            http,
            discovered: RwLock::new(None),
            keys: RwLock::new(Arc::new(Keys {
                set: JwkSet { keys: Vec::new() },
                fetched: None,
            })),
            fetching: tokio::sync::Mutex::new(None),
        }
    }

    fn malformed(&self, detail: impl Into<String>) -> UpstreamError {
        UpstreamError::malformed(&self.network, detail)
    }

    fn refused(&self, detail: impl Into<String>) -> UpstreamError {
        UpstreamError::refused(&self.network, detail)
    }

    fn cached(&self) -> Option<Arc<Discovered>> {
        self.discovered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The discovery document, fetched at first use and again after an hour. A stale one
    /// keeps serving for a day while the network cannot be reached.
    async fn discovery(&self) -> Result<Arc<Discovered>, UpstreamError> {
        let fresh = |d: &Arc<Discovered>| d.fetched.elapsed() < DISCOVERY_TTL;
        if let Some(d) = self.cached().filter(fresh) {
            return Ok(d);
        }
        let waiting_since = Instant::now();
        let mut last_failure = self.fetching.lock().await;
        if let Some(d) = self.cached().filter(fresh) {
            return Ok(d);
        }
        let stale = self
            .cached()
            .filter(|d| d.fetched.elapsed() < DISCOVERY_STALE);
        // Logins that queued behind a fetch that failed share its answer instead of each
        // waiting out another timeout; later ones try again.
        if let Some((at, detail)) = last_failure.as_ref() {
            if *at >= waiting_since {
                return stale.ok_or_else(|| UpstreamError::Unavailable {
                    network: self.network.clone(),
                    detail: detail.clone(),
                });
            }
        }
        match self.fetch_discovery().await {
            Ok(d) => {
                *last_failure = None;
                let d = Arc::new(d);
                *self.discovered.write().unwrap_or_else(|e| e.into_inner()) = Some(d.clone());
                Ok(d)
            }
            Err(e) => {
                *last_failure = Some((Instant::now(), e.detail().to_string()));
                match stale {
                    Some(stale) => {
                        tracing::warn!(provider = %self.name, error = %e, "using the last discovery document");
                        Ok(stale)
                    }
                    None => Err(e),
                }
            }
        }
    }

    async fn fetch_discovery(&self) -> Result<Discovered, UpstreamError> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let (status, body) = http::send(&self.network, self.http.get(&url)).await?;
        self.read_discovery(status, &body)
    }

    /// The discovery document's answer, checked: the issuer it names, https endpoints.
    pub(in crate::provider) fn read_discovery(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
    ) -> Result<Discovered, UpstreamError> {
        if !status.is_success() {
            return Err(self.refused(format!(
                "its discovery document answered HTTP {}",
                status.as_u16()
            )));
        }
        let meta: Metadata = serde_json::from_slice(body)
            .map_err(|e| self.malformed(format!("its discovery document is invalid: {e}")))?;
        if meta.issuer.trim_end_matches('/') != self.issuer && !self.issuer_from_discovery {
            return Err(self.malformed(format!(
                "its discovery document names the issuer {:?}, not {:?}",
                meta.issuer, self.issuer
            )));
        }
        // http only on this machine, and only for an issuer that is itself on this machine:
        // a remote document must not send secrets to a local service in clear text.
        let local_issuer = Url::parse(&self.issuer).is_ok_and(|u| u.scheme() == "http");
        for (what, url) in [
            ("authorization_endpoint", Some(&meta.authorization_endpoint)),
            ("token_endpoint", Some(&meta.token_endpoint)),
            ("userinfo_endpoint", meta.userinfo_endpoint.as_ref()),
            ("jwks_uri", Some(&meta.jwks_uri)),
        ] {
            let safe = |u: &Url| u.scheme() == "https" || (local_issuer && is_secure_endpoint(u));
            if url.is_some_and(|u| !safe(u)) {
                return Err(self.malformed(format!("its {what} is not https")));
            }
        }
        let auth = options::token_auth(
            self.config.descriptor.token_auth,
            meta.token_endpoint_auth_methods_supported.as_deref(),
        );
        let flow = OAuth2Flow::new(
            &self.config,
            auth,
            &meta.authorization_endpoint,
            &meta.token_endpoint,
            self.callback.clone(),
            self.http.clone(),
        );
        Ok(Discovered {
            flow,
            issuer: meta.issuer,
            userinfo: meta.userinfo_endpoint,
            jwks_uri: meta.jwks_uri,
            fetched: Instant::now(),
        })
    }

    /// The key that signed a token: from the cached JWKS, or from a fresh copy when the
    /// network has rotated its keys since.
    async fn key(&self, d: &Discovered, kid: Option<&str>) -> Result<Jwk, UpstreamError> {
        let find = |set: &JwkSet| -> Option<Jwk> {
            match kid {
                Some(kid) => set.find(kid).cloned(),
                None if set.keys.len() == 1 => set.keys.first().cloned(),
                None => None,
            }
        };
        // Keys are re-read after the discovery TTL, so a key the network withdrew stops
        // being trusted.
        let usable = |keys: &Keys| keys.fetched.is_some_and(|t| t.elapsed() < DISCOVERY_TTL);
        let cached = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(k) = find(&cached.set).filter(|_| usable(&cached)) {
            return Ok(k);
        }
        let _one = self.fetching.lock().await;
        // Another login may have fetched them while this one waited.
        let cached = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(k) = find(&cached.set).filter(|_| usable(&cached)) {
            return Ok(k);
        }
        let (status, body) = http::send(&self.network, self.http.get(d.jwks_uri.clone())).await?;
        let fetched = Arc::new(Keys {
            set: self.read_jwks(status, &body)?,
            fetched: Some(Instant::now()),
        });
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fetched.clone();
        find(&fetched.set)
            .ok_or_else(|| self.refused("the id_token is signed with a key it does not publish"))
    }

    /// The JWKS's answer: the keys this gateway can use (others are skipped, not fatal).
    pub(in crate::provider) fn read_jwks(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
    ) -> Result<JwkSet, UpstreamError> {
        if !status.is_success() {
            return Err(self.refused(format!("its JWKS answered HTTP {}", status.as_u16())));
        }
        let raw: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| self.malformed("its JWKS is not JSON"))?;
        let keys = raw
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| self.malformed("its JWKS has no keys"))?
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect();
        Ok(JwkSet { keys })
    }

    /// Verifies the id_token and returns its claims.
    async fn verify(
        &self,
        d: &Discovered,
        id_token: &str,
        nonce: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        let header = self.id_token_header(id_token)?;
        let jwk = self.key(d, header.kid.as_deref()).await?;
        let claims = self.decode_id_token(id_token, &jwk, header.alg)?;
        self.check_claims(&d.issuer, claims, nonce)
    }

    /// The id_token's header, its algorithm one of those allowed.
    pub(in crate::provider) fn id_token_header(
        &self,
        id_token: &str,
    ) -> Result<jsonwebtoken::Header, UpstreamError> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|_| self.malformed("the id_token is not a signed JWT"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(self.refused(format!(
                "the id_token is signed with {:?}, which is not allowed",
                header.alg
            )));
        }
        Ok(header)
    }

    /// The id_token's claims, its signature checked with `jwk`, its `aud` and expiry too.
    pub(in crate::provider) fn decode_id_token(
        &self,
        id_token: &str,
        jwk: &Jwk,
        alg: Algorithm,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        if !key_fits(jwk, alg) {
            return Err(self.refused("the id_token's algorithm does not match its key"));
        }
        let key =
            DecodingKey::from_jwk(jwk).map_err(|_| self.malformed("its JWKS key is unusable"))?;
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY;
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            id_token,
            &key,
            &validation,
        )
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            match e.kind() {
                InvalidSignature => self.refused("the id_token's signature is invalid"),
                ExpiredSignature => self.refused("the id_token has expired"),
                InvalidAudience => self.refused("the id_token is for another client"),
                MissingRequiredClaim(c) => self.malformed(format!("the id_token has no `{c}`")),
                _ => self.malformed("the id_token cannot be read"),
            }
        })?;
        Ok(data.claims)
    }

    /// The claims of a signed id_token, checked: issued by `issuer` (the discovery
    /// document's), to this client, for this login's `nonce`.
    pub(in crate::provider) fn check_claims(
        &self,
        issuer: &str,
        claims: serde_json::Map<String, serde_json::Value>,
        nonce: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str());
        let expected_iss = if issuer.contains(TENANT_PLACEHOLDER) {
            let tid = text("tid").ok_or_else(|| self.malformed("the id_token has no `tid`"))?;
            issuer.replace(TENANT_PLACEHOLDER, tid)
        } else {
            issuer.to_string()
        };
        if text("iss") != Some(expected_iss.as_str()) {
            return Err(self.refused("the id_token is from another issuer"));
        }
        let audiences = claims
            .get("aud")
            .and_then(|a| a.as_array())
            .map_or(1, Vec::len);
        match text("azp") {
            Some(azp) if azp != self.client_id => {
                return Err(self.refused("the id_token was issued to another client"));
            }
            None if audiences > 1 => {
                return Err(self.refused("the id_token has several audiences and no `azp`"));
            }
            _ => {}
        }
        if text("nonce") != Some(nonce) {
            return Err(self.refused("the id_token's nonce is not this login's"));
        }
        Ok(claims)
    }

    /// The userinfo endpoint's claims, which must be about the id_token's subject.
    async fn userinfo(
        &self,
        url: &Url,
        access_token: &str,
        sub: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        let request = self
            .http
            .get(url.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json");
        let (status, body) = http::send(&self.network, request).await?;
        self.read_userinfo(status, &body, sub)
    }

    /// The userinfo endpoint's answer, which must be about `sub`.
    pub(in crate::provider) fn read_userinfo(
        &self,
        status: reqwest::StatusCode,
        body: &[u8],
        sub: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, UpstreamError> {
        if !status.is_success() {
            // The verified id_token suffices; userinfo only adds to it (Microsoft's takes
            // only Graph tokens, which an extra scope can prevent).
            tracing::warn!(provider = %self.name, status = status.as_u16(), "userinfo failed; using the id_token's claims alone");
            return Ok(serde_json::Map::new());
        }
        let value = http::json(&self.network, body)?;
        if value.get("sub").and_then(|s| s.as_str()) != Some(sub) {
            return Err(self.refused("userinfo answered for another subject"));
        }
        match value {
            serde_json::Value::Object(map) => Ok(map),
            _ => Err(self.malformed("userinfo is not a JSON object")),
        }
    }
}

/// Whether a JWKS key may verify a token signed with `alg`: a key of that family, for
/// signing, and naming that algorithm if it names one.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let family_fits = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        _ => false,
    };
    let alg_fits = jwk
        .common
        .key_algorithm
        .is_none_or(|a| Algorithm::try_from(a).is_ok_and(|a| a == alg));
    let for_signing = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
    family_fits && alg_fits && for_signing
}

#[async_trait]
impl Provider for Oidc {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        let d = self.discovery().await?;
        Ok(d.flow
            .authorize_url(login, scopes, &[("nonce", login.nonce)]))
    }

    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Authenticated, UpstreamError> {
        let d = self.discovery().await?;
        let token = d.flow.exchange(&callback.code, login, &[]).await?;
        let id_token = token
            .extra
            .get("id_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| self.malformed("the token answer has no id_token"))?;
        let mut claims = self.verify(&d, id_token, login.nonce).await?;
        if let Some(url) = &d.userinfo {
            let sub = claims
                .get("sub")
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .to_string();
            let more = self
                .userinfo(url, token.access_token.secret(), &sub)
                .await?;
            // The signed id_token wins; userinfo only fills in what it lacks.
            for (k, v) in more {
                claims.entry(k).or_insert(v);
            }
        }
        let identity = map_claims(
            &self.name,
            &self.network,
            &self.claims,
            &serde_json::Value::Object(claims),
        )?;
        Ok(Authenticated {
            identity,
            tokens: Some(UpstreamTokens::from_answer(&token)),
        })
    }
}

#[cfg(test)]
mod tests;

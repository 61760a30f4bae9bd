//! OK.ru (Odnoklassniki): the request signature `sig`, and a login that reads the person
//! through `users.getCurrentUser` on the REST endpoint, where errors arrive as HTTP 200
//! with `error_code`.

use async_trait::async_trait;
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::claims::map_claims;
use super::descriptor::ClaimMap;
use super::oauth2::OAuth2Flow;
use super::{CallbackParams, Identity, Provider, ProviderName, UpstreamError, UpstreamLogin, http};
use super::{Endpoints, ProviderConfig};

/// `session_secret_key = md5(access_token + application_secret_key)`, lowercase hex.
pub fn session_secret_key(access_token: &str, secret_key: &str) -> String {
    md5_hex(&[access_token.as_bytes(), secret_key.as_bytes()])
}

/// OK's `sig`: md5 over the parameters sorted by name and joined as `name=value` with no
/// separator (raw UTF-8 values), followed by the secret. `sig` and `access_token` are never
/// part of it. The secret is the session secret key in a user's session, else the app's
/// secret key.
pub fn sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, secret: &str) -> String {
    let mut params: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, _)| *k != "sig" && *k != "access_token" && *k != "session_key")
        .collect();
    params.sort_unstable();
    let mut hasher = Md5::new();
    for (k, v) in params {
        hasher.update(k.as_bytes());
        hasher.update(b"=");
        hasher.update(v.as_bytes());
    }
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for p in parts {
        hasher.update(p);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Odnoklassniki {
    name: ProviderName,
    network: String,
    flow: OAuth2Flow,
    api_url: Url,
    public_key: String,
    secret_key: SecretString,
    claims: ClaimMap,
    http: reqwest::Client,
}

impl Odnoklassniki {
    pub fn new(
        config: &ProviderConfig,
        endpoints: &Endpoints,
        callback: Url,
        http: reqwest::Client,
    ) -> Self {
        Odnoklassniki {
            name: config.name.clone(),
            network: config.display_name.clone(),
            flow: OAuth2Flow::new(
                config,
                &endpoints.authorize,
                &endpoints.token,
                callback,
                http.clone(),
            ),
            api_url: endpoints.userinfo.clone(),
            public_key: config.public_key.clone().unwrap_or_default(),
            secret_key: config
                .client_secret
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            claims: config.descriptor.claims.clone(),
            http,
        }
    }

    /// The profile fields to ask for: exactly those the claim map reads.
    fn fields(&self) -> String {
        let c = &self.claims;
        let mut fields = vec![c.provider_user_id.as_str()];
        for f in [
            &c.name,
            &c.given_name,
            &c.family_name,
            &c.picture,
            &c.locale,
            &c.gender,
            &c.birthdate,
            &c.email,
        ]
        .into_iter()
        .flatten()
        {
            fields.push(f);
        }
        fields.join(",")
    }

    /// A signed REST call in the person's session.
    async fn call(
        &self,
        access_token: &str,
        method: &str,
    ) -> Result<serde_json::Value, UpstreamError> {
        let fields = self.fields();
        let mut params = vec![
            ("application_key", self.public_key.as_str()),
            ("fields", fields.as_str()),
            ("format", "json"),
            ("method", method),
        ];
        let secret = session_secret_key(access_token, self.secret_key.expose_secret());
        let sig = sign(params.iter().copied(), &secret);
        params.push(("sig", &sig));
        params.push(("access_token", access_token));
        // POST keeps the token out of URLs (and out of any proxy's access log).
        let request = self.http.post(self.api_url.clone()).form(&params);
        let (_, body) = http::send(&self.network, request).await?;
        let value = http::json(&self.network, &body)?;
        if let Some(code) = value.get("error_code") {
            let msg = value
                .get("error_msg")
                .and_then(|m| m.as_str())
                .unwrap_or("");
            return Err(UpstreamError::Refused {
                network: self.network.clone(),
                detail: format!("{method} failed with error {code}: {msg}"),
            });
        }
        Ok(value)
    }
}

#[async_trait]
impl Provider for Odnoklassniki {
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
        let token = self.flow.exchange(&callback.code, login, &[]).await?;
        let profile = self
            .call(token.access_token.secret(), "users.getCurrentUser")
            .await?;
        map_claims(&self.name, &self.network, &self.claims, &profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_published_example() {
        let secret = session_secret_key(
            "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7",
            "ABC123DEF456GHI789JKL123",
        );
        assert_eq!(secret, "b1a2b89707a94624c43afae67d59274c");
        let sig = sign(
            [
                ("method", "events.get"),
                ("application_key", "ABCDEFGHIGKLMNOPK"),
                ("format", "json"),
            ],
            &secret,
        );
        assert_eq!(sig, "232c8eb921951c4dba9b72606f9ddb4c");
    }

    #[test]
    fn signature_matches_get_current_user_example_and_ignores_token_and_sig() {
        let token = "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR";
        let secret = session_secret_key(token, "0F1E2D3C4B5A69788796A5B4");
        assert_eq!(secret, "7c9268eec7eac7d9710a8f5381b63ebc");
        let sig = sign(
            [
                ("application_key", "CBAFJIICABABABABA"),
                ("fields", "uid,name,email,pic190x190"),
                ("format", "json"),
                ("method", "users.getCurrentUser"),
                ("access_token", token),
                ("sig", "anything"),
            ],
            &secret,
        );
        assert_eq!(sig, "b283ab160a5bfd87f3cef1ceec114b75");
    }

    #[test]
    fn signature_uses_raw_utf8_values() {
        let secret = session_secret_key(
            "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR",
            "0F1E2D3C4B5A69788796A5B4",
        );
        let sig = sign(
            [
                ("type", "USER"),
                ("method", "mediatopic.post"),
                ("format", "json"),
                (
                    "attachment",
                    r#"{"media":[{"type":"text","text":"Привет, мир"}]}"#,
                ),
                ("application_key", "CBAFJIICABABABABA"),
            ],
            &secret,
        );
        assert_eq!(sig, "1ac9865ec5525d3eec875173b38f4c5e");
    }
}

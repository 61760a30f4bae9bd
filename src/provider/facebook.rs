//! Facebook: every Graph API call from a server carries `appsecret_proof`, the HMAC-SHA256
//! of the access token keyed with the app secret, so a stolen token is useless elsewhere.

use async_trait::async_trait;
use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::ProviderConfig;
use super::generic::Generic;
use super::{CallbackParams, Identity, Provider, UpstreamError, UpstreamLogin};

pub struct Facebook {
    inner: Generic,
    app_secret: SecretString,
}

impl Facebook {
    pub fn new(inner: Generic, config: &ProviderConfig) -> Self {
        Facebook {
            inner,
            app_secret: config
                .client_secret
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
        }
    }
}

/// `appsecret_proof = hex(HMAC-SHA256(key = app_secret, message = access_token))`.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    hmac::sign(&key, access_token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[async_trait]
impl Provider for Facebook {
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
        let proof = appsecret_proof(self.app_secret.expose_secret(), access_token);
        let profile = self
            .inner
            .profile(access_token, &[("appsecret_proof", &proof)])
            .await?;
        self.inner.identity(&profile)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn appsecret_proof_is_hmac_sha256_hex() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            super::appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

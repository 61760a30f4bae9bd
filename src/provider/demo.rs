//! The `demo` kind: a stand-in network served by the gateway itself, so the shipped config
//! runs a whole login with no real credentials. The person types any name and email.
//! For trying out only: anyone can claim any identity.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{CallbackParams, Identity, Provider, ProviderName, UpstreamError, UpstreamLogin};
use crate::config::Issuer;
use crate::primitives::{hash_secret, random_token};
use crate::store::{self, Store, Ttl};

const CODE_TTL: Ttl = Ttl::For(Duration::from_secs(120));

#[derive(Serialize, Deserialize)]
struct DemoUser {
    name: String,
    email: Option<String>,
}

pub struct Demo {
    name: ProviderName,
    issuer: Issuer,
    store: Arc<dyn Store>,
}

impl Demo {
    pub fn new(name: ProviderName, issuer: &Issuer, store: Arc<dyn Store>) -> Self {
        Demo {
            name,
            issuer: issuer.clone(),
            store,
        }
    }

    fn unavailable(&self, e: impl ToString) -> UpstreamError {
        UpstreamError::Unavailable {
            network: "demo".into(),
            detail: e.to_string(),
        }
    }
}

/// The demo "network" accepted the typed identity: returns where to send the browser
/// (the gateway's own callback, with a code and the state).
pub async fn complete(
    store: &dyn Store,
    issuer: &Issuer,
    provider: &ProviderName,
    state: &str,
    name: &str,
    email: &str,
) -> Result<String, store::StoreError> {
    let code = random_token();
    let user = DemoUser {
        name: name.trim().chars().take(100).collect(),
        email: Some(email.trim().to_lowercase()).filter(|e| e.contains('@') && e.len() <= 254),
    };
    store::put_json(
        store,
        &format!("demo:{}", hash_secret(&code)),
        &user,
        CODE_TTL,
    )
    .await?;
    let mut url = Url::parse(&issuer.url(&format!("/callback/{provider}")))
        .map_err(|e| store::StoreError::Corrupt(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    Ok(url.to_string())
}

#[async_trait]
impl Provider for Demo {
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        _scopes: &[String],
    ) -> Result<Url, UpstreamError> {
        let mut url = Url::parse(&self.issuer.url(&format!("/demo/{}", self.name)))
            .map_err(|e| self.unavailable(e))?;
        url.query_pairs_mut().append_pair("state", login.state);
        Ok(url)
    }

    async fn identify(
        &self,
        _login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Identity, UpstreamError> {
        let key = format!("demo:{}", hash_secret(&callback.code));
        let user: DemoUser = store::take_json(self.store.as_ref(), &key)
            .await
            .map_err(|e| self.unavailable(e))?
            .ok_or_else(|| UpstreamError::Refused {
                network: "demo".into(),
                detail: "unknown or expired code".into(),
            })?;
        // The same typed email (or name) is the same demo account.
        let seed = user
            .email
            .clone()
            .unwrap_or_else(|| user.name.to_lowercase());
        let name = Some(user.name).filter(|n| !n.is_empty());
        Ok(Identity {
            provider: self.name.clone(),
            provider_user_id: hash_secret(&seed)[..16].to_string(),
            name,
            given_name: None,
            family_name: None,
            picture: None,
            locale: None,
            gender: None,
            birthdate: None,
            email: user.email,
            email_verified: false,
        })
    }
}

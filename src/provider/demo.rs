//! The `demo` kind: a stand-in network served by the gateway itself, so the shipped config
//! runs a whole login with no real credentials. The person types any name and email.
//! For trying out only: anyone can claim any identity.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use url::Url;

use super::kind::{Kind, KindOptions, KindTable, Opening, OptionError};
use super::{
    Authenticated, CallbackParams, Identity, Provider, ProviderConfig, ProviderName, UpstreamError,
    UpstreamLogin,
};
use crate::primitives::{hash_secret, random_token};
use crate::store::{self, Store, Ttl};

const CODE_TTL: Ttl = Ttl::For(Duration::from_secs(120));

#[derive(Serialize, Deserialize)]
struct DemoUser {
    name: String,
    email: Option<String>,
}

/// The demo kind: no network app, and only while the gateway runs on this machine.
pub struct DemoKind;

impl Kind for DemoKind {
    fn configure(&self, table: &KindTable<'_>) -> Result<KindOptions, OptionError> {
        if !table.issuer_is_loopback {
            return Err(table.error(
                table.key,
                "the demo provider lets anyone log in as anyone; it is allowed only while the issuer is a loopback address",
            ));
        }
        Ok(KindOptions::new())
    }

    fn needs_app(&self) -> bool {
        false
    }

    fn is_demo(&self) -> bool {
        true
    }

    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(Demo {
            name: config.name.clone(),
            issuer: at.issuer.to_string(),
            store: at.store.clone(),
        }))
    }
}

pub struct Demo {
    name: ProviderName,
    /// The gateway's own issuer: the demo "network" is served there.
    issuer: String,
    store: Arc<dyn Store>,
}

impl Demo {
    fn unavailable(&self, e: impl ToString) -> UpstreamError {
        UpstreamError::Unavailable {
            network: "demo".into(),
            detail: e.to_string(),
        }
    }
}

/// Why the demo form was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Every blank name would be one and the same account.
    #[error("a demo account needs a name")]
    BlankName,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The demo "network" accepted the typed identity: returns where to send the browser
/// (the gateway's own callback, with a code and the state).
pub async fn complete(
    store: &dyn Store,
    issuer: &(impl AsRef<str> + ?Sized),
    provider: &ProviderName,
    state: &str,
    name: &str,
    email: &str,
) -> Result<String, DemoError> {
    let name: String = name.trim().chars().take(100).collect();
    if name.is_empty() {
        return Err(DemoError::BlankName);
    }
    let code = random_token();
    let user = DemoUser {
        name,
        email: Some(email.trim().to_lowercase()).filter(|e| e.contains('@') && e.len() <= 254),
    };
    store::put_json(
        store,
        &format!("demo:{}", hash_secret(&code)),
        &user,
        CODE_TTL,
    )
    .await?;
    let mut url = Url::parse(&format!("{}/callback/{provider}", issuer.as_ref()))
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
        let mut url = Url::parse(&format!("{}/demo/{}", self.issuer, self.name))
            .map_err(|e| self.unavailable(e))?;
        url.query_pairs_mut().append_pair("state", login.state);
        Ok(url)
    }

    async fn identify(
        &self,
        _login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Authenticated, UpstreamError> {
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
        let identity = Identity {
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
        };
        // The demo network has no API, so no tokens to keep.
        Ok(Authenticated {
            identity,
            tokens: None,
        })
    }
}

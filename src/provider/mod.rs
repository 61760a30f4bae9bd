//! Social networks behind the gateway: the `Provider` trait every network implements, the
//! normalized `Identity` it yields, and the registry built from the config. Providers know
//! nothing about the sites they serve.

pub mod claims;
pub mod demo;
pub mod descriptor;
pub mod facebook;
#[doc(hidden)]
pub mod fuzzing;
pub mod generic;
pub mod github;
pub mod http;
pub mod kind;
mod name;
pub mod oauth2;
pub mod oidc;
pub mod ok;
pub mod settings;
pub mod vk;
pub mod vkid;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use url::Url;

pub use name::ProviderName;
pub use settings::{Endpoints, ProviderConfig};

use crate::store::Store;
use kind::Opening;

/// A person as a network describes them, normalized to OIDC claim names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub provider: ProviderName,
    /// The network's own stable account id, as a string.
    pub provider_user_id: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub locale: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Why a network could not finish a login; the site sees the `Display` text as
/// `error_description`, so it never carries tokens or secrets.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The network is down or slow (5xx, timeout, connection refused).
    #[error("{network} is unavailable: {detail}")]
    Unavailable { network: String, detail: String },
    /// The network answered, but not with what the protocol promises.
    #[error("{network} refused the login: {detail}")]
    Refused { network: String, detail: String },
    #[error("{network} sent an invalid answer: {detail}")]
    Malformed { network: String, detail: String },
}

impl UpstreamError {
    pub fn refused(network: &str, detail: impl Into<String>) -> Self {
        UpstreamError::Refused {
            network: network.to_string(),
            detail: detail.into(),
        }
    }

    pub fn malformed(network: &str, detail: impl Into<String>) -> Self {
        UpstreamError::Malformed {
            network: network.to_string(),
            detail: detail.into(),
        }
    }

    /// What went wrong, without the network's name.
    pub fn detail(&self) -> &str {
        match self {
            UpstreamError::Unavailable { detail, .. }
            | UpstreamError::Refused { detail, .. }
            | UpstreamError::Malformed { detail, .. } => detail,
        }
    }
}

/// One login at a network: the values the gateway made up when it sent the person there,
/// kept server-side until the callback.
pub struct UpstreamLogin<'a> {
    pub state: &'a str,
    /// Sent as an S256 challenge to networks that take PKCE.
    pub pkce_verifier: Option<&'a str>,
    /// Sent to OpenID Connect networks, expected back in their id_token.
    pub nonce: &'a str,
    /// How recent the person's login at the network must be.
    pub freshness: Freshness,
}

/// How recent a login at the network must be, as asked (the network knows nothing of who
/// asked): any, a fresh one, or one at most `max_age` seconds old.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Freshness {
    /// The person must log in again, whatever session the network has.
    pub fresh: bool,
    /// The network login may be at most this many seconds old.
    pub max_age: Option<u64>,
}

/// The network's answer at `/callback/{provider}` (already checked for `error`).
pub struct CallbackParams {
    pub code: String,
    /// Everything else the network sent, for networks that need more than the code.
    pub extra: HashMap<String, String>,
}

/// The network's tokens for the person, from a login or a refresh: what lets the gateway call
/// the network's API for the person later. No `Debug`: they are credentials.
pub struct UpstreamTokens {
    pub access_token: secrecy::SecretString,
    pub refresh_token: Option<secrecy::SecretString>,
    /// Unix time; `None` when the network did not say.
    pub expires_at: Option<u64>,
}

impl UpstreamTokens {
    /// From a token endpoint's answer, received now.
    pub fn from_answer(token: &oauth2::UpstreamToken) -> Self {
        UpstreamTokens {
            access_token: secrecy::SecretString::from(token.access_token.secret().clone()),
            refresh_token: token
                .refresh_token
                .as_ref()
                .map(|r| secrecy::SecretString::from(r.secret().clone())),
            expires_at: token
                .expires_in
                .map(|s| crate::primitives::now().saturating_add(s)),
        }
    }
}

/// A person a network vouched for at a login, and the network's tokens for them.
pub struct Authenticated {
    pub identity: Identity,
    /// `None` for networks that give none worth keeping (the demo).
    pub tokens: Option<UpstreamTokens>,
}

/// A network's API, called for a person with their token (OK's signed REST methods, VK's
/// methods). The answer is the network's, as it sent it.
#[async_trait]
pub trait SignedApi: Send + Sync {
    /// Calls `method` with `params` (JSON values, sent as the network expects them).
    async fn call(
        &self,
        access_token: &str,
        method: &str,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, UpstreamError>;
}

/// A person an app launch vouches for (an app a platform opened with signed parameters, such
/// as OK's iframe apps), and how the app was opened.
pub struct Launch {
    pub identity: Identity,
    /// The platform's launch context for the site (OK: `refplace`, `custom_args`, `mob`, …);
    /// never a session key or signature.
    pub context: serde_json::Map<String, serde_json::Value>,
}

/// Why an app launch was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("this network does not launch apps")]
    Unsupported,
    /// One of the launch's checks failed; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The network could not confirm the launch's session.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// A post through a network's publish widget (OK's `WidgetMediatopicPost`), as a site asks
/// for it.
pub struct WidgetPost {
    /// The media topic, checked against the network's rules before it is signed.
    pub attachment: serde_json::Value,
    /// Where the widget sends its result; `None`: by postMessage.
    pub return_url: Option<String>,
    /// Post to this group's feed instead of the person's.
    pub group_id: Option<String>,
    /// The widget's on/off switches that were given (`popup`, `silent`, `utext`, `nohead`).
    pub switches: Vec<(&'static str, bool)>,
    /// The person's access token, for apps that post in the person's OAuth session.
    pub access_token: Option<secrecy::SecretString>,
}

/// A network's publish widget: the signed URL a site opens, and the check of its result.
pub trait PublishWidget: Send + Sync {
    /// The URL that opens the widget with this post, signed; or what is wrong with the post.
    fn post_url(&self, post: &WidgetPost) -> Result<Url, String>;
    /// Whether a result sent to the return URL (`id`, `signature`) is genuine; or why not.
    fn check_result(
        &self,
        id: &str,
        signature: &str,
        access_token: Option<&secrecy::SecretString>,
    ) -> Result<(), String>;
}

/// One network's protocol. A descriptor-driven implementation covers plain OAuth 2.0 and
/// OpenID Connect; quirky networks get a module of their own.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Where to send the person's browser, asking for these upstream permissions.
    async fn authorize_url(
        &self,
        login: &UpstreamLogin<'_>,
        scopes: &[String],
    ) -> Result<Url, UpstreamError>;
    /// Exchanges the callback's code and reads the person's profile.
    async fn identify(
        &self,
        login: &UpstreamLogin<'_>,
        callback: &CallbackParams,
    ) -> Result<Authenticated, UpstreamError>;
    /// New tokens for a refresh token the network gave, where the network allows it.
    async fn refresh(&self, _refresh_token: &str) -> Result<UpstreamTokens, UpstreamError> {
        Err(UpstreamError::Refused {
            network: "this network".into(),
            detail: "its tokens cannot be refreshed through the gateway".into(),
        })
    }
    /// The network's API for a person, if the gateway can call it.
    fn signed_api(&self) -> Option<&dyn SignedApi> {
        None
    }
    /// Verifies the parameters the network launched an app with; most networks launch none.
    async fn verify_launch(&self, _params: &[(String, String)]) -> Result<Launch, LaunchError> {
        Err(LaunchError::Unsupported)
    }
    /// The network's publish widget, if it has one.
    fn publish_widget(&self) -> Option<&dyn PublishWidget> {
        None
    }
}

/// A configured provider: its settings plus the code that speaks its protocol.
pub struct ConfiguredProvider {
    pub name: ProviderName,
    pub display_name: String,
    pub display_name_ru: Option<String>,
    pub button_color: Option<String>,
    pub button_text_color: Option<String>,
    pub is_demo: bool,
    pkce: bool,
    default_scopes: Vec<String>,
    scope_map: std::collections::BTreeMap<String, Vec<String>>,
    pub protocol: Arc<dyn Provider>,
}

impl ConfiguredProvider {
    /// Upstream permissions for a site's OIDC scopes: the descriptor's defaults, the
    /// admin's `scopes`, and whatever the requested scopes map to, without duplicates.
    pub fn upstream_scopes<'a>(
        &self,
        oidc_scopes: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mapped = oidc_scopes
            .into_iter()
            .filter_map(|s| self.scope_map.get(s))
            .flatten();
        for s in self.default_scopes.iter().chain(mapped) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    pub fn uses_pkce(&self) -> bool {
        self.pkce
    }

    pub fn label(&self, russian: bool) -> &str {
        match (&self.display_name_ru, russian) {
            (Some(ru), true) => ru,
            _ => &self.display_name,
        }
    }
}

/// Every configured provider, in config order.
pub struct Registry {
    providers: IndexMap<ProviderName, ConfiguredProvider>,
}

impl Registry {
    /// Opens every configured provider; `issuer` is the gateway's own, where the networks
    /// send people back.
    pub fn build<'a>(
        providers: impl IntoIterator<Item = &'a ProviderConfig>,
        issuer: &str,
        http: &reqwest::Client,
        store: Arc<dyn Store>,
    ) -> Result<Self, String> {
        let mut opened = IndexMap::new();
        for p in providers {
            let callback = Url::parse(&format!("{issuer}/callback/{}", p.name))
                .map_err(|e| format!("provider {}: bad callback URL: {e}", p.name))?;
            let at = Opening {
                callback,
                issuer,
                http,
                store: &store,
            };
            let protocol = p.descriptor.protocol.kind().open(p, &at)?;
            opened.insert(p.name.clone(), Self::configured(p, protocol));
        }
        Ok(Registry { providers: opened })
    }

    fn configured(p: &ProviderConfig, protocol: Arc<dyn Provider>) -> ConfiguredProvider {
        let mut default_scopes = p.descriptor.default_scopes.clone();
        default_scopes.extend(p.scopes.iter().cloned());
        ConfiguredProvider {
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            display_name_ru: p.descriptor.display_name_ru.clone(),
            button_color: p.descriptor.button_color.clone(),
            button_text_color: p.descriptor.button_text_color.clone(),
            is_demo: p.is_demo(),
            pkce: p.descriptor.pkce,
            default_scopes,
            scope_map: p.descriptor.scope_map.clone(),
            protocol,
        }
    }

    pub fn get(&self, name: &str) -> Option<&ConfiguredProvider> {
        self.providers.get(name)
    }
}

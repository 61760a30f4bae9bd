//! What a provider is built from: one network app as the admin registered it, merged with
//! its kind's descriptor and checked at start-up.

use secrecy::SecretString;
use url::Url;

use super::ProviderName;
use super::descriptor::{Descriptor, Protocol};

/// One network app as the admin registered it, merged with its kind's descriptor.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: ProviderName,
    pub kind: String,
    pub descriptor: Descriptor,
    pub client_id: String,
    /// `None` for public clients (PKCE alone) and for the demo kind.
    pub client_secret: Option<SecretString>,
    /// `None` for the demo kind, which needs no network, and for OpenID Connect, whose
    /// endpoints come from its discovery document.
    pub endpoints: Option<Endpoints>,
    /// OpenID Connect: the issuer, with any `{tenant}` filled in.
    pub issuer: Option<String>,
    /// OK's "application key" (public), sent with every REST call.
    pub public_key: Option<String>,
    /// Upstream permissions always asked for, on top of what the site's scopes map to.
    pub scopes: Vec<String>,
    pub display_name: String,
}

/// A network's endpoints: the descriptor's, or the admin's overrides.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    /// The profile call: OK's REST endpoint (`fb.do`), VK's `users.get`.
    pub userinfo: Url,
}

impl ProviderConfig {
    /// The demo kind: anyone can log in as anyone, so start-up warns about it.
    pub fn is_demo(&self) -> bool {
        self.descriptor.protocol == Protocol::Demo
    }
}

//! What a provider is built from: one network app as the admin registered it, merged with
//! its kind's descriptor and checked at start-up, and where such an app may send secrets.

use secrecy::SecretString;
use url::Url;

use super::ProviderName;
use super::descriptor::Descriptor;
use super::kind::KindOptions;

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
    /// The options its kind checked (OK's `public_key`, OpenID Connect's `issuer` with any
    /// `{tenant}` filled in).
    pub options: KindOptions,
    /// Upstream permissions always asked for, on top of what the site's scopes map to.
    pub scopes: Vec<String>,
    pub display_name: String,
}

impl ProviderConfig {
    /// The demo kind: anyone can log in as anyone, so start-up warns about it.
    pub fn is_demo(&self) -> bool {
        self.descriptor.protocol.kind().is_demo()
    }

    /// An option its kind kept.
    pub fn option(&self, name: &str) -> Result<&str, String> {
        self.options
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("provider {} has no {name}", self.name))
    }

    pub fn endpoints(&self) -> Result<&Endpoints, String> {
        self.endpoints
            .as_ref()
            .ok_or_else(|| format!("provider {} has no endpoints", self.name))
    }

    pub fn secret(&self) -> Result<&SecretString, String> {
        self.client_secret
            .as_ref()
            .ok_or_else(|| format!("provider {} has no client_secret", self.name))
    }
}

/// A network's endpoints: the descriptor's, or the admin's overrides.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    /// The profile call: OK's REST endpoint (`fb.do`), VK's `users.get`.
    pub userinfo: Url,
}

/// Where secrets, codes and tokens may travel: https, or http to this machine.
pub fn is_secure_endpoint(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

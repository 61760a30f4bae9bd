//! The sites (`[clients.NAME]`): who may ask for logins, where codes and tokens may go, and
//! which providers each may offer.

use std::fmt;

use indexmap::IndexMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::expand::Env;
use super::schema::RawClient;
use super::{ConfigError, Ctx};
use crate::provider::settings::is_loopback;
use crate::provider::{ProviderConfig, ProviderName};

/// The OIDC `client_id` of a site, as registered under `[clients.NAME]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id the gateway stored itself and reads back (the sites of an SSO session).
    pub fn from_stored(id: String) -> Self {
        ClientId(id)
    }
}

// Lets `config.clients.get(&str)` look a client up by the id a request carries.
impl std::borrow::Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the gateway signs a client's tokens: its id_tokens, access tokens and logout tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigningAlg {
    /// RSA (PKCS#1 v1.5) with SHA-256: the one every OIDC client must support.
    #[default]
    Rs256,
    /// ECDSA on P-256 with SHA-256: for sites that ask for it, or for its shorter tokens.
    Es256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Es256];

    /// The JWS `alg` name (RFC 7518).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        }
    }
}

#[derive(Debug)]
pub struct ClientConfig {
    pub client_id: ClientId,
    pub name: String,
    /// `None`: a public client, which must use PKCE.
    pub client_secret: Option<SecretString>,
    pub redirect_uris: Vec<String>,
    pub providers: Vec<ProviderName>,
    /// Where RP-initiated logout may send the person back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the logout token is POSTed when the person's SSO session ends.
    pub backchannel_logout_uri: Option<String>,
    /// Issue refresh tokens (tied to the SSO session) even without `offline_access`.
    pub refresh_tokens: bool,
    /// May fetch the person's own network token (`/api/upstream/token`).
    pub upstream_access: bool,
    /// The network API methods the gateway calls for it (`/api/upstream/{provider}/call`).
    pub upstream_methods: Vec<String>,
    /// `id_token_signed_response_alg` (the name OIDC Dynamic Client Registration gives it):
    /// the algorithm of every token signed for it, not only id_tokens.
    pub signing_alg: SigningAlg,
}

impl Ctx<'_> {
    /// A URL at a site the gateway sends people or tokens to: absolute, no fragment,
    /// https (http only on loopback, for development).
    fn site_url(&self, key: &str, value: &str, what: &str) -> Result<String, ConfigError> {
        let url = Url::parse(value)
            .map_err(|e| self.err(key, format!("{value:?} is not an absolute URL: {e}")))?;
        if url.fragment().is_some() {
            return Err(self.err(key, format!("{value:?}: {what} must not have a #fragment")));
        }
        let ok_scheme = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
        if !ok_scheme {
            return Err(self.err(
                key,
                format!(
                    "{value:?}: {what} must be https (http only for loopback addresses), or codes and tokens travel in clear text"
                ),
            ));
        }
        Ok(value.to_string())
    }

    pub(super) fn client(
        &self,
        id: &str,
        c: RawClient,
        providers: &IndexMap<ProviderName, ProviderConfig>,
        upstream_kept: bool,
    ) -> Result<ClientConfig, ConfigError> {
        let key = format!("clients.{id}");
        if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_graphic() && ch != ':') {
            return Err(self.err(&key, "a client_id is printable ASCII without spaces or `:`"));
        }
        let client_secret = self.client_secret(&key, c.client_secret, c.client_secret_file)?;
        if c.redirect_uris.is_empty() {
            return Err(self.err(
                &format!("{key}.redirect_uris"),
                "list at least one redirect URI",
            ));
        }
        let redirect_uris =
            self.site_urls(&key, "redirect_uris", c.redirect_uris, "a redirect URI")?;
        let post_logout_redirect_uris = self.site_urls(
            &key,
            "post_logout_redirect_uris",
            c.post_logout_redirect_uris,
            "a post-logout redirect URI",
        )?;
        let backchannel_logout_uri = c
            .backchannel_logout_uri
            .map(|uri| {
                self.site_url(
                    &format!("{key}.backchannel_logout_uri"),
                    &uri.0,
                    "a back-channel logout URI",
                )
            })
            .transpose()?;
        let allowed = match c.providers {
            None => providers.keys().cloned().collect(),
            Some(list) => self.allowed_providers(&key, list, providers)?,
        };
        let upstream_methods = self.upstream_methods(&key, c.upstream_methods)?;
        if (c.upstream_access || !upstream_methods.is_empty()) && !upstream_kept {
            let field = if c.upstream_access {
                "upstream_access"
            } else {
                "upstream_methods"
            };
            return Err(self.err(
                &format!("{key}.{field}"),
                "the networks' tokens are kept only with an `[upstream] token_key`; set one",
            ));
        }
        let signing_alg = self.signing_alg(&key, c.id_token_signed_response_alg)?;
        Ok(ClientConfig {
            client_id: ClientId(id.to_string()),
            name: c.name.map_or_else(|| id.to_string(), |n| n.0),
            client_secret,
            redirect_uris,
            providers: allowed,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            refresh_tokens: c.refresh_tokens,
            upstream_access: c.upstream_access,
            upstream_methods,
            signing_alg,
        })
    }

    /// A JWS algorithm the gateway has keys for; the names are case-sensitive (RFC 7515).
    fn signing_alg(&self, key: &str, alg: Option<Env>) -> Result<SigningAlg, ConfigError> {
        let Some(Env(alg)) = alg else {
            return Ok(SigningAlg::default());
        };
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == alg)
            .ok_or_else(|| {
                self.err(
                    &format!("{key}.id_token_signed_response_alg"),
                    format!("{alg:?} is not a signing algorithm the gateway offers; use \"RS256\" or \"ES256\""),
                )
            })
    }

    /// API method names like `users.getInfo`: nothing that could change the call's path.
    fn upstream_methods(
        &self,
        key: &str,
        methods: Option<Vec<Env>>,
    ) -> Result<Vec<String>, ConfigError> {
        let key = format!("{key}.upstream_methods");
        let valid = |m: &str| {
            let mut parts = m.split('.');
            let ok = |p: Option<&str>| {
                p.is_some_and(|p| {
                    !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            };
            ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
        };
        methods
            .unwrap_or_default()
            .into_iter()
            .map(|Env(m)| {
                if valid(&m) {
                    Ok(m)
                } else {
                    Err(self.err(
                        &key,
                        format!("{m:?} is not a method name like \"users.getInfo\""),
                    ))
                }
            })
            .collect()
    }

    /// A confidential client's secret, long enough to resist guessing.
    fn client_secret(
        &self,
        key: &str,
        inline: Option<Env>,
        file: Option<Env>,
    ) -> Result<Option<SecretString>, ConfigError> {
        let secret = self.secret(
            &format!("{key}.client_secret"),
            inline,
            &format!("{key}.client_secret_file"),
            file,
        )?;
        if secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < 16)
        {
            return Err(self.err(
                &self.written(key, &["client_secret", "client_secret_file"]),
                "a client secret must be at least 16 characters (e.g. `openssl rand -hex 32`)",
            ));
        }
        Ok(secret)
    }

    fn site_urls(
        &self,
        key: &str,
        field: &str,
        uris: Vec<Env>,
        what: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let key = format!("{key}.{field}");
        uris.into_iter()
            .map(|uri| self.site_url(&key, &uri.0, what))
            .collect()
    }

    /// The providers a client lists, each one configured.
    fn allowed_providers(
        &self,
        key: &str,
        list: Vec<Env>,
        providers: &IndexMap<ProviderName, ProviderConfig>,
    ) -> Result<Vec<ProviderName>, ConfigError> {
        let key = format!("{key}.providers");
        if list.is_empty() {
            return Err(self.err(
                &key,
                "an empty list allows no login; omit the key to allow every provider",
            ));
        }
        let configured = || {
            providers
                .keys()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        list.into_iter()
            .map(|p| {
                providers
                    .keys()
                    .find(|n| n.as_str() == p.0)
                    .cloned()
                    .ok_or_else(|| {
                        let message =
                            format!("no provider named {:?} (configured: {})", p.0, configured());
                        self.err(&key, message)
                    })
            })
            .collect()
    }
}

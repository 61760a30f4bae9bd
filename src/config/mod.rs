//! The admin's whole interface: `config.toml` parsed, expanded (`${VAR}`, `*_file`) and
//! validated completely at start-up, so the rest of the code can trust its types. The schema,
//! the expansion, error locations, the gateway's settings, clients and providers each have a
//! file here; what a particular network's options mean is its provider module's business.

mod clients;
mod expand;
mod groups;
mod limits;
mod locate;
mod observe;
mod providers;
mod schema;
mod server;
mod upstream;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use url::Url;

pub use crate::provider::{Endpoints, ProviderConfig, ProviderName};
pub use clients::{ClientConfig, ClientId, SigningAlg};
pub use expand::expand_env;
pub use limits::{ClientAddresses, LimitsConfig, Rate};
pub use observe::{LogConfig, LogFormat, MetricsConfig};
pub use upstream::{TokenKey, UpstreamConfig};

use crate::provider::ok::groups::OkGroup;
use crate::provider::settings::is_loopback;
use locate::{Locations, line_at};
use schema::RawConfig;

/// Where a config problem is, said so an admin can jump to it: file, key path, line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the config file: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        file: String,
        key: String,
        line: Option<usize>,
        message: String,
    },
}

impl Config {
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.get(client_id)
    }

    /// How tokens for this client are signed; RS256 for one no longer configured (a
    /// back-channel notice queued before a reload removed it).
    pub fn signing_alg(&self, client_id: &str) -> SigningAlg {
        self.client(client_id)
            .map_or_else(SigningAlg::default, |c| c.signing_alg)
    }

    /// Whether any configured provider maps this OIDC scope to upstream permissions.
    pub fn scope_is_known(&self, scope: &str) -> bool {
        self.providers
            .values()
            .any(|p| p.descriptor.scope_map.contains_key(scope))
    }
}

/// The gateway's public base URL without a trailing slash: the OIDC `iss` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// An absolute URL under the issuer, `path` starting with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

// Providers take the issuer as text: they do not depend on the config.
impl AsRef<str> for Issuer {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub session: SessionConfig,
    pub tokens: TokensConfig,
    pub providers: IndexMap<ProviderName, ProviderConfig>,
    pub clients: IndexMap<ClientId, ClientConfig>,
    /// `None`: no upstream tokens are kept (no `[upstream] token_key`).
    pub upstream: Option<UpstreamConfig>,
    /// OK group tokens kept alive (`[ok_groups.NAME]`), in config order.
    pub ok_groups: Vec<OkGroup>,
    pub log: LogConfig,
    pub limits: LimitsConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, PartialEq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub issuer: Issuer,
    pub data_dir: PathBuf,
}

#[derive(Debug)]
pub struct StoreConfig {
    pub url: StoreUrl,
    /// The memory store's bound, in bytes (unused with Redis).
    pub max_memory: u64,
    /// What the URL names (shown by `check`, without the password).
    pub location: crate::store::Location,
    /// Replicas a write waits for (Redis only; `None` with memory).
    pub wait: Option<crate::store::Wait>,
}

/// Two store settings are the same when their URLs and bounds are (the location is read
/// from the URL).
impl PartialEq for StoreConfig {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url && self.max_memory == other.max_memory && self.wait == other.wait
    }
}

/// The store's URL (`memory://`, `redis://…`). It may hold a Redis password, so its `Debug`
/// shows only the scheme.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl(String);

impl StoreUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `memory`, `redis`, `rediss+sentinel`, …: what may be logged.
    pub fn scheme(&self) -> &str {
        self.0.split("://").next().unwrap_or_default()
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl(\"{}://[redacted]\")", self.scheme())
    }
}

/// The SSO session: how long a person stays logged in at the gateway.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Ends after this long without a login through it or a token refresh.
    pub idle_timeout: Duration,
    /// Ends this long after the network login, however active.
    pub max_lifetime: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokensConfig {
    /// id_tokens and access tokens.
    pub lifetime: Duration,
    /// Each refresh token (a rotation issues a new one with a new lifetime).
    pub refresh_lifetime: Duration,
    /// A new signing key is made this often; the old one stays published until every
    /// token it signed has expired.
    pub key_rotation: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: Duration::from_secs(8 * 3600),
            max_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            lifetime: Duration::from_secs(3600),
            refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            key_rotation: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl Config {
    /// Reads, expands and validates the config file; descriptors come from `providers_dir`,
    /// else `providers/` next to the file, else the copies built into the binary.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &file, &base)
    }

    /// Parses config text; `base` is the directory relative paths are resolved against.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw = parse_raw(text, file)?;
        let issuer_is_loopback = Url::parse(&raw.server.issuer.0).is_ok_and(|u| is_loopback(&u));
        let ctx = Ctx {
            file,
            base,
            locations: Locations::read(text),
            issuer_is_loopback,
        };
        ctx.validate(raw)
    }
}

fn parse_raw(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    let line_of = |span: Option<std::ops::Range<usize>>| span.map(|s| line_at(text, s.start));
    let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Invalid {
        file: file.into(),
        key: "(syntax)".into(),
        line: line_of(e.span()),
        message: e.message().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Invalid {
            file: file.into(),
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            line: line_of(e.inner().span()),
            message: e.inner().message().to_string(),
        }
    })
}

/// What validation needs at hand: where the file is, where each key is written, and the
/// facts several tables depend on.
struct Ctx<'a> {
    file: &'a str,
    base: &'a Path,
    locations: Locations<'a>,
    issuer_is_loopback: bool,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.into(),
            key: key.into(),
            line: self.locations.line_of_key(key),
            message: message.into(),
        }
    }

    /// The first of a key's names (`client_secret`, `secret_key`) the admin wrote, as a path.
    fn written(&self, table: &str, names: &[&str]) -> String {
        let name = names
            .iter()
            .find(|n| self.locations.has_key(&format!("{table}.{n}")))
            .or(names.first())
            .copied()
            .unwrap_or_default();
        format!("{table}.{name}")
    }

    fn path(&self, value: &str) -> PathBuf {
        let p = Path::new(value);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let (server, source) = self.server(&raw.server)?;
        let store = self.store(raw.store)?;
        let session = self.session(raw.session)?;
        let tokens = self.tokens(raw.tokens)?;
        if raw.providers.is_empty() {
            return Err(self.err(
                "providers",
                "no providers configured; add at least one [providers.NAME] table",
            ));
        }
        let mut providers = IndexMap::new();
        for (name, p) in raw.providers {
            let provider = self.provider(&name, p, &source)?;
            providers.insert(provider.name.clone(), provider);
        }
        let upstream = self.upstream(raw.upstream)?;
        let mut clients = IndexMap::new();
        for (id, c) in raw.clients {
            let client = self.client(&id, c, &providers, upstream.is_some())?;
            clients.insert(client.client_id.clone(), client);
        }
        let ok_groups = self.ok_groups(raw.ok_groups, &providers)?;
        let log = self.log(raw.log)?;
        let limits = self.limits(raw.limits)?;
        let metrics = self.metrics(raw.metrics)?;
        Ok(Config {
            file: PathBuf::from(self.file),
            server,
            store,
            session,
            tokens,
            providers,
            clients,
            upstream,
            ok_groups,
            log,
            limits,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::StoreUrl;

    #[test]
    fn a_store_url_shows_no_password_in_debug() {
        let url = StoreUrl("redis://:hunter2@redis.internal:6379/0".into());
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://"), "{shown}");
        assert_eq!(url.as_str(), "redis://:hunter2@redis.internal:6379/0");
    }
}

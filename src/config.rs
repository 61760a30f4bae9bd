//! The admin's whole interface: `config.toml` parsed, expanded (`${VAR}`, `*_file`) and
//! validated completely at start-up, so the rest of the code can trust its types.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::provider::ProviderName;
use crate::provider::descriptor::{Descriptor, DescriptorSource, Protocol, TokenAuth};

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

/// The OIDC `client_id` of a site, as registered under `[clients.NAME]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Lets `config.clients.get(&str)` look a client up by the id a request carries.
impl std::borrow::Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Config {
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.get(client_id)
    }

    /// Whether a scope means something to some provider (its descriptor's `scope_map`).
    pub fn scope_is_known(&self, scope: &str) -> bool {
        self.providers
            .values()
            .any(|p| p.descriptor.scope_map.contains_key(scope))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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

#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub session: SessionConfig,
    pub tokens: TokensConfig,
    pub providers: IndexMap<ProviderName, ProviderConfig>,
    pub clients: IndexMap<ClientId, ClientConfig>,
}

#[derive(Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub issuer: Issuer,
    pub data_dir: PathBuf,
}

#[derive(Debug)]
pub struct StoreConfig {
    pub url: String,
}

/// The SSO session: how long a person stays logged in at the gateway.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Ends after this long without a login through it or a token refresh.
    pub idle_timeout: Duration,
    /// Ends this long after the network login, however active.
    pub max_lifetime: Duration,
}

#[derive(Clone, Copy, Debug)]
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

/// One network app as the admin registered it, merged with its kind's descriptor.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: ProviderName,
    pub kind: String,
    pub descriptor: Descriptor,
    pub client_id: String,
    pub client_secret: SecretString,
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
}

// ---- the file's schema, exactly as an admin writes it ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    providers: IndexMap<String, RawProvider>,
    #[serde(default)]
    clients: IndexMap<String, RawClient>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Env,
    issuer: Env,
    data_dir: Option<Env>,
    providers_dir: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    idle_timeout: Option<Env>,
    max_lifetime: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    lifetime: Option<Env>,
    refresh_lifetime: Option<Env>,
    key_rotation: Option<Env>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: Option<Env>,
    #[serde(alias = "app_id")]
    client_id: Option<Env>,
    #[serde(alias = "secret_key")]
    client_secret: Option<Env>,
    #[serde(alias = "secret_key_file")]
    client_secret_file: Option<Env>,
    public_key: Option<Env>,
    scopes: Option<Vec<Env>>,
    display_name: Option<Env>,
    authorize_url: Option<Env>,
    token_url: Option<Env>,
    userinfo_url: Option<Env>,
    api_version: Option<Env>,
    /// OpenID Connect issuer; GitLab's self-hosted base URL.
    #[serde(alias = "base_url")]
    issuer: Option<Env>,
    /// Microsoft Entra ID tenant (`common`, `organizations`, `consumers`, a domain or an id).
    tenant: Option<Env>,
    authorize_params: Option<IndexMap<String, Env>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: Option<Env>,
    client_secret: Option<Env>,
    client_secret_file: Option<Env>,
    redirect_uris: Vec<Env>,
    providers: Option<Vec<Env>>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<Env>,
    backchannel_logout_uri: Option<Env>,
    #[serde(default)]
    refresh_tokens: bool,
}

/// A string value with every `${VAR}` replaced from the environment; an unset variable is an
/// error at that value, so TOML reports its line.
struct Env(String);

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        expand_env(&raw, |name| std::env::var(name).ok())
            .map(Env)
            .map_err(serde::de::Error::custom)
    }
}

/// Replaces `${NAME}` with `lookup(NAME)`; `$$` stays a literal `$`.
pub fn expand_env(raw: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {raw:?}"))?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable name"
                ));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
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
            text,
            file,
            base,
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

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    base: &'a Path,
    issuer_is_loopback: bool,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.into(),
            key: key.into(),
            line: self.line_of_key(key),
            message: message.into(),
        }
    }

    /// The line where a dotted key (`clients.shop.providers`) is defined, via TOML's spans;
    /// the line of its deepest existing parent when the key itself is not written.
    fn line_of_key(&self, key: &str) -> Option<usize> {
        self.find_key(key)
            .0
            .map(|offset| line_at(self.text, offset))
    }

    /// Whether `key` is written in the file (as opposed to one of its aliases).
    fn has_key(&self, key: &str) -> bool {
        self.find_key(key).1
    }

    /// (offset of the deepest key found, whether the whole path was found)
    fn find_key(&self, key: &str) -> (Option<usize>, bool) {
        let Ok(doc) = toml::de::DeTable::parse(self.text) else {
            return (None, false);
        };
        let mut table = doc.get_ref();
        let mut found = None;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == part) else {
                return (found, false);
            };
            found = Some(k.span().start);
            match v.get_ref() {
                toml::de::DeValue::Table(t) => table = t,
                _ => return (found, i == parts.len() - 1),
            }
        }
        (found, true)
    }

    /// The first of a key's names (`client_secret`, `secret_key`) the admin wrote, as a path.
    fn written(&self, table: &str, names: &[&str]) -> String {
        let name = names
            .iter()
            .find(|n| self.has_key(&format!("{table}.{n}")))
            .unwrap_or(&names[0]);
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

    fn secret(
        &self,
        key: &str,
        inline: Option<Env>,
        file_key: &str,
        file: Option<Env>,
    ) -> Result<Option<SecretString>, ConfigError> {
        match (inline, file) {
            (Some(_), Some(_)) => {
                Err(self.err(key, format!("set either {key} or {file_key}, not both")))
            }
            (Some(v), None) => Ok(Some(SecretString::from(v.0))),
            (None, Some(f)) => {
                let path = self.path(&f.0);
                let mut s = std::fs::read_to_string(&path).map_err(|e| {
                    self.err(file_key, format!("cannot read {}: {e}", path.display()))
                })?;
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
                if s.is_empty() {
                    return Err(self.err(file_key, format!("{} is empty", path.display())));
                }
                Ok(Some(SecretString::from(s)))
            }
            (None, None) => Ok(None),
        }
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let listen = raw.server.listen.0.parse::<SocketAddr>().map_err(|_| {
            self.err(
                "server.listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:8080",
                    raw.server.listen.0
                ),
            )
        })?;
        let issuer = self.issuer(&raw.server.issuer.0)?;
        let data_dir = self.path(
            raw.server
                .data_dir
                .as_ref()
                .map_or("data", |d| d.0.as_str()),
        );
        let source = match &raw.server.providers_dir {
            Some(dir) => {
                let dir = self.path(&dir.0);
                if !dir.is_dir() {
                    return Err(self.err(
                        "server.providers_dir",
                        format!("{} is not a directory", dir.display()),
                    ));
                }
                DescriptorSource::Dir(dir)
            }
            None => DescriptorSource::DirOrBuiltin(self.base.join("providers")),
        };
        let store_url = raw
            .store
            .url
            .map_or_else(|| "memory://".to_string(), |u| u.0);
        if store_url != "memory://" {
            if !(store_url.starts_with("redis://") || store_url.starts_with("rediss://")) {
                // Only the scheme: a store URL may carry a password.
                let scheme = store_url.split("://").next().unwrap_or("");
                return Err(self.err(
                    "store.url",
                    format!(
                        "the store scheme {scheme:?} is not supported; use \"memory://\" or \"redis://host:port/db\""
                    ),
                ));
            }
            crate::store::parse_redis_url(&store_url)
                .map_err(|e| self.err("store.url", e.to_string()))?;
        }
        let defaults = SessionConfig::default();
        let session = SessionConfig {
            idle_timeout: self.duration(
                "session.idle_timeout",
                raw.session.idle_timeout,
                defaults.idle_timeout,
            )?,
            max_lifetime: self.duration(
                "session.max_lifetime",
                raw.session.max_lifetime,
                defaults.max_lifetime,
            )?,
        };
        let defaults = TokensConfig::default();
        let tokens = TokensConfig {
            lifetime: self.duration("tokens.lifetime", raw.tokens.lifetime, defaults.lifetime)?,
            refresh_lifetime: self.duration(
                "tokens.refresh_lifetime",
                raw.tokens.refresh_lifetime,
                defaults.refresh_lifetime,
            )?,
            key_rotation: self.duration(
                "tokens.key_rotation",
                raw.tokens.key_rotation,
                defaults.key_rotation,
            )?,
        };
        if tokens.key_rotation < tokens.lifetime {
            // Otherwise the JWKS grows with every rotation inside one token lifetime.
            return Err(self.err(
                "tokens.key_rotation",
                "must be at least tokens.lifetime, so the JWKS holds at most three keys",
            ));
        }

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

        let mut clients = IndexMap::new();
        for (id, c) in raw.clients {
            let client = self.client(&id, c, &providers)?;
            clients.insert(client.client_id.clone(), client);
        }
        Ok(Config {
            file: PathBuf::from(self.file),
            server: ServerConfig {
                listen,
                issuer,
                data_dir,
            },
            store: StoreConfig { url: store_url },
            session,
            tokens,
            providers,
            clients,
        })
    }

    /// A duration like `"8h"`, `"30d"` or `"90s"`.
    fn duration(
        &self,
        key: &str,
        value: Option<Env>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        match humantime::parse_duration(value.0.trim()) {
            Ok(d) if d >= Duration::from_secs(1) => Ok(d),
            Ok(_) => Err(self.err(key, "must be at least 1s")),
            Err(_) => Err(self.err(
                key,
                format!(
                    "{:?} is not a duration like \"90s\", \"8h\" or \"30d\"",
                    value.0
                ),
            )),
        }
    }

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

    fn issuer(&self, value: &str) -> Result<Issuer, ConfigError> {
        let key = "server.issuer";
        let url = Url::parse(value)
            .map_err(|e| self.err(key, format!("{value:?} is not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(self.err(key, format!("{value:?} must be an http(s) URL")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.err(key, "the issuer must not have a query or fragment"));
        }
        if url.path() != "/" {
            return Err(self.err(
                key,
                "the issuer must be a bare origin like https://login.example.ru (serve socialgate on its own host name, not under a path)",
            ));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(self.err(
                key,
                "the issuer must be https unless it is a loopback address (tokens would travel in clear text)",
            ));
        }
        Ok(Issuer(url.as_str().trim_end_matches('/').to_string()))
    }

    fn provider(
        &self,
        name: &str,
        p: RawProvider,
        source: &DescriptorSource,
    ) -> Result<ProviderConfig, ConfigError> {
        let key = format!("providers.{name}");
        let provider_name = ProviderName::parse(name).map_err(|m| self.err(&key, m))?;
        let kind = p.kind.map_or_else(|| name.to_string(), |k| k.0);
        let mut descriptor = source
            .load(&kind)
            .map_err(|m| self.err(&format!("{key}.kind"), m))?;
        for (field, value) in [
            ("authorize_url", &p.authorize_url),
            ("token_url", &p.token_url),
            ("userinfo_url", &p.userinfo_url),
        ] {
            if let Some(v) = value {
                let url = Url::parse(&v.0).map_err(|e| {
                    self.err(
                        &format!("{key}.{field}"),
                        format!("{:?} is not a URL: {e}", v.0),
                    )
                })?;
                // Secrets, codes and tokens travel to these endpoints.
                if !is_secure_endpoint(&url) {
                    return Err(self.err(
                        &format!("{key}.{field}"),
                        format!("{:?} must be https (http only for loopback addresses)", v.0),
                    ));
                }
                match field {
                    "authorize_url" => descriptor.authorize_url = Some(url),
                    "token_url" => descriptor.token_url = Some(url),
                    _ => descriptor.userinfo_url = Some(url),
                }
            }
        }
        if let Some(v) = p.api_version {
            descriptor.api_version = Some(v.0);
        }
        for (k, v) in p.authorize_params.unwrap_or_default() {
            if RESERVED_AUTHORIZE_PARAMS.contains(&k.as_str()) {
                return Err(self.err(
                    &format!("{key}.authorize_params"),
                    format!("`{k}` is set by the gateway itself"),
                ));
            }
            descriptor.authorize_params.insert(k, v.0);
        }
        let is_oidc = descriptor.protocol == Protocol::Oidc;
        for (field, given) in [
            (
                self.written(&key, &["issuer", "base_url"]),
                p.issuer.is_some(),
            ),
            (format!("{key}.tenant"), p.tenant.is_some()),
        ] {
            if given && !is_oidc {
                let name = field.rsplit('.').next().unwrap_or_default();
                return Err(self.err(
                    &field,
                    format!(
                        "{name} is only for OpenID Connect providers (kind `{kind}` is not one)"
                    ),
                ));
            }
        }
        let issuer = if is_oidc {
            Some(self.oidc_issuer(&key, &kind, &descriptor, p.issuer, p.tenant)?)
        } else {
            None
        };
        let secret = self.secret(
            &self.written(&key, &["client_secret", "secret_key"]),
            p.client_secret,
            &self.written(&key, &["client_secret_file", "secret_key_file"]),
            p.client_secret_file,
        )?;
        let needs_app = descriptor.protocol != Protocol::Demo;
        let public_client = descriptor.token_auth == Some(TokenAuth::None);
        if !needs_app && !self.issuer_is_loopback {
            return Err(self.err(
                &key,
                "the demo provider lets anyone log in as anyone; it is allowed only while the issuer is a loopback address",
            ));
        }
        let (client_id, client_secret) = if needs_app {
            let id = p.client_id.ok_or_else(|| {
                self.err(
                    &key,
                    "missing `client_id` (OK calls it app_id: \"ID приложения\")",
                )
            })?;
            let secret = match secret {
                Some(s) => s,
                // PKCE alone proves the exchange; there is no secret to keep.
                None if public_client => SecretString::from(String::new()),
                None => {
                    return Err(self.err(
                        &key,
                        "missing `client_secret` (OK: secret_key, \"Секретный ключ\"), or `client_secret_file`",
                    ));
                }
            };
            (id.0, secret)
        } else {
            (String::new(), SecretString::from(String::new()))
        };
        if descriptor.protocol == Protocol::Ok && p.public_key.is_none() {
            return Err(self.err(
                &key,
                "missing `public_key` (OK's application key, \"Публичный ключ\")",
            ));
        }
        if descriptor.protocol != Protocol::Ok && p.public_key.is_some() {
            return Err(self.err(
                &format!("{key}.public_key"),
                "public_key is only used by OK providers",
            ));
        }
        let endpoints = match (
            &descriptor.authorize_url,
            &descriptor.token_url,
            &descriptor.userinfo_url,
        ) {
            (Some(a), Some(t), Some(u)) => Some(Endpoints {
                authorize: a.clone(),
                token: t.clone(),
                userinfo: u.clone(),
            }),
            _ if needs_app && !is_oidc => {
                return Err(self.err(
                    &key,
                    format!("descriptor `{kind}` lacks endpoint URLs; set authorize_url, token_url and userinfo_url"),
                ));
            }
            _ => None,
        };
        // A descriptor file is the admin's too: its endpoints get the same rule as overrides.
        if let Some(e) = &endpoints {
            for url in [&e.authorize, &e.token, &e.userinfo] {
                if !is_secure_endpoint(url) {
                    return Err(self.err(
                        &format!("{key}.kind"),
                        format!("descriptor `{kind}`: {url} must be https (http only for loopback addresses)"),
                    ));
                }
            }
        }
        let display_name = p
            .display_name
            .map_or_else(|| descriptor.display_name.clone(), |d| d.0);
        Ok(ProviderConfig {
            name: provider_name,
            kind,
            descriptor,
            client_id,
            client_secret,
            endpoints,
            issuer,
            public_key: p.public_key.map(|k| k.0),
            scopes: p
                .scopes
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.0)
                .collect(),
            display_name,
        })
    }

    /// An OpenID Connect provider's issuer: the admin's, else the descriptor's, with
    /// `{tenant}` filled in.
    fn oidc_issuer(
        &self,
        key: &str,
        kind: &str,
        descriptor: &Descriptor,
        issuer: Option<Env>,
        tenant: Option<Env>,
    ) -> Result<String, ConfigError> {
        let field = self.written(key, &["issuer", "base_url"]);
        let template = issuer
            .map(|i| i.0)
            .or_else(|| descriptor.issuer.clone())
            .ok_or_else(|| {
                self.err(
                    key,
                    format!("missing `issuer` (kind `{kind}` is OpenID Connect; its discovery document is at ISSUER/.well-known/openid-configuration)"),
                )
            })?;
        let given_tenant = tenant.is_some();
        let tenant = tenant
            .map(|t| t.0)
            .or_else(|| descriptor.default_tenant.clone());
        let issuer = match (template.contains("{tenant}"), tenant) {
            (true, Some(t)) => {
                let ok = !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
                if !ok {
                    return Err(self.err(
                        &format!("{key}.tenant"),
                        format!("{t:?} is not a tenant name or id"),
                    ));
                }
                template.replace("{tenant}", &t)
            }
            (true, None) => {
                return Err(self.err(key, "missing `tenant` (the issuer names `{tenant}`)"));
            }
            (false, Some(_)) if given_tenant => {
                return Err(self.err(
                    &format!("{key}.tenant"),
                    format!("kind `{kind}` has no tenants (its issuer names no `{{tenant}}`)"),
                ));
            }
            (false, _) => template,
        };
        let url = Url::parse(&issuer)
            .map_err(|e| self.err(&field, format!("{issuer:?} is not a URL: {e}")))?;
        if !is_secure_endpoint(&url) {
            return Err(self.err(
                &field,
                format!("{issuer:?} must be https (http only for loopback addresses)"),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.err(&field, "an issuer has no query or fragment"));
        }
        Ok(issuer.trim_end_matches('/').to_string())
    }

    fn client(
        &self,
        id: &str,
        c: RawClient,
        providers: &IndexMap<ProviderName, ProviderConfig>,
    ) -> Result<ClientConfig, ConfigError> {
        let key = format!("clients.{id}");
        if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_graphic() && ch != ':') {
            return Err(self.err(&key, "a client_id is printable ASCII without spaces or `:`"));
        }
        let client_secret = self.secret(
            &format!("{key}.client_secret"),
            c.client_secret,
            &format!("{key}.client_secret_file"),
            c.client_secret_file,
        )?;
        if let Some(secret) = &client_secret {
            use secrecy::ExposeSecret;
            if secret.expose_secret().len() < 16 {
                return Err(self.err(
                    &self.written(&key, &["client_secret", "client_secret_file"]),
                    "a client secret must be at least 16 characters (e.g. `openssl rand -hex 32`)",
                ));
            }
        }
        if c.redirect_uris.is_empty() {
            return Err(self.err(
                &format!("{key}.redirect_uris"),
                "list at least one redirect URI",
            ));
        }
        let mut redirect_uris = Vec::new();
        for uri in c.redirect_uris {
            redirect_uris.push(self.site_url(
                &format!("{key}.redirect_uris"),
                &uri.0,
                "a redirect URI",
            )?);
        }
        let mut post_logout_redirect_uris = Vec::new();
        for uri in c.post_logout_redirect_uris {
            post_logout_redirect_uris.push(self.site_url(
                &format!("{key}.post_logout_redirect_uris"),
                &uri.0,
                "a post-logout redirect URI",
            )?);
        }
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
            Some(list) => {
                if list.is_empty() {
                    return Err(self.err(
                        &format!("{key}.providers"),
                        "an empty list allows no login; omit the key to allow every provider",
                    ));
                }
                let mut names = Vec::new();
                for p in list {
                    let name = providers
                        .keys()
                        .find(|n| n.as_str() == p.0)
                        .ok_or_else(|| {
                            self.err(
                                &format!("{key}.providers"),
                                format!(
                                    "no provider named {:?} (configured: {})",
                                    p.0,
                                    providers
                                        .keys()
                                        .map(|n| n.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        })?;
                    names.push(name.clone());
                }
                names
            }
        };
        Ok(ClientConfig {
            client_id: ClientId(id.to_string()),
            name: c.name.map_or_else(|| id.to_string(), |n| n.0),
            client_secret,
            redirect_uris,
            providers: allowed,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            refresh_tokens: c.refresh_tokens,
        })
    }
}

/// Authorize parameters the gateway sets for every login; a fixed value would break it.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_and_keeps_literal_dollars() {
        let env = |n: &str| (n == "A").then(|| "x$y".to_string());
        assert_eq!(expand_env("p-${A}-$$-$q", env).unwrap(), "p-x$y-$-$q");
        assert_eq!(
            expand_env("${B}", env).unwrap_err(),
            "environment variable B is not set"
        );
        assert!(expand_env("${A", env).unwrap_err().contains("unclosed"));
    }
}

//! The gateway's own settings: where it listens, its issuer, its store, and how long
//! sessions, tokens and keys live.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::expand::Env;
use super::schema::{RawServer, RawSession, RawStore, RawTokens};
use super::{
    ConfigError, Ctx, Issuer, ServerConfig, SessionConfig, StoreConfig, StoreUrl, TokensConfig,
};
use crate::provider::descriptor::DescriptorSource;
use crate::provider::settings::is_loopback;
use crate::store::{Location, StoreError, Topology, Wait};

impl Ctx<'_> {
    /// `[server]`, and where the descriptors it names are looked up.
    pub(super) fn server(
        &self,
        raw: &RawServer,
    ) -> Result<(ServerConfig, DescriptorSource), ConfigError> {
        let listen = raw.listen.0.parse::<SocketAddr>().map_err(|_| {
            self.err(
                "server.listen",
                format!("{:?} is not an address like 127.0.0.1:8080", raw.listen.0),
            )
        })?;
        let issuer = self.issuer(&raw.issuer.0)?;
        let data_dir = self.path(raw.data_dir.as_ref().map_or("data", |d| d.0.as_str()));
        let source = match &raw.providers_dir {
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
        let server = ServerConfig {
            listen,
            issuer,
            data_dir,
        };
        Ok((server, source))
    }

    /// `[store] max_memory`: `"256MB"`, `"1GiB"`; at least 1 MB.
    pub(super) fn max_memory(&self, value: Option<Env>) -> Result<u64, ConfigError> {
        let Some(Env(value)) = value else {
            return Ok(crate::store::DEFAULT_MAX_MEMORY);
        };
        let size = value.trim().parse::<bytesize::ByteSize>().map_err(|_| {
            self.err(
                "store.max_memory",
                format!("{value:?} is not a size like \"256MB\" or \"1GiB\""),
            )
        })?;
        if size.as_u64() < 1_000_000 {
            return Err(self.err("store.max_memory", "must be at least 1MB"));
        }
        Ok(size.as_u64())
    }

    /// `[store]`: the URL, the memory store's bound, the replicas a Redis write waits for.
    pub(super) fn store(&self, mut raw: RawStore) -> Result<StoreConfig, ConfigError> {
        let (url, location) = self.store_url(raw.url.take())?;
        let wait = match location.topology() {
            None => {
                for (key, set) in [
                    ("store.wait_replicas", raw.wait_replicas.is_some()),
                    ("store.wait_timeout", raw.wait_timeout.is_some()),
                ] {
                    if set {
                        return Err(self.err(key, "only Redis has replicas to wait for"));
                    }
                }
                None
            }
            Some(topology) => Some(self.wait(&raw, topology)?),
        };
        Ok(StoreConfig {
            url,
            max_memory: self.max_memory(raw.max_memory)?,
            location,
            wait,
        })
    }

    fn store_url(&self, url: Option<Env>) -> Result<(StoreUrl, Location), ConfigError> {
        let url = url.map_or_else(|| "memory://".to_string(), |u| u.0);
        // The error names the scheme or one host of a list, never the password.
        let location = Location::parse(&url).map_err(|e| match e {
            StoreError::BadUrl(message) => self.err("store.url", message),
            other => self.err("store.url", other.to_string()),
        })?;
        Ok((StoreUrl(url), location))
    }

    /// `wait_replicas` (0 to 16) and `wait_timeout` (1ms to 1s).
    fn wait(&self, raw: &RawStore, topology: Topology) -> Result<Wait, ConfigError> {
        let default = Wait::default_for(topology);
        let replicas = match raw.wait_replicas {
            None => default.replicas,
            Some(n @ 0..=16) => n as u32,
            Some(n) => {
                return Err(self.err(
                    "store.wait_replicas",
                    format!("{n} is not between 0 and 16"),
                ));
            }
        };
        let timeout = match &raw.wait_timeout {
            None => default.timeout,
            Some(Env(value)) => match humantime::parse_duration(value.trim()) {
                Ok(d) if (Duration::from_millis(1)..=Duration::from_secs(1)).contains(&d) => d,
                Ok(_) => {
                    return Err(self.err(
                        "store.wait_timeout",
                        "must be between 1ms and 1s (a request waits at most 2s for Redis)",
                    ));
                }
                Err(_) => {
                    return Err(self.err(
                        "store.wait_timeout",
                        format!("{value:?} is not a duration like \"250ms\" or \"1s\""),
                    ));
                }
            },
        };
        Ok(Wait { replicas, timeout })
    }

    pub(super) fn session(&self, raw: RawSession) -> Result<SessionConfig, ConfigError> {
        let defaults = SessionConfig::default();
        Ok(SessionConfig {
            idle_timeout: self.duration(
                "session.idle_timeout",
                raw.idle_timeout,
                defaults.idle_timeout,
            )?,
            max_lifetime: self.duration(
                "session.max_lifetime",
                raw.max_lifetime,
                defaults.max_lifetime,
            )?,
        })
    }

    pub(super) fn tokens(&self, raw: RawTokens) -> Result<TokensConfig, ConfigError> {
        let defaults = TokensConfig::default();
        let tokens = TokensConfig {
            lifetime: self.duration("tokens.lifetime", raw.lifetime, defaults.lifetime)?,
            refresh_lifetime: self.duration(
                "tokens.refresh_lifetime",
                raw.refresh_lifetime,
                defaults.refresh_lifetime,
            )?,
            key_rotation: self.duration(
                "tokens.key_rotation",
                raw.key_rotation,
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
        Ok(tokens)
    }

    /// A duration like `"8h"`, `"30d"` or `"90s"`.
    pub(super) fn duration(
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
}

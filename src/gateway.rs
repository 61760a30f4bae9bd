//! The composition root: everything a request needs, built once at start-up (config,
//! providers, store, keys, HTTP clients) and handed to the web layer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::Config;
use crate::keys::{KeyError, KeyRing, KeyTimings};
use crate::provider::ok::groups::GroupTokens;
use crate::provider::{Registry, http};
use crate::store::{self, Store};

/// Upper bound of one upstream call (token exchange, profile): a slow network fails the
/// login with `temporarily_unavailable` instead of holding it open.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound of one back-channel logout POST to a site.
pub const BACKCHANNEL_TIMEOUT: Duration = Duration::from_secs(5);
/// Store keys anyone can create before logging in: pending logins (`oidc::login`), the demo
/// network's codes (`provider::demo`) and rate counters (`oidc::limits`). The memory store
/// keeps them in a pool of their own, so a flood of them cannot evict logged-in people;
/// Redis does not wait for replicas to have them (a login lost to a failover is started
/// again).
pub const TRANSIENT_KEYS: &[&str] = &["login:", "demo:", "rate:"];

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Providers(String),
}

/// Why a re-read config was not taken (the running one stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{0} changed: that takes a restart; nothing was reloaded")]
    NeedsRestart(&'static str),
    #[error("{0}")]
    Providers(String),
}

pub struct Gateway {
    pub config: Config,
    pub providers: Registry,
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
    /// For calls to sites (back-channel logout).
    pub sites_http: reqwest::Client,
    /// For calls to the networks (kept across reloads, with its connections).
    upstream_http: reqwest::Client,
    /// OK group tokens, checked on a schedule so they stay alive.
    pub ok_groups: Arc<GroupTokens>,
    /// Wakes this instance's delivery of back-channel logout notices (`oidc::backchannel`,
    /// started by `web::app`) when a logout queued some or an attempt ended.
    pub logout_notices: Arc<Notify>,
}

impl Gateway {
    pub async fn new(config: Config) -> Result<Self, StartError> {
        Self::with_timeout(config, UPSTREAM_TIMEOUT).await
    }

    /// As `new`, with another upstream timeout (tests use a short one).
    ///
    /// With a shared store that does not answer yet, the gateway still starts (not ready,
    /// answering 503) and loads its keys once the store is back; a local key file that
    /// cannot be read is fatal.
    pub async fn with_timeout(
        config: Config,
        upstream_timeout: Duration,
    ) -> Result<Self, StartError> {
        let settings = store::Settings {
            max_memory: config.store.max_memory,
            transient: TRANSIENT_KEYS.to_vec(),
            wait: config.store.wait,
        };
        let store = store::open(config.store.url.as_str(), settings)?;
        let http = http::client(upstream_timeout)?;
        let sites_http = http::client(BACKCHANNEL_TIMEOUT)?;
        let providers = Registry::build(
            config.providers.values(),
            config.server.issuer.as_str(),
            &http,
            store.clone(),
        )
        .map_err(StartError::Providers)?;
        let keys = Arc::new(KeyRing::new(
            store.clone(),
            &config.server.data_dir,
            KeyTimings::from_config(&config.tokens),
        ));
        match keys.refresh().await {
            Ok(()) => {}
            Err(e @ (KeyError::Store(_) | KeyError::NotLoaded)) if store.is_shared() => {
                tracing::error!(error = %e, "cannot load the signing keys yet; retrying");
            }
            Err(e) => return Err(e.into()),
        }
        keys.spawn_refresh();
        let ok_groups = Arc::new(GroupTokens::new(config.ok_groups.clone(), http.clone()));
        ok_groups.spawn_upkeep();
        Ok(Gateway {
            config,
            providers,
            store,
            keys,
            sites_http,
            upstream_http: http,
            ok_groups,
            logout_notices: Arc::new(Notify::new()),
        })
    }

    /// The gateway for a re-read `config`: its clients, providers, rate limits, session
    /// settings, kept network tokens and group tokens, over the same store, signing keys
    /// and connections — so sessions and logins under way carry on. What only a restart can
    /// change (where it listens, its issuer, store, token lifetimes, logs, metrics,
    /// connection limits) must be as it was.
    pub fn reloaded(&self, config: Config) -> Result<Gateway, ReloadError> {
        let (old, new) = (&self.config, &config);
        let unchanged = [
            ("[server]", old.server == new.server),
            ("[store]", old.store == new.store),
            ("[tokens]", old.tokens == new.tokens),
            ("[log]", old.log == new.log),
            ("[metrics]", old.metrics == new.metrics),
            (
                "[limits] header_timeout, max_connections or shutdown_timeout",
                old.limits.header_timeout == new.limits.header_timeout
                    && old.limits.max_connections == new.limits.max_connections
                    && old.limits.shutdown_timeout == new.limits.shutdown_timeout,
            ),
        ];
        if let Some((table, _)) = unchanged.iter().find(|(_, same)| !same) {
            return Err(ReloadError::NeedsRestart(table));
        }
        let providers = Registry::build(
            config.providers.values(),
            config.server.issuer.as_str(),
            &self.upstream_http,
            self.store.clone(),
        )
        .map_err(ReloadError::Providers)?;
        let ok_groups = Arc::new(GroupTokens::new(
            config.ok_groups.clone(),
            self.upstream_http.clone(),
        ));
        ok_groups.spawn_upkeep();
        Ok(Gateway {
            config,
            providers,
            store: self.store.clone(),
            keys: self.keys.clone(),
            sites_http: self.sites_http.clone(),
            upstream_http: self.upstream_http.clone(),
            ok_groups,
            logout_notices: Arc::new(Notify::new()),
        })
    }

    /// Whether the gateway can serve logins: store answering, keys loaded.
    pub async fn is_ready(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| e.to_string())?;
        if !self.keys.is_loaded() {
            self.keys.refresh().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

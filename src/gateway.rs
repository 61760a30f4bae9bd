//! Everything a request needs, built once at start-up: config, providers, store, key.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::provider::{Registry, http};
use crate::store::{self, Store};
use crate::token::SigningKey;

/// Upper bound of one upstream call (token exchange, profile): a slow network fails the
/// login with `temporarily_unavailable` instead of holding it open.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Key(#[from] crate::token::KeyError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Providers(String),
}

pub struct Gateway {
    pub config: Config,
    pub providers: Registry,
    pub store: Arc<dyn Store>,
    pub key: SigningKey,
}

impl Gateway {
    pub fn new(config: Config) -> Result<Self, StartError> {
        Self::with_timeout(config, UPSTREAM_TIMEOUT)
    }

    /// As `new`, with another upstream timeout (tests use a short one).
    pub fn with_timeout(config: Config, upstream_timeout: Duration) -> Result<Self, StartError> {
        let store = store::open(&config.store.url)?;
        let http = http::client(upstream_timeout)?;
        let providers =
            Registry::build(&config, &http, store.clone()).map_err(StartError::Providers)?;
        let key = SigningKey::load_or_create(&config.server.data_dir)?;
        Ok(Gateway {
            config,
            providers,
            store,
            key,
        })
    }
}

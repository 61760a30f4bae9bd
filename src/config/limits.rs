//! `[limits]`: what one client or connection may take of the gateway.

use std::time::Duration;

use super::schema::RawLimits;
use super::{ConfigError, Ctx};

#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// A connection must send a request's headers within this long, and an idle kept-alive
    /// connection is closed after it: a stalled client cannot hold a connection.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, requests in flight get this long to finish.
    pub shutdown_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl Ctx<'_> {
    pub(super) fn limits(&self, raw: RawLimits) -> Result<LimitsConfig, ConfigError> {
        let defaults = LimitsConfig::default();
        let max_connections = match raw.max_connections {
            None => defaults.max_connections,
            Some(n) if (1..=1_000_000).contains(&n) => n as usize,
            Some(n) => {
                return Err(self.err(
                    "limits.max_connections",
                    format!("{n} is not between 1 and 1000000"),
                ));
            }
        };
        Ok(LimitsConfig {
            header_timeout: self.duration(
                "limits.header_timeout",
                raw.header_timeout,
                defaults.header_timeout,
            )?,
            max_connections,
            shutdown_timeout: self.duration(
                "limits.shutdown_timeout",
                raw.shutdown_timeout,
                defaults.shutdown_timeout,
            )?,
        })
    }
}

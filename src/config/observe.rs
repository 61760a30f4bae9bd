//! `[log]`: how the gateway's log lines look; `[metrics]`: whether and where it counts.

use super::expand::Env;
use std::net::SocketAddr;

use super::schema::{RawLog, RawMetrics};
use super::{ConfigError, Ctx};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `socialgate=debug,info`); `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Ctx<'_> {
    pub(super) fn log(&self, raw: RawLog) -> Result<LogConfig, ConfigError> {
        let format = match raw.format.as_ref().map(|Env(f)| f.as_str()) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(self.err(
                    "log.format",
                    format!("{other:?} is not a log format; use \"text\" or \"json\""),
                ));
            }
        };
        let level = raw
            .level
            .map_or_else(|| LogConfig::default().level, |Env(l)| l);
        tracing_subscriber::EnvFilter::builder()
            .parse(&level)
            .map_err(|e| {
                self.err(
                    "log.level",
                    format!("{level:?} is not a log filter like \"info\" or \"socialgate=debug,info\": {e}"),
                )
            })?;
        Ok(LogConfig { format, level })
    }
}

/// `[metrics]`: Prometheus metrics at `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// An address of their own (a port only the monitoring can reach); `None`: `/metrics`
    /// on the main listener.
    pub listen: Option<SocketAddr>,
}

impl Ctx<'_> {
    pub(super) fn metrics(&self, raw: RawMetrics) -> Result<MetricsConfig, ConfigError> {
        let listen = match raw.listen {
            None => None,
            Some(Env(listen)) => Some(listen.parse::<SocketAddr>().map_err(|_| {
                self.err(
                    "metrics.listen",
                    format!("{listen:?} is not an address like 127.0.0.1:9090"),
                )
            })?),
        };
        let enabled = raw.enabled.unwrap_or(listen.is_some());
        if listen.is_some() && !enabled {
            return Err(self.err(
                "metrics.listen",
                "metrics are disabled (enabled = false): remove listen or enable them",
            ));
        }
        Ok(MetricsConfig { enabled, listen })
    }
}

//! `[log]`: how the gateway's log lines look.

use super::expand::Env;
use super::schema::RawLog;
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

#[derive(Clone, Debug)]
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

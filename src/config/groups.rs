//! The `[ok_groups.NAME]` tables: OK group tokens (chat bots' keys) the gateway keeps alive,
//! each with the Bot API address it is checked at and how often.

use std::time::Duration;

use indexmap::IndexMap;
use url::Url;

use super::expand::Env;
use super::schema::RawOkGroup;
use super::{ConfigError, Ctx, ProviderConfig, ProviderName};
use crate::provider::ok::groups::{OkGroup, api_url_beside, is_ok};
use crate::provider::settings::is_secure_endpoint;

/// A daily use keeps a token's 30 days far away, and costs OK one call a day.
const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Longer gaps would leave a token too few chances before OK's 30 days run out.
const MAX_CHECK_EVERY: Duration = Duration::from_secs(7 * 24 * 3600);

impl Ctx<'_> {
    pub(super) fn ok_groups(
        &self,
        raw: IndexMap<String, RawOkGroup>,
        providers: &IndexMap<ProviderName, ProviderConfig>,
    ) -> Result<Vec<OkGroup>, ConfigError> {
        raw.into_iter()
            .map(|(name, g)| self.ok_group(&name, g, providers))
            .collect()
    }

    fn ok_group(
        &self,
        name: &str,
        g: RawOkGroup,
        providers: &IndexMap<ProviderName, ProviderConfig>,
    ) -> Result<OkGroup, ConfigError> {
        let key = format!("ok_groups.{name}");
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(self.err(
                &key,
                format!("{name:?} is not a valid group name (1-64 of A-Z, a-z, 0-9, `_`, `-`)"),
            ));
        }
        let token_key = format!("{key}.access_token");
        let file_key = format!("{key}.access_token_file");
        if g.access_token.as_ref().is_some_and(|t| t.0.is_empty()) {
            return Err(self.err(&token_key, "is empty"));
        }
        let access_token = self
            .secret(&token_key, g.access_token, &file_key, g.access_token_file)?
            .ok_or_else(|| {
                self.err(
                    &key,
                    "missing `access_token` (the group's key from its settings: Messages, \
                     \"Получить ключ доступа\"), or `access_token_file`",
                )
            })?;
        let api_url = self.group_api_url(&key, g.provider, g.api_url, providers)?;
        let check_every = self.duration(
            &format!("{key}.check_every"),
            g.check_every,
            DEFAULT_CHECK_EVERY,
        )?;
        if check_every > MAX_CHECK_EVERY {
            return Err(self.err(
                &format!("{key}.check_every"),
                "must be at most 7d, so the token is used well inside OK's 30 days",
            ));
        }
        Ok(OkGroup {
            name: name.to_string(),
            access_token,
            api_url,
            check_every,
        })
    }

    /// The Bot API base: `api_url` as written, else beside the REST endpoint of the named OK
    /// provider, else of the first OK provider.
    fn group_api_url(
        &self,
        key: &str,
        provider: Option<Env>,
        api_url: Option<Env>,
        providers: &IndexMap<ProviderName, ProviderConfig>,
    ) -> Result<Url, ConfigError> {
        match (provider, api_url) {
            (Some(_), Some(_)) => Err(self.err(
                &format!("{key}.api_url"),
                "set either provider or api_url, not both",
            )),
            (None, Some(url)) => {
                let url_key = format!("{key}.api_url");
                let parsed = Url::parse(&url.0)
                    .map_err(|e| self.err(&url_key, format!("{:?} is not a URL: {e}", url.0)))?;
                // The token travels to it.
                if !is_secure_endpoint(&parsed) || parsed.query().is_some() {
                    return Err(self.err(
                        &url_key,
                        format!(
                            "{:?} must be an https URL without a query (http only for loopback addresses)",
                            url.0
                        ),
                    ));
                }
                Ok(parsed)
            }
            (Some(name), None) => {
                let provider_key = format!("{key}.provider");
                let p = providers
                    .get(name.0.as_str())
                    .filter(|p| is_ok(p))
                    .ok_or_else(|| {
                        self.err(
                            &provider_key,
                            format!("{:?} is not a provider of kind ok", name.0),
                        )
                    })?;
                self.rest_endpoint(&provider_key, p)
            }
            (None, None) => {
                let p = providers.values().find(|p| is_ok(p)).ok_or_else(|| {
                    self.err(
                        key,
                        "no provider of kind ok to take OK's API address from; add one, or set api_url",
                    )
                })?;
                self.rest_endpoint(key, p)
            }
        }
    }

    fn rest_endpoint(&self, key: &str, p: &ProviderConfig) -> Result<Url, ConfigError> {
        let endpoints = p.endpoints().map_err(|m| self.err(key, m))?;
        Ok(api_url_beside(&endpoints.userinfo))
    }
}

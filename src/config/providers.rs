//! The `[providers.NAME]` tables: each merged with its kind's descriptor, with the admin's
//! overrides and secrets checked. The options only some kinds read are checked by those
//! kinds (`provider::kind::Kind::configure`), so nothing here knows a particular network.

use secrecy::SecretString;
use url::Url;

use super::expand::Env;
use super::schema::RawProvider;
use super::{ConfigError, Ctx, Endpoints, ProviderConfig};
use crate::provider::ProviderName;
use crate::provider::descriptor::{Descriptor, DescriptorSource, TokenAuth};
use crate::provider::kind::{self, GivenOption, Kind, KindOptions, KindTable};
use crate::provider::settings::is_secure_endpoint;

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

impl Ctx<'_> {
    pub(super) fn provider(
        &self,
        name: &str,
        mut p: RawProvider,
        source: &DescriptorSource,
    ) -> Result<ProviderConfig, ConfigError> {
        let given = p.take_kind_options();
        let key = format!("providers.{name}");
        let provider_name = ProviderName::parse(name).map_err(|m| self.err(&key, m))?;
        let kind_name = p.kind.take().map_or_else(|| name.to_string(), |k| k.0);
        let mut descriptor = source
            .load(&kind_name)
            .map_err(|m| self.err(&format!("{key}.kind"), m))?;
        self.overrides(&key, &mut p, &mut descriptor)?;
        let kind = descriptor.protocol.kind();
        let secret = self.secret(
            &self.written(&key, &["client_secret", "secret_key"]),
            p.client_secret.take(),
            &self.written(&key, &["client_secret_file", "secret_key_file"]),
            p.client_secret_file.take(),
        )?;
        let (client_id, client_secret) = if kind.needs_app() {
            self.app(&key, &descriptor, p.client_id.take(), secret)?
        } else {
            (String::new(), None)
        };
        // After the app's own keys, as before kinds owned their options: an admin who forgot
        // `client_id` hears of it first.
        let options = self.kind_options(&key, &kind_name, &descriptor, given)?;
        let endpoints = self.endpoints(&key, &kind_name, kind, &descriptor)?;
        let display_name = p
            .display_name
            .map_or_else(|| descriptor.display_name.clone(), |d| d.0);
        Ok(ProviderConfig {
            name: provider_name,
            kind: kind_name,
            descriptor,
            client_id,
            client_secret,
            endpoints,
            options,
            scopes: p
                .scopes
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.0)
                .collect(),
            display_name,
        })
    }

    /// The admin's changes to the descriptor: endpoints, API version, authorize parameters.
    fn overrides(
        &self,
        key: &str,
        p: &mut RawProvider,
        descriptor: &mut Descriptor,
    ) -> Result<(), ConfigError> {
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
        if let Some(v) = p.api_version.take() {
            descriptor.api_version = Some(v.0);
        }
        for (k, v) in p.authorize_params.take().unwrap_or_default() {
            if RESERVED_AUTHORIZE_PARAMS.contains(&k.as_str()) {
                return Err(self.err(
                    &format!("{key}.authorize_params"),
                    format!("`{k}` is set by the gateway itself"),
                ));
            }
            descriptor.authorize_params.insert(k, v.0);
        }
        Ok(())
    }

    /// The options only some kinds read: refused where the kind does not read them (in the
    /// words of the kind that does), else checked by the kind.
    fn kind_options(
        &self,
        key: &str,
        kind_name: &str,
        descriptor: &Descriptor,
        given: Vec<(&'static str, Env)>,
    ) -> Result<KindOptions, ConfigError> {
        let kind = descriptor.protocol.kind();
        let mut options = Vec::new();
        for (name, value) in given {
            let owned = kind::owned_option(name);
            let names: Vec<&str> = owned.map_or_else(|| vec![name], |o| o.names().collect());
            let written = self.written(key, &names);
            if !kind.options().iter().any(|o| o.name == name) {
                let as_written = written.rsplit('.').next().unwrap_or(name);
                let message = owned.map_or_else(
                    || format!("{as_written} is not read by kind `{kind_name}`"),
                    |o| (o.elsewhere)(as_written, kind_name),
                );
                return Err(self.err(&written, message));
            }
            options.push(GivenOption {
                name,
                key: written,
                value: value.0,
            });
        }
        let table = KindTable {
            key,
            kind: kind_name,
            descriptor,
            issuer_is_loopback: self.issuer_is_loopback,
            given: &options,
        };
        kind.configure(&table)
            .map_err(|e| self.err(&e.key, e.message))
    }

    /// A network app's id and secret; a public client (PKCE alone) has no secret.
    fn app(
        &self,
        key: &str,
        descriptor: &Descriptor,
        client_id: Option<Env>,
        secret: Option<SecretString>,
    ) -> Result<(String, Option<SecretString>), ConfigError> {
        let id = client_id.ok_or_else(|| {
            self.err(
                key,
                "missing `client_id` (OK calls it app_id: \"ID приложения\")",
            )
        })?;
        let public_client = descriptor.token_auth == Some(TokenAuth::None);
        if secret.is_none() && !public_client {
            return Err(self.err(
                key,
                "missing `client_secret` (OK: secret_key, \"Секретный ключ\"), or `client_secret_file`",
            ));
        }
        // A public client's token exchange never sends the secret (the flow leaves it out),
        // but a kind may still sign with it (OK's calls, Facebook's proof).
        Ok((id.0, secret))
    }

    /// The descriptor's endpoints (with the admin's overrides), each https.
    fn endpoints(
        &self,
        key: &str,
        kind_name: &str,
        kind: &dyn Kind,
        descriptor: &Descriptor,
    ) -> Result<Option<Endpoints>, ConfigError> {
        let endpoints = match (
            &descriptor.authorize_url,
            &descriptor.token_url,
            &descriptor.userinfo_url,
        ) {
            (Some(a), Some(t), Some(u)) => Endpoints {
                authorize: a.clone(),
                token: t.clone(),
                userinfo: u.clone(),
            },
            _ if kind.needs_app() && !kind.discovers_endpoints() => {
                return Err(self.err(
                    key,
                    format!("descriptor `{kind_name}` lacks endpoint URLs; set authorize_url, token_url and userinfo_url"),
                ));
            }
            _ => return Ok(None),
        };
        // A descriptor file is the admin's too: its endpoints get the same rule as overrides.
        for url in [&endpoints.authorize, &endpoints.token, &endpoints.userinfo] {
            if !is_secure_endpoint(url) {
                return Err(self.err(
                    &format!("{key}.kind"),
                    format!("descriptor `{kind_name}`: {url} must be https (http only for loopback addresses)"),
                ));
            }
        }
        Ok(Some(endpoints))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::schema::KIND_OPTIONS;
    use crate::provider::kind;

    #[test]
    fn every_kind_option_in_the_schema_has_a_kind_that_reads_it() {
        for name in KIND_OPTIONS {
            assert!(kind::owned_option(name).is_some(), "{name}");
        }
    }
}

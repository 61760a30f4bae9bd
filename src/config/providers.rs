//! The `[providers.NAME]` tables: each merged with its kind's descriptor, with the admin's
//! overrides and secrets checked.

use url::Url;

use super::expand::Env;
use super::schema::RawProvider;
use super::{ConfigError, Ctx, Endpoints, ProviderConfig, is_secure_endpoint};
use crate::provider::ProviderName;
use crate::provider::descriptor::{Descriptor, DescriptorSource, Protocol, TokenAuth};

impl Ctx<'_> {
    pub(super) fn provider(
        &self,
        name: &str,
        mut p: RawProvider,
        source: &DescriptorSource,
    ) -> Result<ProviderConfig, ConfigError> {
        let kind_options = p.take_kind_options();
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
        let mut public_key = None;
        let mut issuer = None;
        let mut tenant = None;
        for (option, value) in kind_options {
            match option {
                "public_key" => public_key = Some(value),
                "issuer" => issuer = Some(value),
                _ => tenant = Some(value),
            }
        }
        let is_oidc = descriptor.protocol == Protocol::Oidc;
        for (field, given) in [
            (
                self.written(&key, &["issuer", "base_url"]),
                issuer.is_some(),
            ),
            (format!("{key}.tenant"), tenant.is_some()),
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
            Some(self.oidc_issuer(&key, &kind, &descriptor, issuer, tenant)?)
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
                Some(s) => Some(s),
                // PKCE alone proves the exchange; there is no secret to keep.
                None if public_client => None,
                None => {
                    return Err(self.err(
                        &key,
                        "missing `client_secret` (OK: secret_key, \"Секретный ключ\"), or `client_secret_file`",
                    ));
                }
            };
            (id.0, secret)
        } else {
            (String::new(), None)
        };
        if descriptor.protocol == Protocol::Ok && public_key.is_none() {
            return Err(self.err(
                &key,
                "missing `public_key` (OK's application key, \"Публичный ключ\")",
            ));
        }
        if descriptor.protocol != Protocol::Ok && public_key.is_some() {
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
            public_key: public_key.map(|k| k.0),
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

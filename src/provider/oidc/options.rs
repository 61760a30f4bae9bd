//! The `oidc` kind's own options: the issuer (alias `base_url`, GitLab's self-hosted address)
//! and Microsoft's `tenant`, resolved and checked at start-up.

use std::sync::Arc;

use url::Url;

use super::Oidc;
use crate::provider::descriptor::TokenAuth;
use crate::provider::kind::{Kind, KindOption, KindOptions, KindTable, Opening, OptionError};
use crate::provider::settings::is_secure_endpoint;
use crate::provider::{Provider, ProviderConfig};

pub struct OidcKind;

fn only_oidc(written: &str, kind: &str) -> String {
    format!("{written} is only for OpenID Connect providers (kind `{kind}` is not one)")
}

const ISSUER: KindOption = KindOption {
    name: "issuer",
    aliases: &["base_url"],
    elsewhere: only_oidc,
};

const TENANT: KindOption = KindOption {
    name: "tenant",
    aliases: &[],
    elsewhere: only_oidc,
};

impl Kind for OidcKind {
    fn options(&self) -> &'static [KindOption] {
        &[ISSUER, TENANT]
    }

    fn discovers_endpoints(&self) -> bool {
        true
    }

    fn configure(&self, table: &KindTable<'_>) -> Result<KindOptions, OptionError> {
        let issuer = issuer(table)?;
        Ok(KindOptions::from([(ISSUER.name, issuer)]))
    }

    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        let issuer = config.option(ISSUER.name)?;
        Ok(Arc::new(Oidc::new(
            config,
            issuer,
            at.callback.clone(),
            at.http.clone(),
        )))
    }
}

/// The issuer: the admin's, else the descriptor's, with `{tenant}` filled in.
fn issuer(table: &KindTable<'_>) -> Result<String, OptionError> {
    let (key, kind, descriptor) = (table.key, table.kind, table.descriptor);
    let field = table.key_of(ISSUER.name);
    let template = table
        .get(ISSUER.name)
        .map(|i| i.value.clone())
        .or_else(|| descriptor.issuer.clone())
        .ok_or_else(|| {
            table.error(
                key,
                format!("missing `issuer` (kind `{kind}` is OpenID Connect; its discovery document is at ISSUER/.well-known/openid-configuration)"),
            )
        })?;
    let given_tenant = table.get(TENANT.name).is_some();
    let tenant = table
        .get(TENANT.name)
        .map(|t| t.value.clone())
        .or_else(|| descriptor.default_tenant.clone());
    let tenant_key = table.key_of(TENANT.name);
    let issuer = match (template.contains("{tenant}"), tenant) {
        (true, Some(t)) => {
            let ok = !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
            if !ok {
                return Err(table.error(tenant_key, format!("{t:?} is not a tenant name or id")));
            }
            template.replace("{tenant}", &t)
        }
        (true, None) => {
            return Err(table.error(key, "missing `tenant` (the issuer names `{tenant}`)"));
        }
        (false, Some(_)) if given_tenant => {
            return Err(table.error(
                tenant_key,
                format!("kind `{kind}` has no tenants (its issuer names no `{{tenant}}`)"),
            ));
        }
        (false, _) => template,
    };
    let url = Url::parse(&issuer)
        .map_err(|e| table.error(&field, format!("{issuer:?} is not a URL: {e}")))?;
    if !is_secure_endpoint(&url) {
        return Err(table.error(
            &field,
            format!("{issuer:?} must be https (http only for loopback addresses)"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(table.error(&field, "an issuer has no query or fragment"));
    }
    Ok(issuer.trim_end_matches('/').to_string())
}

/// How to authenticate at the token endpoint: the descriptor's choice, else post when
/// offered (Entra ID compares Basic credentials without form-decoding them, and its secrets
/// hold `~`), else Basic, every provider's default (OIDC Discovery §3).
pub(super) fn token_auth(chosen: Option<TokenAuth>, offered: Option<&[String]>) -> TokenAuth {
    let offered = |m: &str| offered.is_some_and(|all| all.iter().any(|x| x == m));
    match chosen {
        Some(chosen) => chosen,
        None if offered("client_secret_post") => TokenAuth::ClientSecretPost,
        None => TokenAuth::ClientSecretBasic,
    }
}

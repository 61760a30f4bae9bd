//! The file's schema exactly as an admin writes it: serde types that refuse unknown keys, so a
//! typo is named with its line and the keys allowed there.

use indexmap::IndexMap;
use serde::Deserialize;

use super::expand::Env;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub server: RawServer,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub session: RawSession,
    #[serde(default)]
    pub tokens: RawTokens,
    #[serde(default)]
    pub providers: IndexMap<String, RawProvider>,
    #[serde(default)]
    pub clients: IndexMap<String, RawClient>,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub ok_groups: IndexMap<String, RawOkGroup>,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub metrics: RawMetrics,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Env,
    pub issuer: Env,
    pub data_dir: Option<Env>,
    pub providers_dir: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub url: Option<Env>,
    pub max_memory: Option<Env>,
    pub wait_replicas: Option<i64>,
    pub wait_timeout: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub header_timeout: Option<Env>,
    pub max_connections: Option<i64>,
    pub shutdown_timeout: Option<Env>,
    pub auth_failures_per_client: Option<Env>,
    pub auth_failures_per_address: Option<Env>,
    pub logins_per_address: Option<Env>,
    #[serde(default)]
    pub trusted_proxies: Vec<Env>,
    pub address_header: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub enabled: Option<bool>,
    pub listen: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub format: Option<Env>,
    pub level: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    pub idle_timeout: Option<Env>,
    pub max_lifetime: Option<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub token_key: Option<Env>,
    pub token_key_file: Option<Env>,
    #[serde(default)]
    pub previous_token_keys: Vec<Env>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokens {
    pub lifetime: Option<Env>,
    pub refresh_lifetime: Option<Env>,
    pub key_rotation: Option<Env>,
}

/// A `[providers.NAME]` table. The keys below `kind_options` belong to particular kinds,
/// which check them (`Kind::configure`); they are listed here only so that serde knows every
/// key an admin may write and can name the allowed ones when a key is misspelt.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub kind: Option<Env>,
    #[serde(alias = "app_id")]
    pub client_id: Option<Env>,
    #[serde(alias = "secret_key")]
    pub client_secret: Option<Env>,
    #[serde(alias = "secret_key_file")]
    pub client_secret_file: Option<Env>,
    pub scopes: Option<Vec<Env>>,
    pub display_name: Option<Env>,
    pub authorize_url: Option<Env>,
    pub token_url: Option<Env>,
    pub userinfo_url: Option<Env>,
    pub api_version: Option<Env>,
    pub authorize_params: Option<IndexMap<String, Env>>,
    // ---- kind_options ----
    public_key: Option<Env>,
    #[serde(alias = "base_url")]
    issuer: Option<Env>,
    tenant: Option<Env>,
    widget_url: Option<Env>,
}

/// The kind-owned options of a provider table, by their canonical names.
#[cfg(test)]
pub(super) const KIND_OPTIONS: [&str; 4] = ["public_key", "issuer", "tenant", "widget_url"];

impl RawProvider {
    /// The kind-owned options the admin wrote, by their canonical names.
    pub fn take_kind_options(&mut self) -> Vec<(&'static str, Env)> {
        // In the order their errors were always reported.
        [
            ("issuer", self.issuer.take()),
            ("tenant", self.tenant.take()),
            ("public_key", self.public_key.take()),
            ("widget_url", self.widget_url.take()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub name: Option<Env>,
    pub client_secret: Option<Env>,
    pub client_secret_file: Option<Env>,
    pub redirect_uris: Vec<Env>,
    pub providers: Option<Vec<Env>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<Env>,
    pub backchannel_logout_uri: Option<Env>,
    #[serde(default)]
    pub refresh_tokens: bool,
    #[serde(default)]
    pub upstream_access: bool,
    pub upstream_methods: Option<Vec<Env>>,
    pub id_token_signed_response_alg: Option<Env>,
}

/// An `[ok_groups.NAME]` table: an OK group's token that the gateway keeps alive.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOkGroup {
    pub access_token: Option<Env>,
    pub access_token_file: Option<Env>,
    pub provider: Option<Env>,
    pub api_url: Option<Env>,
    pub check_every: Option<Env>,
}

//! Kinds of provider: what each protocol module tells the config loader (the options it owns
//! and their rules) and the registry (how a configured provider opens). Adding a network with
//! quirks is its module plus one line in `kinds!` below.

use std::sync::Arc;

use indexmap::IndexMap;
use url::Url;

use super::descriptor::Descriptor;
use super::{Provider, ProviderConfig, demo, facebook, generic, github, oidc, ok, vk, vkid};
use crate::store::Store;

macro_rules! kinds {
    ($($name:literal => $kind:expr,)*) => {
        /// Every protocol a descriptor may name, in the order error messages list them.
        static KINDS: &[(&str, &dyn Kind)] = &[$(($name, &$kind)),*];
        /// Their names, for serde's "expected one of".
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

kinds! {
    "oauth2" => generic::Plain,
    "oidc" => oidc::OidcKind,
    "ok" => ok::OkKind,
    "vk" => vk::VkKind,
    "vkid" => vkid::VkIdKind,
    "github" => github::GitHubKind,
    "facebook" => facebook::FacebookKind,
    "demo" => demo::DemoKind,
}

/// The kind a descriptor's `protocol` names.
pub fn find(name: &str) -> Option<(&'static str, &'static dyn Kind)> {
    KINDS.iter().find(|(n, _)| *n == name).copied()
}

/// The option a kind owns under this name, whichever kind that is.
pub fn owned_option(name: &str) -> Option<&'static KindOption> {
    KINDS
        .iter()
        .flat_map(|(_, kind)| kind.options())
        .find(|o| o.name == name)
}

/// One protocol: the options it owns in a provider table, checked at start-up, and the
/// provider a checked table opens into. Defaults fit a network app with descriptor endpoints.
pub trait Kind: Sync {
    /// Options of a provider table that only this kind reads.
    fn options(&self) -> &'static [KindOption] {
        &[]
    }
    /// Checks the kind's own options and rules; what it returns is kept in
    /// `ProviderConfig::options` for `open`. Options of other kinds never reach it.
    fn configure(&self, _table: &KindTable<'_>) -> Result<KindOptions, OptionError> {
        Ok(KindOptions::new())
    }
    /// Whether a provider of this kind is an app registered at a network (client_id, secret).
    fn needs_app(&self) -> bool {
        true
    }
    /// Whether the endpoints come from the network itself (discovery), not the descriptor.
    fn discovers_endpoints(&self) -> bool {
        false
    }
    /// The demo kind, which lets anyone log in as anyone.
    fn is_demo(&self) -> bool {
        false
    }
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String>;
}

/// An option of a provider table that only some kinds read.
pub struct KindOption {
    pub name: &'static str,
    /// Other names an admin may write it under (`base_url` for `issuer`).
    pub aliases: &'static [&'static str],
    /// What an admin is told who writes it for another kind: from the name as written and
    /// that kind.
    pub elsewhere: fn(written: &str, kind: &str) -> String,
}

impl KindOption {
    /// The option's names, canonical first.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

/// A kind-owned option as the admin wrote it.
pub struct GivenOption {
    pub name: &'static str,
    /// The dotted key under the name the admin wrote (`providers.gl.base_url`).
    pub key: String,
    pub value: String,
}

/// What a kind's `configure` sees of its `[providers.NAME]` table.
pub struct KindTable<'a> {
    /// `providers.NAME`
    pub key: &'a str,
    pub kind: &'a str,
    pub descriptor: &'a Descriptor,
    /// Whether the gateway's own issuer is on this machine.
    pub issuer_is_loopback: bool,
    pub given: &'a [GivenOption],
}

impl KindTable<'_> {
    pub fn get(&self, name: &str) -> Option<&GivenOption> {
        self.given.iter().find(|g| g.name == name)
    }

    /// The option's key as written, else under its canonical name.
    pub fn key_of(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| format!("{}.{name}", self.key), |g| g.key.clone())
    }

    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> OptionError {
        OptionError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A kind's rule broken: the dotted key concerned and what is wrong with it.
#[derive(Debug)]
pub struct OptionError {
    pub key: String,
    pub message: String,
}

/// The options a kind checked and keeps, by name (OK's `public_key`, OIDC's `issuer`).
pub type KindOptions = IndexMap<&'static str, String>;

/// What opening a provider needs besides its config.
pub struct Opening<'a> {
    /// `{issuer}/callback/{name}`, where the network sends the person back.
    pub callback: Url,
    /// The gateway's own issuer (base URL).
    pub issuer: &'a str,
    pub http: &'a reqwest::Client,
    pub store: &'a Arc<dyn Store>,
}

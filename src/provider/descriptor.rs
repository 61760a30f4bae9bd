//! Provider descriptors: the declarative part of a network (endpoints, scopes, claim map),
//! one TOML file per kind in `providers/`, with the shipped copies built into the binary.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::kind::{self, Kind};

/// The descriptors compiled into the binary, so it runs with no files beside it: every
/// `providers/*.toml`, listed by `build.rs`.
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_descriptors.rs"));

/// Login button colours (background, text) for a descriptor that names none: dark grey,
/// white text (10.3:1).
pub const DEFAULT_BUTTON: (&str, &str) = ("#374151", "#ffffff");

/// Which code drives a kind: one of the protocols in `kind::NAMES`, for the quirks a
/// descriptor cannot express.
#[derive(Clone, Copy)]
pub struct Protocol {
    name: &'static str,
    kind: &'static dyn Kind,
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        self.name
    }
    pub fn kind(&self) -> &'static dyn Kind {
        self.kind
    }
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let (name, kind) = kind::find(&name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, kind::NAMES))?;
        Ok(Protocol { name, kind })
    }
}

/// How the gateway authenticates to the network's token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    ClientSecretPost,
    /// HTTP Basic with the URL-encoded id and secret.
    ClientSecretBasic,
    /// A public client: PKCE alone proves the exchange (VK ID).
    None,
}

/// How the access token travels to the profile endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlacement {
    /// `Authorization: Bearer …`
    #[default]
    Bearer,
    /// `Authorization: OAuth …` (Yandex).
    OauthHeader,
    /// `?access_token=…` in the query (Mail.ru).
    Query,
    /// `access_token=…` in a form body; needs `userinfo_method = "post"` (VK ID).
    Form,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    pub protocol: Protocol,
    pub display_name: String,
    pub display_name_ru: Option<String>,
    /// Login button colours (`#rgb` or `#rrggbb`): background and text.
    pub button_color: Option<String>,
    pub button_text_color: Option<String>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    /// OpenID Connect: the issuer whose discovery document names the endpoints. May hold
    /// `{tenant}` (Microsoft), filled from the provider's `tenant` or `default_tenant`.
    pub issuer: Option<String>,
    pub default_tenant: Option<String>,
    /// OpenID Connect: accept a discovery document whose `issuer` differs from the configured
    /// one (Microsoft names tenants by GUID there, or `{tenantid}` for multi-tenant apps).
    #[serde(default)]
    pub issuer_from_discovery: bool,
    /// API version parameter some networks require on every call (VK's `v`).
    pub api_version: Option<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    /// Whether the network takes PKCE (S256) on its authorize and token endpoints.
    #[serde(default)]
    pub pkce: bool,
    /// Unset: `client_secret_post`, or for OpenID Connect what its discovery document offers.
    pub token_auth: Option<TokenAuth>,
    /// Fixed parameters added to the authorize URL.
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
    /// The authorize parameter with which the network asks the person to log in again
    /// (`prompt=login`, Yandex's `force_confirm=yes`), sent when a fresh login is asked for.
    /// `None`: the network documents no such parameter.
    pub force_login: Option<ForceLogin>,
    /// Whether the network takes OpenID Connect's `max_age`, which is then passed on; a
    /// network that does not is asked for a fresh login whenever a `max_age` is given, since
    /// it cannot be told how old a login may be.
    #[serde(default)]
    pub max_age: bool,
    #[serde(default)]
    pub userinfo_method: HttpMethod,
    #[serde(default)]
    pub userinfo_token: TokenPlacement,
    /// Fixed parameters of the profile call; `{client_id}` is replaced by the app's id.
    #[serde(default)]
    pub userinfo_params: BTreeMap<String, String>,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// OIDC scope → upstream permissions.
    #[serde(default)]
    pub scope_map: BTreeMap<String, Vec<String>>,
    pub claims: ClaimMap,
}

/// One authorize parameter and its value, e.g. `{ param = "prompt", value = "login" }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceLogin {
    pub param: String,
    pub value: String,
}

fn space() -> String {
    " ".into()
}

/// Which upstream profile field becomes which claim. Each value is a dotted path into the
/// profile JSON (`user.first_name`), or a template with paths in braces
/// (`https://avatars.example/{avatar_id}/200`), absent when any path is.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMap {
    pub provider_user_id: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub locale: Option<String>,
    pub gender: Option<String>,
    pub birthdate: Option<String>,
    pub email: Option<String>,
    /// Whether the network vouches that the email belongs to the person: always, never, or
    /// when the profile field at this path is `true`.
    #[serde(default)]
    pub email_verified: EmailVerified,
    /// Upstream gender value → OIDC `gender`; values not listed are dropped. Empty: kept.
    #[serde(default)]
    pub gender_values: BTreeMap<String, String>,
    #[serde(default)]
    pub birthdate_format: DateFormat,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum EmailVerified {
    Always(bool),
    Field(String),
}

impl Default for EmailVerified {
    fn default() -> Self {
        EmailVerified::Always(false)
    }
}

/// How the network writes birthdates; the claim is always OIDC's `YYYY-MM-DD` (`0000-MM-DD`
/// when the year is hidden).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// `YYYY-MM-DD`, or `MM-DD` without the year.
    #[default]
    Iso,
    /// `D.M.YYYY`, or `D.M` without the year.
    DayMonthYear,
}

/// Where descriptors are looked up.
#[derive(Clone, Debug)]
pub enum DescriptorSource {
    /// `providers_dir` set in the config: only this directory.
    Dir(PathBuf),
    /// The default: `providers/` next to the config file, then the built-in copies.
    DirOrBuiltin(PathBuf),
}

impl DescriptorSource {
    pub fn load(&self, kind: &str) -> Result<Descriptor, String> {
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(format!("{kind:?} is not a valid provider kind"));
        }
        let (dir, builtin) = match self {
            DescriptorSource::Dir(d) => (d, false),
            DescriptorSource::DirOrBuiltin(d) => (d, true),
        };
        let path = dir.join(format!("{kind}.toml"));
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            return parse(&text).map_err(|e| format!("descriptor {}: {e}", path.display()));
        }
        if builtin {
            if let Some((_, text)) = BUILTIN.iter().find(|(k, _)| *k == kind) {
                return parse(text).map_err(|e| format!("built-in descriptor {kind}: {e}"));
            }
        }
        let mut known: Vec<String> = BUILTIN
            .iter()
            .filter(|_| builtin)
            .map(|(k, _)| k.to_string())
            .collect();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml") {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        known.push(stem.to_string());
                    }
                }
            }
        }
        known.sort();
        known.dedup();
        Err(format!(
            "no descriptor for provider kind {kind:?} (looked for {}; known kinds: {})",
            path.display(),
            known.join(", ")
        ))
    }
}

fn parse(text: &str) -> Result<Descriptor, String> {
    let d: Descriptor = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    d.check()?;
    Ok(d)
}

impl Descriptor {
    /// What TOML's types cannot say.
    fn check(&self) -> Result<(), String> {
        for (key, colour) in [
            ("button_color", &self.button_color),
            ("button_text_color", &self.button_text_color),
        ] {
            if let Some(c) = colour {
                if !is_css_hex_colour(c) {
                    return Err(format!("{key}: {c:?} is not a colour like \"#0077ff\""));
                }
            }
        }
        if self.userinfo_token == TokenPlacement::Form && self.userinfo_method != HttpMethod::Post {
            return Err("userinfo_token = \"form\" needs userinfo_method = \"post\"".into());
        }
        if self.token_auth == Some(TokenAuth::None) && !self.pkce {
            return Err("token_auth = \"none\" needs pkce = true".into());
        }
        for (key, path) in self.claims.paths() {
            super::claims::check_template(path).map_err(|e| format!("claims.{key}: {e}"))?;
        }
        Ok(())
    }
}

impl ClaimMap {
    /// Every claim's path or template, with its key.
    pub fn paths(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("provider_user_id", Some(&self.provider_user_id)),
            ("name", self.name.as_ref()),
            ("given_name", self.given_name.as_ref()),
            ("family_name", self.family_name.as_ref()),
            ("picture", self.picture.as_ref()),
            ("locale", self.locale.as_ref()),
            ("gender", self.gender.as_ref()),
            ("birthdate", self.birthdate.as_ref()),
            ("email", self.email.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v.as_str())))
    }
}

/// Only a hex colour may reach the page's `style` attribute.
fn is_css_hex_colour(c: &str) -> bool {
    c.strip_prefix('#')
        .is_some_and(|h| (h.len() == 3 || h.len() == 6) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_descriptors_parse() {
        for (kind, text) in BUILTIN {
            let d = parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(!d.display_name.is_empty());
        }
    }

    /// WCAG 2.1 relative luminance of a `#rrggbb` colour.
    fn luminance(colour: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&colour[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn every_shipped_login_button_meets_wcag_aa_contrast() {
        for (kind, text) in BUILTIN {
            let d = parse(text).unwrap();
            let background = d.button_color.as_deref().unwrap_or(DEFAULT_BUTTON.0);
            let foreground = d.button_text_color.as_deref().unwrap_or(DEFAULT_BUTTON.1);
            let (a, b) = (luminance(background), luminance(foreground));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            assert!(
                ratio >= 4.5,
                "{kind}: {foreground} on {background} is {ratio:.2}:1, below 4.5:1"
            );
        }
    }
}

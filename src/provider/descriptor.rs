//! Provider descriptors: the declarative part of a network (endpoints, scopes, claim map),
//! one TOML file per kind in `providers/`, with the shipped copies built into the binary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

/// The descriptors compiled into the binary, so it runs with no files beside it.
const BUILTIN: &[(&str, &str)] = &[
    ("ok", include_str!("../../providers/ok.toml")),
    ("vk", include_str!("../../providers/vk.toml")),
    ("demo", include_str!("../../providers/demo.toml")),
];

/// Which code drives a kind: the quirks a descriptor cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Ok,
    Vk,
    Demo,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    pub protocol: Protocol,
    pub display_name: String,
    pub display_name_ru: Option<String>,
    /// CSS colour of the login button.
    pub button_color: Option<String>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    /// API version parameter some networks require on every call (VK's `v`).
    pub api_version: Option<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    /// Whether the network takes PKCE (S256) on its authorize and token endpoints.
    #[serde(default)]
    pub pkce: bool,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// OIDC scope → upstream permissions.
    #[serde(default)]
    pub scope_map: BTreeMap<String, Vec<String>>,
    pub claims: ClaimMap,
}

fn space() -> String {
    " ".into()
}

/// Which upstream profile field becomes which claim.
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
    /// Whether the network vouches that the email belongs to the person.
    #[serde(default)]
    pub email_verified: bool,
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
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
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
}

//! The name of a configured provider: the leaf every layer (config, providers, claims, URLs)
//! uses to say which network app is meant.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The name of a configured provider (its `[providers.NAME]` table): used in URLs and claims.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderName(String);

impl ProviderName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid = !s.is_empty()
            && s.len() <= 32
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a valid provider name (1-32 of a-z, 0-9, `_`, `-`)"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ProviderName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

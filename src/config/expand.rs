//! What a value may point to instead of holding it: `${VAR}` from the environment, and a
//! secret's `*_file`.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::{ConfigError, Ctx};

/// A string value with every `${VAR}` replaced from the environment; an unset variable is an
/// error at that value, so TOML reports its line.
pub(super) struct Env(pub String);

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        expand_env(&raw, |name| std::env::var(name).ok())
            .map(Env)
            .map_err(serde::de::Error::custom)
    }
}

/// Replaces `${NAME}` with `lookup(NAME)`; `$$` stays a literal `$`.
pub fn expand_env(raw: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {raw:?}"))?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable name"
                ));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

impl Ctx<'_> {
    /// A secret written inline or in a file (`*_file`, without its trailing newline).
    pub(super) fn secret(
        &self,
        key: &str,
        inline: Option<Env>,
        file_key: &str,
        file: Option<Env>,
    ) -> Result<Option<SecretString>, ConfigError> {
        match (inline, file) {
            (Some(_), Some(_)) => {
                Err(self.err(key, format!("set either {key} or {file_key}, not both")))
            }
            (Some(v), None) => Ok(Some(SecretString::from(v.0))),
            (None, Some(f)) => {
                let path = self.path(&f.0);
                let mut s = std::fs::read_to_string(&path).map_err(|e| {
                    self.err(file_key, format!("cannot read {}: {e}", path.display()))
                })?;
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
                if s.is_empty() {
                    return Err(self.err(file_key, format!("{} is empty", path.display())));
                }
                Ok(Some(SecretString::from(s)))
            }
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_and_keeps_literal_dollars() {
        let env = |n: &str| (n == "A").then(|| "x$y".to_string());
        assert_eq!(expand_env("p-${A}-$$-$q", env).unwrap(), "p-x$y-$-$q");
        assert_eq!(
            expand_env("${B}", env).unwrap_err(),
            "environment variable B is not set"
        );
        assert!(expand_env("${A", env).unwrap_err().contains("unclosed"));
    }
}

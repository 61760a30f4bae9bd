//! `[upstream]`: the key the networks' tokens for a person are kept under in the store
//! (AES-256-GCM), and the keys they were kept under before, for rotation.

use base64::Engine;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};

use super::expand::Env;
use super::schema::RawUpstream;
use super::{ConfigError, Ctx};

/// The keys upstream tokens are sealed with: the first seals, every one opens.
#[derive(Debug)]
pub struct UpstreamConfig {
    pub keys: Vec<TokenKey>,
}

/// One 256-bit key, named by a short hash so a sealed record says which key opens it.
#[derive(Debug)]
pub struct TokenKey {
    pub id: String,
    /// Redacted in `Debug` by `secrecy`.
    pub bytes: SecretSlice<u8>,
}

impl Ctx<'_> {
    pub(super) fn upstream(&self, raw: RawUpstream) -> Result<Option<UpstreamConfig>, ConfigError> {
        let current = self.secret(
            "upstream.token_key",
            raw.token_key,
            "upstream.token_key_file",
            raw.token_key_file,
        )?;
        let Some(current) = current else {
            if !raw.previous_token_keys.is_empty() {
                return Err(self.err(
                    "upstream.previous_token_keys",
                    "previous keys only open tokens; set `token_key` too",
                ));
            }
            return Ok(None);
        };
        let key_of = |written: &str, text: &SecretString| self.token_key(written, text);
        let mut keys = vec![key_of(
            &self.written("upstream", &["token_key", "token_key_file"]),
            &current,
        )?];
        for Env(text) in raw.previous_token_keys {
            keys.push(key_of(
                "upstream.previous_token_keys",
                &SecretString::from(text),
            )?);
        }
        Ok(Some(UpstreamConfig { keys }))
    }

    fn token_key(&self, key: &str, text: &SecretString) -> Result<TokenKey, ConfigError> {
        let text = text.expose_secret().trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                self.err(
                    key,
                    "must be 32 random bytes in base64 (make one with `openssl rand -base64 32`)",
                )
            })?;
        let id: String = Sha256::digest(&bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(TokenKey {
            id,
            bytes: SecretSlice::from(bytes),
        })
    }
}

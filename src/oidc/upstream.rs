//! The networks' tokens for a person, kept beside their SSO session so a site allowed to
//! may later call the network for them. Sealed with AES-256-GCM under a key from the config
//! (`[upstream] token_key`), bound to the session they belong to, never logged, and
//! forgotten when the session ends.

use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::error::Error;
use super::types::Sid;
use crate::config::TokenKey;
use crate::gateway::Gateway;
use crate::primitives::now;
use crate::provider::{ProviderName, UpstreamTokens};
use crate::store::{Store, StoreError, Ttl};

/// A network's tokens as kept: which network, and the tokens.
pub struct Kept {
    pub provider: ProviderName,
    pub tokens: UpstreamTokens,
}

/// What is sealed. No `Debug`: it holds the tokens in clear.
#[derive(Serialize, Deserialize)]
struct Plain {
    provider: ProviderName,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<u64>,
}

/// The sealed records in the store, and the keys that seal and open them.
pub struct Vault<'a> {
    store: &'a dyn Store,
    keys: &'a [TokenKey],
    ttl: Duration,
}

fn record_key(sid: &Sid) -> String {
    format!("upstream:{sid}")
}

impl<'a> Vault<'a> {
    /// The gateway's vault; `None` when no `[upstream] token_key` is configured.
    pub fn of(gw: &'a Gateway) -> Option<Self> {
        let upstream = gw.config.upstream.as_ref()?;
        Some(Vault {
            store: gw.store.as_ref(),
            keys: &upstream.keys,
            ttl: gw.config.session.max_lifetime,
        })
    }

    /// Keeps the network's tokens for the session (replacing older ones).
    pub async fn keep(
        &self,
        sid: &Sid,
        provider: &ProviderName,
        tokens: &UpstreamTokens,
    ) -> Result<(), Error> {
        let plain = Plain {
            provider: provider.clone(),
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_string()),
            expires_at: tokens.expires_at,
        };
        let json = serde_json::to_vec(&plain).map_err(|e| Error::Internal(e.to_string()))?;
        let key = record_key(sid);
        let sealed = self.seal(&key, json)?;
        self.store.put(&key, sealed, Ttl::For(self.ttl)).await?;
        Ok(())
    }

    /// The session's tokens, if kept. A record no configured key opens (its key was retired)
    /// counts as none.
    pub async fn get(&self, sid: &Sid) -> Result<Option<Kept>, Error> {
        let key = record_key(sid);
        let Some(sealed) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let Some(json) = self.open(&key, sealed) else {
            tracing::warn!("a kept upstream token opens with no configured key; ignored");
            return Ok(None);
        };
        let plain: Plain = serde_json::from_slice(&json)
            .map_err(|e| StoreError::Corrupt(format!("a kept upstream token: {e}")))?;
        Ok(Some(Kept {
            provider: plain.provider,
            tokens: UpstreamTokens {
                access_token: SecretString::from(plain.access_token),
                refresh_token: plain.refresh_token.map(SecretString::from),
                expires_at: plain.expires_at,
            },
        }))
    }

    /// Forgets the session's tokens (logout).
    pub async fn forget(&self, sid: &Sid) -> Result<(), Error> {
        Ok(self.store.delete(&record_key(sid)).await?)
    }

    /// `key id (8 hex) | nonce | ciphertext and tag`, bound to the record's store key, so a
    /// record copied under another session does not open.
    fn seal(&self, record: &str, mut data: Vec<u8>) -> Result<Vec<u8>, Error> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Internal("no randomness".into()))?;
        less_safe(key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(record.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::Internal("cannot seal an upstream token".into()))?;
        let mut out = key.id.as_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        Ok(out)
    }

    fn open(&self, record: &str, sealed: Vec<u8>) -> Option<Vec<u8>> {
        let (id, rest) = sealed.split_at_checked(8)?;
        let key = self.keys.iter().find(|k| k.id.as_bytes() == id)?;
        let (nonce, data) = rest.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = less_safe(key)
            .ok()?
            .open_in_place(nonce, Aad::from(record.as_bytes()), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
}

fn less_safe(key: &TokenKey) -> Result<LessSafeKey, Error> {
    UnboundKey::new(&AES_256_GCM, key.bytes.expose_secret())
        .map(LessSafeKey::new)
        .map_err(|_| Error::Internal("an upstream token key is unusable".into()))
}

/// Whether tokens are (about to be) expired: a call made with them must not fail on the way.
pub fn expiring(tokens: &UpstreamTokens) -> bool {
    tokens.expires_at.is_some_and(|at| at <= now() + 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use secrecy::SecretSlice;

    fn key(byte: u8, id: &str) -> TokenKey {
        TokenKey {
            id: id.into(),
            bytes: SecretSlice::from(vec![byte; 32]),
        }
    }

    #[tokio::test]
    async fn tokens_are_sealed_bound_to_their_session_and_open_under_an_older_key() {
        let store = MemoryStore::new();
        let old = [key(1, "0000000a")];
        let vault = Vault {
            store: &store,
            keys: &old,
            ttl: Duration::from_secs(60),
        };
        let sid = Sid::new("s1");
        let tokens = UpstreamTokens {
            access_token: SecretString::from("tkn.secret-access"),
            refresh_token: Some(SecretString::from("rfr.secret-refresh")),
            expires_at: Some(42),
        };
        let ok = ProviderName::parse("ok").unwrap();
        vault.keep(&sid, &ok, &tokens).await.unwrap();
        let raw = store.get("upstream:s1").await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("secret-access") && !text.contains("secret-refresh"));
        // Copied under another session: does not open.
        store
            .put("upstream:s2", raw, Ttl::For(Duration::from_secs(60)))
            .await
            .unwrap();
        assert!(vault.get(&Sid::new("s2")).await.unwrap().is_none());
        // After rotation the new key seals, the old one still opens.
        let rotated = [key(2, "0000000b"), key(1, "0000000a")];
        let vault = Vault {
            keys: &rotated,
            ..vault
        };
        let kept = vault.get(&sid).await.unwrap().unwrap();
        assert_eq!(kept.provider, ok);
        assert_eq!(
            kept.tokens.access_token.expose_secret(),
            "tkn.secret-access"
        );
        assert_eq!(kept.tokens.expires_at, Some(42));
        // A retired key: the record is as good as gone.
        let retired = [key(2, "0000000b")];
        let vault = Vault {
            keys: &retired,
            ..vault
        };
        assert!(vault.get(&sid).await.unwrap().is_none());
        vault.forget(&sid).await.unwrap();
        assert!(store.get("upstream:s1").await.unwrap().is_none());
    }
}

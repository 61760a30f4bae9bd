//! The signing keys every instance shares: kept in the store (Redis when several instances
//! run; memory plus a file in `data_dir` for one), rotated on a schedule, and published in
//! the JWKS until every token they signed has expired.
//!
//! Rotation is safe across instances without coordination at signing time: a new key is
//! published `publish_ahead` before anyone signs with it, so every instance and every site
//! that refetches the JWKS knows it first; all instances pick the signing key by the same
//! clock rule ("newest key whose time has come").
//!
//! Each generation is a pair: an RSA key (RS256, every client's default) and a P-256 key
//! (ES256, for clients configured so), published, signing and retired together. A client's
//! tokens are signed with its algorithm's key; a token presented back is checked with the
//! key its `kid` names, by that key's algorithm only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use serde::{Deserialize, Serialize};

use crate::config::{SigningAlg, TokensConfig};
use crate::store::{self, Store, StoreError, Ttl};

mod ec;
mod key;
mod signing;
#[cfg(test)]
mod tests;

pub use ec::EcKey;
pub use key::TokenKey;
pub use signing::{
    ACCESS_TOKEN_TYP, Expect, ID_TOKEN_TYP, LOGOUT_TOKEN_TYP, SigningKey, VerifyError,
};

const STORE_KEY: &str = "keys";
const LOCK_KEY: &str = "keys:rotating";
const LOCK_TTL: Ttl = Ttl::For(Duration::from_secs(30));
/// One instance (memory store) keeps its keys here, so tokens survive a restart.
const KEY_FILE: &str = "signing-keys.json";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot generate a signing key: {0}")]
    Generate(String),
    #[error("a stored signing key is unusable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No keys loaded yet (the store has not answered since start-up).
    #[error("the signing keys are not loaded yet")]
    NotLoaded,
}

/// What the store holds: every published key, oldest first.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
struct StoredKeys {
    keys: Vec<StoredKey>,
}

/// No `Debug`: it holds a private key.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
struct StoredKey {
    /// PKCS#8 PEM of the RSA private key (RS256).
    pem: String,
    /// PKCS#8 PEM of the P-256 private key (ES256) of the same generation. Keys stored
    /// before ES256 have none until `refresh` adds it; the RSA keys stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ec_pem: Option<String>,
    /// Unix time in milliseconds.
    created_ms: u64,
    /// Signing starts at this time (ms); before it the key is only published.
    active_from_ms: u64,
}

/// How often the ring reloads, and so how early a new key is published.
#[derive(Clone, Copy, Debug)]
pub struct KeyTimings {
    pub rotate_every: Duration,
    pub token_lifetime: Duration,
    pub reload_every: Duration,
}

impl KeyTimings {
    pub fn from_config(tokens: &TokensConfig) -> Self {
        // Reload often enough that a rotation reaches every instance well before the new
        // key signs anything; a minute is plenty for rotations measured in days.
        let reload_every =
            (tokens.key_rotation / 10).clamp(Duration::from_millis(100), Duration::from_secs(60));
        KeyTimings {
            rotate_every: tokens.key_rotation,
            token_lifetime: tokens.lifetime,
            reload_every,
        }
    }

    /// How long before use a new key is published: long enough for every instance to have
    /// reloaded and for sites that cache the JWKS to refetch it (a day, for rotations
    /// measured in days).
    fn publish_ahead_ms(&self) -> u64 {
        let day = Duration::from_secs(24 * 3600);
        ms((self.reload_every * 2).max((self.rotate_every / 4).min(day)))
    }
}

pub struct KeyRing {
    store: Arc<dyn Store>,
    file: Option<PathBuf>,
    timings: KeyTimings,
    loaded: RwLock<Loaded>,
}

#[derive(Default)]
struct Loaded {
    stored: StoredKeys,
    /// The JWKS document, serialised once per key set: sites fetch it far more often
    /// than keys change.
    jwks: Arc<str>,
    /// The parsed keys of every generation, oldest first.
    keys: Vec<Held>,
}

/// A parsed key, with its PEM so that a reload parses only new ones.
struct Held {
    pem: String,
    active_from_ms: u64,
    key: Arc<TokenKey>,
}

impl KeyRing {
    /// A ring over `store`; `data_dir` keeps the keys of a single instance (memory store).
    pub fn new(store: Arc<dyn Store>, data_dir: &Path, timings: KeyTimings) -> Self {
        let file = (!store.is_shared()).then(|| data_dir.join(KEY_FILE));
        KeyRing {
            store,
            file,
            timings,
            loaded: RwLock::default(),
        }
    }

    pub fn reload_every(&self) -> Duration {
        self.timings.reload_every
    }

    /// How long sites may cache the JWKS: well inside the time a new key is published
    /// before it signs, so a cached copy always knows the signing key.
    pub fn jwks_max_age(&self) -> Duration {
        Duration::from_millis(self.timings.publish_ahead_ms() / 4).min(Duration::from_secs(3600))
    }

    /// Whether keys are loaded (readiness).
    pub fn is_loaded(&self) -> bool {
        !self.read().keys.is_empty()
    }

    /// Loads the keys from the store, creating the first one or rotating when due.
    pub async fn refresh(&self) -> Result<(), KeyError> {
        let store = self.store.as_ref();
        let mut stored: Option<StoredKeys> = store::get_json(store, STORE_KEY).await?;
        if stored.is_none() {
            // Keys this instance already uses come first: a Redis restarted empty gets them
            // back, so tokens issued before stay verifiable.
            let in_use = Some(self.read().stored.clone()).filter(|s| !s.keys.is_empty());
            let initial = match in_use.or(self.read_file()?) {
                Some(known) => known,
                None => StoredKeys {
                    keys: vec![new_key(0)?],
                },
            };
            // Two instances starting together: one writes, both use what was written.
            store::put_new_json(store, STORE_KEY, &initial, Ttl::Forever).await?;
            stored = store::get_json(store, STORE_KEY).await?;
        }
        let mut stored = stored.ok_or(KeyError::NotLoaded)?;
        // A rotation, or P-256 keys for generations stored before ES256, rewrites the set:
        // one instance does it, under the lock, and the others load what it wrote.
        let rewrite = self.rotation_due(&stored) || lacks_ec(&stored);
        if rewrite && store.put_new(LOCK_KEY, vec![], LOCK_TTL).await? {
            let result = self.rotate().await;
            store.delete(LOCK_KEY).await?;
            if let Some(rotated) = result? {
                stored = rotated;
            }
        }
        // Most reloads change nothing: no file I/O then.
        if self.read().stored != stored {
            self.write_file(&stored)?;
        }
        self.install(stored)
    }

    fn rotation_due(&self, stored: &StoredKeys) -> bool {
        stored
            .keys
            .last()
            .is_none_or(|k| k.created_ms + ms(self.timings.rotate_every) <= now_ms())
    }

    /// Under the lock: re-read, give P-256 keys to generations stored without, add a
    /// generation published ahead of use, drop keys no valid token can carry any more.
    /// Returns what it wrote.
    async fn rotate(&self) -> Result<Option<StoredKeys>, KeyError> {
        let store = self.store.as_ref();
        let Some(mut stored) = store::get_json::<StoredKeys>(store, STORE_KEY).await? else {
            return Ok(None);
        };
        let due = self.rotation_due(&stored);
        let upgrade = lacks_ec(&stored);
        if !due && !upgrade {
            return Ok(None);
        }
        if upgrade {
            add_ec_keys(&mut stored)?;
            tracing::info!(
                keys = stored.keys.len(),
                "added ES256 keys to the signing keys stored before ES256"
            );
        }
        if due {
            self.add_generation(&mut stored)?;
        }
        store::put_json(store, STORE_KEY, &stored, Ttl::Forever).await?;
        if due {
            tracing::info!(keys = stored.keys.len(), "rotated the signing key");
        }
        Ok(Some(stored))
    }

    /// Adds a generation published ahead of use and drops the keys no valid token can carry
    /// any more.
    fn add_generation(&self, stored: &mut StoredKeys) -> Result<(), KeyError> {
        stored.keys.push(new_key(self.timings.publish_ahead_ms())?);
        let t = now_ms();
        // A key retires once its successor has signed for longer than a token lives, plus
        // the time a lagging instance may still sign with it.
        let grace = ms(self.timings.token_lifetime + self.timings.reload_every);
        let successors: Vec<u64> = stored
            .keys
            .iter()
            .skip(1)
            .map(|k| k.active_from_ms)
            .collect();
        let mut index = 0;
        stored.keys.retain(|_| {
            let keep = successors
                .get(index)
                .is_none_or(|next_active| next_active + grace > t);
            index += 1;
            keep
        });
        Ok(())
    }

    fn install(&self, stored: StoredKeys) -> Result<(), KeyError> {
        if self.read().stored == stored {
            return Ok(());
        }
        let known: HashMap<String, Arc<TokenKey>> = self
            .read()
            .keys
            .iter()
            .map(|h| (h.pem.clone(), h.key.clone()))
            .collect();
        let mut keys = Vec::new();
        for s in &stored.keys {
            let pems = [
                (SigningAlg::Rs256, Some(&s.pem)),
                (SigningAlg::Es256, s.ec_pem.as_ref()),
            ];
            for (alg, pem) in pems {
                let Some(pem) = pem else { continue };
                let key = match known.get(pem) {
                    Some(k) => k.clone(),
                    None => Arc::new(TokenKey::from_pem(alg, pem).map_err(KeyError::Corrupt)?),
                };
                keys.push(Held {
                    pem: pem.clone(),
                    active_from_ms: s.active_from_ms,
                    key,
                });
            }
        }
        let jwks: Vec<_> = keys.iter().map(|h| h.key.jwk()).collect();
        let jwks = serde_json::json!({ "keys": jwks }).to_string().into();
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Loaded { stored, jwks, keys };
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The key to sign with now for `alg`: the newest whose time has come.
    pub fn signing_key(&self, alg: SigningAlg) -> Result<Arc<TokenKey>, KeyError> {
        let t = now_ms();
        let loaded = self.read();
        let mut of_alg = loaded.keys.iter().filter(|h| h.key.alg() == alg);
        let oldest = of_alg.clone().next();
        of_alg
            .rfind(|h| h.active_from_ms <= t)
            .or(oldest)
            .map(|h| h.key.clone())
            .ok_or(KeyError::NotLoaded)
    }

    /// The key with this `kid`, for verifying tokens the gateway issued.
    pub fn by_kid(&self, kid: &str) -> Option<Arc<TokenKey>> {
        self.read()
            .keys
            .iter()
            .find(|h| h.key.kid() == kid)
            .map(|h| h.key.clone())
    }

    /// Checks a token this gateway issued: its key (by `kid`, among the published ones),
    /// signature by that key's algorithm (whatever the header's `alg` says), type, issuer
    /// and, unless allowed, expiry.
    pub fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        expect: Expect<'_>,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.typ.as_deref() != Some(expect.typ) {
            return Err(VerifyError::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.by_kid(kid))
            .ok_or(VerifyError::Invalid)?;
        key.verify(token, &expect)
    }

    /// The JWKS document: every key that is or will be signing, or signed a live token.
    pub fn jwks(&self) -> Result<serde_json::Value, KeyError> {
        serde_json::from_str(&self.jwks_json()?).map_err(|e| KeyError::Corrupt(e.to_string()))
    }

    /// The JWKS document as served (JSON text).
    pub fn jwks_json(&self) -> Result<Arc<str>, KeyError> {
        let loaded = self.read();
        if loaded.keys.is_empty() {
            return Err(KeyError::NotLoaded);
        }
        Ok(loaded.jwks.clone())
    }

    /// Reloads on a schedule: picks up keys other instances rotated, rotates when due, and
    /// retries after the store comes back.
    pub fn spawn_refresh(self: &Arc<Self>) {
        let ring = Arc::downgrade(self);
        let every = self.timings.reload_every;
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(every).await;
                let Some(ring) = ring.upgrade() else { return };
                match ring.refresh().await {
                    Ok(()) if failing => {
                        tracing::info!("signing keys reloaded; the store is back");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        tracing::error!(error = %e, "cannot reload the signing keys");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    }

    fn read_file(&self) -> Result<Option<StoredKeys>, KeyError> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let err = |message: String| KeyError::File {
            path: path.clone(),
            message,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| err(format!("not a signing key file: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(format!("cannot read the signing keys: {e}"))),
        }
    }

    /// Writes the keys, owner-only, replacing the file in one step.
    fn write_file(&self, stored: &StoredKeys) -> Result<(), KeyError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let err = |what: &str, e: std::io::Error| KeyError::File {
            path: path.clone(),
            message: format!("cannot {what}: {e}"),
        };
        create_private_dir(dir).map_err(|e| err("create the data directory", e))?;
        let bytes =
            serde_json::to_vec_pretty(stored).map_err(|e| KeyError::Corrupt(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        write_private(&tmp, &bytes).map_err(|e| err("write the signing keys", e))?;
        std::fs::rename(&tmp, path).map_err(|e| err("write the signing keys", e))?;
        Ok(())
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, ms)
}

/// Whether some generation was stored before ES256, without its P-256 key.
fn lacks_ec(stored: &StoredKeys) -> bool {
    stored.keys.iter().any(|k| k.ec_pem.is_none())
}

/// Gives each generation stored without one its P-256 key, on the generation's own
/// schedule: the one signing now gets a key that signs at once, as the very first key does.
/// No token was ever signed with a P-256 key, so there is none to invalidate, nor a JWKS
/// cached with one; the RSA keys stay as they were.
fn add_ec_keys(stored: &mut StoredKeys) -> Result<(), KeyError> {
    for key in stored.keys.iter_mut().filter(|k| k.ec_pem.is_none()) {
        key.ec_pem = Some(EcKey::generate_pem().map_err(KeyError::Generate)?);
    }
    Ok(())
}

/// A new generation of keys that starts signing `publish_ahead_ms` from now.
fn new_key(publish_ahead_ms: u64) -> Result<StoredKey, KeyError> {
    let rsa = |e: aws_lc_rs::error::Unspecified| KeyError::Generate(format!("RSA: {e}"));
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(rsa)?;
    let der = pair.as_der().map_err(rsa)?;
    let ec_pem = EcKey::generate_pem().map_err(KeyError::Generate)?;
    // Stamped after generation, which can take a while on a busy machine.
    let created_ms = now_ms();
    Ok(StoredKey {
        pem: pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec())),
        ec_pem: Some(ec_pem),
        created_ms,
        active_from_ms: created_ms + publish_ahead_ms,
    })
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

//! tower-sessions' `SessionStore` over our `Store`, so browser sessions live wherever the
//! rest of the state does (memory, or Redis shared by every instance).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

use crate::primitives::hash_secret;
use crate::store::{Store, StoreError, Ttl};

#[derive(Clone)]
pub struct BrowserSessions {
    store: Arc<dyn Store>,
}

impl BrowserSessions {
    pub fn new(store: Arc<dyn Store>) -> Self {
        BrowserSessions { store }
    }
}

impl std::fmt::Debug for BrowserSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserSessions")
    }
}

/// The session id is the cookie's value: the store keeps only its hash.
fn key(id: &Id) -> String {
    format!("browser:{}", hash_secret(&id.to_string()))
}

fn ttl(record: &Record) -> Ttl {
    let left = record.expiry_date - time::OffsetDateTime::now_utc();
    Ttl::For(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

fn backend(e: StoreError) -> Error {
    Error::Backend(e.to_string())
}

fn encode(record: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for BrowserSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id practically never collides; if it does, draw again rather
        // than hand one person another's session.
        loop {
            let written = self
                .store
                .put_new(&key(&record.id), encode(record)?, ttl(record))
                .await
                .map_err(backend)?;
            if written {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .put(&key(&record.id), encode(record)?, ttl(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        match self.store.get(&key(id)).await.map_err(backend)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Decode(e.to_string())),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store.delete(&key(id)).await.map_err(backend)
    }
}

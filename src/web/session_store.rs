//! tower-sessions' `SessionStore` over our `Store`, so browser sessions live wherever the
//! rest of the state does (memory, or Redis shared by every instance).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
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

/// What the store keeps of a browser session: its data and expiry, not its id. The id is
/// the cookie's value: the store must hold only its hash (the key), or whoever reads the store
/// could take over the session. Smaller than tower-sessions' own `Record` too.
#[derive(Serialize)]
struct Stored<'a> {
    data: &'a HashMap<String, serde_json::Value>,
    /// Unix time, nanoseconds.
    expires: i128,
}

#[derive(Deserialize)]
struct Loaded {
    data: HashMap<String, serde_json::Value>,
    expires: i128,
}

fn encode(record: &Record) -> Result<Vec<u8>> {
    let stored = Stored {
        data: &record.data,
        expires: record.expiry_date.unix_timestamp_nanos(),
    };
    serde_json::to_vec(&stored).map_err(|e| Error::Encode(e.to_string()))
}

fn decode(id: &Id, bytes: &[u8]) -> Result<Record> {
    let decode_error = |e: String| Error::Decode(e);
    match serde_json::from_slice::<Loaded>(bytes) {
        Ok(loaded) => Ok(Record {
            id: *id,
            data: loaded.data,
            expiry_date: OffsetDateTime::from_unix_timestamp_nanos(loaded.expires)
                .map_err(|e| decode_error(e.to_string()))?,
        }),
        // Written by an earlier version (tower-sessions' `Record`, id included): still read;
        // the next save rewrites it without the id.
        Err(_) => serde_json::from_slice::<Record>(bytes)
            .map(|record| Record { id: *id, ..record })
            .map_err(|e| decode_error(e.to_string())),
    }
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
            Some(bytes) => decode(id, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store.delete(&key(id)).await.map_err(backend)
    }
}

//! The SSO session: a person logged in at the gateway through one network, shared by every
//! site that person then logs in to. Stored under `sso:{sid}`, so any instance can reuse it,
//! with the sites it served in the set `sso-clients:{sid}`, so logout can find the sites to
//! notify; the browser holds only a session cookie that points to it.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::types::Sid;
use crate::config::{ClientId, SessionConfig};
use crate::gateway::Gateway;
use crate::primitives::{now, random_token};
use crate::provider::Identity;
use crate::store::{self, Store, StoreError, Ttl};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SsoSession {
    /// Not stored in the record, which lives under `sso:{sid}` already; filled in from the
    /// key when it is read. (Records written with it still load.)
    #[serde(skip_serializing, default = "unread_sid")]
    pub sid: Sid,
    pub identity: Identity,
    /// When the person last logged in at the network (`auth_time`).
    pub auth_time: u64,
    /// When the session began; it ends `max_lifetime` later.
    pub created: u64,
    /// Sites that received tokens through this session: back-channel logout targets. Kept in
    /// a set of their own, which sites join with one atomic add: two instances adding a
    /// site each at the same moment would lose one in a rewrite of the whole record. Filled
    /// in by `end`; read here only from records written before the set existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientId>,
}

fn unread_sid() -> Sid {
    Sid::new(String::new())
}

impl SsoSession {
    /// The same network account, so a fresh login extends the session instead of
    /// replacing it.
    pub fn is_same_person(&self, identity: &Identity) -> bool {
        self.identity.provider == identity.provider
            && self.identity.provider_user_id == identity.provider_user_id
    }
}

fn key(sid: &Sid) -> String {
    format!("sso:{sid}")
}

fn clients_key(sid: &Sid) -> String {
    format!("sso-clients:{sid}")
}

/// Marks a session that was logged out: its access tokens stop working at `/userinfo`.
fn ended_key(sid: &Sid) -> String {
    format!("sso-ended:{sid}")
}

pub struct Sessions<'a> {
    pub store: &'a dyn Store,
    pub config: SessionConfig,
}

impl<'a> Sessions<'a> {
    /// The gateway's sessions, in its store.
    pub fn of(gw: &'a Gateway) -> Self {
        Sessions {
            store: gw.store.as_ref(),
            config: gw.config.session,
        }
    }

    /// The live session `sid`, if it has not idled out or reached its maximum lifetime.
    pub async fn get(&self, sid: &Sid) -> Result<Option<SsoSession>, StoreError> {
        let session: Option<SsoSession> = store::get_json(self.store, &key(sid)).await?;
        Ok(session
            .map(|s| SsoSession {
                sid: sid.clone(),
                ..s
            })
            .filter(|s| s.created + self.config.max_lifetime.as_secs() > now()))
    }

    /// Starts a session for a person who just logged in at the network.
    pub async fn create(
        &self,
        identity: Identity,
        client: &ClientId,
    ) -> Result<SsoSession, StoreError> {
        let t = now();
        let session = SsoSession {
            sid: Sid::new(random_token()),
            identity,
            auth_time: t,
            created: t,
            clients: Vec::new(),
        };
        self.store
            .add_to_set(
                &clients_key(&session.sid),
                client.as_str(),
                self.ttl(&session),
            )
            .await?;
        self.save(&session).await?;
        Ok(session)
    }

    /// How long the session lives from now: its idle timeout, cut at its maximum lifetime.
    fn ttl(&self, session: &SsoSession) -> Ttl {
        let end = session.created + self.config.max_lifetime.as_secs();
        let left = Duration::from_secs(end.saturating_sub(now()));
        Ttl::For(self.config.idle_timeout.min(left))
    }

    /// Writes the session, which also restarts its idle timer. A session logged out
    /// meanwhile stays logged out: logout marks the sid ended before it deletes the record,
    /// so a write that raced it sees the mark afterwards and takes its write back.
    pub async fn save(&self, session: &SsoSession) -> Result<(), StoreError> {
        let ttl = self.ttl(session);
        store::put_json(self.store, &key(&session.sid), session, ttl).await?;
        self.store.expire(&clients_key(&session.sid), ttl).await?;
        if self.is_ended(&session.sid).await? {
            self.store.delete(&key(&session.sid)).await?;
        }
        Ok(())
    }

    /// Records that `client` got tokens through the session and keeps it alive; `false`
    /// when the session ended meanwhile (then no site may get tokens through it).
    ///
    /// The site joins with one atomic add, and the record is only given a new TTL, never
    /// rewritten: whatever other instances add at the same moment stays. Logout takes the
    /// record before it reads the sites, so a site added before that is told, and one added
    /// after it finds the record gone.
    pub async fn touch(&self, session: &SsoSession, client: &ClientId) -> Result<bool, StoreError> {
        let ttl = self.ttl(session);
        self.store
            .add_to_set(&clients_key(&session.sid), client.as_str(), ttl)
            .await?;
        self.store.expire(&key(&session.sid), ttl).await
    }

    /// Ends the session; returns it (for logout notifications) if it was live.
    /// `token_lifetime`: how long tokens issued through it may still be presented.
    pub async fn end(
        &self,
        sid: &Sid,
        token_lifetime: Duration,
    ) -> Result<Option<SsoSession>, StoreError> {
        self.store
            .put(&ended_key(sid), vec![], Ttl::For(token_lifetime))
            .await?;
        let Some(mut session) = store::take_json::<SsoSession>(self.store, &key(sid)).await? else {
            return Ok(None);
        };
        session.sid = sid.clone();
        let clients_key = clients_key(sid);
        for client in self.store.set_members(&clients_key).await? {
            let client = ClientId::from_stored(client);
            if !session.clients.contains(&client) {
                session.clients.push(client);
            }
        }
        self.store.delete(&clients_key).await?;
        Ok(Some(session))
    }

    pub async fn is_ended(&self, sid: &Sid) -> Result<bool, StoreError> {
        Ok(self.store.get(&ended_key(sid)).await?.is_some())
    }

    /// Whether a session exists (refresh tokens tied to it live only as long as it does).
    pub async fn is_live(&self, sid: &Sid) -> Result<bool, StoreError> {
        Ok(self.get(sid).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn sessions(store: &MemoryStore) -> Sessions<'_> {
        Sessions {
            store,
            config: SessionConfig::default(),
        }
    }

    #[tokio::test]
    async fn the_record_leaves_out_its_sid_and_gets_it_back_from_its_key() {
        let store = MemoryStore::new();
        let identity: Identity = serde_json::from_value(
            serde_json::json!({"provider": "ok", "provider_user_id": "1", "email_verified": false}),
        )
        .unwrap();
        let client = ClientId::from_stored("shop".into());
        let created = sessions(&store).create(identity, &client).await.unwrap();
        let raw = store.get(&key(&created.sid)).await.unwrap().unwrap();
        let raw = String::from_utf8(raw).unwrap();
        assert!(!raw.contains("\"sid\""), "{raw}");
        assert!(!raw.contains(created.sid.as_str()), "{raw}");
        let read = sessions(&store).get(&created.sid).await.unwrap().unwrap();
        assert_eq!(read.sid, created.sid);
        assert_eq!(read.identity.provider_user_id, "1");
        let ended = sessions(&store)
            .end(&created.sid, Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ended.sid, created.sid);
        assert_eq!(ended.clients, [client]);
    }

    #[tokio::test]
    async fn records_written_with_their_sid_still_load() {
        let store = MemoryStore::new();
        let sid = Sid::new("x_ELQWOBQ8gch16rqNwGy36hN7KSXLuHs3-PQQAKS_w");
        let t = now();
        let old = serde_json::json!({
            "sid": sid.as_str(),
            "identity": {"provider": "ok", "provider_user_id": "575123456789", "email_verified": false},
            "auth_time": t, "created": t,
        });
        store
            .put(
                &key(&sid),
                old.to_string().into_bytes(),
                Ttl::For(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        let read = sessions(&store).get(&sid).await.unwrap().unwrap();
        assert_eq!(read.sid, sid);
        assert_eq!(read.identity.provider_user_id, "575123456789");
    }
}

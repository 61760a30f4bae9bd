//! The connection to Redis, whatever its topology, and how it is re-made when it fails.
//!
//! - One server: the crate's `ConnectionManager`, which re-connects by itself after I/O
//!   errors.
//! - Sentinel: a connection to the primary the Sentinels name. Any failure (the primary gone,
//!   `READONLY` from a demoted one) drops it; the next request asks the Sentinels again, so a
//!   failover is followed without a restart.
//! - Cluster: the crate's cluster connection, which follows `MOVED`/`ASK`, re-reads the slot
//!   map and re-connects to nodes by itself.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::target::{Target, Topology};
use crate::store::StoreError;

/// How a connection is made.
enum Connector {
    Single(Client),
    Sentinel(SentinelClient),
    Cluster(ClusterClient),
}

/// A connection of any topology; cheap to clone (each is a handle to one shared connection).
#[derive(Clone)]
pub(super) enum Conn {
    Managed(ConnectionManager),
    Primary(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Managed(c) => c.req_packed_command(cmd),
            Conn::Primary(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Managed(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Primary(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Managed(c) => c.get_db(),
            Conn::Primary(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The connection in use, numbered so that of several requests failing on one connection
/// only the first replaces it.
struct Slot {
    generation: u64,
    conn: Option<Conn>,
    /// Connection attempts that failed, and how the last one did: requests that waited for
    /// an attempt which failed fail with it rather than each trying again.
    failures: u64,
    last_failure: String,
}

pub(super) struct Link {
    topology: Topology,
    /// Held while connecting (a Sentinel lookup needs `&mut`): one attempt at a time.
    connector: tokio::sync::Mutex<Connector>,
    slot: Mutex<Slot>,
    timeout: Duration,
}

impl Link {
    /// Prepares the clients; nothing connects until the first request.
    pub fn new(target: &Target, timeout: Duration) -> Result<Link, StoreError> {
        let invalid = |e: RedisError| StoreError::BadUrl(e.to_string());
        let connector = match target {
            Target::Single(info) => Connector::Single(Client::open(info.clone()).map_err(invalid)?),
            Target::Sentinel(s) => Connector::Sentinel(
                SentinelClient::build(
                    s.sentinels.clone(),
                    &s.service,
                    Some(s.primary.clone()),
                    SentinelServerType::Master,
                )
                .map_err(invalid)?,
            ),
            Target::Cluster(nodes) => Connector::Cluster(
                ClusterClient::builder(nodes.clone())
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2)
                    .build()
                    .map_err(invalid)?,
            ),
        };
        Ok(Link {
            topology: target.topology(),
            connector: tokio::sync::Mutex::new(connector),
            slot: Mutex::new(Slot {
                generation: 0,
                conn: None,
                failures: 0,
                last_failure: String::new(),
            }),
            timeout,
        })
    }

    /// The current connection and its number; connects first if there is none.
    pub async fn get(&self) -> Result<(u64, Conn), StoreError> {
        let failures = {
            let slot = self.lock();
            if let Some(conn) = &slot.conn {
                return Ok((slot.generation, conn.clone()));
            }
            slot.failures
        };
        let mut connector = self.connector.lock().await;
        {
            let slot = self.lock();
            if let Some(conn) = &slot.conn {
                return Ok((slot.generation, conn.clone()));
            }
            if slot.failures != failures {
                return Err(StoreError::Unavailable(slot.last_failure.clone()));
            }
        }
        let result = connector.connect(self.timeout).await;
        let mut slot = self.lock();
        match result {
            Ok(conn) => {
                slot.generation += 1;
                slot.conn = Some(conn.clone());
                Ok((slot.generation, conn))
            }
            Err(e) => {
                slot.failures += 1;
                slot.last_failure = format!("Redis: {e}");
                Err(StoreError::Unavailable(slot.last_failure.clone()))
            }
        }
    }

    /// A request on connection `generation` failed with `error` (`None`: it did not answer
    /// in time). Drops the connection when it cannot recover by itself; the next request
    /// makes a new one.
    pub fn failed(&self, generation: u64, error: Option<&RedisError>) {
        let recovers_by_itself = match (self.topology, error) {
            // Silence: a host that vanished without closing the connection leaves it dead
            // until TCP gives up (minutes).
            (_, None) => false,
            // The primary may have moved: ask the Sentinels again after any failure.
            (Topology::Sentinel, Some(_)) => false,
            // The manager and the cluster connection re-connect after I/O errors, but keep
            // other failures to connect (a refused password, even once Redis accepts it)
            // and may not notice READONLY after a failover: start over on those.
            (Topology::Single | Topology::Cluster, Some(e)) => e.is_io_error(),
        };
        if recovers_by_itself {
            return;
        }
        let mut slot = self.lock();
        if slot.generation == generation && slot.conn.is_some() {
            slot.conn = None;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Connector {
    async fn connect(&mut self, timeout: Duration) -> Result<Conn, RedisError> {
        match self {
            // Connects on first use and re-connects by itself.
            Connector::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(client.clone(), config).map(Conn::Managed)
            }
            Connector::Sentinel(sentinels) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                let primary = sentinels.get_async_connection_with_config(&config).await?;
                Ok(Conn::Primary(primary))
            }
            Connector::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }
}

//! Rate limits (`[limits]`): failed client authentications per client id and per source
//! address, and login steps (`/authorize`, `/callback`, `/logout`) per address. Counters live in the
//! store, one per fixed window, so with Redis every instance counts together.
//!
//! A client's secret is checked only while both of its counters are under their limits:
//! past them even the right secret is refused until the window ends, or a guesser would
//! learn when it hit.

use std::net::IpAddr;
use std::time::Duration;

use super::clients::ClientCredentials;
use super::error::Error;
use crate::config::{ClientConfig, Rate};
use crate::gateway::Gateway;
use crate::primitives::now;
use crate::store::{Store, read_count};

/// The source address a limit counts by: IPv4 as is, IPv6 by its /64 (one subscriber's
/// network: whoever has one address of it has them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source(IpAddr);

impl Source {
    pub fn new(address: IpAddr) -> Self {
        Source(address.to_canonical())
    }

    /// The address as logs show it.
    pub fn address(self) -> IpAddr {
        self.0
    }

    fn bucket(self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

/// One limit's counter in the current window.
struct Counter {
    key: String,
    rate: Rate,
    /// Seconds until the window ends.
    retry_after: u64,
}

impl Counter {
    fn new(kind: &str, subject: &str, rate: Rate) -> Self {
        let per = rate.per.as_secs().max(1);
        let t = now();
        let window = t / per;
        Counter {
            key: format!("rate:{kind}:{subject}:{window}"),
            rate,
            retry_after: (window + 1) * per - t,
        }
    }

    fn refused(&self) -> Error {
        Error::RateLimited(Duration::from_secs(self.retry_after.max(1)))
    }

    async fn is_spent(&self, store: &dyn Store) -> Result<bool, Error> {
        Ok(read_count(store, &self.key).await? >= self.rate.count)
    }

    /// Counts one event; `true` when this one reached the limit.
    async fn add(&self, store: &dyn Store) -> Result<bool, Error> {
        // The window's own length, plus a little for clocks that differ between instances.
        let ttl = Duration::from_secs(self.retry_after + 5);
        Ok(store.count(&self.key, ttl).await? == self.rate.count)
    }
}

/// One step of a login (`/authorize`, `/callback`) from `source`: refused once the address
/// has taken `logins_per_address` in this window.
pub async fn login_step(gw: &Gateway, source: Source) -> Result<(), Error> {
    let Some(rate) = gw.config.limits.logins_per_address else {
        return Ok(());
    };
    let counter = Counter::new("login", &source.bucket(), rate);
    let store = gw.store.as_ref();
    if counter.is_spent(store).await? {
        return Err(counter.refused());
    }
    if counter.add(store).await? {
        tracing::warn!(
            address = %source.address(),
            limit = rate.count,
            per_s = rate.per.as_secs(),
            "login requests from one address over the limit; refusing until the window ends"
        );
    }
    Ok(())
}

/// The registered client `credentials` prove, within the limits on failed attempts: a
/// failure counts against the address and, for a registered client id, against the client.
pub async fn authenticate<'g>(
    gw: &'g Gateway,
    credentials: &ClientCredentials,
    source: Source,
) -> Result<&'g ClientConfig, Error> {
    let limits = &gw.config.limits;
    // Unknown ids are not counted by id: anyone could make up as many as they like.
    let registered = gw.config.client(&credentials.client_id).is_some();
    let counters: Vec<(Counter, &str)> = [
        limits
            .auth_failures_per_address
            .map(|rate| (Counter::new("auth:addr", &source.bucket(), rate), "address")),
        limits
            .auth_failures_per_client
            .filter(|_| registered)
            .map(|rate| {
                (
                    Counter::new("auth:client", &credentials.client_id, rate),
                    "client",
                )
            }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let store = gw.store.as_ref();
    for (counter, by) in &counters {
        if counter.is_spent(store).await? {
            tracing::info!(
                client = %credentials.client_id,
                address = %source.address(),
                by,
                "client authentication refused: too many failures"
            );
            return Err(counter.refused());
        }
    }
    match credentials.authenticate(&gw.config) {
        Ok(client) => Ok(client),
        Err(e) => {
            for (counter, by) in &counters {
                if counter.add(store).await? {
                    tracing::warn!(
                        client = %credentials.client_id,
                        address = %source.address(),
                        by,
                        limit = counter.rate.count,
                        per_s = counter.rate.per.as_secs(),
                        "failed client authentications over the limit; refusing until the window ends"
                    );
                }
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::Source;

    /// Pending logins and rate counters are what anyone can create: the memory store must
    /// keep them apart from the sessions of people who logged in.
    #[test]
    fn anonymous_keys_are_transient_in_the_store() {
        let transient = |key: &str| {
            crate::gateway::TRANSIENT_KEYS
                .iter()
                .any(|p| key.starts_with(p))
        };
        let rate = super::Rate {
            count: 1,
            per: std::time::Duration::from_secs(60),
        };
        assert!(transient(
            &super::Counter::new("login", "192.0.2.1", rate).key
        ));
        assert!(transient(&crate::oidc::login::login_key("state")));
        for durable in [
            "sso:",
            "browser:",
            "code:",
            "refresh:",
            "refresh-family:",
            "upstream:",
            "keys",
        ] {
            assert!(!transient(durable), "{durable}");
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2a02:6b8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2a02:6b8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2a02:6b8:1:3::1".parse().unwrap();
        assert_eq!(Source::new(a).bucket(), "2a02:6b8:1:2::/64");
        assert_eq!(Source::new(a).bucket(), Source::new(b).bucket());
        assert_ne!(Source::new(a).bucket(), Source::new(other).bucket());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(Source::new(mapped).bucket(), "192.0.2.7");
    }
}

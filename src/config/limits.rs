//! `[limits]`: what one client, address or connection may take of the gateway.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::expand::Env;
use super::schema::RawLimits;
use super::{ConfigError, Ctx};

#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// A connection must send a request's headers within this long, and an idle kept-alive
    /// connection is closed after it: a stalled client cannot hold a connection.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, requests in flight get this long to finish.
    pub shutdown_timeout: Duration,
    /// Failed client authentications per registered client id (`None`: unlimited).
    pub auth_failures_per_client: Option<Rate>,
    /// Failed client authentications per source address.
    pub auth_failures_per_address: Option<Rate>,
    /// `/authorize`, `/callback` and `/logout` requests per source address.
    pub logins_per_address: Option<Rate>,
    /// Where the person's address comes from.
    pub addresses: ClientAddresses,
}

/// At most `count` events per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub per: Duration,
}

/// A request's source address is the connection's, unless the connection comes from a
/// trusted proxy: then it is taken from `header` (the rightmost address in it that is not a
/// trusted proxy itself, so a client cannot choose its own by sending the header).
#[derive(Clone, Debug, Default)]
pub struct ClientAddresses {
    pub trusted_proxies: Vec<IpNet>,
    /// Lower-case header name; `x-forwarded-for` by default.
    pub header: String,
}

impl ClientAddresses {
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }

    /// The source of a request that came over a connection from `peer`, with `forwarded`
    /// the values of the address header: the peer itself unless it is a trusted proxy;
    /// else, reading the header's list from the right (each proxy appends the address it
    /// saw), the first address that is not a trusted proxy. A value that is not an address
    /// ends the walk: what lies left of it cannot be trusted.
    pub fn source<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
        let mut source = peer;
        for hop in hops.iter().rev() {
            let hop = hop.trim();
            let Some(address) = hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
            else {
                break;
            };
            source = address;
            if !self.is_trusted(address) {
                break;
            }
        }
        source
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
            auth_failures_per_client: Some(Rate {
                count: 60,
                per: Duration::from_secs(60),
            }),
            auth_failures_per_address: Some(Rate {
                count: 10,
                per: Duration::from_secs(60),
            }),
            logins_per_address: Some(Rate {
                count: 120,
                per: Duration::from_secs(60),
            }),
            addresses: ClientAddresses {
                trusted_proxies: Vec::new(),
                header: "x-forwarded-for".into(),
            },
        }
    }
}

impl Ctx<'_> {
    pub(super) fn limits(&self, raw: RawLimits) -> Result<LimitsConfig, ConfigError> {
        let defaults = LimitsConfig::default();
        let max_connections = match raw.max_connections {
            None => defaults.max_connections,
            Some(n) if (1..=1_000_000).contains(&n) => n as usize,
            Some(n) => {
                return Err(self.err(
                    "limits.max_connections",
                    format!("{n} is not between 1 and 1000000"),
                ));
            }
        };
        let mut trusted_proxies = Vec::new();
        for Env(proxy) in &raw.trusted_proxies {
            let net = proxy
                .parse::<IpNet>()
                .or_else(|_| proxy.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    self.err(
                        "limits.trusted_proxies",
                        format!("{proxy:?} is not an address or network like \"10.0.0.0/8\""),
                    )
                })?;
            trusted_proxies.push(net);
        }
        let header = match raw.address_header {
            None => defaults.addresses.header,
            Some(Env(h)) => header_name(&h).ok_or_else(|| {
                self.err(
                    "limits.address_header",
                    format!("{h:?} is not a header name like \"X-Real-IP\""),
                )
            })?,
        };
        Ok(LimitsConfig {
            header_timeout: self.duration(
                "limits.header_timeout",
                raw.header_timeout,
                defaults.header_timeout,
            )?,
            max_connections,
            shutdown_timeout: self.duration(
                "limits.shutdown_timeout",
                raw.shutdown_timeout,
                defaults.shutdown_timeout,
            )?,
            auth_failures_per_client: self.rate(
                "limits.auth_failures_per_client",
                raw.auth_failures_per_client,
                defaults.auth_failures_per_client,
            )?,
            auth_failures_per_address: self.rate(
                "limits.auth_failures_per_address",
                raw.auth_failures_per_address,
                defaults.auth_failures_per_address,
            )?,
            logins_per_address: self.rate(
                "limits.logins_per_address",
                raw.logins_per_address,
                defaults.logins_per_address,
            )?,
            addresses: ClientAddresses {
                trusted_proxies,
                header,
            },
        })
    }

    /// `"10/min"`, `"100/h"`, `"5/10s"`, or `"off"`.
    fn rate(
        &self,
        key: &str,
        value: Option<Env>,
        default: Option<Rate>,
    ) -> Result<Option<Rate>, ConfigError> {
        let Some(Env(value)) = value else {
            return Ok(default);
        };
        if value.trim() == "off" {
            return Ok(None);
        }
        let bad = || {
            self.err(
                key,
                format!("{value:?} is not a rate like \"10/min\", \"100/h\" or \"off\""),
            )
        };
        let (count, per) = value.split_once('/').ok_or_else(bad)?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        // "min" means "1min".
        let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
            humantime::parse_duration(per)
        } else {
            humantime::parse_duration(&format!("1{per}"))
        }
        .map_err(|_| bad())?;
        if count == 0 || per < Duration::from_secs(1) {
            return Err(self.err(
                key,
                format!("{value:?}: at least 1 per at least 1s (or \"off\")"),
            ));
        }
        Ok(Some(Rate { count, per }))
    }
}

/// A valid HTTP header name, lower-cased (RFC 9110 token characters).
fn header_name(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    valid.then(|| name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::ClientAddresses;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn behind_proxy() -> ClientAddresses {
        ClientAddresses {
            trusted_proxies: vec![
                "10.0.0.0/8".parse().unwrap(),
                "127.0.0.1/32".parse().unwrap(),
            ],
            header: "x-forwarded-for".into(),
        }
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let addresses = behind_proxy();
        let forged = ["1.2.3.4"];
        assert_eq!(
            addresses.source(ip("203.0.113.9"), forged.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            ClientAddresses::default().source(ip("127.0.0.1"), forged.into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_address_that_is_no_trusted_proxy_is_the_source() {
        let addresses = behind_proxy();
        // The client sent a forged first hop; the proxies appended what they saw.
        let header = ["6.6.6.6, 198.51.100.7", "10.1.2.3"];
        assert_eq!(
            addresses.source(ip("127.0.0.1"), header.into_iter()),
            ip("198.51.100.7")
        );
        // Garbage stops the walk at the last address that could be trusted.
        let header = ["6.6.6.6, not-an-address, 10.9.9.9"];
        assert_eq!(
            addresses.source(ip("10.0.0.1"), header.into_iter()),
            ip("10.9.9.9")
        );
        // No header: the proxy itself.
        assert_eq!(
            addresses.source(ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
        assert_eq!(
            addresses.source(ip("10.0.0.1"), ["[2001:db8::1]:4711"].into_iter()),
            ip("2001:db8::1")
        );
    }
}

//! `[store] url` for Redis, parsed without connecting: one server (`redis://`), the primary
//! that Sentinels name (`redis+sentinel://`), or a cluster (`redis+cluster://`); `rediss…`
//! for TLS. Neither the errors nor the description ever repeat the password.

use std::fmt;

use redis::sentinel::SentinelNodeConnectionInfo;
use redis::{ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo, TlsMode};

use crate::store::StoreError;

const SENTINEL_PORT: u16 = 26379;
const REDIS_PORT: u16 = 6379;

const SINGLE_FORM: &str = "redis://[:PASSWORD@]HOST:PORT/DB";
const SENTINEL_FORM: &str = "redis+sentinel://[:PASSWORD@]HOST:PORT,HOST:PORT,…/SERVICE[/DB]";
const CLUSTER_FORM: &str = "redis+cluster://[:PASSWORD@]HOST:PORT,HOST:PORT,…";

/// How the Redis behind the store is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Single,
    Sentinel,
    Cluster,
}

/// Where the store's Redis is, ready to build the crate's clients from.
#[derive(Clone, Debug)]
pub enum Target {
    Single(ConnectionInfo),
    Sentinel(SentinelTarget),
    /// The seed nodes; the cluster tells the rest.
    Cluster(Vec<ConnectionInfo>),
}

#[derive(Clone, Debug)]
pub struct SentinelTarget {
    pub sentinels: Vec<ConnectionInfo>,
    pub service: String,
    /// How to reach the primary they name: TLS, database, credentials.
    pub primary: SentinelNodeConnectionInfo,
    tls: bool,
    db: i64,
    password: bool,
}

impl Target {
    pub fn topology(&self) -> Topology {
        match self {
            Target::Single(_) => Topology::Single,
            Target::Sentinel(_) => Topology::Sentinel,
            Target::Cluster(_) => Topology::Cluster,
        }
    }
}

/// Parses a Redis store URL. The error never repeats the URL (it may hold a password); it
/// may quote one `HOST:PORT` of a list, which holds none.
pub fn parse(url: &str) -> Result<Target, StoreError> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match scheme {
        "redis" | "rediss" => url
            .into_connection_info()
            .map(Target::Single)
            .map_err(|_| bad(format!("not a valid Redis URL ({SINGLE_FORM})"))),
        "redis+sentinel" | "rediss+sentinel" => sentinel(scheme == "rediss+sentinel", rest),
        "redis+cluster" | "rediss+cluster" => cluster(scheme == "rediss+cluster", rest),
        _ => Err(bad(format!(
            "unsupported scheme {scheme:?}: use redis://, rediss://, redis+sentinel://, \
             rediss+sentinel://, redis+cluster:// or rediss+cluster://"
        ))),
    }
}

fn bad(message: String) -> StoreError {
    StoreError::BadUrl(message)
}

/// A URL with a list of hosts, split: `[USERINFO@]HOST:PORT,…[/PATH][?QUERY]`.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    hosts: Vec<(String, u16)>,
    path: &'a str,
    query: Option<&'a str>,
}

fn split<'a>(rest: &'a str, default_port: u16, form: &str) -> Result<Parts<'a>, StoreError> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if tail.contains('#') {
        return Err(bad(format!("a fragment (#…) has no meaning here: {form}")));
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    if hosts.is_empty() {
        return Err(bad(format!("no HOST:PORT given: {form}")));
    }
    let hosts = hosts
        .split(',')
        .enumerate()
        .map(|(i, entry)| host(i + 1, entry, default_port, form))
        .collect::<Result<Vec<_>, _>>()?;
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    Ok(Parts {
        userinfo,
        hosts,
        path,
        query,
    })
}

/// One `HOST[:PORT]` of a list (a name, an IPv4 address or a bracketed IPv6 one).
fn host(n: usize, entry: &str, default_port: u16, form: &str) -> Result<(String, u16), StoreError> {
    let wrong = || {
        bad(format!(
            "address {n} of the list, {entry:?}, is not HOST:PORT: {form}"
        ))
    };
    if entry.is_empty() || entry.contains(['@', '/', '?', '#', '%']) {
        return Err(wrong());
    }
    let parsed = url::Url::parse(&format!("redis://{entry}")).map_err(|_| wrong())?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(wrong)?;
    let port = parsed.port().unwrap_or(default_port);
    if port == 0 {
        return Err(wrong());
    }
    Ok((host.to_string(), port))
}

/// The crate's connection info for one node, credentials from `userinfo` (still
/// percent-encoded, as in the URL: the crate decodes them as it does for `redis://`).
fn node(
    tls: bool,
    userinfo: Option<&str>,
    (host, port): &(String, u16),
    form: &str,
) -> Result<ConnectionInfo, StoreError> {
    let scheme = if tls { "rediss" } else { "redis" };
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}{host}:{port}/")
        .into_connection_info()
        .map_err(|_| {
            bad(format!(
                "the user name or password is not valid in a URL: {form}"
            ))
        })
}

fn sentinel(tls: bool, rest: &str) -> Result<Target, StoreError> {
    let form = SENTINEL_FORM;
    let parts = split(rest, SENTINEL_PORT, form)?;
    let mut segments = parts.path.trim_start_matches('/').split('/');
    let service = segments.next().unwrap_or_default();
    if service.is_empty() {
        return Err(bad(format!(
            "the name of the service the Sentinels monitor is missing: {form}"
        )));
    }
    if service
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '%')
    {
        return Err(bad(format!(
            "the service name {service:?} has spaces or escapes: {form}"
        )));
    }
    let db = match segments.next() {
        None | Some("") => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| bad(format!("the database {db:?} is not a number: {form}")))?,
    };
    if segments.next().is_some() {
        return Err(bad(format!("the path has more than SERVICE/DB: {form}")));
    }

    // The URL's credentials are the data nodes'; Sentinels often have none of their own.
    let primary_node = node(tls, parts.userinfo, &parts.hosts[0], form)?;
    let creds = primary_node.redis_settings();
    let mut redis = RedisConnectionInfo::default().set_db(db);
    if let Some(user) = creds.username() {
        redis = redis.set_username(user);
    }
    if let Some(password) = creds.password() {
        redis = redis.set_password(password);
    }
    let password = creds.password().is_some();
    let mut sentinel_userinfo = None;
    let (mut sentinel_user, mut sentinel_password) = (None, None);
    for (key, value) in url::form_urlencoded::parse(parts.query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "sentinel_username" => sentinel_user = Some(value.into_owned()),
            "sentinel_password" => sentinel_password = Some(value.into_owned()),
            // Only the name: the value may be a secret.
            other => {
                return Err(bad(format!(
                    "unknown parameter {other:?}: only sentinel_username and sentinel_password"
                )));
            }
        }
    }
    if sentinel_user.is_some() || sentinel_password.is_some() {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        let user: String = sentinel_user.as_deref().map(encode).unwrap_or_default();
        let password: String = sentinel_password.as_deref().map(encode).unwrap_or_default();
        sentinel_userinfo = Some(format!("{user}:{password}"));
    }
    let sentinels = parts
        .hosts
        .iter()
        .map(|h| node(tls, sentinel_userinfo.as_deref(), h, form))
        .collect::<Result<Vec<_>, _>>()?;
    let mut primary = SentinelNodeConnectionInfo::default().set_redis_connection_info(redis);
    if tls {
        primary = primary.set_tls_mode(TlsMode::Secure);
    }
    Ok(Target::Sentinel(SentinelTarget {
        sentinels,
        service: service.to_string(),
        primary,
        tls,
        db,
        password,
    }))
}

fn cluster(tls: bool, rest: &str) -> Result<Target, StoreError> {
    let form = CLUSTER_FORM;
    let parts = split(rest, REDIS_PORT, form)?;
    if !matches!(parts.path, "" | "/" | "/0") {
        return Err(bad(format!(
            "a Redis Cluster has database 0 only: leave the path out: {form}"
        )));
    }
    if parts.query.is_some_and(|q| !q.is_empty()) {
        return Err(bad(format!("no parameters are known after '?': {form}")));
    }
    let nodes = parts
        .hosts
        .iter()
        .map(|h| node(tls, parts.userinfo, h, form))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Target::Cluster(nodes))
}

/// `HOST:PORT`, an IPv6 host in brackets.
fn address(info: &ConnectionInfo) -> String {
    match info.addr() {
        redis::ConnectionAddr::Tcp(host, port)
        | redis::ConnectionAddr::TcpTls { host, port, .. }
            if host.contains(':') =>
        {
            format!("[{host}]:{port}")
        }
        other => other.to_string(),
    }
}

/// `HOST:PORT, HOST:PORT`.
fn addresses(nodes: &[ConnectionInfo]) -> String {
    nodes.iter().map(address).collect::<Vec<_>>().join(", ")
}

/// `TLS`, `with a password`, as they apply.
fn qualities(tls: bool, password: bool) -> Vec<&'static str> {
    let mut q = Vec::new();
    if tls {
        q.push("TLS");
    }
    if password {
        q.push("with a password");
    }
    q
}

fn is_tls(info: &ConnectionInfo) -> bool {
    matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. })
}

/// What `socialgate check` says the store will connect to: addresses, never the password.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Single(info) => {
                let redis = info.redis_settings();
                let db = format!("database {}", redis.db());
                let mut q = vec![db.as_str()];
                q.extend(qualities(is_tls(info), redis.password().is_some()));
                write!(
                    f,
                    "one Redis server at {} ({})",
                    address(info),
                    q.join(", ")
                )
            }
            Target::Sentinel(s) => {
                let db = format!("database {}", s.db);
                let mut q = vec![db.as_str()];
                q.extend(qualities(s.tls, s.password));
                write!(
                    f,
                    "the Redis primary that Sentinel calls {:?} ({}), asked of {}",
                    s.service,
                    q.join(", "),
                    addresses(&s.sentinels)
                )
            }
            Target::Cluster(nodes) => {
                write!(f, "a Redis Cluster found through {}", addresses(nodes))?;
                let q = nodes.first().map_or_else(Vec::new, |n| {
                    qualities(is_tls(n), n.redis_settings().password().is_some())
                });
                if !q.is_empty() {
                    write!(f, " ({})", q.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(url: &str) -> String {
        match parse(url) {
            Err(StoreError::BadUrl(message)) => {
                assert!(!message.contains("s3cret"), "{message}");
                message
            }
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn sentinel_urls_name_the_sentinels_the_service_and_the_primary_credentials() {
        let url = "redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/2";
        let Ok(Target::Sentinel(s)) = parse(url) else {
            panic!("{url}")
        };
        assert_eq!(s.service, "mymaster");
        assert_eq!(
            addresses(&s.sentinels),
            "10.0.0.1:26379, 10.0.0.2:26379, [::1]:26380"
        );
        // The password is the data nodes', not the Sentinels'.
        assert!(
            s.sentinels
                .iter()
                .all(|n| n.redis_settings().password().is_none())
        );
        let shown = parse(url).unwrap().to_string();
        assert_eq!(
            shown,
            "the Redis primary that Sentinel calls \"mymaster\" (database 2, with a password), \
             asked of 10.0.0.1:26379, 10.0.0.2:26379, [::1]:26380"
        );
        assert!(!format!("{:?}", shown).contains("s3cret"));
    }

    #[test]
    fn sentinels_may_have_credentials_of_their_own() {
        let url = "rediss+sentinel://h1:1,h2:2/svc?sentinel_username=sen&sentinel_password=p%40ss";
        let Ok(Target::Sentinel(s)) = parse(url) else {
            panic!("{url}")
        };
        for n in &s.sentinels {
            assert_eq!(n.redis_settings().username(), Some("sen"));
            assert_eq!(n.redis_settings().password(), Some("p@ss"));
            assert!(matches!(
                n.addr(),
                redis::ConnectionAddr::TcpTls {
                    insecure: false,
                    ..
                }
            ));
        }
        assert_eq!(
            parse(url).unwrap().to_string(),
            "the Redis primary that Sentinel calls \"svc\" (database 0, TLS), asked of h1:1, h2:2"
        );
    }

    #[test]
    fn cluster_urls_list_seed_nodes_with_one_password() {
        let url = "redis+cluster://user:s3cret@n1:7000,n2:7001,n3";
        let Ok(Target::Cluster(nodes)) = parse(url) else {
            panic!("{url}")
        };
        assert_eq!(addresses(&nodes), "n1:7000, n2:7001, n3:6379");
        for n in &nodes {
            assert_eq!(n.redis_settings().username(), Some("user"));
            assert_eq!(n.redis_settings().password(), Some("s3cret"));
        }
        assert_eq!(
            parse(url).unwrap().to_string(),
            "a Redis Cluster found through n1:7000, n2:7001, n3:6379 (with a password)"
        );
        assert_eq!(
            parse("rediss+cluster://n1:7000/").unwrap().to_string(),
            "a Redis Cluster found through n1:7000 (TLS)"
        );
        assert_eq!(
            parse("redis+cluster://n1:7000").unwrap().to_string(),
            "a Redis Cluster found through n1:7000"
        );
    }

    #[test]
    fn one_server_is_described_without_its_password() {
        let shown = parse("redis://:s3cret@redis.internal:6380/3")
            .unwrap()
            .to_string();
        assert_eq!(
            shown,
            "one Redis server at redis.internal:6380 (database 3, with a password)"
        );
    }

    #[test]
    fn bad_lists_and_paths_are_refused_clearly() {
        assert!(error("redis+sentinel://:s3cret@/mymaster").contains("no HOST:PORT given"));
        assert!(error("redis+sentinel://:s3cret@h1:1,h2:2").contains("service"));
        assert!(error("redis+sentinel://:s3cret@h1:1,h2:2/").contains("service"));
        let m = error("redis+sentinel://:s3cret@h1:1,,h2:2/m");
        assert!(m.contains("address 2 of the list, \"\""), "{m}");
        let m = error("redis+cluster://:s3cret@h1:1,h2:port");
        assert!(m.contains("address 2 of the list, \"h2:port\""), "{m}");
        assert!(error("redis+cluster://:s3cret@h1:0").contains("\"h1:0\""));
        assert!(error("redis+cluster://:s3cret@h1:1/2").contains("database 0 only"));
        assert!(error("redis+cluster://:s3cret@h1:1?x=s3cret").contains("no parameters"));
        assert!(error("redis+sentinel://h1:1/m/x").contains("\"x\" is not a number"));
        assert!(error("redis+sentinel://h1:1/m/0/1").contains("more than SERVICE/DB"));
        let m = error("redis+sentinel://h1:1/m?password=s3cret");
        assert!(m.contains("unknown parameter \"password\""), "{m}");
        assert!(error("redis+sentinel://h1:1/m#s3cret").contains("fragment"));
        let m = error("mysql://root:s3cret@db/app");
        assert!(
            m.contains("\"mysql\"") && m.contains("redis+sentinel://"),
            "{m}"
        );
        assert!(error("redis://:s3cret@h1:notaport/0").contains("not a valid Redis URL"));
    }

    #[test]
    fn topologies() {
        assert_eq!(parse("redis://h:1/0").unwrap().topology(), Topology::Single);
        assert_eq!(
            parse("redis+sentinel://h:1/m").unwrap().topology(),
            Topology::Sentinel
        );
        assert_eq!(
            parse("redis+cluster://h:1").unwrap().topology(),
            Topology::Cluster
        );
    }
}

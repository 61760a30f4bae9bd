//! A throwaway `redis-server` for the Redis store tests: its own loopback port, no
//! persistence, its files in a temporary directory, killed when dropped. Also a Sentinel
//! (`redis-server --sentinel`) and the layouts built of them: a Sentinel-managed primary and
//! replica ([`SentinelGroup`]), and a cluster of primaries ([`RedisCluster`]).
//!
//! Tests are never skipped: without `redis-server` they fail and say how to get it
//! (`bash tests/run.sh` installs it).
#![allow(dead_code)]

use std::fs::File;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a server may take to answer PING after being started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Free ports are picked by binding port 0 and releasing it; another process may take the
/// port before redis-server binds it, so starting tries a few ports.
const START_ATTEMPTS: usize = 5;

pub struct RedisServer {
    port: u16,
    /// `None` while stopped.
    child: Option<Child>,
    /// The server's working directory and log; removed on drop.
    dir: tempfile::TempDir,
    /// A Sentinel's config file (in `dir`), which it rewrites as it learns.
    sentinel_config: Option<PathBuf>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers PING.
    pub async fn start() -> RedisServer {
        Self::start_with(&[]).await
    }

    /// As `start`, with extra `redis-server` arguments (e.g. `["--requirepass", "secret"]`).
    pub async fn start_with(extra_args: &[&str]) -> RedisServer {
        let args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
        Self::start_each(None, || args.clone()).await
    }

    /// A cluster node (`cluster-enabled`) with no slots yet, knowing no other node.
    pub async fn start_cluster_node() -> RedisServer {
        Self::start_each(None, || {
            // The cluster bus gets a free port of its own: port + 10000 may be taken or
            // beyond 65535.
            let bus = free_port().to_string();
            ["--cluster-enabled", "yes", "--cluster-port", &bus]
                .into_iter()
                .chain(["--cluster-config-file", "nodes.conf"])
                .chain(["--cluster-node-timeout", "2000"])
                .map(String::from)
                .collect()
        })
        .await
    }

    /// A Sentinel watching the primary at `primary_port` as `service`, agreeing it is down
    /// with `quorum` Sentinels: down after 1 s of silence, so failovers take seconds.
    pub async fn start_sentinel(service: &str, primary_port: u16, quorum: usize) -> RedisServer {
        Self::start_sentinel_with(service, primary_port, quorum, "").await
    }

    /// As `start_sentinel`, with more lines for its config file (`requirepass`,
    /// `sentinel auth-pass`).
    pub async fn start_sentinel_with(
        service: &str,
        primary_port: u16,
        quorum: usize,
        more: &str,
    ) -> RedisServer {
        let config = format!(
            "sentinel monitor {service} 127.0.0.1 {primary_port} {quorum}\n\
             sentinel down-after-milliseconds {service} 1000\n\
             sentinel failover-timeout {service} 3000\n\
             sentinel parallel-syncs {service} 1\n{more}\n"
        );
        Self::start_each(Some(config), Vec::new).await
    }

    /// Starts a server on a free port, with the arguments `args` makes for each attempt.
    async fn start_each(sentinel: Option<String>, args: impl Fn() -> Vec<String>) -> RedisServer {
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut server = RedisServer {
            port: 0,
            child: None,
            sentinel_config: None,
            dir,
        };
        if let Some(config) = sentinel {
            let path = server.dir.path().join("sentinel.conf");
            std::fs::write(&path, config).expect("writing the Sentinel's config");
            server.sentinel_config = Some(path);
        }
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            let args = args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match server.spawn(&args).await {
                Ok(()) => return server,
                Err(e) => failures.push(e),
            }
        }
        panic!(
            "redis-server did not start after {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash would) and waits for it, so its port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine: either way nothing listens any more.
            let _ = child.kill();
            child.wait().expect("waiting for redis-server to exit");
        }
    }

    /// Kills the server with SIGKILL, as a crash would, without waiting for it (`&self`, so
    /// a test can crash it while others watch it); its port closes as it dies.
    pub fn crash(&self) {
        self.signal("-KILL");
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill {signal} {pid}: {status}");
    }

    /// Stops the server if it runs and starts a fresh, empty one on the same port.
    pub async fn restart(&mut self) {
        self.restart_with(&[]).await;
    }

    /// As `restart`, with extra `redis-server` arguments.
    pub async fn restart_with(&mut self, extra_args: &[&str]) {
        self.stop();
        if let Err(e) = self.spawn(extra_args).await {
            panic!("redis-server did not restart on port {}: {e}", self.port);
        }
    }

    /// A plain connection for checking what the store wrote.
    pub async fn connection(&self) -> ::redis::aio::MultiplexedConnection {
        ::redis::Client::open(self.url())
            .expect("the test server's URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connecting to the test redis-server")
    }

    /// Runs one command and returns its reply.
    pub async fn command<T: ::redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = ::redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut self.connection().await)
            .await
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    /// Every key in the server's database 0, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.command(&["KEYS", "*"]).await;
        keys.sort();
        keys
    }

    /// A cluster node's bus port (`cluster-port`).
    pub async fn bus_port(&self) -> u16 {
        let (_, port): (String, String) = self.command(&["CONFIG", "GET", "cluster-port"]).await;
        port.parse().expect("cluster-port is a number")
    }

    /// One field of `INFO section` (`role`, `connected_slaves`, …), if it is there.
    pub async fn info(&self, section: &str, field: &str) -> Option<String> {
        let text: String = self.command(&["INFO", section]).await;
        let prefix = format!("{field}:");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|v| v.trim().to_string())
    }

    /// How many times the server ran `command` (lower case), by `INFO commandstats`.
    pub async fn calls(&self, command: &str) -> u64 {
        let stats = self
            .info("commandstats", &format!("cmdstat_{command}"))
            .await;
        stats
            .and_then(|s| {
                s.split(',')
                    .find_map(|kv| kv.strip_prefix("calls="))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Spawns redis-server on `self.port` and waits until it answers PING.
    async fn spawn(&mut self, extra_args: &[&str]) -> Result<(), String> {
        let log_path = self.log_path();
        let log = File::create(&log_path).expect("creating the redis-server log");
        let port = self.port.to_string();
        let mut command = Command::new(server_program());
        if let Some(config) = &self.sentinel_config {
            // The config file must come first.
            command.arg(config).arg("--sentinel");
        } else {
            // A replica's first sync starts at once, not after the default 5 s wait for more
            // replicas to share it.
            command.args(["--repl-diskless-sync-delay", "0"]);
        }
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the redis-server log"))
            .stderr(log);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "{} is not installed: run `bash tests/run.sh`, which installs redis-server",
                server_program()
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        self.child = Some(child);
        match self.wait_ready().await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.stop();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                Err(format!("port {}: {e}; its log:\n{log}", self.port))
            }
        }
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("redis-server exited with {status}"));
            }
            if pong(self.port).await {
                // Something answers: make sure it is our server, not another test's that
                // took the port first (ours then exits, unable to bind).
                let ours = self.child.as_ref().map(Child::id);
                match identify(self.port).await {
                    Some(Identity::Pid(pid)) if Some(pid) == ours => return Ok(()),
                    Some(Identity::Pid(pid)) => {
                        return Err(format!("another redis-server (pid {pid}) has the port"));
                    }
                    // Password-protected: INFO needs AUTH, so trust the PONG.
                    Some(Identity::NeedsAuth) => return Ok(()),
                    // No complete answer yet: ask again.
                    None => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("no PONG within {READY_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server to run: `redis-server`, or what `SOCIALGATE_TEST_REDIS_SERVER` names (say
/// `valkey-server`, to run every Redis test against Valkey).
fn server_program() -> String {
    std::env::var("SOCIALGATE_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free loopback port")
        .port()
}

/// Whether the port answers `PING` with `+PONG` (a password-protected server answers
/// `-NOAUTH`, which also means it is up).
async fn pong(port: u16) -> bool {
    let reply = raw_command(port, b"PING\r\n", |r| r.ends_with(b"\r\n")).await;
    reply.is_some_and(|r| r.starts_with(b"+PONG") || r.starts_with(b"-NOAUTH"))
}

enum Identity {
    /// The `process_id` that `INFO server` reports.
    Pid(u32),
    /// The server wants a password before it says.
    NeedsAuth,
}

/// Which server answers on the port, if one answers `INFO server` in time.
async fn identify(port: u16) -> Option<Identity> {
    let reply = raw_command(port, b"INFO server\r\n", |r| {
        r.starts_with(b"-") || r.windows(9).any(|w| w == b"tcp_port:")
    })
    .await?;
    if reply.starts_with(b"-NOAUTH") {
        return Some(Identity::NeedsAuth);
    }
    let text = String::from_utf8_lossy(&reply);
    let pid = text.lines().find_map(|l| l.strip_prefix("process_id:"))?;
    pid.trim().parse().ok().map(Identity::Pid)
}

/// Sends `request` over a fresh connection and reads until `complete` says the reply is
/// all there (or 1 s passes).
async fn raw_command(
    port: u16,
    request: &[u8],
    complete: impl Fn(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut reply = Vec::new();
        while !complete(&reply) {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            reply.extend_from_slice(&chunk[..n]);
        }
        Some(reply)
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Sentinels' name for the primary in these tests.
pub const SERVICE: &str = "mymaster";

/// A primary, its replica, and Sentinels watching them, every one on loopback.
pub struct SentinelGroup {
    pub primary: RedisServer,
    pub replica: RedisServer,
    pub sentinels: Vec<RedisServer>,
}

impl SentinelGroup {
    /// Starts the primary, a replica in sync with it and `sentinels` Sentinels (a majority
    /// must agree it is down), and waits until every Sentinel knows the replica and the
    /// other Sentinels, so that a failover can start as soon as the primary dies.
    pub async fn start(sentinels: usize) -> SentinelGroup {
        let primary = RedisServer::start().await;
        let port = primary.port().to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &port]).await;
        wait_until("the replica in sync", Duration::from_secs(20), || async {
            replica
                .info("replication", "master_link_status")
                .await
                .as_deref()
                == Some("up")
        })
        .await;
        let quorum = sentinels / 2 + 1;
        let mut started = Vec::new();
        for _ in 0..sentinels {
            started.push(RedisServer::start_sentinel(SERVICE, primary.port(), quorum).await);
        }
        let group = SentinelGroup {
            primary,
            replica,
            sentinels: started,
        };
        for sentinel in &group.sentinels {
            wait_until(
                "every Sentinel knowing the replica and the others",
                Duration::from_secs(30),
                || async {
                    let replicas: Vec<::redis::Value> =
                        sentinel.command(&["SENTINEL", "REPLICAS", SERVICE]).await;
                    let others: Vec<::redis::Value> =
                        sentinel.command(&["SENTINEL", "SENTINELS", SERVICE]).await;
                    replicas.len() == 1 && others.len() == sentinels - 1
                },
            )
            .await;
        }
        group
    }

    /// `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,…/mymaster`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("redis+sentinel://{}/{SERVICE}", hosts.join(","))
    }

    /// The primary's port as each Sentinel names it now.
    pub async fn named_primaries(&self) -> Vec<Option<u16>> {
        let mut ports = Vec::new();
        for sentinel in &self.sentinels {
            let addr: Option<(String, String)> = sentinel
                .command(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE])
                .await;
            ports.push(addr.and_then(|(_, port)| port.parse().ok()));
        }
        ports
    }
}

/// Primaries with the slots split evenly between them, and replicas for each.
pub struct RedisCluster {
    /// The primaries, then the replicas.
    pub nodes: Vec<RedisServer>,
    pub primaries: usize,
}

impl RedisCluster {
    /// Starts `primaries` nodes, gives each an even share of the 16384 slots, makes them
    /// meet, gives each `replicas` replicas, and waits until every node says the cluster is
    /// ok and every replica is in sync.
    pub async fn start(primaries: usize, replicas: usize) -> RedisCluster {
        let total = primaries * (1 + replicas);
        let mut nodes = Vec::new();
        for _ in 0..total {
            nodes.push(RedisServer::start_cluster_node().await);
        }
        for (i, node) in nodes.iter().enumerate() {
            // Distinct epochs from the start, as `redis-cli --cluster create` sets them.
            let epoch = (i + 1).to_string();
            let _: () = node.command(&["CLUSTER", "SET-CONFIG-EPOCH", &epoch]).await;
            if i < primaries {
                let slots: Vec<String> = (i * 16384 / primaries..(i + 1) * 16384 / primaries)
                    .map(|s| s.to_string())
                    .collect();
                let mut args = vec!["CLUSTER", "ADDSLOTS"];
                args.extend(slots.iter().map(String::as_str));
                let _: () = node.command(&args).await;
            }
        }
        for node in &nodes[1..] {
            let port = node.port().to_string();
            let bus = node.bus_port().await.to_string();
            let _: () = nodes[0]
                .command(&["CLUSTER", "MEET", "127.0.0.1", &port, &bus])
                .await;
        }
        let cluster = RedisCluster { nodes, primaries };
        cluster.wait_all_known(total).await;
        for (i, replica) in cluster.nodes[primaries..].iter().enumerate() {
            let primary = &cluster.nodes[i % primaries];
            let id: String = primary.command(&["CLUSTER", "MYID"]).await;
            let _: () = replica.command(&["CLUSTER", "REPLICATE", &id]).await;
        }
        for replica in &cluster.nodes[primaries..] {
            wait_until(
                "a cluster replica in sync",
                Duration::from_secs(30),
                || async {
                    replica
                        .info("replication", "master_link_status")
                        .await
                        .as_deref()
                        == Some("up")
                },
            )
            .await;
        }
        cluster.wait_all_known(total).await;
        cluster
    }

    /// Waits until every node knows `total` nodes and says the cluster is ok.
    async fn wait_all_known(&self, total: usize) {
        for node in &self.nodes {
            wait_until("the cluster ok", Duration::from_secs(30), || async {
                let info: String = node.command(&["CLUSTER", "INFO"]).await;
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{total}\r\n"))
            })
            .await;
        }
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`: the primaries as seeds.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes[..self.primaries]
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// The primaries' keys, each sorted, in the order of `nodes`.
    pub async fn keys_per_primary(&self) -> Vec<Vec<String>> {
        let mut keys = Vec::new();
        for node in &self.nodes[..self.primaries] {
            keys.push(node.keys().await);
        }
        keys
    }

    /// Every key of the cluster, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.keys_per_primary().await.concat();
        keys.sort();
        keys
    }

    /// How many times the primaries ran `command` (lower case), in all.
    pub async fn calls(&self, command: &str) -> u64 {
        let mut calls = 0;
        for node in &self.nodes[..self.primaries] {
            calls += node.calls(command).await;
        }
        calls
    }
}

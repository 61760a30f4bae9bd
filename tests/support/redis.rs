//! A throwaway `redis-server` for the Redis store tests: its own loopback port, no
//! persistence, its files in a temporary directory, killed when dropped.
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
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers PING.
    pub async fn start() -> RedisServer {
        Self::start_with(&[]).await
    }

    /// As `start`, with extra `redis-server` arguments (e.g. `["--requirepass", "secret"]`).
    pub async fn start_with(extra_args: &[&str]) -> RedisServer {
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut server = RedisServer {
            port: 0,
            child: None,
            dir,
        };
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            match server.spawn(extra_args).await {
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

    /// Spawns redis-server on `self.port` and waits until it answers PING.
    async fn spawn(&mut self, extra_args: &[&str]) -> Result<(), String> {
        let log_path = self.log_path();
        let log = File::create(&log_path).expect("creating the redis-server log");
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
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
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("redis-server is not installed: run `bash tests/run.sh`, which installs it")
            }
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

//! The gateway under test: a process of its own (this binary re-run as `gateway`, which runs
//! exactly what `socialgate serve` runs), so that its CPU time and memory can be read from
//! /proc apart from the load generator's and the fake network's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::fake_ok;

pub const SHOP: &str = "shop";
pub const SHOP_SECRET: &str = "shop-secret-7c1f9a2e5b8d4";
pub const SHOP_REDIRECT: &str = "https://shop.bench.test/oidc/callback";
pub const FORUM: &str = "forum";
pub const FORUM_SECRET: &str = "forum-secret-3e8a6d0c1f2b9";
pub const FORUM_REDIRECT: &str = "https://forum.bench.test/oidc/callback";
/// The same site as `SHOP` with `id_token_signed_response_alg = "ES256"`.
pub const SHOP_ES: &str = "shop-es";
/// The same site as `FORUM` (no refresh tokens) with ES256: the memory figures' logins,
/// which leave an SSO session and nothing else.
pub const FORUM_ES: &str = "forum-es";

/// What a gateway is started with.
pub struct Setup<'a> {
    pub dir: &'a Path,
    /// `memory://` or a Redis URL.
    pub store: &'a str,
    pub fake_ok: SocketAddr,
    pub es256: bool,
}

pub struct Gateway {
    child: Child,
    pub issuer: String,
    log: PathBuf,
    /// From spawning to `/readyz` answering 200.
    pub start_up: Duration,
}

impl Gateway {
    pub async fn start(setup: &Setup<'_>, http: &reqwest::Client) -> anyhow::Result<Gateway> {
        let port = free_port()?;
        let issuer = format!("http://127.0.0.1:{port}");
        let config = setup.dir.join("config.toml");
        std::fs::write(&config, config_text(setup, port, &issuer))?;
        let log = setup.dir.join("gateway.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let started = Instant::now();
        let child = Command::new(std::env::current_exe()?)
            .arg("gateway")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("cannot start the gateway process")?;
        let mut gateway = Gateway {
            child,
            issuer,
            log,
            start_up: Duration::ZERO,
        };
        let ready = format!("{}/readyz", gateway.issuer);
        loop {
            if let Ok(r) = http.get(&ready).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Some(status) = gateway.child.try_wait()? {
                bail!("the gateway exited ({status}):\n{}", gateway.log_tail());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the gateway is not ready after 30 s:\n{}",
                    gateway.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        gateway.start_up = started.elapsed();
        Ok(gateway)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU time so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // The command name (field 2) may hold spaces; the rest follows its closing ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // utime and stime are fields 14 and 15: 12th and 13th after the name.
        let ticks = |i: usize| -> anyhow::Result<u64> {
            Ok(fields.get(i).context("short /proc stat")?.parse()?)
        };
        let total = ticks(11)? + ticks(12)?;
        Ok(Duration::from_micros(total * 1_000_000 / clock_ticks()))
    }

    /// (current RSS, peak RSS) in bytes.
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
                * 1024
        };
        Ok((kb("VmRSS:"), kb("VmHWM:")))
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// USER_HZ: the unit of /proc's CPU times (100 on every mainstream Linux build).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn config_text(setup: &Setup<'_>, port: u16, issuer: &str) -> String {
    let ok = format!("http://{}", setup.fake_ok);
    let es_client = if setup.es256 {
        format!(
            r#"
[clients.{SHOP_ES}]
client_secret = "{SHOP_SECRET}"
redirect_uris = ["{SHOP_REDIRECT}"]
providers = ["ok"]
refresh_tokens = true
id_token_signed_response_alg = "ES256"

[clients.{FORUM_ES}]
client_secret = "{FORUM_SECRET}"
redirect_uris = ["{FORUM_REDIRECT}"]
providers = ["ok"]
id_token_signed_response_alg = "ES256"
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"# Written by socialgate-bench.
[server]
listen = "127.0.0.1:{port}"
issuer = "{issuer}"
data_dir = "{dir}"

[store]
url = "{store}"

[limits]
# Every simulated person comes from 127.0.0.1.
logins_per_address = "off"

[providers.ok]
kind = "ok"
app_id = "{app_id}"
public_key = "{public_key}"
secret_key = "{secret_key}"
authorize_url = "{ok}/oauth/authorize"
token_url = "{ok}/oauth/token.do"
userinfo_url = "{ok}/fb.do"

[clients.{SHOP}]
client_secret = "{SHOP_SECRET}"
redirect_uris = ["{SHOP_REDIRECT}"]
providers = ["ok"]
refresh_tokens = true

[clients.{FORUM}]
client_secret = "{FORUM_SECRET}"
redirect_uris = ["{FORUM_REDIRECT}"]
providers = ["ok"]
{es_client}"#,
        dir = setup.dir.display(),
        store = setup.store,
        app_id = fake_ok::APP_ID,
        public_key = fake_ok::PUBLIC_KEY,
        secret_key = fake_ok::SECRET_KEY,
    )
}

/// A throwaway `redis-server` on a free loopback port, without persistence.
pub struct Redis {
    child: Child,
    pub url: String,
}

impl Redis {
    pub async fn start(dir: &Path) -> anyhow::Result<Redis> {
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "cannot start redis-server (is it installed? `apt-get install redis-server`)",
            )?;
        let url = format!("redis://127.0.0.1:{port}/0");
        let redis = Redis { child, url };
        let started = Instant::now();
        while redis.used_memory().await.is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("redis-server did not start on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(redis)
    }

    /// `used_memory` from `INFO memory`.
    pub async fn used_memory(&self) -> anyhow::Result<u64> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await?;
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .context("INFO memory has no used_memory")
    }

    pub async fn flush(&self) -> anyhow::Result<()> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let () = redis::cmd("FLUSHALL").query_async(&mut conn).await?;
        Ok(())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

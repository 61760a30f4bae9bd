//! socialgate-bench: the login-flow load benchmark (README, "Performance").
//!
//! Starts a fast fake OK and the gateway (a process of its own) on loopback, drives them with
//! simulated people and sites, and prints per scenario the rate, latency percentiles, the
//! gateway's CPU time per operation and its memory — every target as a ratio to the signing
//! limit measured in the same run, since absolute rates differ between machines.
//!
//!     cargo run --release --bin socialgate-bench
//!     cargo run --release --bin socialgate-bench -- --json bench.json

mod fake_ok;
mod gateway;
mod load;
mod people;
mod report;
mod signing;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::sync::Mutex;

use gateway::{FORUM_ES, Gateway, Redis, SHOP, SHOP_ES, Setup};
use load::Figures;
use people::{Browser, World, forum, shop};
use report::{Report, StoreMemory};

#[derive(Parser)]
#[command(
    name = "socialgate-bench",
    about = "socialgate's login-flow load benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// How long each closed-loop scenario is measured, after its warm-up.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Simulated people at once in the closed-loop scenarios.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Live SSO sessions created for the memory figures (memory store and Redis).
    #[arg(long, default_value_t = 100_000)]
    sessions: u64,
    /// Run only the scenarios whose name contains this (e.g. "memory: brokered login").
    #[arg(long)]
    only: Option<String>,
    /// Skip the Redis scenarios (they need `redis-server` on the PATH).
    #[arg(long)]
    no_redis: bool,
    /// Also write the figures as JSON here, to compare commits.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// (internal) Run the gateway under test: what `socialgate serve` runs.
    #[command(hide = true)]
    Gateway {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Gateway { config }) = cli.command {
        let config = socialgate::Config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        socialgate::logging::init(&config.log);
        return socialgate::web::run(config);
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The signing limit first, with the machine otherwise idle.
    eprintln!("measuring the signing limit…");
    let limits = vec![
        signing::rs256(Duration::from_secs(2))?,
        signing::es256(Duration::from_secs(1))?,
    ];
    let runtime = tokio::runtime::Runtime::new()?;
    let mut report = runtime.block_on(run(&cli, limits))?;
    print!("{}", report.text());
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

async fn run(cli: &Cli, limits: Vec<signing::Limit>) -> anyhow::Result<Report> {
    let fake_ok = fake_ok::start().await?;
    let mut report = Report::new(limits);
    let dir = TempDir::new()?;

    let memory_dir = dir.0.join("memory");
    std::fs::create_dir(&memory_dir)?;
    let setup = Setup {
        dir: &memory_dir,
        store: "memory://",
        fake_ok,
        es256: true,
    };
    let gateway = start_twice(&setup, &mut report, "memory").await?;
    report
        .scenarios
        .extend(scenarios(cli, &gateway, "memory", &report).await?);
    gateway.stop();
    if cli.sessions > 0 {
        report.memory.push(sessions(cli, &setup, None).await?);
    }

    if !cli.no_redis {
        let redis_dir = dir.0.join("redis");
        std::fs::create_dir(&redis_dir)?;
        let redis = Redis::start(&redis_dir).await?;
        let setup = Setup {
            store: &redis.url,
            dir: &redis_dir,
            ..setup
        };
        let gateway = start_twice(&setup, &mut report, "redis").await?;
        report
            .scenarios
            .extend(scenarios(cli, &gateway, "redis", &report).await?);
        gateway.stop();
        if cli.sessions > 0 {
            report
                .memory
                .push(sessions(cli, &setup, Some(&redis)).await?);
        }
    }
    Ok(report)
}

/// Starts the gateway once (it makes its signing keys), stops it and starts it again: the
/// second start is the cold start with existing keys. Records idle memory.
async fn start_twice(
    setup: &Setup<'_>,
    report: &mut Report,
    store: &str,
) -> anyhow::Result<Gateway> {
    let http = people::client();
    eprintln!("{store}: starting the gateway…");
    Gateway::start(setup, &http).await?.stop();
    let gateway = Gateway::start(setup, &http).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss, _) = gateway.memory()?;
    report.start(store, gateway.start_up, rss);
    Ok(gateway)
}

/// Runs the scenarios `--only` lets through, on one gateway.
struct Runner<'a> {
    cli: &'a Cli,
    gateway: &'a Gateway,
    store: &'a str,
    out: Vec<Figures>,
}

impl Runner<'_> {
    fn name(&self, scenario: &str) -> Option<String> {
        let name = format!("{}: {scenario}", self.store);
        let wanted = self
            .cli
            .only
            .as_deref()
            .is_none_or(|only| name.contains(only));
        wanted.then(|| {
            eprintln!("{name}…");
            name
        })
    }

    async fn closed<F, Fut>(&mut self, scenario: &str, op: F) -> anyhow::Result<()>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = load::Op> + Send + 'static,
    {
        let Some(name) = self.name(scenario) else {
            return Ok(());
        };
        let cli = self.cli;
        let figures = load::closed(
            &name,
            self.gateway,
            cli.concurrency,
            cli.warmup,
            cli.duration,
            op,
        )
        .await?;
        self.out.push(figures);
        Ok(())
    }

    async fn paced<F, Fut>(&mut self, scenario: &str, rate: f64, op: F) -> anyhow::Result<()>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = load::Op> + Send + 'static,
    {
        let Some(name) = self.name(scenario) else {
            return Ok(());
        };
        let figures = load::paced(&name, self.gateway, rate, self.cli.duration, op).await?;
        self.out.push(figures);
        Ok(())
    }
}

/// A new person's complete brokered login at the shop (client `client_id`).
fn login(
    world: &Arc<World>,
    client_id: &'static str,
) -> impl Fn(usize) -> Pin<Box<dyn Future<Output = load::Op> + Send>> + Send + Sync + 'static {
    let w = world.clone();
    move |_| {
        let w = w.clone();
        Box::pin(async move {
            let mut browser = Browser::default();
            let uid = 575_000_000_000 + w.next_number();
            let tokens = w
                .login(&mut browser, shop(client_id), uid, "openid profile email")
                .await?;
            Ok(tokens.signatures)
        })
    }
}

async fn scenarios(
    cli: &Cli,
    gateway: &Gateway,
    store: &str,
    report: &Report,
) -> anyhow::Result<Vec<Figures>> {
    let world = Arc::new(World::new(&gateway.issuer));
    world.fetch_jwks().await?;
    let c = cli.concurrency;
    let mut run = Runner {
        cli,
        gateway,
        store,
        out: Vec::new(),
    };

    let w = world.clone();
    run.closed("discovery + JWKS", move |n| {
        let w = w.clone();
        async move {
            let path = if n % 2 == 0 {
                "/.well-known/openid-configuration"
            } else {
                "/jwks"
            };
            w.get_json(path).await?;
            Ok(0)
        }
    })
    .await?;

    run.closed("brokered login", login(&world, SHOP)).await?;
    // Paced at half the throughput target: a quarter of the login limit.
    let rate = report.login_limit("RS256") * 0.25;
    run.paced("brokered login, paced", rate, login(&world, SHOP))
        .await?;
    if store == "memory" {
        run.closed("brokered login, ES256", login(&world, SHOP_ES))
            .await?;
    }

    let browsers: Arc<Vec<Mutex<Option<Browser>>>> =
        Arc::new((0..c).map(|_| Mutex::new(None)).collect());
    let w = world.clone();
    run.closed("SSO login, second site", move |person| {
        let (w, browsers) = (w.clone(), browsers.clone());
        async move {
            let mut slot = browsers[person].lock().await;
            if slot.is_none() {
                let mut browser = Browser::default();
                w.session_only(&mut browser, shop(SHOP), 576_000_000_000 + person as u64)
                    .await?;
                *slot = Some(browser);
            }
            let browser = slot.as_mut().expect("set above");
            Ok(w.sso_login(browser).await?.signatures)
        }
    })
    .await?;

    let refresh: Arc<Vec<Mutex<Option<String>>>> =
        Arc::new((0..c).map(|_| Mutex::new(None)).collect());
    let w = world.clone();
    run.closed("refresh grant", move |person| {
        let (w, refresh) = (w.clone(), refresh.clone());
        async move {
            let mut slot = refresh[person].lock().await;
            let current = match slot.take() {
                Some(t) => t,
                None => {
                    let mut browser = Browser::default();
                    let tokens = w
                        .login(
                            &mut browser,
                            shop(SHOP),
                            577_000_000_000 + person as u64,
                            "openid",
                        )
                        .await?;
                    tokens
                        .refresh_token
                        .ok_or_else(|| anyhow::anyhow!("no refresh token"))?
                }
            };
            let tokens = w.refresh(shop(SHOP), &current).await?;
            *slot = Some(
                tokens
                    .refresh_token
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no rotated refresh token"))?,
            );
            Ok(tokens.signatures)
        }
    })
    .await?;
    Ok(run.out)
}

/// Memory per live SSO session: a fresh gateway, warmed up, then `cli.sessions` people log in
/// at a site (each leaves an SSO session; the site redeems its code); the growth of its RSS
/// (memory store) or of Redis's `used_memory`.
async fn sessions(
    cli: &Cli,
    setup: &Setup<'_>,
    redis: Option<&Redis>,
) -> anyhow::Result<StoreMemory> {
    let store = if redis.is_some() { "redis" } else { "memory" };
    eprintln!("{store}: {} live SSO sessions…", cli.sessions);
    let http = people::client();
    let gateway = Gateway::start(setup, &http).await?;
    let world = Arc::new(World::new(&gateway.issuer));
    let create = |count: u64, base: u64| {
        let world = world.clone();
        async move {
            let per_task = count.div_ceil(cli.concurrency as u64);
            let mut tasks = Vec::new();
            for t in 0..cli.concurrency as u64 {
                let world = world.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..per_task {
                        let uid = base + t * per_task + i;
                        if uid >= base + count {
                            break;
                        }
                        // A complete login (the code redeemed, as sites do), cheap to sign.
                        let site = forum(FORUM_ES);
                        world
                            .login(&mut Browser::default(), site, uid, "openid")
                            .await?;
                    }
                    Ok::<_, anyhow::Error>(())
                }));
            }
            for t in tasks {
                t.await??;
            }
            Ok::<_, anyhow::Error>(())
        }
    };
    // Warm-up: the allocator's and the runtime's own growth is not the sessions'.
    create(2_000, 580_000_000_000).await?;
    let (rss_before, _) = gateway.memory()?;
    let redis_before = match redis {
        Some(r) => r.used_memory().await?,
        None => 0,
    };
    create(cli.sessions, 581_000_000_000).await?;
    let (rss_after, _) = gateway.memory()?;
    let redis_after = match redis {
        Some(r) => r.used_memory().await?,
        None => 0,
    };
    gateway.stop();
    if let Some(r) = redis {
        r.flush().await?;
    }
    Ok(StoreMemory {
        store: store.to_owned(),
        sessions: cli.sessions,
        gateway_rss_growth_mb: rss_after.saturating_sub(rss_before) as f64 / 1048576.0,
        redis_used_memory_growth_mb: redis
            .map(|_| redis_after.saturating_sub(redis_before) as f64 / 1048576.0),
    })
}

/// The run's files (configs, keys, logs), removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("socialgate-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

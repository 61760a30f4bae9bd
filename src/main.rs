//! The command line: `socialgate [serve]` runs the gateway, `socialgate check` validates the
//! config and prints what an admin must register where.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use socialgate::{Config, web};

#[derive(Parser)]
#[command(
    name = "socialgate",
    version,
    about = "Social-login gateway: OK, VK and more behind one OpenID Connect provider"
)]
struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        env = "SOCIALGATE_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Validate the config and print the redirect URIs to register at each network.
    Check {
        /// Also ask OK about each group token (`[ok_groups.*]`) and print its state.
        #[arg(long)]
        online: bool,
    },
    /// Ask the gateway running with this config whether it is ready (for container health
    /// checks: the image has no curl). Exit status 0 when it is.
    Health,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    socialgate::logging::init(&config.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check { online } => {
            print!("{}", describe(&config));
            if online {
                return check_online(&config);
            }
            ExitCode::SUCCESS
        }
        Command::Health => health(&config),
        Command::Serve => match web::run(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// What `check` prints: per provider, the redirect URI to register; per client, what it may use.
fn describe(config: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let issuer = &config.server.issuer;
    let _ = writeln!(out, "{}: OK", config.file.display());
    let _ = writeln!(out, "issuer: {}", issuer.as_str());
    let _ = writeln!(out, "store: {}", config.store.location);
    match config.store.wait {
        Some(wait) if wait.replicas > 0 => {
            let _ = writeln!(
                out,
                "  a login is answered once {} replica{} of the primary hold{} it (WAIT, up to {})",
                wait.replicas,
                if wait.replicas == 1 { "" } else { "s" },
                if wait.replicas == 1 { "s" } else { "" },
                humantime::format_duration(wait.timeout)
            );
        }
        Some(_) => {
            let _ = writeln!(out, "  writes do not wait for replicas (wait_replicas = 0)");
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "\nProviders (register the redirect URI in each network's app settings):"
    );
    for p in config.providers.values() {
        let demo = p.is_demo();
        let _ = writeln!(out, "  {} (kind {}): {}", p.name, p.kind, p.display_name);
        if demo {
            let _ = writeln!(
                out,
                "    WARNING: the demo provider lets anyone log in as anyone. For trying out only."
            );
        } else {
            let _ = writeln!(
                out,
                "    redirect URI: {}",
                issuer.url(&format!("/callback/{}", p.name))
            );
        }
    }
    let _ = writeln!(out, "\nClients:");
    for c in config.clients.values() {
        let kind = if c.client_secret.is_some() {
            "confidential"
        } else {
            "public, PKCE required"
        };
        let _ = writeln!(out, "  {} ({kind})", c.client_id);
        for r in &c.redirect_uris {
            let _ = writeln!(out, "    redirect URI: {r}");
        }
        let names: Vec<&str> = c.providers.iter().map(|p| p.as_str()).collect();
        let _ = writeln!(out, "    providers: {}", names.join(", "));
        if c.signing_alg != socialgate::config::SigningAlg::default() {
            let _ = writeln!(out, "    tokens signed with {}", c.signing_alg.as_str());
        }
    }
    describe_ok_groups(config, &mut out);
    out
}

/// `check`'s list of OK group tokens kept alive, when there are any.
fn describe_ok_groups(config: &Config, out: &mut String) {
    use std::fmt::Write;
    if config.ok_groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nOK group tokens (kept alive; `check --online` asks OK about them):"
    );
    for g in &config.ok_groups {
        let every = humantime::format_duration(g.check_every);
        let _ = writeln!(out, "  {}: checked every {every} at {}", g.name, g.api_url);
    }
}

/// `check --online`: each group token's state as OK tells it now. Fails unless every token
/// is alive, so a cron job notices.
fn check_online(config: &Config) -> ExitCode {
    use socialgate::provider::ok::groups::{GroupTokens, TokenState};
    let checked = tokio::runtime::Runtime::new().and_then(|runtime| {
        let http = socialgate::provider::http::client(socialgate::gateway::UPSTREAM_TIMEOUT)
            .map_err(std::io::Error::other)?;
        let tokens = GroupTokens::new(config.ok_groups.clone(), http);
        let states = runtime.block_on(tokens.check_all());
        Ok(states
            .into_iter()
            .map(|(name, state)| (name.to_string(), state))
            .collect::<Vec<_>>())
    });
    let states = match checked {
        Ok(states) => states,
        Err(e) => {
            eprintln!("error: cannot ask OK: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("\nOK group tokens at OK now:");
    if states.is_empty() {
        println!("  none configured");
    }
    for (name, state) in &states {
        println!("  {name}: {state}");
    }
    if states.iter().all(|(_, s)| *s == TokenState::Alive) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `health`: GET `/readyz` on the configured listen address (loopback when it listens on every
/// interface).
fn health(config: &Config) -> ExitCode {
    let mut addr = config.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/readyz");
    let asked = tokio::runtime::Runtime::new().and_then(|runtime| {
        let http = socialgate::provider::http::client(std::time::Duration::from_secs(5))
            .map_err(std::io::Error::other)?;
        runtime.block_on(async {
            let response = http.get(&url).send().await.map_err(std::io::Error::other)?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Ok((status, body))
        })
    });
    match asked {
        Ok((status, body)) if status.is_success() => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprintln!("not ready (HTTP {}): {body}", status.as_u16());
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: nothing answers at {url}; is the gateway running with this config?");
            ExitCode::FAILURE
        }
    }
}

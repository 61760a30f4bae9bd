//! OK group tokens (chat bots' keys) kept alive: each is checked at OK's Bot API at start and
//! on its schedule; a dead one is an error in the logs and a line in `/readyz` (still 200:
//! logins do not need it); an unreachable OK leaves it "unknown"; `check --online` asks OK;
//! the config refuses a table it cannot use. The tokens never appear in logs or answers.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::fakes::ok::{
    FakeOk, FakeOkConfig, GROUP_TOKEN_ALIVE, GROUP_TOKEN_EXPIRED, GROUP_TOKEN_REPLACED, GroupToken,
    OkBehaviour,
};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_socialgate");
const TOKENS: [&str; 3] = [GROUP_TOKEN_ALIVE, GROUP_TOKEN_EXPIRED, GROUP_TOKEN_REPLACED];

fn log_text() -> String {
    capture::logs().text()
}

/// A gateway with these `[ok_groups.*]` tables (its OK provider is the fake).
async fn gateway_with_groups(tables: &str) -> TestGateway {
    capture::logs();
    TestGateway::start_with(Options {
        extra_toml: tables.to_string(),
        ..Options::default()
    })
    .await
}

fn group(name: &str, token: &str, check_every: &str) -> String {
    format!("[ok_groups.{name}]\naccess_token = \"{token}\"\ncheck_every = \"{check_every}\"\n\n")
}

/// Waits until `done` holds (a check that never comes fails the test after 15 s).
async fn eventually<T>(what: &str, mut done: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = done().await {
            return value;
        }
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz(gw: &TestGateway) -> (u16, String) {
    let response = browser()
        .get(format!("{}/readyz", gw.issuer))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The `/readyz` body once it lists `lines` problems.
async fn readyz_listing(gw: &TestGateway, lines: usize) -> String {
    eventually("readyz lists the group tokens", async || {
        let (status, body) = readyz(gw).await;
        assert_eq!(status, 200, "{body}");
        (body.lines().count() == lines + 1).then_some(body)
    })
    .await
}

/// `line` without its ` (checked …)` tail, which holds the time of the check.
fn without_time(line: &str) -> &str {
    let (before, at) = line.rsplit_once(" (checked ").expect("a check time");
    assert!(at.ends_with("Z)"), "{line}");
    before
}

fn assert_no_token_in(text: &str) {
    for token in TOKENS {
        assert!(!text.contains(token), "a group token in:\n{text}");
    }
}

#[tokio::test]
async fn a_live_token_is_checked_at_start_with_the_token_alone_and_readyz_stays_plain() {
    let gw = gateway_with_groups(&group("shop-bot", GROUP_TOKEN_ALIVE, "1h")).await;
    eventually("the check at start", async || {
        (gw.ok.group_token_calls(GROUP_TOKEN_ALIVE) == 1).then_some(())
    })
    .await;
    let sent = gw.ok.last_request("graph");
    assert_eq!(
        sent,
        vec![("access_token".to_string(), GROUP_TOKEN_ALIVE.to_string())]
    );
    assert_eq!(readyz(&gw).await, (200, "ready".to_string()));
    assert_eq!(gw.ok.group_token_calls(GROUP_TOKEN_ALIVE), 1);
}

#[tokio::test]
async fn a_token_is_checked_again_on_schedule_and_its_replacement_is_noticed() {
    let gw = gateway_with_groups(&group("news-bot", GROUP_TOKEN_ALIVE, "1s")).await;
    eventually("two checks after the one at start", async || {
        (gw.ok.group_token_calls(GROUP_TOKEN_ALIVE) >= 3).then_some(())
    })
    .await;
    assert_eq!(readyz(&gw).await, (200, "ready".to_string()));

    // The group's admin issues a new token: OK kills this one.
    gw.ok
        .set_group_token(GROUP_TOKEN_ALIVE, GroupToken::Replaced);
    let body = readyz_listing(&gw, 1).await;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ready");
    assert_eq!(
        without_time(lines[1]),
        "OK group news-bot: token dead: replaced by a newer token or revoked \
         (OK error 103: PARAM_SESSION_KEY : Invalid session key)"
    );
}

#[tokio::test]
async fn dead_tokens_are_logged_as_errors_and_listed_by_readyz_which_stays_200() {
    let tables = [
        group("alive-bot", GROUP_TOKEN_ALIVE, "1h"),
        group("expired-bot", GROUP_TOKEN_EXPIRED, "1h"),
        group("replaced-bot", GROUP_TOKEN_REPLACED, "1h"),
    ]
    .concat();
    let gw = gateway_with_groups(&tables).await;
    let body = readyz_listing(&gw, 2).await;
    assert_no_token_in(&body);
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ready");
    assert_eq!(
        without_time(lines[1]),
        "OK group expired-bot: token dead: expired, unused for 30 days \
         (OK error 102: PARAM_SESSION_EXPIRED : Session expired)"
    );
    assert_eq!(
        without_time(lines[2]),
        "OK group replaced-bot: token dead: replaced by a newer token or revoked \
         (OK error 103: PARAM_SESSION_KEY : Invalid session key)"
    );

    let logs = log_text();
    for dead in ["expired-bot", "replaced-bot"] {
        let line = logs
            .lines()
            .find(|l| l.contains(&format!("group=\"{dead}\"")) && l.contains("ERROR"))
            .unwrap_or_else(|| panic!("no error line for {dead} in:\n{logs}"));
        assert!(line.contains("OK group token is dead"), "{line}");
    }
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("group=\"alive-bot\"") && l.contains("ERROR")),
        "{logs}"
    );
    assert_no_token_in(&logs);
}

#[tokio::test]
async fn an_unreachable_or_failing_ok_leaves_a_token_unknown_not_dead() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tables = format!(
        "{}[ok_groups.down-bot]\naccess_token = \"{GROUP_TOKEN_ALIVE}\"\napi_url = \"http://127.0.0.1:{closed}/graph\"\n\n",
        group("flaky-bot", GROUP_TOKEN_ALIVE, "1s")
    );
    let gw = gateway_with_groups(&tables).await;
    eventually("a check that finds the token alive", async || {
        (gw.ok.group_token_calls(GROUP_TOKEN_ALIVE) >= 1).then_some(())
    })
    .await;
    gw.ok.set_behaviour(OkBehaviour::ApiHttp502);
    let body = readyz_listing(&gw, 2).await;
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ready");
    assert_eq!(
        without_time(lines[1]),
        "OK group flaky-bot: token unknown: OK is unavailable: it answered HTTP 502"
    );
    assert_eq!(
        without_time(lines[2]),
        "OK group down-bot: token unknown: OK is unavailable: cannot connect"
    );
    let logs = log_text();
    for name in ["flaky-bot", "down-bot"] {
        let mine: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(&format!("group=\"{name}\"")))
            .collect();
        assert!(
            mine.iter()
                .any(|l| l.contains("WARN") && l.contains("state is unknown")),
            "{logs}"
        );
        assert!(!mine.iter().any(|l| l.contains("ERROR")), "{logs}");
    }
    assert_no_token_in(&logs);
}

// ---- the command line ----

/// A config whose OK provider is `ok` (the fake), with these extra tables.
fn cli_config(dir: &Path, ok: Option<&FakeOk>, tables: &str) -> PathBuf {
    let api = ok.map_or_else(|| "https://api.ok.ru/fb.do".to_string(), FakeOk::api_url);
    let text = format!(
        r#"[server]
listen = "127.0.0.1:8080"
issuer = "http://127.0.0.1:8080"

[providers.ok]
kind = "ok"
app_id = "512000000001"
public_key = "CBAFJIICABABABABA"
secret_key = "0F1E2D3C4B5A69788796A5B4"
userinfo_url = "{api}"

[providers.vk]
client_id = "51234567"
client_secret = "vk-secret-Zx81"

[clients.shop]
client_secret = "shop-secret-0123456789"
redirect_uris = ["https://shop.example.ru/callback"]
providers = ["ok"]

{tables}"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `socialgate check [extra]` (run off the test's runtime, which serves the fake OK).
async fn check(config: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("check")
        .arg("--config")
        .arg(config)
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("SOCIALGATE_CONFIG")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What `check` printed after the clients: the group sections.
fn after_clients(out: &Output) -> String {
    let stdout = text(&out.stdout);
    let (_, rest) = stdout
        .split_once("    redirect URI: https://shop.example.ru/callback\n    providers: ok\n")
        .unwrap_or_else(|| panic!("no client section in:\n{stdout}"));
    rest.to_string()
}

#[tokio::test]
async fn check_online_asks_ok_about_each_token_and_fails_unless_all_are_alive() {
    let ok = FakeOk::start(FakeOkConfig::new("http://127.0.0.1:9/callback/ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tables = format!(
        "{}{}{}[ok_groups.down-bot]\naccess_token = \"{GROUP_TOKEN_ALIVE}\"\napi_url = \"http://127.0.0.1:{closed}/graph\"\n",
        group("alive-bot", GROUP_TOKEN_ALIVE, "1d"),
        group("expired-bot", GROUP_TOKEN_EXPIRED, "12h"),
        group("replaced-bot", GROUP_TOKEN_REPLACED, "1d"),
    );
    let config = cli_config(dir.path(), Some(&ok), &tables);
    let graph = ok.graph_url();

    let out = check(&config, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        after_clients(&out),
        format!(
            "
OK group tokens (kept alive; `check --online` asks OK about them):
  alive-bot: checked every 1day at {graph}
  expired-bot: checked every 12h at {graph}
  replaced-bot: checked every 1day at {graph}
  down-bot: checked every 1day at http://127.0.0.1:{closed}/graph
"
        )
    );
    assert_eq!(ok.calls("graph"), 0, "check without --online stays offline");

    let out = check(&config, &["--online"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let shown = after_clients(&out);
    let online = shown
        .split_once("\nOK group tokens at OK now:\n")
        .unwrap()
        .1;
    assert_eq!(
        online,
        "  alive-bot: alive
  expired-bot: dead: expired, unused for 30 days (OK error 102: PARAM_SESSION_EXPIRED : Session expired)
  replaced-bot: dead: replaced by a newer token or revoked (OK error 103: PARAM_SESSION_KEY : Invalid session key)
  down-bot: unknown: OK is unavailable: cannot connect
"
    );
    for token in TOKENS {
        assert_eq!(ok.group_token_calls(token), 1, "{token}");
    }
    assert_no_token_in(&text(&out.stdout));
    assert_no_token_in(&text(&out.stderr));

    let only_alive = cli_config(
        dir.path(),
        Some(&ok),
        &group("alive-bot", GROUP_TOKEN_ALIVE, "1d"),
    );
    let out = check(&only_alive, &["--online"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("\nOK group tokens at OK now:\n  alive-bot: alive\n"),
        "{}",
        text(&out.stdout)
    );
}

/// `check` refuses the config with `error: FILE:LINE: KEY: message`, and shows no token.
async fn assert_refused(tables: &str, line_prefix: &str, key: &str, gist: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(dir.path(), None, tables);
    let written = std::fs::read_to_string(&config).unwrap();
    let line = written
        .lines()
        .position(|l| l.starts_with(line_prefix))
        .expect("the line")
        + 1;
    let out = check(&config, &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let prefix = format!("error: {}:{line}: {key}: ", config.display());
    assert!(
        stderr.starts_with(&prefix),
        "expected {prefix:?}, got:\n{stderr}"
    );
    assert!(stderr.contains(gist), "expected {gist:?} in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_token_in(&stderr);
}

#[tokio::test]
async fn a_group_without_a_token_is_refused_at_its_table() {
    assert_refused(
        "[ok_groups.bot]\ncheck_every = \"1d\"\n",
        "[ok_groups.bot]",
        "ok_groups.bot",
        "missing `access_token`",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_key_in_a_group_is_refused_with_the_keys_allowed() {
    assert_refused(
        &format!("[ok_groups.bot]\naccess_token = \"{GROUP_TOKEN_ALIVE}\"\ntoken = \"x\"\n"),
        "token = ",
        "ok_groups.bot.token",
        "unknown field `token`, expected one of `access_token`, `access_token_file`, `provider`, `api_url`, `check_every`",
    )
    .await;
}

#[tokio::test]
async fn a_token_both_inline_and_in_a_file_is_refused() {
    assert_refused(
        &format!(
            "[ok_groups.bot]\naccess_token = \"{GROUP_TOKEN_ALIVE}\"\naccess_token_file = \"bot.token\"\n"
        ),
        "access_token = ",
        "ok_groups.bot.access_token",
        "set either ok_groups.bot.access_token or ok_groups.bot.access_token_file, not both",
    )
    .await;
}

#[tokio::test]
async fn a_group_needs_an_ok_provider_and_a_check_well_inside_30_days() {
    let token = format!("access_token = \"{GROUP_TOKEN_ALIVE}\"\n");
    assert_refused(
        &format!("[ok_groups.bot]\n{token}provider = \"vk\"\n"),
        "provider = ",
        "ok_groups.bot.provider",
        "\"vk\" is not a provider of kind ok",
    )
    .await;
    assert_refused(
        &format!("[ok_groups.bot]\n{token}check_every = \"8d\"\n"),
        "check_every = ",
        "ok_groups.bot.check_every",
        "must be at most 7d",
    )
    .await;
    assert_refused(
        &format!("[ok_groups.bot]\n{token}api_url = \"http://api.ok.ru/graph\"\n"),
        "api_url = ",
        "ok_groups.bot.api_url",
        "must be an https URL",
    )
    .await;
}

#[tokio::test]
async fn a_token_is_read_from_its_file_and_checked() {
    let ok = FakeOk::start(FakeOkConfig::new("http://127.0.0.1:9/callback/ok")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bot.token"),
        format!("{GROUP_TOKEN_ALIVE}\n"),
    )
    .unwrap();
    let config = cli_config(
        dir.path(),
        Some(&ok),
        "[ok_groups.bot]\naccess_token_file = \"bot.token\"\nprovider = \"ok\"\n",
    );
    let out = check(&config, &["--online"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("  bot: alive\n"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(ok.group_token_calls(GROUP_TOKEN_ALIVE), 1);
}

//! The command line as an admin meets it: the real binary run against config files in a
//! temporary directory. `check` prints what to register where; a broken config stops both
//! `check` and `serve` with `FILE:LINE: KEY: message`, never a panic; `serve` starts for real.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_socialgate");

/// A valid config with a real-looking OK and VK app and one confidential site.
const BASE: &str = r#"[server]
listen = "127.0.0.1:8080"
issuer = "http://127.0.0.1:8080"
data_dir = "data"

[providers.ok]
kind = "ok"
app_id = "512000000001"
public_key = "CBAFJIICABABABABA"
secret_key = "0F1E2D3C4B5A69788796A5B4"

[providers.vk]
client_id = "51234567"
client_secret = "vk-secret-Zx81"

[clients.shop]
client_secret = "shop-secret-0123456789"
redirect_uris = ["https://shop.example.ru/callback"]
providers = ["ok", "vk"]
"#;

/// The binary, run in `dir`, with nothing inherited that would change what these tests see.
fn socialgate(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("SOCIALGATE_CONFIG")
        .env_remove("RUST_LOG")
        // Unset, so a panic would print its "run with `RUST_BACKTRACE=1`" note.
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `BASE` with one exact line replaced (it must exist, so a test never silently tests `BASE`).
fn base_with(old_line: &str, new_lines: &str) -> String {
    let lines: Vec<&str> = BASE.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| **l == old_line).count(),
        1,
        "{old_line:?} is not exactly one line of BASE"
    );
    let mut out = String::new();
    for l in lines {
        out.push_str(if l == old_line { new_lines } else { l });
        out.push('\n');
    }
    out
}

/// The 1-based number of the only line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(prefix))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{prefix:?} should start exactly one line");
    hits[0]
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn check(dir: &Path, config: &Path) -> Output {
    socialgate(dir)
        .arg("check")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// A clean refusal: exit status 1, one `error: FILE:LINE: KEY: ...` line naming everything
/// an admin needs, nothing on stdout, and no trace of a panic.
fn assert_config_error(out: &Output, file: &Path, line: usize, key: &str, gist: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1; stdout:\n{}\nstderr:\n{err}",
        stdout(out)
    );
    assert_no_panic(&err);
    let prefix = format!("error: {}:{line}: {key}: ", file.display());
    let error_line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error:` line in stderr:\n{err}"));
    assert!(
        error_line.starts_with(&prefix),
        "expected the error to start with {prefix:?}, got:\n{err}"
    );
    // The message itself may continue on further lines (a descriptor's own TOML error).
    for g in gist {
        assert!(err.contains(g), "expected {g:?} in:\n{err}");
    }
    assert!(
        stdout(out).is_empty(),
        "nothing may be printed as if valid:\n{}",
        stdout(out)
    );
}

fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "panic:\n{stderr}");
}

// ---- check: what it prints for a valid config ----

#[test]
fn check_prints_callbacks_per_provider_and_what_each_client_may_use() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", BASE);
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        format!(
            "{}: OK
issuer: http://127.0.0.1:8080
store: this process's memory (one instance)

Providers (register the redirect URI in each network's app settings):
  ok (kind ok): OK
    redirect URI: http://127.0.0.1:8080/callback/ok
  vk (kind vk): VK
    redirect URI: http://127.0.0.1:8080/callback/vk

Clients:
  shop (confidential)
    redirect URI: https://shop.example.ru/callback
    providers: ok, vk
",
            config.display()
        )
    );
    assert!(!stdout(&out).contains("WARNING"));
}

#[test]
fn check_lists_every_redirect_uri_public_clients_and_default_providers() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}
[clients.web]
redirect_uris = [\"http://localhost:5173/cb\", \"https://app.example.ru/cb\"]
"
    )
    .replace(
        "issuer = \"http://127.0.0.1:8080\"",
        "issuer = \"https://id.example.ru/\"",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    // The trailing slash of the issuer does not end up doubled in the callbacks.
    assert!(s.contains("issuer: https://id.example.ru\n"), "{s}");
    assert!(
        s.contains("    redirect URI: https://id.example.ru/callback/ok\n"),
        "{s}"
    );
    assert!(
        s.contains("    redirect URI: https://id.example.ru/callback/vk\n"),
        "{s}"
    );
    assert!(
        s.ends_with(
            "  web (public, PKCE required)
    redirect URI: http://localhost:5173/cb
    redirect URI: https://app.example.ru/cb
    providers: ok, vk
"
        ),
        "a client without `providers` may use all of them:\n{s}"
    );
}

#[test]
fn check_flags_a_demo_provider_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with("[providers.ok]", "[providers.demo]\n\n[providers.ok]");
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.contains(
            "  demo (kind demo): Demo (for trying out only)
    WARNING: the demo provider lets anyone log in as anyone. For trying out only.
  ok (kind ok): OK
"
        ),
        "{s}"
    );
    assert!(
        !s.contains("/callback/demo"),
        "nothing to register for demo:\n{s}"
    );
    assert!(s.contains("    providers: ok, vk\n"), "{s}");
}

#[test]
fn providers_and_clients_keep_their_config_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with("[providers.ok]", "[providers.vk]\nclient_id = \"51234567\"\nclient_secret = \"vk-secret-Zx81\"\n\n[providers.demo]\n\n[providers.ok]")
        .replace("[providers.vk]\nclient_id = \"51234567\"\nclient_secret = \"vk-secret-Zx81\"\n\n[clients", "[clients")
        + "\n[clients.app]\nredirect_uris = [\"https://app.example.ru/cb\"]\n";
    assert_eq!(text.matches("[providers.vk]").count(), 1, "{text}");
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    let at = |needle: &str| {
        s.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} in:\n{s}"))
    };
    assert!(at("  vk (kind vk)") < at("  demo (kind demo)"), "{s}");
    assert!(at("  demo (kind demo)") < at("  ok (kind ok)"), "{s}");
    assert!(at("  shop (confidential)") < at("  app (public"), "{s}");
    // A client without `providers` may use all of them, listed in config order too.
    assert!(s.ends_with("    providers: vk, demo, ok\n"), "{s}");
}

#[test]
fn the_shipped_config_is_valid_and_flags_its_demo_provider() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), &shipped);
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.starts_with(&format!("{}: OK\n", shipped.display())),
        "{s}"
    );
    assert!(s.contains("issuer: http://127.0.0.1:8080\n"), "{s}");
    assert!(
        s.contains("WARNING: the demo provider lets anyone log in as anyone. For trying out only."),
        "{s}"
    );
    assert!(
        s.contains(
            "  demo-site (confidential)
    redirect URI: http://127.0.0.1:8080/demo-site/callback
    providers: demo
"
        ),
        "{s}"
    );
}

// ---- where the config file comes from ----

#[test]
fn config_defaults_to_config_toml_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.toml", BASE);
    let out = socialgate(dir.path()).arg("check").output().unwrap();
    assert_success(&out);
    let s = stdout(&out);
    assert!(s.starts_with("config.toml: OK\n"), "{s}");
    assert!(
        s.contains("    redirect URI: http://127.0.0.1:8080/callback/ok\n"),
        "{s}"
    );
}

#[test]
fn a_missing_default_config_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = socialgate(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_no_panic(&err);
    assert!(
        err.starts_with("error: config.toml: cannot read the config file: "),
        "{err}"
    );
}

#[test]
fn socialgate_config_env_var_names_the_config_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_env = write(dir.path(), "etc/from-env.toml", BASE);
    let from_flag = write(
        dir.path(),
        "from-flag.toml",
        &BASE.replace("callback\"]", "callback-flag\"]"),
    );
    // A config.toml in the working directory that must not be the one read.
    write(dir.path(), "config.toml", "not toml at all [");

    let out = socialgate(dir.path())
        .arg("check")
        .env("SOCIALGATE_CONFIG", &from_env)
        .output()
        .unwrap();
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.starts_with(&format!("{}: OK\n", from_env.display())),
        "{s}"
    );
    assert!(s.contains("https://shop.example.ru/callback\n"), "{s}");

    let out = socialgate(dir.path())
        .arg("check")
        .arg("--config")
        .arg(&from_flag)
        .env("SOCIALGATE_CONFIG", &from_env)
        .output()
        .unwrap();
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.starts_with(&format!("{}: OK\n", from_flag.display())),
        "{s}"
    );
    assert!(s.contains("https://shop.example.ru/callback-flag\n"), "{s}");
}

// ---- a broken config stops `check` with FILE:LINE: KEY: message ----

/// Writes `text` as `config.toml`, runs `check` on it and asserts the exact error.
fn check_fails(text: &str, line_prefix: &str, key: &str, gist: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", text);
    let out = check(dir.path(), &config);
    assert_config_error(&out, &config, line_of(text, line_prefix), key, gist);
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let text = base_with("app_id = \"512000000001\"", "app_id = \"512000000001");
    check_fails(
        &text,
        "app_id = ",
        "(syntax)",
        &["invalid basic string", "expected `\"`"],
    );
}

#[test]
fn unknown_key_is_named_with_its_line_and_the_keys_allowed_there() {
    let text = base_with(
        "secret_key = \"0F1E2D3C4B5A69788796A5B4\"",
        "secret = \"0F1E2D3C4B5A69788796A5B4\"",
    );
    check_fails(
        &text,
        "secret = ",
        "providers.ok.secret",
        &[
            "unknown field `secret`",
            "`secret_key`",
            "`client_secret`",
            "`public_key`",
        ],
    );
}

#[test]
fn unknown_key_in_server_is_refused() {
    let text = base_with("data_dir = \"data\"", "datadir = \"data\"");
    check_fails(
        &text,
        "datadir = ",
        "server.datadir",
        &["unknown field `datadir`", "`data_dir`", "`providers_dir`"],
    );
}

#[test]
fn ok_without_public_key_is_refused_at_its_table() {
    let text = base_with("public_key = \"CBAFJIICABABABABA\"", "");
    check_fails(
        &text,
        "[providers.ok]",
        "providers.ok",
        &["missing `public_key`", "Публичный ключ"],
    );
}

#[test]
fn provider_without_client_secret_is_refused_at_its_table() {
    let text = base_with("client_secret = \"vk-secret-Zx81\"", "");
    check_fails(
        &text,
        "[providers.vk]",
        "providers.vk",
        &["missing `client_secret`", "`client_secret_file`"],
    );
}

#[test]
fn provider_without_client_id_is_refused_at_its_table() {
    let text = base_with("app_id = \"512000000001\"", "");
    check_fails(
        &text,
        "[providers.ok]",
        "providers.ok",
        &["missing `client_id`", "app_id"],
    );
}

#[test]
fn a_table_with_several_problems_reports_the_apps_own_keys_first() {
    // OK with only its secret: the app id is what the admin forgot first.
    let text = base_with("public_key = \"CBAFJIICABABABABA\"", "")
        .replace("app_id = \"512000000001\"\n", "");
    check_fails(
        &text,
        "[providers.ok]",
        "providers.ok",
        &["missing `client_id`", "app_id"],
    );
    // VK with OK's public_key and no secret: the missing secret first.
    let text = base_with("client_secret = \"vk-secret-Zx81\"", "public_key = \"X\"");
    check_fails(
        &text,
        "[providers.vk]",
        "providers.vk",
        &["missing `client_secret`"],
    );
    // Two options of other kinds: issuer before public_key.
    let text = base_with(
        "client_secret = \"vk-secret-Zx81\"",
        "client_secret = \"vk-secret-Zx81\"\npublic_key = \"X\"\nissuer = \"https://example.com\"",
    );
    check_fails(
        &text,
        "issuer = \"https://example.com\"",
        "providers.vk.issuer",
        &["issuer is only for OpenID Connect providers (kind `vk` is not one)"],
    );
}

#[test]
fn ok_widget_url_must_be_https_and_is_only_for_ok() {
    let text = base_with(
        "public_key = \"CBAFJIICABABABABA\"",
        "public_key = \"CBAFJIICABABABABA\"\nwidget_url = \"http://connect.ok.example/dk\"",
    );
    check_fails(
        &text,
        "widget_url = ",
        "providers.ok.widget_url",
        &[
            "\"http://connect.ok.example/dk\" must be an https URL (http only for loopback addresses)",
        ],
    );
    let text = base_with(
        "client_secret = \"vk-secret-Zx81\"",
        "client_secret = \"vk-secret-Zx81\"\nwidget_url = \"https://connect.ok.ru/dk\"",
    );
    check_fails(
        &text,
        "widget_url = ",
        "providers.vk.widget_url",
        &["widget_url is only used by OK providers"],
    );
}

#[test]
fn upstream_tokens_need_a_sound_key_and_method_names() {
    // A client that may use the networks' tokens needs somewhere to keep them.
    let text = base_with(
        "providers = [\"ok\", \"vk\"]",
        "providers = [\"ok\", \"vk\"]\nupstream_access = true",
    );
    check_fails(
        &text,
        "upstream_access = ",
        "clients.shop.upstream_access",
        &["the networks' tokens are kept only with an `[upstream] token_key`; set one"],
    );
    let key = "[upstream]\ntoken_key = \"c2hvcnQ=\"\n";
    check_fails(
        &base_plus(key),
        "token_key = ",
        "upstream.token_key",
        &["must be 32 random bytes in base64 (make one with `openssl rand -base64 32`)"],
    );
    let methods = base_with(
        "providers = [\"ok\", \"vk\"]",
        "providers = [\"ok\", \"vk\"]\nupstream_methods = [\"users.getInfo\", \"../oauth/token\"]",
    );
    check_fails(
        &format!(
            "{methods}\n[upstream]\ntoken_key = \"3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=\"\n"
        ),
        "upstream_methods = ",
        "clients.shop.upstream_methods",
        &["\"../oauth/token\" is not a method name like \"users.getInfo\""],
    );
}

#[test]
fn unset_environment_variable_is_named_at_the_value_that_uses_it() {
    let var = "SOCIALGATE_CLI_TEST_UNSET_7F3A";
    let text = base_with(
        "secret_key = \"0F1E2D3C4B5A69788796A5B4\"",
        &format!("secret_key = \"${{{var}}}\""),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = socialgate(dir.path())
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env_remove(var)
        .output()
        .unwrap();
    assert_config_error(
        &out,
        &config,
        line_of(&text, "secret_key = "),
        "providers.ok.secret_key",
        &[&format!("environment variable {var} is not set")],
    );
}

#[test]
fn client_naming_an_unknown_provider_is_refused() {
    let text = base_with(
        "providers = [\"ok\", \"vk\"]",
        "providers = [\"ok\", \"fb\"]",
    );
    check_fails(
        &text,
        "providers = ",
        "clients.shop.providers",
        &["no provider named \"fb\"", "(configured: ok, vk)"],
    );
}

#[test]
fn provider_kind_without_a_descriptor_is_refused() {
    let text = base_with("kind = \"ok\"", "kind = \"myspace\"");
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    let looked_for = dir.path().join("providers").join("myspace.toml");
    assert_config_error(
        &out,
        &config,
        line_of(&text, "kind = "),
        "providers.ok.kind",
        &[
            "no descriptor for provider kind \"myspace\"",
            &format!("looked for {}", looked_for.display()),
            "known kinds: demo, facebook, github, gitlab, google, mailru, microsoft, oidc, ok, vk, vkid, x, yandex",
        ],
    );
}

#[test]
fn plain_http_redirect_uri_is_refused_unless_loopback() {
    let text = base_with(
        "redirect_uris = [\"https://shop.example.ru/callback\"]",
        "redirect_uris = [\"http://127.0.0.1:3000/cb\", \"http://shop.example.ru/callback\"]",
    );
    check_fails(
        &text,
        "redirect_uris = ",
        "clients.shop.redirect_uris",
        &[
            "\"http://shop.example.ru/callback\"",
            "must be https (http only for loopback addresses)",
        ],
    );
}

#[test]
fn plain_http_issuer_is_refused_unless_loopback() {
    let text = base_with(
        "issuer = \"http://127.0.0.1:8080\"",
        "issuer = \"http://id.example.ru\"",
    );
    check_fails(
        &text,
        "issuer = ",
        "server.issuer",
        &["the issuer must be https unless it is a loopback address"],
    );
}

#[test]
fn too_short_client_secret_is_refused() {
    let text = base_with(
        "client_secret = \"shop-secret-0123456789\"",
        "client_secret = \"fifteen-chars15\"",
    );
    check_fails(
        &text,
        "client_secret = \"fifteen",
        "clients.shop.client_secret",
        &["a client secret must be at least 16 characters"],
    );
}

// ---- aliases, secret files, ${VAR} ----

#[test]
fn ok_aliases_app_id_and_secret_key_are_accepted() {
    // BASE writes OK the way OK's app settings name things: app_id, secret_key.
    assert!(BASE.contains("app_id = ") && BASE.contains("secret_key = "));
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", BASE);
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert!(
        stdout(&out)
            .contains("  ok (kind ok): OK\n    redirect URI: http://127.0.0.1:8080/callback/ok\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn secrets_are_read_from_files_without_their_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let client_secret = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(client_secret.len(), 40);
    write(
        dir.path(),
        "secrets/shop.secret",
        &format!("{client_secret}\n"),
    );
    // An absolute path works as well as one relative to the config file.
    let ok_secret = write(
        dir.path(),
        "secrets/ok.secret",
        "0F1E2D3C4B5A69788796A5B4\n",
    );
    let text = base_with(
        "secret_key = \"0F1E2D3C4B5A69788796A5B4\"",
        &format!("secret_key_file = \"{}\"", ok_secret.display()),
    );
    let text = text.replace(
        "client_secret = \"vk-secret-Zx81\"",
        "client_secret_file = \"secrets/shop.secret\"",
    );
    let text = text.replace(
        "client_secret = \"shop-secret-0123456789\"",
        "client_secret_file = \"secrets/shop.secret\"",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    assert!(s.contains("  shop (confidential)\n"), "{s}");
    assert!(
        !s.contains(client_secret),
        "secrets are never printed:\n{s}"
    );

    // 15 characters and a newline: the newline does not count towards the 16 required.
    write(dir.path(), "secrets/shop.secret", "fifteen-chars15\n");
    let out = check(dir.path(), &config);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_no_panic(&err);
    assert!(
        err.contains(
            "config.toml:17: clients.shop.client_secret_file: a client secret must be at least 16 characters"
        ),
        "{err}"
    );
    assert!(
        err.starts_with(&format!("error: {}", config.display())),
        "{err}"
    );

    // Exactly 16 and a CRLF: fine.
    write(dir.path(), "secrets/shop.secret", "sixteen-chars-16\r\n");
    assert_success(&check(dir.path(), &config));
}

#[test]
fn unreadable_secret_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with(
        "client_secret = \"vk-secret-Zx81\"",
        "client_secret_file = \"no-such.secret\"",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_no_panic(&err);
    let missing = dir.path().join("no-such.secret");
    assert!(
        err.contains(&format!(
            "providers.vk.client_secret_file: cannot read {}",
            missing.display()
        )),
        "{err}"
    );
    assert!(
        err.starts_with(&format!("error: {}", config.display())),
        "{err}"
    );
}

#[test]
fn secret_file_errors_name_the_key_as_written_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with(
        "secret_key = \"0F1E2D3C4B5A69788796A5B4\"",
        "secret_key_file = \"no-such.secret\"",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "secret_key_file = "),
        "providers.ok.secret_key_file",
        &["cannot read"],
    );

    write(dir.path(), "short.secret", "fifteen-chars15\n");
    let text = base_with(
        "client_secret = \"shop-secret-0123456789\"",
        "client_secret_file = \"short.secret\"",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "client_secret_file = "),
        "clients.shop.client_secret_file",
        &["at least 16 characters"],
    );
}

#[test]
fn environment_variables_are_expanded_when_set() {
    let secret_var = "SOCIALGATE_CLI_TEST_SECRET_9C21";
    let host_var = "SOCIALGATE_CLI_TEST_HOST_9C21";
    let text = base_with(
        "redirect_uris = [\"https://shop.example.ru/callback\"]",
        &format!("redirect_uris = [\"https://${{{host_var}}}/callback\"]"),
    )
    .replace(
        "client_secret = \"shop-secret-0123456789\"",
        &format!("client_secret = \"${{{secret_var}}}\""),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = socialgate(dir.path())
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env(secret_var, "from-the-environment-0123")
        .env(host_var, "shop.from-env.example")
        .output()
        .unwrap();
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.contains("    redirect URI: https://shop.from-env.example/callback\n"),
        "{s}"
    );
    assert!(!s.contains("${"), "{s}");
}

// ---- descriptors: providers_dir, providers/ next to the config ----

#[test]
fn providers_dir_supplies_custom_kinds_and_only_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "descs/myvk.toml",
        include_str!("../providers/vk.toml"),
    );
    let text = base_with(
        "data_dir = \"data\"",
        "data_dir = \"data\"\nproviders_dir = \"descs\"",
    );
    // Only VK, as kind "myvk": the built-in copies are not consulted with providers_dir set.
    let text = text
        .replace(
            "[providers.ok]\nkind = \"ok\"\napp_id = \"512000000001\"\npublic_key = \"CBAFJIICABABABABA\"\nsecret_key = \"0F1E2D3C4B5A69788796A5B4\"\n",
            "",
        )
        .replace("[providers.vk]\n", "[providers.vk]\nkind = \"myvk\"\n")
        .replace("providers = [\"ok\", \"vk\"]", "providers = [\"vk\"]");
    assert!(!text.contains("[providers.ok]"));
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    assert!(
        s.contains("  vk (kind myvk): VK\n    redirect URI: http://127.0.0.1:8080/callback/vk\n"),
        "{s}"
    );

    // The same directory, asked for the built-in kind "ok": not found there, and not
    // silently taken from the binary either.
    let with_ok = base_with(
        "data_dir = \"data\"",
        "data_dir = \"data\"\nproviders_dir = \"descs\"",
    );
    let config = write(dir.path(), "config.toml", &with_ok);
    let out = check(dir.path(), &config);
    let looked_for = dir.path().join("descs").join("ok.toml");
    assert_config_error(
        &out,
        &config,
        line_of(&with_ok, "kind = \"ok\""),
        "providers.ok.kind",
        &[
            "no descriptor for provider kind \"ok\"",
            &format!("looked for {}", looked_for.display()),
            "known kinds: myvk)",
        ],
    );
}

#[test]
fn providers_dir_that_is_not_a_directory_is_refused() {
    let text = base_with(
        "data_dir = \"data\"",
        "data_dir = \"data\"\nproviders_dir = \"no-such-dir\"",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "providers_dir = "),
        "server.providers_dir",
        &[&format!(
            "{} is not a directory",
            dir.path().join("no-such-dir").display()
        )],
    );
}

#[test]
fn providers_directory_next_to_the_config_wins_over_the_built_in_copy() {
    let dir = tempfile::tempdir().unwrap();
    let local = include_str!("../providers/ok.toml").replace(
        "display_name = \"OK\"",
        "display_name = \"OK (local copy)\"",
    );
    assert!(local.contains("OK (local copy)"));
    write(dir.path(), "providers/ok.toml", &local);
    let config = write(dir.path(), "config.toml", BASE);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let s = stdout(&out);
    assert!(s.contains("  ok (kind ok): OK (local copy)\n"), "{s}");
    // VK has no local copy: the built-in one is still there.
    assert!(s.contains("  vk (kind vk): VK\n"), "{s}");
}

#[test]
fn a_broken_local_descriptor_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "providers/ok.toml",
        "protocol = \"ok\"\ndisplay_name = \"OK\"\nbogus = 1\n",
    );
    let config = write(dir.path(), "config.toml", BASE);
    let out = check(dir.path(), &config);
    let desc = dir.path().join("providers").join("ok.toml");
    assert_config_error(
        &out,
        &config,
        line_of(BASE, "kind = \"ok\""),
        "providers.ok.kind",
        &[&format!("descriptor {}", desc.display()), "bogus"],
    );
}

// ---- serve ----

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, even by a failed assertion.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A raw HTTP/1.0 GET: `None` while nothing listens yet.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(String::from_utf8_lossy(&response).into_owned())
}

/// A running `socialgate serve` on `config_text` (whose `127.0.0.1:8080` becomes a free
/// port), once it answers discovery: the process, its port, its config and its log file.
struct Served {
    server: Running,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    /// Discovery's raw HTTP answer.
    discovery: String,
}

impl Served {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn serve(dir: &Path, config_text: &str) -> Served {
    let port = free_port();
    let text = config_text.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let config = write(dir, "config.toml", &text);
    let log = dir.join("serve.log");
    let child = socialgate(dir)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Running(child);

    let deadline = Instant::now() + Duration::from_secs(10);
    let discovery = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!(
                "serve exited with {status:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if let Some(r) = http_get(port, "/.well-known/openid-configuration") {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not answer within 10 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    Served {
        server,
        port,
        config,
        log,
        discovery,
    }
}

#[test]
fn serve_starts_with_a_valid_config_and_warns_about_demo() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace("[providers.vk]", "[providers.demo]\n\n[providers.vk]");
    let Served {
        server,
        port,
        config,
        log,
        discovery: response,
    } = serve(dir.path(), &text);
    assert!(response.starts_with("HTTP/1.0 200 "), "{response}");
    assert!(
        response.contains(&format!("\"issuer\":\"http://127.0.0.1:{port}\"")),
        "{response}"
    );
    assert!(
        response.contains(&format!(
            "\"authorization_endpoint\":\"http://127.0.0.1:{port}/authorize\""
        )),
        "{response}"
    );

    // The container health check asks the running gateway.
    let health = |dir: &Path| {
        socialgate(dir)
            .arg("health")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let healthy = health(dir.path());
    assert_success(&healthy);
    assert_eq!(String::from_utf8_lossy(&healthy.stdout), "ready\n");

    drop(server);
    let gone = health(dir.path());
    assert!(!gone.status.success());
    assert_eq!(
        stderr(&gone),
        format!(
            "error: nothing answers at http://127.0.0.1:{port}/readyz; is the gateway running with this config?\n"
        )
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("DEMO provider enabled: anyone can log in as anyone"),
        "{log}"
    );
    assert!(log.contains("socialgate is running"), "{log}");
    // No client registers the demo site here, so there is no demo to point to.
    assert!(!log.contains("try the demo login"), "{log}");
    assert_no_panic(&log);

    // data_dir is relative to the config file, and the key in it is the owner's alone.
    let key = dir.path().join("data").join("signing-keys.json");
    let meta = std::fs::metadata(&key).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    assert!(meta.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert!(
        keys["keys"][0]["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"),
        "not PEM"
    );
}

/// `[log] format = "json"`: every line is one JSON object, and each request ends in one line
/// with its request id (the one the response carries), status and latency.
#[test]
fn serve_writes_json_logs_one_line_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &format!("{BASE}\n[log]\nformat = \"json\"\n"));
    let response = http_get(served.port, "/no/such/page").unwrap();
    assert!(response.starts_with("HTTP/1.0 404 "), "{response}");
    let request_id = response
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no request id:\n{response}"))
        .trim()
        .to_string();
    // The line is written as the response goes out; give it a moment to reach the file.
    let deadline = Instant::now() + Duration::from_secs(5);
    let line = loop {
        let log = served.log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect();
        let found = lines.into_iter().find(|l| {
            l["span"]["request_id"] == request_id.as_str() && l["message"] == "request finished"
        });
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "no request line in:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["span"]["path"], "/no/such/page", "{line}");
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert!(line["latency_us"].as_u64().is_some(), "{line}");
    assert!(
        line["timestamp"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{line}"
    );
    assert!(
        served
            .log()
            .contains("\"message\":\"socialgate is running\"")
    );
}

#[test]
fn limits_out_of_range_are_refused() {
    check_fails(
        &format!("{BASE}\n[limits]\nmax_connections = 0\n"),
        "max_connections = ",
        "limits.max_connections",
        &["0 is not between 1 and 1000000"],
    );
    check_fails(
        &format!("{BASE}\n[store]\nmax_memory = \"lots\"\n"),
        "max_memory = ",
        "store.max_memory",
        &["\"lots\" is not a size like \"256MB\" or \"1GiB\""],
    );
    check_fails(
        &format!("{BASE}\n[store]\nmax_memory = \"512KB\"\n"),
        "max_memory = ",
        "store.max_memory",
        &["must be at least 1MB"],
    );
    check_fails(
        &format!("{BASE}\n[limits]\nauth_failures_per_client = \"ten/min\"\n"),
        "auth_failures_per_client = ",
        "limits.auth_failures_per_client",
        &["\"ten/min\" is not a rate like \"10/min\", \"100/h\" or \"off\""],
    );
    check_fails(
        &format!("{BASE}\n[limits]\nlogins_per_address = \"0/min\"\n"),
        "logins_per_address = ",
        "limits.logins_per_address",
        &["at least 1 per at least 1s"],
    );
    check_fails(
        &format!("{BASE}\n[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n"),
        "trusted_proxies = ",
        "limits.trusted_proxies",
        &["\"10.0.0.0/33\" is not an address or network"],
    );
    check_fails(
        &format!("{BASE}\n[limits]\nheader_timeout = \"10ms\"\n"),
        "header_timeout = ",
        "limits.header_timeout",
        &["must be at least 1s"],
    );
}

#[test]
fn a_signing_algorithm_other_than_rs256_or_es256_is_refused() {
    // JWS names are case-sensitive: `es256` is not ES256.
    for alg in ["HS256", "es256", "none", "PS256"] {
        let text = base_with(
            "providers = [\"ok\", \"vk\"]",
            &format!("providers = [\"ok\", \"vk\"]\nid_token_signed_response_alg = \"{alg}\""),
        );
        check_fails(
            &text,
            "id_token_signed_response_alg = ",
            "clients.shop.id_token_signed_response_alg",
            &[&format!(
                "\"{alg}\" is not a signing algorithm the gateway offers; use \"RS256\" or \"ES256\""
            )],
        );
    }
    for alg in ["RS256", "ES256"] {
        let dir = tempfile::tempdir().unwrap();
        let text = base_with(
            "providers = [\"ok\", \"vk\"]",
            &format!("providers = [\"ok\", \"vk\"]\nid_token_signed_response_alg = \"{alg}\""),
        );
        let config = write(dir.path(), "config.toml", &text);
        let out = check(dir.path(), &config);
        assert_success(&out);
        // `check` names the algorithm when it is not the default.
        let listed = "    providers: ok, vk\n    tokens signed with ES256\n";
        assert_eq!(
            stdout(&out).contains(listed),
            alg == "ES256",
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn an_unknown_log_format_or_filter_is_refused() {
    check_fails(
        &format!("{BASE}\n[log]\nformat = \"xml\"\n"),
        "format = ",
        "log.format",
        &["\"xml\" is not a log format; use \"text\" or \"json\""],
    );
    check_fails(
        &format!("{BASE}\n[log]\nlevel = \"socialgate=loud\"\n"),
        "level = ",
        "log.level",
        &["\"socialgate=loud\" is not a log filter"],
    );
}

/// SIGTERM (what `docker stop` and systemd send): the gateway stops accepting, drops a
/// stalled connection at `shutdown_timeout`, and exits cleanly.
#[test]
fn sigterm_stops_the_gateway_cleanly_despite_a_stalled_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(
        dir.path(),
        &format!("{BASE}\n[limits]\nshutdown_timeout = \"1s\"\n"),
    );
    let mut stalled = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
    stalled.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    // Connected is not yet accepted: give the gateway a moment to take the connection.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(served.server.0.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = served.server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM:\n{}",
            served.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = served.log();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("stopping: no new connections"), "{log}");
    assert!(
        log.contains("stopped: connections still open after the shutdown timeout were dropped"),
        "{log}"
    );
    assert_no_panic(&log);
    assert!(TcpStream::connect(("127.0.0.1", served.port)).is_err());
}

/// Runs `socialgate ARGS` on a broken config and expects it to give up within 10 s.
fn serve_fails(dir: &Path, args: &[&str], env_remove: &[&str]) -> Output {
    let log = dir.join("serve.log");
    let mut cmd = socialgate(dir);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for v in env_remove {
        cmd.env_remove(v);
    }
    let mut child = Running(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve kept running with a broken config:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = Vec::new();
    if let Some(mut out) = child.0.stdout.take() {
        out.read_to_end(&mut stdout).unwrap();
    }
    let stderr = std::fs::read(&log).unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

#[test]
fn serve_refuses_a_broken_config_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let var = "SOCIALGATE_CLI_TEST_UNSET_SERVE_51D0";
    let text = BASE
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace(
            "client_secret = \"vk-secret-Zx81\"",
            &format!("client_secret = \"${{{var}}}\""),
        );
    let config = write(dir.path(), "config.toml", &text);
    let out = serve_fails(
        dir.path(),
        &["serve", "--config", config.to_str().unwrap()],
        &[var],
    );
    assert_config_error(
        &out,
        &config,
        line_of(&text, &format!("client_secret = \"${{{var}")),
        "providers.vk.client_secret",
        &[&format!("environment variable {var} is not set")],
    );
    assert!(!stderr(&out).contains("socialgate is running"));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens on {port}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "no state may be created from a broken config"
    );
}

#[test]
fn serve_is_the_default_command_and_refuses_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with(
        "client_secret = \"shop-secret-0123456789\"",
        "client_secret \"shop-secret-0123456789\"",
    );
    write(dir.path(), "config.toml", &text);
    // No subcommand, no --config: serve config.toml from the working directory.
    let out = serve_fails(dir.path(), &[], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_no_panic(&err);
    let line = line_of(&text, "client_secret \"shop");
    assert!(
        err.starts_with(&format!("error: config.toml:{line}: (syntax): ")),
        "{err}"
    );
    assert!(!err.contains("socialgate is running"), "{err}");
}

#[test]
fn serve_refuses_semantic_errors_too() {
    let dir = tempfile::tempdir().unwrap();
    let text = base_with("kind = \"ok\"", "kind = \"myspace\"");
    let config = write(dir.path(), "config.toml", &text);
    let out = serve_fails(
        dir.path(),
        &["serve", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_config_error(
        &out,
        &config,
        line_of(&text, "kind = "),
        "providers.ok.kind",
        &["no descriptor for provider kind \"myspace\""],
    );
}

#[test]
fn issuer_with_a_path_is_refused() {
    let text = base_with(
        "issuer = \"http://127.0.0.1:8080\"",
        "issuer = \"https://example.ru/sso\"",
    );
    check_fails(
        &text,
        "issuer = ",
        "server.issuer",
        &["the issuer must be a bare origin"],
    );
}

#[test]
fn plain_http_endpoint_override_is_refused_unless_loopback() {
    let text = base_with(
        "public_key = \"CBAFJIICABABABABA\"",
        "public_key = \"CBAFJIICABABABABA\"\ntoken_url = \"http://api.ok.ru/oauth/token.do\"",
    );
    check_fails(
        &text,
        "token_url = ",
        "providers.ok.token_url",
        &["must be https (http only for loopback addresses)"],
    );
}

#[test]
fn demo_provider_is_refused_behind_a_public_issuer() {
    let text = base_with(
        "issuer = \"http://127.0.0.1:8080\"",
        "issuer = \"https://login.example.ru\"",
    ) + "\n[providers.demo]\nkind = \"demo\"\n";
    check_fails(
        &text,
        "[providers.demo]",
        "providers.demo",
        &["allowed only while the issuer is a loopback address"],
    );
}

// ---- provider catalogue: kinds, issuer, tenant, descriptors ----

/// `BASE` with one more provider table appended.
fn base_plus(table: &str) -> String {
    format!("{BASE}\n{table}")
}

#[test]
fn issuer_and_tenant_are_refused_on_a_provider_that_is_not_oidc() {
    let text = base_with(
        "public_key = \"CBAFJIICABABABABA\"",
        "public_key = \"CBAFJIICABABABABA\"\nissuer = \"https://example.com\"",
    );
    check_fails(
        &text,
        "issuer = \"https://example.com\"",
        "providers.ok.issuer",
        &["issuer is only for OpenID Connect providers (kind `ok` is not one)"],
    );
    let text = base_with(
        "client_secret = \"vk-secret-Zx81\"",
        "client_secret = \"vk-secret-Zx81\"\ntenant = \"common\"",
    );
    check_fails(
        &text,
        "tenant = ",
        "providers.vk.tenant",
        &["tenant is only for OpenID Connect providers (kind `vk` is not one)"],
    );
}

#[test]
fn oidc_without_an_issuer_is_refused_at_its_table() {
    let text = base_plus(
        "[providers.idp]\nkind = \"oidc\"\nclient_id = \"idp-app\"\nclient_secret = \"idp-secret\"\n",
    );
    check_fails(
        &text,
        "[providers.idp]",
        "providers.idp",
        &["missing `issuer` (kind `oidc` is OpenID Connect"],
    );
}

#[test]
fn oidc_issuer_must_be_https_unless_loopback_and_without_a_query() {
    let idp = |issuer: &str| {
        base_plus(&format!(
            "[providers.idp]\nkind = \"oidc\"\nissuer = \"{issuer}\"\nclient_id = \"idp-app\"\nclient_secret = \"idp-secret\"\n"
        ))
    };
    check_fails(
        &idp("http://idp.example.com"),
        "issuer = \"http://idp",
        "providers.idp.issuer",
        &["\"http://idp.example.com\" must be https (http only for loopback addresses)"],
    );
    check_fails(
        &idp("https://idp.example.com/?realm=x"),
        "issuer = \"https://idp",
        "providers.idp.issuer",
        &["an issuer has no query or fragment"],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.toml",
        &idp("http://127.0.0.1:9000/realms/x"),
    );
    assert_success(&check(dir.path(), &config));
}

#[test]
fn microsoft_tenant_must_be_a_name_or_id() {
    let text = base_plus(
        "[providers.ms]\nkind = \"microsoft\"\nclient_id = \"ms-app\"\nclient_secret = \"ms-secret\"\ntenant = \"bad tenant/../x\"\n",
    );
    check_fails(
        &text,
        "tenant = ",
        "providers.ms.tenant",
        &["\"bad tenant/../x\" is not a tenant name or id"],
    );
}

#[test]
fn vkid_needs_no_client_secret_but_yandex_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.toml",
        &base_plus("[providers.vkid]\nclient_id = \"52345678\"\n"),
    );
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert!(
        stdout(&out).contains(
            "  vkid (kind vkid): VK ID\n    redirect URI: http://127.0.0.1:8080/callback/vkid\n"
        ),
        "{}",
        stdout(&out)
    );

    let text = base_plus("[providers.yandex]\nclient_id = \"ya-app\"\n");
    check_fails(
        &text,
        "[providers.yandex]",
        "providers.yandex",
        &["missing `client_secret`", "`client_secret_file`"],
    );
}

#[test]
fn base_url_is_an_alias_of_issuer() {
    for (kind, name) in [("gitlab", "GitLab"), ("oidc", "OpenID Connect")] {
        let dir = tempfile::tempdir().unwrap();
        // kind "oidc" has no issuer of its own: only the alias can have supplied one.
        let text = base_plus(&format!(
            "[providers.git]\nkind = \"{kind}\"\nbase_url = \"https://gitlab.example.com\"\nclient_id = \"gl-app\"\nclient_secret = \"gl-secret\"\n"
        ));
        let config = write(dir.path(), "config.toml", &text);
        let out = check(dir.path(), &config);
        assert_success(&out);
        assert!(
            stdout(&out).contains(&format!("  git (kind {kind}): {name}\n")),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn a_local_descriptor_is_checked_beyond_its_types() {
    let descriptor = |top: &str, claims: &str| {
        format!(
            "protocol = \"oauth2\"
display_name = \"My net\"
authorize_url = \"https://mynet.example/authorize\"
token_url = \"https://mynet.example/token\"
userinfo_url = \"https://mynet.example/me\"
{top}
[claims]
provider_user_id = \"id\"
{claims}"
        )
    };
    let text = base_plus(
        "[providers.my]\nkind = \"mynet\"\nclient_id = \"my-app\"\nclient_secret = \"my-secret\"\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    // The descriptor as such is fine, so each refusal below is down to the one line added.
    write(dir.path(), "providers/mynet.toml", &descriptor("", ""));
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert!(
        stdout(&out).contains("  my (kind mynet): My net\n"),
        "{}",
        stdout(&out)
    );

    let desc = dir.path().join("providers").join("mynet.toml");
    for (top, claims, gist) in [
        (
            "button_color = \"red; background: url(x)\"",
            "",
            "button_color: \"red; background: url(x)\" is not a colour",
        ),
        (
            "userinfo_token = \"form\"",
            "",
            "userinfo_token = \"form\" needs userinfo_method = \"post\"",
        ),
        (
            "token_auth = \"none\"",
            "",
            "token_auth = \"none\" needs pkce = true",
        ),
        (
            "",
            "picture = \"https://x/{a\"",
            "claims.picture: \"https://x/{a\"",
        ),
    ] {
        write(dir.path(), "providers/mynet.toml", &descriptor(top, claims));
        let out = check(dir.path(), &config);
        assert_config_error(
            &out,
            &config,
            line_of(&text, "kind = \"mynet\""),
            "providers.my.kind",
            &[&format!("descriptor {}: {gist}", desc.display())],
        );
    }
}

#[test]
fn check_lists_every_shipped_kind_with_its_redirect_uri() {
    let mut text = BASE.to_string();
    let kinds = [
        ("vkid", "VK ID"),
        ("yandex", "Yandex ID"),
        ("mailru", "Mail.ru"),
        ("google", "Google"),
        ("microsoft", "Microsoft"),
        ("gitlab", "GitLab"),
        ("github", "GitHub"),
        ("facebook", "Facebook"),
        ("x", "X"),
    ];
    for (kind, _) in kinds {
        text += &format!(
            "\n[providers.{kind}]\nclient_id = \"{kind}-app\"\nclient_secret = \"{kind}-secret\"\n"
        );
    }
    text += "\n[providers.corp]\nkind = \"oidc\"\nissuer = \"https://sso.corp.example\"\nclient_id = \"corp-app\"\nclient_secret = \"corp-secret\"\n";
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    let mut listed =
        String::from("Providers (register the redirect URI in each network's app settings):\n");
    for (name, kind, display) in [("ok", "ok", "OK"), ("vk", "vk", "VK")]
        .into_iter()
        .chain(kinds.map(|(k, d)| (k, k, d)))
        .chain([("corp", "oidc", "OpenID Connect")])
    {
        listed += &format!(
            "  {name} (kind {kind}): {display}\n    redirect URI: http://127.0.0.1:8080/callback/{name}\n"
        );
    }
    listed += "\nClients:\n";
    assert!(stdout(&out).contains(&listed), "{}", stdout(&out));
}

#[test]
fn base_url_errors_name_the_key_as_written_and_a_stray_tenant_is_refused() {
    let gitlab = "[providers.gl]\nkind = \"gitlab\"\nclient_id = \"c\"\nclient_secret = \"s\"\nbase_url = \"http://gitlab.example.com\"\n";
    let text = base_plus(gitlab);
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "base_url = "),
        "providers.gl.base_url",
        &["must be https"],
    );

    let google = "[providers.g]\nkind = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\ntenant = \"x\"\n";
    let text = base_plus(google);
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "tenant = "),
        "providers.g.tenant",
        &["kind `google` has no tenants"],
    );
}

#[test]
fn descriptor_endpoints_must_be_https_and_authorize_params_cannot_replace_the_gateways() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "providers/plain.toml",
        "protocol = \"oauth2\"\ndisplay_name = \"Plain\"\nauthorize_url = \"https://plain.example/authorize\"\ntoken_url = \"http://plain.example/token\"\nuserinfo_url = \"https://plain.example/me\"\n[claims]\nprovider_user_id = \"id\"\n",
    );
    let text =
        base_plus("[providers.p]\nkind = \"plain\"\nclient_id = \"a\"\nclient_secret = \"s\"\n");
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "kind = \"plain\""),
        "providers.p.kind",
        &["descriptor `plain`: http://plain.example/token must be https"],
    );

    let text = base_plus(
        "[providers.v]\nkind = \"vkid\"\nclient_id = \"a\"\nauthorize_params = { redirect_uri = \"https://evil.example/\" }\n",
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_config_error(
        &out,
        &config,
        line_of(&text, "authorize_params = "),
        "providers.v.authorize_params",
        &["`redirect_uri` is set by the gateway itself"],
    );
}

// ---- [store]: the Redis layouts ----

#[test]
fn check_says_what_the_store_connects_to_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store, wait) in [
        (
            "redis://:hunter2@10.0.0.5:6379/1",
            "store: one Redis server at 10.0.0.5:6379 (database 1, with a password)\n",
            "  writes do not wait for replicas (wait_replicas = 0)\n",
        ),
        (
            "redis+sentinel://:hunter2@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3/mymaster",
            "store: the Redis primary that Sentinel calls \"mymaster\" (database 0, with a \
             password), asked of 10.0.0.1:26379, 10.0.0.2:26379, 10.0.0.3:26379\n",
            "  a login is answered once 1 replica of the primary holds it (WAIT, up to 250ms)\n",
        ),
        (
            "rediss+cluster://app:hunter2@10.0.1.1:7000,10.0.1.2:7000,10.0.1.3:7000",
            "store: a Redis Cluster found through 10.0.1.1:7000, 10.0.1.2:7000, 10.0.1.3:7000 \
             (TLS, with a password)\n",
            "  a login is answered once 1 replica of the primary holds it (WAIT, up to 250ms)\n",
        ),
    ] {
        let text = format!("{BASE}\n[store]\nurl = \"{url}\"\n");
        let config = write(dir.path(), "config.toml", &text);
        let out = check(dir.path(), &config);
        assert_success(&out);
        let s = stdout(&out);
        assert!(s.contains(&format!("{store}{wait}\n")), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
    }
    let text = format!(
        "{BASE}\n[store]\nurl = \"redis+cluster://n1:7000\"\nwait_replicas = 2\n\
         wait_timeout = \"50ms\"\n"
    );
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert!(
        stdout(&out).contains(
            "\n  a login is answered once 2 replicas of the primary hold it (WAIT, up to 50ms)\n"
        ),
        "{}",
        stdout(&out)
    );
    let text = format!("{BASE}\n[store]\nurl = \"redis+sentinel://s1/m\"\nwait_replicas = 0\n");
    let config = write(dir.path(), "config.toml", &text);
    let out = check(dir.path(), &config);
    assert_success(&out);
    assert!(
        stdout(&out).contains("\n  writes do not wait for replicas (wait_replicas = 0)\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_redis_layouts_are_refused_without_the_password() {
    let url = |url: &str| format!("{BASE}\n[store]\nurl = \"{url}\"\n");
    for (text, gist) in [
        (
            url("redis+sentinel://:hunter2@10.0.0.1:26379,10.0.0.2:26379"),
            "the name of the service the Sentinels monitor is missing: \
             redis+sentinel://[:PASSWORD@]HOST:PORT,HOST:PORT,…/SERVICE[/DB]",
        ),
        (
            url("redis+sentinel://:hunter2@10.0.0.1:26379,10.0.0.2:port/mymaster"),
            "address 2 of the list, \"10.0.0.2:port\", is not HOST:PORT",
        ),
        (
            url("redis+cluster://:hunter2@"),
            "no HOST:PORT given: redis+cluster://[:PASSWORD@]HOST:PORT,HOST:PORT,…",
        ),
        (
            url("redis+cluster://:hunter2@n1:7000,n2:7000/3"),
            "a Redis Cluster has database 0 only",
        ),
        (
            url("redis+sentinel://s1:26379/m?password=hunter2"),
            "unknown parameter \"password\": only sentinel_username and sentinel_password",
        ),
        (
            url("memcached://:hunter2@cache:11211"),
            "unsupported scheme \"memcached\": use redis://, rediss://, redis+sentinel://",
        ),
    ] {
        check_fails(&text, "url = ", "store.url", &[gist]);
        let dir = tempfile::tempdir().unwrap();
        let config = write(dir.path(), "config.toml", &text);
        assert!(!stderr(&check(dir.path(), &config)).contains("hunter2"));
    }
    let with = |extra: &str| format!("{BASE}\n[store]\nurl = \"redis+cluster://n1\"\n{extra}\n");
    check_fails(
        &with("wait_replicas = 17"),
        "wait_replicas = ",
        "store.wait_replicas",
        &["17 is not between 0 and 16"],
    );
    check_fails(
        &with("wait_timeout = \"2s\""),
        "wait_timeout = ",
        "store.wait_timeout",
        &["must be between 1ms and 1s"],
    );
    check_fails(
        &with("wait_timeout = \"soon\""),
        "wait_timeout = ",
        "store.wait_timeout",
        &["\"soon\" is not a duration like \"250ms\" or \"1s\""],
    );
    check_fails(
        &format!("{BASE}\n[store]\nwait_replicas = 1\n"),
        "wait_replicas = ",
        "store.wait_replicas",
        &["only Redis has replicas to wait for"],
    );
}

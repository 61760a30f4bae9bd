//! Apache httpd with Debian's mod_auth_openidc (`libapache2-mod-auth-openidc`) logs a person in
//! through the gateway and out again, configured by `examples/apache/socialgate.conf` itself:
//! the test registers the client the file's comment shows, and Apache includes the file with
//! only its example.ru names, secrets and paths replaced.
//!
//! Needs `apache2` and `libapache2-mod-auth-openidc`: `bash tests/run.sh` installs them
//! (`tests/apache/setup.sh`). Without them the tests fail, saying so; they never skip.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;
use url::Url;

const APACHE2: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";
/// The names `examples/apache/socialgate.conf` is written with, and the client it registers.
const EXAMPLE_ISSUER: &str = "https://id.example.ru";
const EXAMPLE_SITE: &str = "https://www.example.ru";
const EXAMPLE_SECRET: &str = "CHANGE-ME-client-secret";
const EXAMPLE_PASSPHRASE: &str = "CHANGE-ME-crypto-passphrase";
const EXAMPLE_CGI: &str = "/usr/lib/cgi-bin/socialgate-whoami.cgi";
const CLIENT: &str = "apache";
const SECRET: &str = "apache-secret-0123456789abcdef";
/// The public home page's heading (the page people land on after logout).
const HOME: &str = "<h1>Example site</h1>";
/// What the backend shows for the fake OK's person: mod_auth_openidc passed every claim on
/// (`email_verified` false as "0", as the module renders booleans).
const PERSON: &str = "REMOTE_USER = ok:575123456789\n\
                      sub = ok:575123456789\n\
                      provider = ok\n\
                      provider_user_id = 575123456789\n\
                      name = Иван Петров\n\
                      given_name = Иван\n\
                      family_name = Петров\n\
                      email = ivan@example.ru\n\
                      email_verified = 0\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(file: &str) -> String {
    std::fs::read_to_string(root().join("examples/apache").join(file)).unwrap()
}

/// `text` with `from` replaced, which must occur (so the example cannot drift from the test).
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "examples/apache/socialgate.conf no longer mentions {from}"
    );
    text.replace(from, to)
}

/// The `[clients.apache]` table the example's comment tells the admin to add, for a site at
/// `site`.
fn registration(site: &str) -> String {
    let conf = example("socialgate.conf");
    let table: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .collect();
    assert_eq!(table.first(), Some(&"[clients.apache]"), "{conf}");
    let table = table.join("\n") + "\n";
    let table = replace(&table, EXAMPLE_SITE, site);
    replace(&table, EXAMPLE_SECRET, SECRET)
}

/// A free port on loopback for Apache.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway with the example's client registered for a site on `port`.
async fn gateway(port: u16) -> TestGateway {
    TestGateway::start_with(Options {
        extra_toml: registration(&format!("http://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await
}

/// Apache in the foreground with a server configuration of its own in a temporary directory
/// (Debian's /etc/apache2 is not used), stopped when dropped.
struct Apache {
    child: Child,
    url: String,
    conf: PathBuf,
    dir: tempfile::TempDir,
}

impl Apache {
    /// Serves the example site on `port` against the gateway at `issuer`, its module
    /// authenticating with `client_secret`.
    async fn start(issuer: &str, port: u16, client_secret: &str) -> Apache {
        for needed in [
            PathBuf::from(APACHE2),
            Path::new(MODULES).join("mod_auth_openidc.so"),
        ] {
            assert!(
                needed.exists(),
                "{} is missing: run `bash tests/run.sh` (it installs apache2 and \
                 libapache2-mod-auth-openidc through tests/apache/setup.sh), or \
                 `bash tests/apache/setup.sh` alone",
                needed.display()
            );
        }
        let url = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let path = |p: &str| dir.path().join(p);
        for sub in ["htdocs", "cgi-bin", "run", "logs"] {
            std::fs::create_dir(path(sub)).unwrap();
        }
        std::fs::write(
            path("htdocs/index.html"),
            format!("<!doctype html><title>Example site</title>{HOME}\n"),
        )
        .unwrap();
        std::fs::write(path("cgi-bin/whoami.cgi"), example("whoami.cgi")).unwrap();
        std::fs::set_permissions(
            path("cgi-bin/whoami.cgi"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        // Started as root (as in CI), Apache serves and runs the CGI program as www-data,
        // which must be able to reach the files; tempfile makes the directory 0700.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

        let site = example("socialgate.conf");
        let site = replace(&site, EXAMPLE_ISSUER, issuer);
        let site = replace(&site, EXAMPLE_SITE, &url);
        let site = replace(&site, EXAMPLE_SECRET, client_secret);
        let site = replace(
            &site,
            EXAMPLE_PASSPHRASE,
            "test-passphrase-0123456789abcdef",
        );
        let site = replace(
            &site,
            EXAMPLE_CGI,
            path("cgi-bin/whoami.cgi").to_str().unwrap(),
        );
        std::fs::write(path("socialgate.conf"), site).unwrap();

        // What Debian's apache2.conf and its default modules give a site, reduced to what the
        // example needs: mpm_event with cgid (Debian's choice for CGI under a threaded MPM).
        let modules: String = [
            "mpm_event",
            "authn_core",
            "authz_core",
            "authz_user",
            "alias",
            "dir",
            "mime",
            "cgid",
            "auth_openidc",
        ]
        .iter()
        .map(|m| format!("LoadModule {m}_module {MODULES}/mod_{m}.so\n"))
        .collect();
        let running_as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        // As root Apache insists on a user to switch to; otherwise it cannot switch at all.
        let user = if running_as_root {
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let conf = path("apache2.conf");
        std::fs::write(
            &conf,
            format!(
                "ServerRoot \"{root}\"\n\
                 ServerName 127.0.0.1\n\
                 Listen 127.0.0.1:{port}\n\
                 PidFile \"{root}/run/apache2.pid\"\n\
                 DefaultRuntimeDir \"{root}/run\"\n\
                 ErrorLog \"{root}/logs/error.log\"\n\
                 LogLevel warn\n\
                 {user}\
                 {modules}\
                 StartServers 1\n\
                 TypesConfig /etc/mime.types\n\
                 DocumentRoot \"{root}/htdocs\"\n\
                 DirectoryIndex index.html\n\
                 Include \"{root}/socialgate.conf\"\n",
                root = dir.path().display(),
            ),
        )
        .unwrap();

        let stderr = std::fs::File::create(path("logs/stderr.log")).unwrap();
        let child = Command::new(APACHE2)
            .arg("-DFOREGROUND")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {APACHE2}: {e}"));
        let mut apache = Apache {
            child,
            url,
            conf,
            dir,
        };
        // The gateway serves on this runtime: wait without blocking it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = apache.child.try_wait().unwrap() {
                panic!("Apache exited ({status}):\n{}", apache.logs());
            }
            assert!(
                Instant::now() < deadline,
                "Apache did not listen on {port}:\n{}",
                apache.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        apache
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
    }

    /// Apache's error log and what it wrote before opening it, for failure messages.
    fn logs(&self) -> String {
        let stderr =
            std::fs::read_to_string(self.dir.path().join("logs/stderr.log")).unwrap_or_default();
        format!("--- stderr\n{stderr}--- error.log\n{}", self.error_log())
    }

    fn redirect_uri(&self) -> String {
        format!("{}/private/redirect_uri", self.url)
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // `-k stop` lets the parent end its worker and cgid processes; a SIGKILL to the
        // parent alone would leave them behind.
        let _ = Command::new(APACHE2)
            .arg("-f")
            .arg(&self.conf)
            .args(["-k", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the first hop of a GET in `browser` redirects to (it must redirect).
async fn redirect(browser: &reqwest::Client, url: &str) -> Url {
    let response = browser.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    assert!(
        (300..400).contains(&status),
        "{url}: HTTP {status}, not a redirect: {}",
        response.text().await.unwrap()
    );
    location_url(&response)
}

/// Apache sent the browser to the gateway's `/authorize` as the example configures it.
fn assert_authorize_request(gw: &TestGateway, apache: &Apache, to: &Url) {
    assert!(
        to.as_str()
            .starts_with(&format!("{}/authorize?", gw.issuer)),
        "{to}"
    );
    let expected = [
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("scope", "openid profile email"),
        ("provider", "ok"),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in expected {
        assert_eq!(param(to, name).as_deref(), Some(value), "{name} in {to}");
    }
    assert_eq!(
        param(to, "redirect_uri"),
        Some(apache.redirect_uri()),
        "{to}"
    );
    assert_eq!(param(to, "code_challenge").map(|c| c.len()), Some(43));
    assert!(param(to, "state").is_some_and(|s| !s.is_empty()), "{to}");
    assert!(param(to, "nonce").is_some_and(|s| !s.is_empty()), "{to}");
}

/// Whether the browser's gateway session would log it into the Apache client silently:
/// `/authorize` with `prompt=none` answers Apache's redirect URI with a code, or with
/// `login_required`. Apache is not called.
async fn gateway_session_alive(
    gw: &TestGateway,
    apache: &Apache,
    browser: &reqwest::Client,
) -> bool {
    let redirect_uri = apache.redirect_uri();
    let url = gw.authorize_url(&[
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", &redirect_uri),
        ("scope", "openid"),
        ("state", "st-probe"),
        ("prompt", "none"),
    ]);
    let site = redirect(browser, &url).await;
    assert!(site.as_str().starts_with(&redirect_uri), "{site}");
    assert_eq!(param(&site, "state").as_deref(), Some("st-probe"));
    match param(&site, "error") {
        None => {
            assert!(param(&site, "code").is_some(), "{site}");
            true
        }
        Some(e) if e == "login_required" => false,
        Some(other) => panic!("unexpected error {other} in {site}"),
    }
}

#[tokio::test]
async fn apache_logs_in_through_ok_passes_the_claims_on_and_logs_out_at_the_gateway() {
    let port = free_port();
    let gw = gateway(port).await;
    let apache = Apache::start(&gw.issuer, port, SECRET).await;
    let browser = browser();
    let whoami = format!("{}/private/whoami", apache.url);
    let home = format!("{}/", apache.url);

    // The public page needs no login.
    let (status, body) = follow_with(&browser, &home).await.page();
    assert_eq!(status, 200, "{body}\n{}", apache.logs());
    assert!(body.contains(HOME), "{body}");

    // The protected page: Apache, the gateway, the fake OK, the gateway, Apache's redirect URI,
    // back at the page, which shows what the backend received.
    let to = redirect(&browser, &whoami).await;
    assert_authorize_request(&gw, &apache, &to);
    let landing = follow_with(&browser, to.as_str()).await;
    let Landing::Page { status, body, url } = landing else {
        panic!(
            "expected the protected page, got {landing:?}\n{}",
            apache.logs()
        );
    };
    assert_eq!(status, 200, "{body}\n{}", apache.logs());
    assert_eq!(url, whoami);
    assert_eq!(body, PERSON);
    assert_eq!(gw.ok.calls("token"), 1);

    // Apache's session holds: the page again without another login.
    let (status, body) = follow_with(&browser, &whoami).await.page();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, PERSON);
    assert_eq!(gw.ok.calls("authorize"), 1);
    assert!(gateway_session_alive(&gw, &apache, &browser).await);

    // Logout at the module's redirect URI: Apache ends its session and sends the browser to
    // the gateway's end_session_endpoint with the id_token as hint, which ends the gateway's
    // session without asking (the hint proves the site sent the person) and returns to the
    // registered page.
    let logout = format!(
        "{}?logout={}",
        apache.redirect_uri(),
        url::form_urlencoded::byte_serialize(home.as_bytes()).collect::<String>()
    );
    let to = redirect(&browser, &logout).await;
    assert!(
        to.as_str().starts_with(&format!("{}/logout?", gw.issuer)),
        "{to}"
    );
    assert_eq!(param(&to, "post_logout_redirect_uri"), Some(home.clone()));
    let hint = param(&to, "id_token_hint").expect("an id_token_hint");
    let claims = jwt_claims(&hint);
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["sub"], "ok:575123456789");
    let landing = follow_with(&browser, to.as_str()).await;
    let Landing::Page { status, body, url } = landing else {
        panic!("expected the home page, got {landing:?}");
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(url, home);
    assert!(body.contains(HOME), "{body}");

    // Both sessions ended: the gateway no longer logs the browser in silently, and the
    // protected page sends it to log in again.
    assert!(!gateway_session_alive(&gw, &apache, &browser).await);
    let to = redirect(&browser, &whoami).await;
    assert_authorize_request(&gw, &apache, &to);
    // Nothing went wrong on the way that the module only logged (such as revoking the
    // access token at the gateway's revocation_endpoint during logout, a warning if it fails):
    // the log has notices and the warnings about plain http on loopback, nothing else.
    let unexpected: Vec<String> = apache
        .error_log()
        .lines()
        .filter(|l| !l.contains(":notice]") && !l.contains("SHOULD be \"https\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(unexpected, Vec::<String>::new(), "{}", apache.logs());
}

#[tokio::test]
async fn apache_with_a_wrong_client_secret_shows_no_protected_content() {
    let port = free_port();
    let gw = gateway(port).await;
    let apache = Apache::start(&gw.issuer, port, "not-the-registered-secret").await;
    let browser = browser();
    let whoami = format!("{}/private/whoami", apache.url);

    // The login at OK succeeds; the gateway refuses the module's code exchange, and the module
    // answers with an error page of its own instead of the backend's (with HTTP 200, the
    // module's choice).
    let to = redirect(&browser, &whoami).await;
    assert_authorize_request(&gw, &apache, &to);
    let landing = follow_with(&browser, to.as_str()).await;
    let Landing::Page { status, body, url } = landing else {
        panic!("expected Apache's error page, got {landing:?}");
    };
    assert!(
        url.starts_with(&format!("{}?code=", apache.redirect_uri())),
        "{url}"
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<title>Error</title>"), "{body}");
    assert!(
        body.contains("OpenID Connect Provider error: Error in handling response type."),
        "{body}"
    );
    assert!(!body.contains("575123456789"), "{body}");
    assert_eq!(gw.ok.calls("token"), 1);
    // Its log says why: the gateway's answer.
    let logs = apache.error_log();
    assert!(
        logs.contains("response contained an \"error\" entry with value: \"\"invalid_client\"\""),
        "{logs}"
    );
    assert!(
        logs.contains("\"\"client authentication failed\"\""),
        "{logs}"
    );

    // No session came of it: the page still asks for a login.
    let to = redirect(&browser, &whoami).await;
    assert_authorize_request(&gw, &apache, &to);
}

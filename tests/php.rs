//! The PHP side against a running gateway: the 1C-Bitrix module's OpenID Connect client
//! (`integrations/bitrix/socialgate/`) under its PHPUnit tests, and the plain-PHP example site
//! (`examples/php-site/`) served by `php -S`, logged into through the fake OK.
//!
//! Needs `php` (with curl and openssl) and `phpunit`: `bash tests/run.sh` installs them
//! (`tests/php/setup.sh`).

mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// The PHPUnit tests in `integrations/bitrix/socialgate/tests/`.
const PHPUNIT_TESTS: usize = 10;
const PHP_SITE: &str = "phpsite";
const PHP_SITE_SECRET: &str = "php-site-secret-0123456789";
/// Where PHPUnit's logout test is sent back to (registered for `shop`).
const SHOP_AFTER_LOGOUT: &str = "https://shop.example.ru/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `program` answers `--version`, or the test fails saying how to install it.
fn require(program: &str) {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{program}` is missing: run `bash tests/run.sh` (it installs php-cli, php-curl and \
         phpunit through tests/php/setup.sh), or `bash tests/php/setup.sh` alone"
    );
}

/// A gateway whose `shop` may come back after logout, with a client for the example site on
/// `site_url`, and whose VK descriptor vouches for e-mail addresses (so PHPUnit sees a
/// verified one next to OK's unverified one).
async fn gateway(site_url: &str) -> TestGateway {
    let vk = std::fs::read_to_string(root().join("providers/vk.toml")).unwrap();
    assert!(vk.contains("\nemail_verified = false\n"));
    TestGateway::start_with(Options {
        shop_extra: format!("post_logout_redirect_uris = [\"{SHOP_AFTER_LOGOUT}\"]"),
        extra_toml: format!(
            "[clients.{PHP_SITE}]\nname = \"PHP example\"\nclient_secret = \"{PHP_SITE_SECRET}\"\n\
             redirect_uris = [\"{site_url}/callback.php\"]\n\
             post_logout_redirect_uris = [\"{site_url}/\"]\nproviders = [\"ok\", \"vk\"]\n"
        ),
        descriptors: vec![(
            "vk".into(),
            vk.replace("\nemail_verified = false\n", "\nemail_verified = true\n"),
        )],
        ..Options::default()
    })
    .await
}

/// A free port on loopback for `php -S`.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn bitrix_module_oidc_client_passes_its_phpunit_tests_against_the_gateway() {
    require("php");
    require("phpunit");
    let gw = gateway("http://127.0.0.1:9").await;
    let mut phpunit = Command::new("phpunit");
    phpunit
        .arg("--configuration")
        .arg(root().join("integrations/bitrix/socialgate/tests/phpunit.xml"))
        .env("SOCIALGATE_ISSUER", &gw.issuer)
        .env("SOCIALGATE_CLIENT_ID", SHOP)
        .env("SOCIALGATE_CLIENT_SECRET", SHOP_SECRET)
        .env("SOCIALGATE_REDIRECT_URI", SHOP_REDIRECT)
        .env("SOCIALGATE_POST_LOGOUT_URI", SHOP_AFTER_LOGOUT)
        .env("SOCIALGATE_ODD_CLIENT_ID", FORUM)
        .env("SOCIALGATE_ODD_CLIENT_SECRET", FORUM_SECRET)
        .env("SOCIALGATE_ODD_REDIRECT_URI", FORUM_REDIRECT);
    let output = run(phpunit).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "phpunit failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("OK ("))
        .unwrap_or_else(|| panic!("no OK line from phpunit:\n{stdout}\n{stderr}"));
    assert!(
        summary.starts_with(&format!("OK ({PHPUNIT_TESTS} tests, ")),
        "{summary}"
    );
    // Each of the tests' logins reached a network (the gateway redeems the network's code
    // at /callback, before the site redeems its own): 9 through OK (one of them the second
    // login after a logout), one through VK.
    assert_eq!(gw.ok.calls("token"), 9);
    assert_eq!(gw.vk.calls("token"), 1);
}

/// `php -S` serving the example site, stopped when dropped. Its sessions and its discovery and
/// JWKS cache live in a temporary directory of its own (`TMPDIR`).
struct PhpServer {
    child: Child,
    url: String,
    _tmp: tempfile::TempDir,
}

impl PhpServer {
    fn start(issuer: &str, port: u16) -> PhpServer {
        let url = format!("http://127.0.0.1:{port}");
        let tmp = tempfile::tempdir().unwrap();
        let child = Command::new("php")
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(root().join("examples/php-site"))
            .env("SOCIALGATE_ISSUER", issuer)
            .env("SOCIALGATE_CLIENT_ID", PHP_SITE)
            .env("SOCIALGATE_CLIENT_SECRET", PHP_SITE_SECRET)
            .env("SOCIALGATE_SITE_URL", &url)
            .env("SOCIALGATE_PROVIDERS", "ok,vk")
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("php -S");
        let server = PhpServer {
            child,
            url,
            _tmp: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "php -S did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for PhpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn example_php_site_logs_in_through_ok_shows_the_person_and_logs_out() {
    require("php");
    let port = free_port();
    let gw = gateway(&format!("http://127.0.0.1:{port}")).await;
    let site = PhpServer::start(&gw.issuer, port);
    let browser = browser();

    let (status, home) = follow_with(&browser, &format!("{}/", site.url))
        .await
        .page();
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("<h1>Not logged in</h1>"), "{home}");
    assert!(
        home.contains("<a class=\"button\" href=\"login.php?provider=ok\">Log in with OK</a>"),
        "{home}"
    );
    assert!(
        home.contains("<a class=\"button\" href=\"login.php?provider=vk\">Log in with VK</a>"),
        "{home}"
    );

    // The OK button: the site, the gateway, the fake OK, the gateway, the site's callback.
    let landing = follow_with(&browser, &format!("{}/login.php?provider=ok", site.url)).await;
    let Landing::Page { status, body, url } = landing else {
        panic!("expected the callback's page, got {landing:?}");
    };
    assert_eq!(status, 200, "{body}");
    assert!(
        url.starts_with(&format!("{}/callback.php?code=", site.url)),
        "{url}"
    );
    assert!(body.contains("<h1>Logged in as Иван Петров</h1>"), "{body}");
    assert!(body.contains("<code>ok:575123456789</code>"), "{body}");
    // OK's address is not verified: the site does not show it as the person's.
    assert!(!body.contains("ivan@example.ru"), "{body}");
    assert_eq!(gw.ok.calls("token"), 1);
    assert_eq!(
        gw.ok.last_param("authorize", "scope").as_deref(),
        Some("VALUABLE_ACCESS;GET_EMAIL")
    );

    // The home page remembers the person.
    let (_, home) = follow_with(&browser, &format!("{}/", site.url))
        .await
        .page();
    assert!(home.contains("<h1>Logged in as Иван Петров</h1>"), "{home}");

    // Logout: the site, the gateway's /logout (no question: the hint proves the site asked),
    // back at the site's home, logged out.
    let landing = follow_with(&browser, &format!("{}/logout.php", site.url)).await;
    let Landing::Page { status, body, url } = landing else {
        panic!("expected the home page, got {landing:?}");
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(url, format!("{}/", site.url));
    assert!(body.contains("<h1>Not logged in</h1>"), "{body}");

    // The gateway's session ended too: the next login goes to OK again.
    let (status, body) = follow_with(&browser, &format!("{}/login.php?provider=ok", site.url))
        .await
        .page();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>Logged in as Иван Петров</h1>"), "{body}");
    assert_eq!(gw.ok.calls("token"), 2);

    // A callback with no login pending in the session is refused.
    let (status, body) = follow_with(
        &browser,
        &format!("{}/callback.php?code=x&state=y&iss={}", site.url, gw.issuer),
    )
    .await
    .page();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<h1>Login failed</h1>"), "{body}");
}

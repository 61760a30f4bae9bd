//! The pages in a real browser: headless Chromium (Debian's), driven by `playwright-core` from
//! `tests/browser/pages.mjs`, walks a person through the home page, the chooser of a site
//! offering several networks, the demo network's form (a blank name too), the site logged in,
//! logout, error pages and the not-found page — in Russian and in English, on a desktop and a
//! 390×844 phone viewport. Every page must pass axe-core's WCAG 2.0/2.1 A and AA rules with no
//! serious or critical violation, be usable by keyboard with a visible focus indicator, fit
//! the phone's width, speak the browser's language and fetch nothing from another origin.
//! Screenshots of every page are kept in `$CARGO_TARGET_DIR/browser-screenshots/`.
//!
//! Chromium, playwright-core and axe-core are installed by `tests/browser/setup.sh`, which
//! `tests/run.sh` runs first; without them this test fails (never skips), saying so.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole walk: 4 runs of 11 pages (it takes about half a minute on two busy cores).
const WALK_TIMEOUT: Duration = Duration::from_secs(300);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `$CARGO_TARGET_DIR/browser-screenshots` (cargo names `$CARGO_TARGET_DIR/tmp` for tests).
fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("browser-screenshots")
}

/// The words a page shows, per language.
struct Words {
    lang: &'static str,
    chooser_h1: &'static str,
    with: &'static str,
    networks: [&'static str; 3],
    home_try: &'static str,
    home_tagline: &'static str,
    demo_h1: &'static str,
    blank_name: &'static str,
    logged_in: &'static str,
    logout_h1: &'static str,
    logout_button: &'static str,
    logged_out_h1: &'static str,
    logged_out: &'static str,
    back_to_site: &'static str,
    login_error: &'static str,
    not_registered_uri: &'static str,
    not_registered_client: &'static str,
    tell_the_site: &'static str,
    other_browser: &'static str,
    not_found: &'static str,
    home_link: &'static str,
    /// The other language's first heading on error pages (both languages, this one first).
    other_login_error: &'static str,
}

const RU: Words = Words {
    lang: "ru",
    chooser_h1: "Вход для продолжения на сайте «Demo site»",
    with: "Войти через",
    networks: ["Одноклассники", "ВКонтакте", "Демо (только для пробы)"],
    home_try: "Попробовать демо-вход",
    home_tagline: "Шлюз OpenID Connect, через который сайты дают войти с аккаунтом социальной сети.",
    demo_h1: "Демо-сеть",
    blank_name: "Введите имя: пустое имя было бы общим аккаунтом для всех.",
    logged_in: "Вход выполнен",
    logout_h1: "Выход",
    logout_button: "Выйти",
    logged_out_h1: "Выход выполнен",
    logged_out: "Вы вышли.",
    back_to_site: "Вернуться на сайт «Demo site»",
    login_error: "Ошибка входа",
    not_registered_uri: "Сайт попросил вернуть вас на незарегистрированный адрес.",
    not_registered_client: "Сайт, с которого вы пришли, не зарегистрирован в этой службе входа.",
    tell_the_site: "Вернитесь на сайт кнопкой «Назад» в браузере и сообщите о проблеме его владельцам.",
    other_browser: "Этот вход был начат в другом браузере (или cookies отключены). Вернитесь на сайт и начните вход заново в этом браузере.",
    not_found: "Страница не найдена",
    home_link: "На главную страницу",
    other_login_error: "Login error",
};

const EN: Words = Words {
    lang: "en",
    chooser_h1: "Log in to continue to “Demo site”",
    with: "Log in with",
    networks: ["OK", "VK", "Demo (for trying out only)"],
    home_try: "Try the demo login",
    home_tagline: "The OpenID Connect gateway that lets sites log people in with their social network accounts.",
    demo_h1: "Demo network",
    blank_name: "Type a name: a blank one would be everybody's account.",
    logged_in: "Logged in",
    logout_h1: "Log out",
    logout_button: "Log out",
    logged_out_h1: "Logged out",
    logged_out: "You are logged out.",
    back_to_site: "Back to “Demo site”",
    login_error: "Login error",
    not_registered_uri: "The site asked to return you to an address it has not registered.",
    not_registered_client: "The site that sent you here is not registered with this login service.",
    tell_the_site: "Go back to the site with your browser's Back button and let its owners know.",
    other_browser: "This login was started in another browser (or cookies are blocked). Go back to the site and start the login again in this browser.",
    not_found: "Not found",
    home_link: "Go to the home page",
    other_login_error: "Ошибка входа",
};

/// The names the walk types on the demo form (see pages.mjs).
fn typed_name(lang: &str) -> &'static str {
    if lang == "ru" {
        "Анна Петрова"
    } else {
        "Anna Smith"
    }
}

/// A gateway whose built-in demo site (a registered client, "Demo site") offers every
/// configured network: OK, VK and the demo one.
async fn gateway() -> TestGateway {
    let (listener, issuer) = reserve().await;
    let demo_site = format!(
        r#"
[clients.demo-site]
name = "Demo site"
client_secret = "demo-site-secret-0123456789"
redirect_uris = ["{issuer}/demo-site/callback"]
"#
    );
    TestGateway::start_on(
        listener,
        issuer,
        Options {
            extra_toml: demo_site,
            ..Options::default()
        },
    )
    .await
}

/// Runs pages.mjs against the gateway; its report.
async fn walk(gw: &TestGateway, screenshots: &Path) -> Value {
    let missing = |what: &Path| -> ! {
        panic!(
            "{} is missing: the browser tests' tools are not installed. Run `bash tests/run.sh` \
             (or `bash tests/browser/setup.sh` once, then cargo test) — this test never skips",
            what.display()
        )
    };
    if !Path::new(CHROMIUM).exists() {
        missing(Path::new(CHROMIUM));
    }
    for package in ["playwright-core", "axe-core"] {
        let manifest = browser_dir().join(format!("node_modules/{package}/package.json"));
        if !manifest.exists() {
            missing(&manifest);
        }
    }
    // Only this run's screenshots: old ones would look like this run's.
    let _ = std::fs::remove_dir_all(screenshots);
    let mut command = Command::new("node");
    command
        .arg(browser_dir().join("pages.mjs"))
        .env("SG_ISSUER", &gw.issuer)
        .env("SG_SCREENSHOTS", screenshots)
        .env("SG_CHROMIUM", CHROMIUM)
        // Belt and braces: playwright-core never fetches a browser of its own.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    // The gateway serves on this runtime: wait for the walk on another thread.
    let output = tokio::time::timeout(
        WALK_TIMEOUT,
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .unwrap_or_else(|_| panic!("the browser walk did not finish in {WALK_TIMEOUT:?}"))
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot start node ({e}); run `bash tests/run.sh`"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "pages.mjs exited with {:?} and no JSON ({e}):\n{stdout}\n{stderr}",
            output.status.code()
        )
    });
    assert!(
        output.status.success() && report.get("error").is_none(),
        "the browser walk broke: {}\n{stderr}",
        report["error"].as_str().unwrap_or("")
    );
    report
}

fn texts(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

/// (text, href) of a page's links.
fn links(page: &Value) -> Vec<(String, String)> {
    page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["text"].as_str().unwrap().to_string(),
                l["href"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What every page must be; a list of what is wrong. axe's lesser findings are printed.
fn general_problems(lang: &str, viewport: &str, page: &Value, origin: &str) -> Vec<String> {
    let name = page["name"].as_str().unwrap();
    let at = format!("{lang}/{viewport}/{name}");
    let mut problems = Vec::new();
    if page["lang"] != lang {
        problems.push(format!("{at}: <html lang={}>", page["lang"]));
    }
    for v in page["axe"].as_array().unwrap() {
        let line = format!(
            "{at}: axe {} {}: {} at {}",
            v["impact"], v["id"], v["help"], v["nodes"]
        );
        if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
            problems.push(line);
        } else {
            eprintln!("note (not failing): {line}");
        }
    }
    let focus = &page["focus"];
    for (what, key) in [
        ("not reachable by Tab", "unreached"),
        ("no visible focus indicator", "noIndicator"),
    ] {
        if !focus[key].as_array().unwrap().is_empty() {
            problems.push(format!("{at}: {what}: {}", focus[key]));
        }
    }
    // Every link and button on the page is among what Tab went through.
    let clickable =
        page["links"].as_array().unwrap().len() + page["buttons"].as_array().unwrap().len();
    let fields = focus["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.as_str().unwrap().starts_with("input"))
        .count();
    if focus["count"].as_u64().unwrap() as usize != clickable + fields {
        problems.push(format!(
            "{at}: focusables {} vs links and buttons",
            focus["elements"]
        ));
    }
    let (scroll, inner) = (
        page["scrollWidth"].as_u64().unwrap(),
        page["innerWidth"].as_u64().unwrap(),
    );
    if scroll > inner {
        problems.push(format!("{at}: scrolls sideways: {scroll} > {inner} px"));
    }
    if !page["spilling"].as_array().unwrap().is_empty() {
        problems.push(format!("{at}: content spills out of {}", page["spilling"]));
    }
    if !page["foreignRequests"].as_array().unwrap().is_empty() {
        problems.push(format!(
            "{at}: requests to other origins: {}",
            page["foreignRequests"]
        ));
    }
    // Each page is reached by a navigation, so the recording saw at least that.
    if page["requests"].as_array().unwrap().is_empty() {
        problems.push(format!("{at}: no request recorded"));
    }
    for request in page["requests"].as_array().unwrap() {
        let url = request.as_str().unwrap();
        if !url.starts_with(&format!("{origin}/")) {
            problems.push(format!("{at}: request outside the gateway: {url}"));
        }
    }
    // The one console line an error page's own status causes is expected; nothing else.
    let own_status = format!(
        "Failed to load resource: the server responded with a status of {}",
        page["status"]
    );
    for line in page["consoleErrors"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        if !line.starts_with(&own_status) {
            problems.push(format!("{at}: console error: {line}"));
        }
    }
    problems
}

/// What each page of a run must show, in the run's language.
fn check_run(run: &Value, origin: &str) {
    let lang = run["lang"].as_str().unwrap();
    let viewport = run["viewport"].as_str().unwrap();
    let w = if lang == "ru" { &RU } else { &EN };
    assert_eq!(w.lang, lang);
    let pages = run["pages"].as_array().unwrap();
    let names: Vec<&str> = pages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "home",
            "chooser",
            "demo-form",
            "demo-form-blank",
            "site-logged-in",
            "logout-confirm",
            "logged-out",
            "error-redirect-uri",
            "error-unknown-client",
            "error-other-browser",
            "not-found"
        ]
    );
    let page = |name: &str| pages.iter().find(|p| p["name"] == name).unwrap();
    let at = |name: &str| format!("{lang}/{viewport}/{name}: {:#}", page(name));
    let status = |name: &str| page(name)["status"].as_u64().unwrap();
    let h1 = |name: &str| -> Vec<String> {
        page(name)["h1"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    };

    let home = page("home");
    assert_eq!(status("home"), 200);
    assert_eq!(
        home["h1"],
        serde_json::json!(["socialgate"]),
        "{}",
        at("home")
    );
    assert!(
        home["text"].as_str().unwrap().contains(w.home_tagline),
        "{}",
        at("home")
    );
    let home_links = links(home);
    assert_eq!(home_links.len(), 1, "{}", at("home"));
    assert_eq!(home_links[0].0, w.home_try);
    assert!(
        home_links[0]
            .1
            .starts_with("/authorize?response_type=code&client_id=demo-site&"),
        "{}",
        at("home")
    );

    // The chooser: the site's name in the heading, each network in its brand colours
    // (contrast is axe's color-contrast rule, checked above).
    let chooser = page("chooser");
    assert_eq!(status("chooser"), 200);
    assert_eq!(h1("chooser"), [w.chooser_h1], "{}", at("chooser"));
    let buttons: Vec<(String, String, String)> = chooser["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["text"].as_str().unwrap().to_string(),
                l["background"].as_str().unwrap().to_string(),
                l["color"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let brand = |network: &str, background: &str, color: &str| {
        (
            format!("{} {network}", w.with),
            background.to_string(),
            color.to_string(),
        )
    };
    assert_eq!(
        buttons,
        [
            brand(w.networks[0], "rgb(238, 130, 8)", "rgb(17, 24, 39)"),
            brand(w.networks[1], "rgb(0, 111, 239)", "rgb(255, 255, 255)"),
            brand(w.networks[2], "rgb(107, 114, 128)", "rgb(255, 255, 255)"),
        ],
        "{}",
        at("chooser")
    );

    assert_eq!(status("demo-form"), 200);
    assert_eq!(h1("demo-form"), [w.demo_h1]);
    assert!(page("demo-form")["alerts"].as_array().unwrap().is_empty());
    // Spaces for a name: the browser itself refuses to send the form…
    let blank = page("demo-form-blank");
    assert_eq!(
        blank["blocked"],
        serde_json::json!({
            "valid": false,
            "patternMismatch": true,
            "message": blank["blocked"]["message"],
            "stayed": true
        }),
        "{}",
        at("demo-form-blank")
    );
    // …and sent anyway, the gateway answers with the form and its error.
    assert_eq!(status("demo-form-blank"), 400);
    assert_eq!(h1("demo-form-blank"), [w.demo_h1]);
    assert_eq!(
        blank["alerts"],
        serde_json::json!([w.blank_name]),
        "{}",
        at("demo-form-blank")
    );

    let site = page("site-logged-in");
    assert_eq!(status("site-logged-in"), 200);
    assert_eq!(
        site["path"].as_str().unwrap().split('?').next(),
        Some("/demo-site/callback")
    );
    assert_eq!(
        h1("site-logged-in"),
        [w.logged_in],
        "{}",
        at("site-logged-in")
    );
    assert_eq!(site["claims"]["name"], typed_name(lang));
    assert_eq!(site["claims"]["email"], "anna@example.org");
    assert_eq!(site["claims"]["aud"], "demo-site");

    assert_eq!(status("logout-confirm"), 200);
    assert_eq!(h1("logout-confirm"), [w.logout_h1]);
    assert_eq!(
        texts(&page("logout-confirm")["buttons"], "text"),
        [w.logout_button]
    );
    // Logged out: not a dead end, the site the logout named is a click away.
    let logged_out = page("logged-out");
    assert_eq!(status("logged-out"), 200);
    assert_eq!(h1("logged-out"), [w.logged_out_h1]);
    assert!(
        logged_out["text"].as_str().unwrap().contains(w.logged_out),
        "{}",
        at("logged-out")
    );
    assert_eq!(
        links(logged_out),
        [(w.back_to_site.to_string(), format!("{origin}/"))],
        "{}",
        at("logged-out")
    );
    assert_eq!(
        logged_out["followed"],
        serde_json::json!({ "status": 200, "url": format!("{origin}/") })
    );

    // Error pages: the browser's language first, then the other; a link only where the site
    // is known and the error is not about where to send the person.
    for (name, message) in [
        ("error-redirect-uri", w.not_registered_uri),
        ("error-unknown-client", w.not_registered_client),
    ] {
        let error = page(name);
        assert_eq!(status(name), 400);
        assert_eq!(h1(name), [w.login_error], "{}", at(name));
        let text = error["text"].as_str().unwrap();
        assert!(text.contains(message), "{}", at(name));
        assert!(text.contains(w.tell_the_site), "{}", at(name));
        assert!(text.contains(w.other_login_error), "{}", at(name));
        assert!(links(error).is_empty(), "{}", at(name));
        assert!(!text.contains("evil.example"));
    }
    let other_browser = page("error-other-browser");
    assert_eq!(status("error-other-browser"), 400);
    assert_eq!(h1("error-other-browser"), [w.login_error]);
    assert!(
        other_browser["text"]
            .as_str()
            .unwrap()
            .contains(w.other_browser),
        "{}",
        at("error-other-browser")
    );
    assert_eq!(
        links(other_browser),
        [(w.back_to_site.to_string(), format!("{origin}/"))]
    );

    let not_found = page("not-found");
    assert_eq!(status("not-found"), 404);
    assert_eq!(h1("not-found"), [w.not_found], "{}", at("not-found"));
    assert_eq!(
        links(not_found),
        [(w.home_link.to_string(), "/".to_string())]
    );
}

#[tokio::test]
async fn pages_work_in_a_real_browser_in_both_languages_on_desktop_and_phone() {
    let gw = gateway().await;
    let screenshots = screenshots_dir();
    let report = walk(&gw, &screenshots).await;
    eprintln!(
        "browser test: Chromium {}; screenshots of every page in {}",
        report["chromium"].as_str().unwrap_or("?"),
        screenshots.display()
    );

    let runs = report["runs"].as_array().unwrap();
    let combos: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["lang"].as_str().unwrap(), r["viewport"].as_str().unwrap()))
        .collect();
    assert_eq!(
        combos,
        [
            ("ru", "desktop"),
            ("ru", "phone"),
            ("en", "desktop"),
            ("en", "phone")
        ]
    );
    let mut problems = Vec::new();
    for run in runs {
        let (lang, viewport) = (
            run["lang"].as_str().unwrap(),
            run["viewport"].as_str().unwrap(),
        );
        for page in run["pages"].as_array().unwrap() {
            problems.extend(general_problems(lang, viewport, page, &gw.issuer));
            let shot = Path::new(page["screenshot"].as_str().unwrap());
            assert!(
                shot.starts_with(&screenshots) && shot.exists(),
                "{}",
                shot.display()
            );
        }
        if viewport == "phone" {
            assert_eq!(run["pages"][0]["innerWidth"], 390);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    for run in runs {
        check_run(run, &gw.issuer);
    }
}

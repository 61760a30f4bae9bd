//! The shipped `config.toml` runs a whole login with no real credentials: home page, login
//! page, the demo network's form, and the built-in demo site showing the claims.

mod support;

use support::*;

/// Extracts the first `href="…"` / `action="…"` value after `marker` from a page.
fn attr_after(body: &str, marker: &str, attr: &str) -> String {
    let from = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {body}"));
    let start = body[from..].find(&format!("{attr}=\"")).unwrap() + from + attr.len() + 2;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

/// The gateway with the shipped config, on a free port: its address (`127.0.0.1:PORT`),
/// and the directory holding its config and keys (alive as long as it).
async fn shipped_gateway() -> (String, tempfile::TempDir) {
    install_crypto();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        shipped.replace("127.0.0.1:8080", &addr),
    )
    .unwrap();
    let app = gateway_app(&dir.path().join("config.toml"), None).await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, dir)
}

#[tokio::test]
async fn pages_asked_for_as_localhost_go_to_the_issuers_host_before_any_cookie() {
    let (addr, _dir) = shipped_gateway().await;
    let port = addr.rsplit(':').next().unwrap();
    let person = browser();
    for path in [
        "/",
        "/authorize?response_type=code&client_id=demo-site",
        "/demo/demo?state=x",
    ] {
        let response = person
            .get(format!("http://localhost:{port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 307, "{path}");
        assert_eq!(location(&response), format!("http://{addr}{path}"));
        assert!(response.headers().get("set-cookie").is_none(), "{path}");
    }
    // The APIs answer under any name: sites and proxies call them server to server.
    let jwks = person
        .get(format!("http://localhost:{port}/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    // Under the issuer's own name, nothing changes.
    let home = person.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
}

#[tokio::test]
async fn the_home_page_speaks_the_browsers_language() {
    let (addr, _dir) = shipped_gateway().await;
    let home = |accept: &'static str| {
        let url = format!("http://{addr}/");
        async move {
            let response = browser()
                .get(url)
                .header("accept-language", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let discovery = format!("<code>http://{addr}/.well-known/openid-configuration</code>");
    let start = "/authorize?response_type=code&#38;client_id=demo-site&#38;";
    let ru = home("ru-RU,ru;q=0.9,en;q=0.8").await;
    assert!(ru.contains("<html lang=\"ru\">"), "{ru}");
    assert!(
        ru.contains("Шлюз OpenID Connect, через который сайты дают войти"),
        "{ru}"
    );
    assert!(
        ru.contains(&format!("Документ discovery для сайтов: {discovery}")),
        "{ru}"
    );
    assert!(ru.contains(&format!("href=\"{start}")), "{ru}");
    assert!(ru.contains(">Попробовать демо-вход</a>"), "{ru}");
    assert!(!ru.contains("Try the demo"), "{ru}");
    let en = home("en-US,en;q=0.9,ru;q=0.5").await;
    assert!(en.contains("<html lang=\"en\">"), "{en}");
    assert!(
        en.contains("The OpenID Connect gateway that lets sites log people in"),
        "{en}"
    );
    assert!(
        en.contains(&format!("Discovery document for sites: {discovery}")),
        "{en}"
    );
    assert!(en.contains(">Try the demo login</a>"), "{en}");
    assert!(!en.contains("Попробовать"), "{en}");
    // Neither language asked for: English.
    assert!(home("de").await.contains(">Try the demo login</a>"));
}

#[tokio::test]
async fn shipped_config_gives_a_working_demo_login() {
    let (addr, _dir) = shipped_gateway().await;
    let base = format!("http://{addr}");
    let person = browser();
    let follow = |url: String| {
        let person = person.clone();
        async move { follow_with(&person, &url).await }
    };

    let (status, home) = follow(format!("{base}/")).await.page();
    assert_eq!(status, 200);
    let start = attr_after(&home, "class=\"button primary\"", "href");
    let (status, chooser) = follow(format!("{base}{start}")).await.page();
    assert_eq!(status, 200);
    assert!(chooser.contains("Log in with Demo"), "{chooser}");
    // The demo site allows every provider; the shipped config has only the demo one.
    let demo = attr_after(&chooser, "class=\"button\"", "href");
    let (status, form) = follow(format!("{base}{demo}")).await.page();
    assert_eq!(status, 200);
    assert!(form.contains("trying socialgate out"), "{form}");
    let action = attr_after(&form, "<form", "action");
    let state = attr_after(&form, "name=\"state\"", "value");

    // A blank name would make every such login one account: the form comes back.
    let blank = person
        .post(format!("{base}{action}"))
        .form(&[("state", state.as_str()), ("name", "   "), ("email", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), 400);
    assert!(blank.headers().get("location").is_none());
    let again = blank.text().await.unwrap();
    assert!(again.contains("Type a name"), "{again}");
    assert_eq!(attr_after(&again, "name=\"state\"", "value"), state);

    let response = person
        .post(format!("{base}{action}"))
        .form(&[
            ("state", state.as_str()),
            ("name", "Анна"),
            ("email", "Anna@Example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let callback = response.headers()["location"].to_str().unwrap().to_string();
    // The gateway's callback sends the browser on to the demo site's redirect URI.
    let to_site = person.get(&callback).send().await.unwrap();
    let site = location(&to_site);
    let (status, result) = follow(site.clone()).await.page();
    assert_eq!(status, 200, "{result}");
    assert!(result.contains("<h1>Logged in</h1>"), "{result}");
    assert!(result.contains("<td>Анна</td>"), "{result}");
    assert!(result.contains("<td>anna@example.org</td>"));
    assert!(result.contains("<td>demo</td>"));
    // Times as dates, not seconds since 1970.
    let exp = result
        .split("<th>exp</th><td>")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .unwrap();
    assert!(
        exp.len() == 20 && exp.ends_with('Z') && exp.as_bytes()[10] == b'T',
        "{exp}"
    );
    // A way out: the gateway's logout.
    assert_eq!(attr_after(&result, "<form", "action"), "/logout");
    // Naming itself, so the logged-out page leads back here.
    assert_eq!(
        attr_after(&result, "name=\"client_id\"", "value"),
        "demo-site"
    );
    // Tokens themselves are never shown.
    assert!(!result.contains("eyJ"));

    // A reload presents the used code again: said in words, not as a token error.
    let (status, reload) = follow(site).await.page();
    assert_eq!(status, 400);
    assert!(reload.contains("<h1>Login failed</h1>"), "{reload}");
    assert!(
        reload.contains("this result was shown already: a login&#39;s code works once"),
        "{reload}"
    );
    // An error from /authorize is shown as a failure, in the browser's language.
    let failed = person
        .get(format!(
            "{base}/demo-site/callback?error=invalid_scope&error_description=the+scope+must+include+openid"
        ))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 400);
    let failed = failed.text().await.unwrap();
    assert!(failed.contains("<h1>Вход не выполнен</h1>"), "{failed}");
    assert!(failed.contains("<code>invalid_scope</code>: the scope must include openid"));
    assert!(!failed.contains("Вход выполнен</h1>"));
}

//! Behind an https issuer the gateway's cookies are `Secure` and `__Host-` (pinned to the
//! exact origin, unreadable by scripts, sent on the network's top-level redirect back).
//! Driven in-process through the router with the demo network, since tests serve no TLS.

mod support;

use axum::body::Body;
use axum::http::{Request, Response, header};
use support::{gateway_app, install_crypto};
use tower::ServiceExt;

const ISSUER: &str = "https://127.0.0.1:8443";

/// The router, and the directory holding its config and keys (alive as long as it).
async fn app() -> (axum::Router, tempfile::TempDir) {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:1"
issuer = "{ISSUER}"
data_dir = "{data}"

[providers.demo]
kind = "demo"

[clients.site]
client_secret = "site-secret-0123456789"
redirect_uris = ["https://site.example/cb"]
"#,
        data = dir.path().join("data").display()
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    (gateway_app(&path, None).await, dir)
}

async fn send(app: &axum::Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn location(response: &Response<Body>) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// The `name=value` part of a Set-Cookie header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn cookies_are_secure_host_only_http_only_and_lax_behind_https() {
    let (app, _dir) = app().await;
    let authorize = send(
        &app,
        Request::get(
            "/authorize?response_type=code&client_id=site&redirect_uri=https%3A%2F%2Fsite.example%2Fcb&scope=openid&provider=demo",
        )
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert!(authorize.status().is_redirection());
    let browser = set_cookies(&authorize);
    assert_eq!(browser.len(), 1, "{browser:?}");
    let browser = &browser[0];
    assert!(
        browser.starts_with("__Host-socialgate_browser="),
        "{browser}"
    );
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(browser.contains(attribute), "{attribute} in {browser}");
    }
    assert!(!browser.contains("Domain="), "{browser}");

    // The demo network's form, then its redirect to the callback.
    let form_url = location(&authorize);
    let state = url::Url::parse(ISSUER)
        .unwrap()
        .join(&form_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let submitted = send(
        &app,
        Request::post("/demo/demo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "state={state}&name=Anna&email=anna%40example.org"
            )))
            .unwrap(),
    )
    .await;
    let callback = location(&submitted);
    let callback = callback.strip_prefix(ISSUER).unwrap().to_string();
    let finished = send(
        &app,
        Request::get(callback.as_str())
            .header(header::COOKIE, pair(browser))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(finished.status().is_redirection());
    assert!(location(&finished).starts_with("https://site.example/cb?code="));
    let session: Vec<String> = set_cookies(&finished)
        .into_iter()
        .filter(|c| c.contains("socialgate_session"))
        .collect();
    assert_eq!(session.len(), 1, "{session:?}");
    let session = &session[0];
    assert!(
        session.starts_with("__Host-socialgate_session="),
        "{session}"
    );
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age="] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(!session.contains("Domain="), "{session}");

    // The session works: the site's next authorize is answered without the network.
    let again = send(
        &app,
        Request::get(
            "/authorize?response_type=code&client_id=site&redirect_uri=https%3A%2F%2Fsite.example%2Fcb&scope=openid",
        )
        .header(header::COOKIE, format!("{}; {}", pair(browser), pair(session)))
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert!(again.status().is_redirection());
    assert!(location(&again).starts_with("https://site.example/cb?code="));
}

#[tokio::test]
async fn the_jwks_may_be_cached_for_an_hour_with_default_rotation() {
    let (app, _dir) = app().await;
    let jwks = send(&app, Request::get("/jwks").body(Body::empty()).unwrap()).await;
    assert_eq!(jwks.status(), 200);
    // Keys are published a day before they sign; an hour's cache always knows them.
    assert_eq!(
        jwks.headers()[header::CACHE_CONTROL].to_str().unwrap(),
        "public, max-age=3600"
    );
}

//! Shared by the integration tests: a gateway started in-process on loopback in front of
//! fake OK and VK servers, a "browser" that follows redirects one hop at a time, and the
//! request helpers every test uses. The fake networks themselves are in [`fakes`].
//!
//! The gateway's library is called here only ([`gateway_app`]; the store's contract is checked
//! directly in `tests/store.rs`): every test talks to the gateway over HTTP.
#![allow(dead_code)]

pub mod balancer;
pub mod capture;
pub mod fakes;
pub mod redis;
pub mod site;

use std::sync::Arc;
use std::time::Duration;

use fakes::ok::{FakeOk, FakeOkConfig};
use fakes::vk::{FakeVk, FakeVkConfig};
use url::Url;

pub const SHOP: &str = "shop";
pub const SHOP_SECRET: &str = "shop-secret-0123456789";
pub const SHOP_REDIRECT: &str = "https://shop.example.ru/bitrix/tools/oauth/socialgate.php";
/// The WordPress plugin's redirect URI carries a query of its own.
pub const WP_REDIRECT: &str =
    "https://blog.example.ru/wp-admin/admin-ajax.php?action=openid-connect-authorize";
pub const FORUM: &str = "forum";
pub const FORUM_SECRET: &str = "forum+secret%with:odd/chars";
pub const FORUM_REDIRECT: &str = "https://forum.example.ru/oidc/callback";
/// A public client (no secret): PKCE is mandatory.
pub const SPA: &str = "spa";
pub const SPA_REDIRECT: &str = "http://127.0.0.1:9/callback";
/// How long the gateway waits for a network in tests.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

pub struct TestGateway {
    /// The public address: the only instance, or the balancer in front of several.
    pub issuer: String,
    /// Each instance's own address (for calls that must reach one instance).
    pub instances: Vec<String>,
    /// With several instances: which one takes the next connection through `issuer`.
    pub balancer: Option<balancer::Balancer>,
    /// The person's browser, with its own cookie jar.
    pub browser: reqwest::Client,
    pub ok: FakeOk,
    pub vk: FakeVk,
    pub dir: tempfile::TempDir,
    /// Tells every instance to shut down (as SIGTERM does); see `shut_down`.
    pub stop: Arc<tokio::sync::Notify>,
    pub serving: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

pub struct Options {
    pub ok_has_get_email: bool,
    /// `expires_in` of the fake OK's access tokens.
    pub ok_token_lifetime: &'static str,
    /// The OK secret key the gateway is configured with (the fake knows the right one).
    pub ok_secret_key: &'static str,
    /// `[store] url`; memory when `None`.
    pub store_url: Option<String>,
    /// Extra keys in `[store]`.
    pub store_extra: String,
    /// Gateway instances behind one issuer (a balancer when more than one).
    pub instances: usize,
    /// Extra top-level tables (`[session]`, `[tokens]`).
    pub extra_toml: String,
    /// Extra keys in the `shop` and `forum` client tables.
    pub shop_extra: String,
    pub forum_extra: String,
    /// Extra keys in `[server]`.
    pub server_extra: String,
    /// Descriptor files (kind, text) written to `providers/` beside the config file.
    pub descriptors: Vec<(String, String)>,
    /// Extra `[providers.NAME]` tables.
    pub extra_providers: String,
    /// The networks the `shop` client offers.
    pub shop_providers: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ok_has_get_email: true,
            ok_token_lifetime: "1800",
            ok_secret_key: "0F1E2D3C4B5A69788796A5B4",
            store_url: None,
            store_extra: String::new(),
            instances: 1,
            extra_toml: String::new(),
            shop_extra: String::new(),
            forum_extra: String::new(),
            server_extra: String::new(),
            descriptors: Vec::new(),
            extra_providers: String::new(),
            shop_providers: vec!["ok".into(), "vk".into()],
        }
    }
}

/// The gateway's public listener and issuer, taken before the gateway starts so that fake
/// networks can be told its callback URLs.
pub async fn reserve() -> (tokio::net::TcpListener, String) {
    install_crypto();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", public.local_addr().unwrap());
    (public, issuer)
}

impl TestGateway {
    pub async fn start() -> TestGateway {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestGateway {
        let (public, issuer) = reserve().await;
        Self::start_on(public, issuer, options).await
    }

    /// A gateway on a listener from `reserve`.
    pub async fn start_on(
        public: tokio::net::TcpListener,
        issuer: String,
        options: Options,
    ) -> TestGateway {
        let mut ok_config = FakeOkConfig::new(&format!("{issuer}/callback/ok"));
        ok_config.app_has_get_email = options.ok_has_get_email;
        ok_config.token_lifetime = options.ok_token_lifetime.to_owned();
        let ok = FakeOk::start(ok_config).await;
        let vk = FakeVk::start(FakeVkConfig::new(&format!("{issuer}/callback/vk"))).await;
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"
[server]
listen = "127.0.0.1:1"
issuer = "{issuer}"
data_dir = "data"
{server_extra}

[store]
url = "{store_url}"
{store_extra}

{extra_toml}

[providers.ok]
kind = "ok"
app_id = "512000000001"
public_key = "CBAFJIICABABABABA"
secret_key = "{ok_secret_key}"
scopes = ["VALUABLE_ACCESS"]
authorize_url = "{ok_authorize}"
token_url = "{ok_token}"
userinfo_url = "{ok_api}"

[providers.vk]
kind = "vk"
client_id = "51234567"
client_secret = "vk-secret-Zx81"
authorize_url = "{vk_authorize}"
token_url = "{vk_token}"
userinfo_url = "{vk_users_get}"

[providers.demo]
kind = "demo"

{extra_providers}

[clients.{SHOP}]
name = "Shop"
client_secret = "{SHOP_SECRET}"
redirect_uris = ["{SHOP_REDIRECT}", "{WP_REDIRECT}"]
providers = {shop_providers:?}
{shop_extra}

[clients.{FORUM}]
client_secret = "{FORUM_SECRET}"
redirect_uris = ["{FORUM_REDIRECT}"]
providers = ["ok"]
{forum_extra}

[clients.{SPA}]
redirect_uris = ["{SPA_REDIRECT}"]
"#,
            ok_secret_key = options.ok_secret_key,
            store_url = options.store_url.as_deref().unwrap_or("memory://"),
            store_extra = options.store_extra,
            extra_toml = options.extra_toml,
            shop_extra = options.shop_extra,
            forum_extra = options.forum_extra,
            server_extra = options.server_extra,
            extra_providers = options.extra_providers,
            shop_providers = options.shop_providers,
            ok_authorize = ok.authorize_url(),
            ok_token = ok.token_url(),
            ok_api = ok.api_url(),
            vk_authorize = vk.authorize_url(),
            vk_token = vk.token_url(),
            vk_users_get = vk.users_get_url(),
        );
        if !options.descriptors.is_empty() {
            std::fs::create_dir(dir.path().join("providers")).unwrap();
        }
        for (kind, text) in &options.descriptors {
            std::fs::write(
                dir.path().join("providers").join(format!("{kind}.toml")),
                text,
            )
            .unwrap();
        }
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let mut instances = Vec::new();
        let mut balancer = None;
        let stop = Arc::new(tokio::sync::Notify::new());
        let mut serving = Vec::new();
        if options.instances <= 1 {
            serving.push(Self::spawn_instance(&path, public, stop.clone()).await);
            instances.push(issuer.clone());
        } else {
            let mut backends = Vec::new();
            for _ in 0..options.instances {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                serving.push(Self::spawn_instance(&path, listener, stop.clone()).await);
                instances.push(format!("http://{addr}"));
                backends.push(addr);
            }
            balancer = Some(balancer::Balancer::start(public, backends));
        }
        TestGateway {
            issuer,
            instances,
            balancer,
            browser: browser(),
            ok,
            vk,
            dir,
            stop,
            serving: std::sync::Mutex::new(serving),
        }
    }

    /// One gateway instance from the config file, serving on `listener` until `stop`.
    async fn spawn_instance(
        path: &std::path::Path,
        listener: tokio::net::TcpListener,
        stop: Arc<tokio::sync::Notify>,
    ) -> tokio::task::JoinHandle<()> {
        let gateway = gateway(path, Some(UPSTREAM_TIMEOUT)).await;
        tokio::spawn(async move {
            socialgate::web::serve_until(listener, gateway, async move { stop.notified().await })
                .await
                .unwrap();
        })
    }

    /// Shuts every instance down as SIGTERM does; returns once each has stopped (requests in
    /// flight finished, or `[limits] shutdown_timeout` passed).
    pub async fn shut_down(&self) {
        self.stop.notify_waiters();
        let serving = std::mem::take(&mut *self.serving.lock().unwrap());
        for instance in serving {
            instance.await.unwrap();
        }
    }

    /// Sends the next requests through the balancer to instance `i`.
    pub fn route_to(&self, i: usize) {
        self.balancer
            .as_ref()
            .expect("route_to needs several instances")
            .route_to(i);
    }

    /// Follows redirects in this test's browser.
    pub async fn follow(&self, start: &str) -> Landing {
        follow_with(&self.browser, start).await
    }

    /// `/authorize?…` with these parameters.
    pub fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&format!("{}/authorize", self.issuer)).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }
}

/// The gateway from the config file at `path`, waiting `upstream_timeout` for the networks
/// (the library's default when `None`). With `gateway_app`, the only place besides
/// `tests/store.rs` that calls the gateway's library: every test talks to it over HTTP.
pub async fn gateway(
    path: &std::path::Path,
    upstream_timeout: Option<Duration>,
) -> socialgate::Gateway {
    let config = socialgate::Config::load(path).unwrap();
    let gateway = match upstream_timeout {
        Some(timeout) => socialgate::Gateway::with_timeout(config, timeout).await,
        None => socialgate::Gateway::new(config).await,
    };
    gateway.unwrap()
}

/// The gateway's router from the config file at `path` (see `gateway`).
pub async fn gateway_app(
    path: &std::path::Path,
    upstream_timeout: Option<Duration>,
) -> axum::Router {
    socialgate::web::app(gateway(path, upstream_timeout).await)
}

pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// What the browser ended at.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to a URL outside the gateway and the fakes (the site).
    Site(Url),
    /// A page that is not a redirect.
    Page {
        status: u16,
        body: String,
        url: String,
    },
}

impl Landing {
    pub fn site(self) -> Url {
        match self {
            Landing::Site(u) => u,
            other => panic!("expected a redirect to the site, got {other:?}"),
        }
    }

    pub fn page(self) -> (u16, String) {
        match self {
            Landing::Page { status, body, .. } => (status, body),
            other => panic!("expected a page, got {other:?}"),
        }
    }
}

/// A new browser: no redirects followed automatically, an empty cookie jar of its own.
pub fn browser() -> reqwest::Client {
    client()
        .cookie_store(true)
        // A new connection per request, so a balancer can route each one.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// A client without a cookie jar that follows no redirects: it sends exactly the cookies it is
/// told to.
pub fn jarless() -> reqwest::Client {
    client().build().unwrap()
}

/// A client that follows no redirects. reqwest is built with
/// `rustls-tls-webpki-roots-no-provider`, so even a plain-http client needs the process-wide
/// rustls crypto provider; installing it twice is harmless.
fn client() -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// The `Location` of a redirect, as sent.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location")
        .to_str()
        .unwrap()
        .to_string()
}

/// The `Location` of a redirect, which must be an absolute URL.
pub fn location_url(response: &reqwest::Response) -> Url {
    Url::parse(&location(response)).unwrap()
}

/// Follows redirects while they stay on loopback (gateway, fakes); stops at the site.
pub async fn follow_with(client: &reqwest::Client, start: &str) -> Landing {
    let mut url = start.to_string();
    for _ in 0..10 {
        let response = client.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        if !(300..400).contains(&status) {
            let body = response.text().await.unwrap();
            return Landing::Page { status, body, url };
        }
        let location = response
            .headers()
            .get("location")
            .expect("a redirect has a Location")
            .to_str()
            .unwrap()
            .to_string();
        let next = Url::parse(&url).unwrap().join(&location).unwrap();
        let local = next.host_str() == Some("127.0.0.1") && next.port() != Some(9);
        if !local {
            return Landing::Site(next);
        }
        url = next.to_string();
    }
    panic!("too many redirects from {start}");
}

/// The value of a query parameter.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Whether `params` hold `name=value`.
pub fn has(params: &[(String, String)], name: &str, value: &str) -> bool {
    params.iter().any(|(k, v)| k == name && v == value)
}

/// The site at `redirect_uri` got `error` (and no code) with its own `state` back; the
/// error_description, if any.
pub fn assert_site_error(
    site: &Url,
    redirect_uri: &str,
    state: &str,
    error: &str,
) -> Option<String> {
    assert!(
        site.as_str().starts_with(redirect_uri),
        "redirected to {site}"
    );
    assert_eq!(param(site, "error").as_deref(), Some(error), "{site}");
    assert_eq!(param(site, "code"), None, "{site}");
    assert_eq!(param(site, "state").as_deref(), Some(state), "{site}");
    param(site, "error_description")
}

/// Decodes a JWT's payload without checking it (for tests that verified it already).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    jwt_part(token, 1)
}

pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0)
}

fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A code for `client` by logging in through `provider` (no PKCE, no nonce).
pub async fn login_code(
    gw: &TestGateway,
    client: &str,
    redirect_uri: &str,
    provider: &str,
) -> String {
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("provider", provider),
        ]))
        .await
        .site();
    param(&site, "code").expect("a code")
}

/// POSTs to `/token` with client_secret_post; returns status and JSON.
pub async fn token_request(gw: &TestGateway, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = browser()
        .post(format!("{}/token", gw.issuer))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Redeems a code at `/token` as a confidential client (client_secret_post).
pub async fn redeem(
    gw: &TestGateway,
    code: &str,
    redirect_uri: &str,
    client: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    token_request(
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client),
            ("client_secret", secret),
        ],
    )
    .await
}

/// `/userinfo` at `base` (the issuer, or one instance) with a bearer token: status,
/// `WWW-Authenticate`, JSON body.
pub async fn userinfo_at(
    base: &str,
    access_token: &str,
) -> (u16, Option<String>, serde_json::Value) {
    bearer_get(&format!("{base}/userinfo"), access_token).await
}

/// GET `url` with a bearer token: status, `WWW-Authenticate`, JSON body.
pub async fn bearer_get(url: &str, access_token: &str) -> (u16, Option<String>, serde_json::Value) {
    let response = browser()
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, challenge, response.json().await.unwrap())
}

/// `/userinfo` at the gateway's issuer.
pub async fn userinfo(
    gw: &TestGateway,
    access_token: &str,
) -> (u16, Option<String>, serde_json::Value) {
    userinfo_at(&gw.issuer, access_token).await
}

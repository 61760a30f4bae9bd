//! Fake upstreams for VK ID, Yandex, Mail.ru, GitHub, Facebook and X, plus one made-up
//! "Custom" network that socialgate knows only through an admin's descriptor file.
//!
//! Each fake is one axum server on 127.0.0.1:0 serving the real network's paths for its
//! authorize, token and profile endpoints. It checks what the real one checks (client id and
//! secret, the exact redirect_uri, PKCE, one-time codes, token validity) and fails the way the
//! real one documents, quirks included: GitHub's HTTP 200 token errors, Mail.ru's HTTP 200
//! profile errors, Facebook's `{"error":{...}}` objects and `appsecret_proof`, Yandex's
//! `Authorization: OAuth` scheme, VK ID's `device_id`, X's mandatory HTTP Basic.
//!
//! The authorize endpoint plays the person consenting: it answers with a 302 straight away.
#![allow(dead_code)]

use super::fake_http::{collect_params, param, redirect};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    VkId,
    Yandex,
    MailRu,
    GitHub,
    Facebook,
    X,
    /// A network socialgate has no code for: described to it by a descriptor file.
    Custom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// The person refuses at the consent page.
    Deny,
    TokenHttp500,
    UserinfoHttp500,
    /// The profile endpoint answers the network's own invalid-token error.
    UserinfoError,
    /// GitHub: the primary address in /user/emails is not verified.
    EmailsPrimaryUnverified,
    /// Facebook: the app's "Require App Secret" switch is off.
    RequireNoProof,
}

/// Who logs in; each fake renders it in its network's own shape.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    /// "female" | "male" | None.
    pub gender: Option<String>,
    /// ISO "YYYY-MM-DD".
    pub birthdate: Option<String>,
    pub locale: Option<String>,
}

/// Yandex gives an avatar id, never a URL; the gateway builds
/// `https://avatars.yandex.net/get-yapic/131652443/abcdEF-1/islands-200` from it.
pub const YANDEX_AVATAR_ID: &str = "131652443/abcdEF-1";

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

impl Person {
    /// Fixed sample people (see the match arms for the values).
    pub fn sample(network: Network) -> Person {
        let p = |id: &str, login: &str, first: &str, last: &str| Person {
            id: id.to_owned(),
            login: login.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email: None,
            picture: None,
            gender: None,
            birthdate: None,
            locale: None,
        };
        match network {
            Network::VkId => Person {
                email: some("o.sokolova@example.ru"),
                picture: some("https://sun9-75.userapi.com/s/v1/ig2/sokolova.jpg?size=200x200"),
                gender: some("female"),
                birthdate: some("1991-03-14"),
                locale: some("ru"),
                ..p("246813579", "olga.sokolova", "Ольга", "Соколова")
            },
            Network::Yandex => Person {
                email: some("ivan.petrov@yandex.ru"),
                // Not rendered: Yandex answers YANDEX_AVATAR_ID instead.
                picture: None,
                gender: some("male"),
                birthdate: some("1988-07-21"),
                locale: some("ru"),
                ..p("1130000031415926", "ivan.petrov", "Иван", "Петров")
            },
            Network::MailRu => Person {
                email: some("anna.kuznetsova@mail.ru"),
                picture: some("https://filin.mail.ru/pic?d=anna-kuznetsova&width=180&height=180"),
                gender: some("female"),
                birthdate: some("1995-12-02"),
                locale: some("ru_RU"),
                ..p(
                    "8412503917265340211",
                    "anna.kuznetsova",
                    "Анна",
                    "Кузнецова",
                )
            },
            Network::GitHub => Person {
                // Private: /user says "email": null, only /user/emails has it.
                email: some("mona@example.com"),
                picture: some("https://avatars.githubusercontent.com/u/9919?v=4"),
                ..p("9919", "monalisa", "Mona", "Lisa")
            },
            Network::Facebook => Person {
                email: some("john.smith@example.com"),
                picture: some(
                    "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012&height=50&width=50",
                ),
                gender: some("male"),
                birthdate: some("1985-04-30"),
                locale: some("en_US"),
                ..p("10158123456789012", "john.smith", "John", "Smith")
            },
            Network::X => Person {
                // X never gives an email.
                picture: some("https://pbs.twimg.com/profile_images/1512345678/alex_normal.jpg"),
                ..p("1512345678901234567", "alex_morgan", "Alex", "Morgan")
            },
            Network::Custom => Person {
                email: some("kira@example.org"),
                picture: some("https://id.example.org/avatars/42017.png"),
                gender: some("female"),
                birthdate: some("1990-01-15"),
                locale: some("en"),
                ..p("42017", "kira", "Kira", "Lebedeva")
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What differs between the networks' authorize endpoints and apps

#[derive(Clone, Debug)]
struct Spec {
    authorize_path: &'static str,
    token_path: &'static str,
    userinfo_path: &'static str,
    client_id: &'static str,
    client_secret: &'static str,
    title: &'static str,
    response_type_required: bool,
    state_required: bool,
    /// GitHub falls back to the registered callback when redirect_uri is absent.
    redirect_uri_optional: bool,
    pkce_required: bool,
    pkce_methods: &'static [&'static str],
    /// The first one joins scopes in answers.
    scope_separators: &'static [char],
    /// None: `scope` is required.
    default_scope: Option<&'static str>,
    /// Some: anything else is refused with `invalid_scope`.
    known_scopes: Option<&'static [&'static str]>,
    /// Granted whether requested or not.
    implicit_scope: Option<&'static str>,
    deny_description: &'static str,
    deny_extra: &'static [(&'static str, &'static str)],
}

const YANDEX_APP_SCOPES: &[&str] = &[
    "login:info",
    "login:email",
    "login:avatar",
    "login:birthday",
];

fn spec(network: Network) -> Spec {
    let base = Spec {
        authorize_path: "/authorize",
        token_path: "/token",
        userinfo_path: "/userinfo",
        client_id: "",
        client_secret: "",
        title: "",
        response_type_required: true,
        state_required: false,
        redirect_uri_optional: false,
        pkce_required: false,
        pkce_methods: &["S256"],
        scope_separators: &[' '],
        default_scope: Some(""),
        known_scopes: None,
        implicit_scope: None,
        deny_description: "The user denied access",
        deny_extra: &[],
    };
    match network {
        Network::VkId => Spec {
            token_path: "/oauth2/auth",
            userinfo_path: "/oauth2/user_info",
            client_id: "52345678",
            // The app's "protected key": the web PKCE flow never uses it.
            client_secret: "Zq7Lr2Xv9Tk4Wm8Np3Hd",
            title: "VK ID",
            state_required: true,
            pkce_required: true,
            default_scope: Some("vkid.personal_info"),
            implicit_scope: Some("vkid.personal_info"),
            deny_description: "User denied access",
            ..base
        },
        Network::Yandex => Spec {
            userinfo_path: "/info",
            client_id: "0b1c2d3e4f5a69788796a5b4c3d2e1f0",
            client_secret: "5e4d3c2b1a0f9e8d7c6b5a4938271605",
            title: "Яндекс ID",
            pkce_methods: &["S256", "plain"],
            default_scope: Some("login:info login:email login:avatar login:birthday"),
            known_scopes: Some(YANDEX_APP_SCOPES),
            deny_description: "User denied access",
            ..base
        },
        Network::MailRu => Spec {
            authorize_path: "/login",
            client_id: "a3f1c9e07b2d4e5f8a6b1c2d3e4f5a6b",
            client_secret: "f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5",
            title: "Mail",
            default_scope: Some("userinfo"),
            known_scopes: Some(&["userinfo", "mail.imap"]),
            deny_description: "user denied access",
            ..base
        },
        Network::GitHub => Spec {
            authorize_path: "/login/oauth/authorize",
            token_path: "/login/oauth/access_token",
            userinfo_path: "/user",
            client_id: "Ov23liAbCdEfGhIjKlMn",
            client_secret: "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e",
            title: "GitHub",
            // GitHub ignores response_type.
            response_type_required: false,
            redirect_uri_optional: true,
            // GitHub answers scopes comma-separated but reads both.
            scope_separators: &[',', ' '],
            deny_description: "The user has denied your application access.",
            deny_extra: &[(
                "error_uri",
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
            )],
            ..base
        },
        Network::Facebook => Spec {
            authorize_path: "/v19.0/dialog/oauth",
            token_path: "/v19.0/oauth/access_token",
            userinfo_path: "/v19.0/me",
            client_id: "1234567890123456",
            client_secret: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
            title: "Facebook",
            // response_type defaults to code.
            response_type_required: false,
            pkce_methods: &["S256", "plain"],
            scope_separators: &[',', ' '],
            default_scope: Some("public_profile"),
            implicit_scope: Some("public_profile"),
            deny_description: "Permissions error.",
            deny_extra: &[("error_reason", "user_denied")],
            ..base
        },
        Network::X => Spec {
            authorize_path: "/i/oauth2/authorize",
            token_path: "/2/oauth2/token",
            userinfo_path: "/2/users/me",
            client_id: "dGhpc0lzQW5YQ2xpZW50SWQ6MTpjaQ",
            client_secret: "Wq9rT3yU7iO1pA5sD8fG2hJ6kL0zX4cV9bN3mQ7wE1rT5yU8iO",
            title: "X",
            state_required: true,
            pkce_required: true,
            pkce_methods: &["S256", "plain"],
            default_scope: None,
            deny_description: "The user denied the request",
            ..base
        },
        Network::Custom => Spec {
            authorize_path: "/oauth/authorize",
            token_path: "/oauth/token",
            userinfo_path: "/api/v1/whoami",
            client_id: "socialgate-demo",
            client_secret: "c5t0m-s3cr3t-9f8e7d6c",
            title: "Example ID",
            pkce_required: true,
            scope_separators: &[','],
            default_scope: Some("profile"),
            known_scopes: Some(&["profile", "mail"]),
            deny_description: "The resource owner denied the request",
            ..base
        },
    }
}

// ---------------------------------------------------------------------------------------------
// State

type Params = Vec<(String, String)>;

/// What an authorization code (and then its access token) stands for.
#[derive(Clone, Debug)]
struct Grant {
    person: Person,
    redirect_uri: String,
    scopes: Vec<String>,
    /// (method, challenge).
    challenge: Option<(String, String)>,
    /// VK ID binds the code to the device it issued along with it.
    device_id: Option<String>,
}

impl Grant {
    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

struct NetState {
    behaviour: Behaviour,
    person: Person,
    calls: HashMap<&'static str, usize>,
    codes: HashMap<String, Grant>,
    /// Facebook tells a used code from an unknown one.
    spent_codes: HashSet<String>,
    tokens: HashMap<String, Grant>,
    last_authorize_params: Params,
    last_token_params: Params,
    last_token_authorization: Option<String>,
    last_userinfo_params: Params,
    counter: u64,
}

impl NetState {
    fn bump(&mut self, endpoint: &'static str) {
        *self.calls.entry(endpoint).or_insert(0) += 1;
    }

    /// A fresh random-looking string; unique within this fake.
    fn fresh(&mut self, alphabet: &[u8], len: usize) -> String {
        self.counter += 1;
        super::fake_http::random_string(self.counter, alphabet, len)
    }

    /// Stores `grant` under a fresh access token with the network's look.
    fn issue_token(&mut self, network: Network, grant: Grant) -> String {
        let token = match network {
            Network::VkId => format!("vk2.a.{}", self.fresh(TOKEN_ALPHABET, 96)),
            Network::Yandex => format!("y0_AgAAAA{}", self.fresh(TOKEN_ALPHABET, 48)),
            Network::MailRu => self.fresh(HEX, 40),
            Network::GitHub => format!("gho_{}", self.fresh(ALNUM, 35)),
            Network::Facebook => format!("EAAR{}", self.fresh(ALNUM, 160)),
            Network::X => self.fresh(TOKEN_ALPHABET, 80),
            Network::Custom => format!("cst_{}", self.fresh(ALNUM, 32)),
        };
        self.tokens.insert(token.clone(), grant);
        token
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct Shared {
    network: Network,
    spec: Spec,
    /// The only redirect_uri registered in the app.
    redirect_uri: String,
    state: Mutex<NetState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, NetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The grant behind an access token, if it is one this fake issued.
    fn grant_for(&self, token: Option<&str>) -> Option<Grant> {
        token.and_then(|t| self.lock().tokens.get(t).cloned())
    }
}

/// A running fake network (stays up until the test's runtime ends).
pub struct FakeNetwork {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeNetwork {
    /// Starts `network`'s fake on 127.0.0.1:0 with `redirect_uri` as the app's only one.
    pub async fn start(network: Network, redirect_uri: &str) -> FakeNetwork {
        let spec = spec(network);
        let state = NetState {
            behaviour: Behaviour::Normal,
            person: Person::sample(network),
            calls: HashMap::new(),
            codes: HashMap::new(),
            spent_codes: HashSet::new(),
            tokens: HashMap::new(),
            last_authorize_params: Vec::new(),
            last_token_params: Vec::new(),
            last_token_authorization: None,
            last_userinfo_params: Vec::new(),
            counter: 0,
        };
        let shared = Arc::new(Shared {
            network,
            spec: spec.clone(),
            redirect_uri: redirect_uri.to_owned(),
            state: Mutex::new(state),
        });
        // Token endpoints take POST only, except Facebook's; profile endpoints take what the
        // real ones take.
        let token_route = match network {
            Network::Facebook => get(token).post(token),
            _ => post(token),
        };
        let userinfo_route = match network {
            Network::VkId => post(userinfo),
            Network::Yandex | Network::MailRu => get(userinfo).post(userinfo),
            _ => get(userinfo),
        };
        let mut app = Router::new()
            .route(spec.authorize_path, get(authorize))
            .route(spec.token_path, token_route)
            .route(spec.userinfo_path, userinfo_route);
        if network == Network::GitHub {
            app = app.route("/user/emails", get(github_emails));
        }
        let app = app.with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake network on 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake network local address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeNetwork {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn network(&self) -> Network {
        self.shared.network
    }

    pub fn authorize_url(&self) -> String {
        format!("{}{}", self.base_url, self.shared.spec.authorize_path)
    }

    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url, self.shared.spec.token_path)
    }

    /// The profile endpoint.
    pub fn userinfo_url(&self) -> String {
        format!("{}{}", self.base_url, self.shared.spec.userinfo_path)
    }

    pub fn client_id(&self) -> &str {
        self.shared.spec.client_id
    }

    pub fn client_secret(&self) -> &str {
        self.shared.spec.client_secret
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.shared.lock().behaviour = b;
    }

    /// Who logs in at the next authorize.
    pub fn set_person(&self, p: Person) {
        self.shared.lock().person = p;
    }

    /// Requests seen by "authorize" | "token" | "userinfo" | "emails" (0 for anything else).
    pub fn calls(&self, endpoint: &str) -> usize {
        self.shared.lock().calls.get(endpoint).copied().unwrap_or(0)
    }

    pub fn last_authorize_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_authorize_params.clone()
    }

    /// Query then form body of the last token request.
    pub fn last_token_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_token_params.clone()
    }

    pub fn last_token_authorization(&self) -> Option<String> {
        self.shared.lock().last_token_authorization.clone()
    }

    /// Query then form body of the last profile request.
    pub fn last_userinfo_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_userinfo_params.clone()
    }
}

/// PKCE S256: base64url-no-pad(sha256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Facebook's `appsecret_proof`: lowercase hex HMAC-SHA256(key = app secret, access token).
pub fn appsecret_proof(client_secret: &str, access_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    hmac::sign(&key, access_token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Request and response helpers

/// A parameter that is present and not empty.
fn given<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    param(params, name).filter(|v| !v.is_empty())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The credentials of an `Authorization` header whose scheme is one of `schemes`.
fn auth_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let (scheme, rest) = header_str(headers, header::AUTHORIZATION)?.split_once(' ')?;
    schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// HTTP Basic client credentials, each form-urldecoded as RFC 6749 §2.3.1 asks.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = STANDARD.decode(auth_token(headers, &["Basic"])?).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// Client credentials from HTTP Basic if sent, else from the body.
fn client_credentials(
    params: &[(String, String)],
    headers: &HeaderMap,
) -> (Option<String>, Option<String>) {
    if let Some((id, secret)) = basic_credentials(headers) {
        return (Some(id), Some(secret));
    }
    (
        param(params, "client_id").map(str::to_owned),
        param(params, "client_secret").map(str::to_owned),
    )
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn html_page(status: StatusCode, title: &str, text: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{status}</h1><p>{text}</p></body></html>"
    );
    (status, Html(page)).into_response()
}

/// "YYYY-MM-DD" → "DD.MM.YYYY".
fn iso_to_dmy(iso: &str) -> Option<String> {
    let mut parts = iso.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{d}.{m}.{y}"))
}

/// A numeric-looking id as a JSON number, for the networks whose ids are numbers.
fn id_number(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n))
}

fn full_name(p: &Person) -> String {
    format!("{} {}", p.first_name, p.last_name)
        .trim()
        .to_owned()
}

/// RFC 7636: 43..=128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The verifier matches the challenge; without a challenge there must be no verifier.
fn pkce_ok(grant: &Grant, verifier: Option<&str>) -> bool {
    match (&grant.challenge, verifier) {
        (None, None) => true,
        (Some((method, challenge)), Some(v)) if valid_verifier(v) => match method.as_str() {
            "S256" => pkce_s256(v) == *challenge,
            "plain" => v == challenge,
            _ => false,
        },
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// GET authorize (all networks)

async fn authorize(State(sh): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = collect_params(query.as_deref(), &HeaderMap::new(), &[]);
    let spec = &sh.spec;
    let mut st = sh.lock();
    st.bump("authorize");
    st.last_authorize_params = params.clone();

    // Client and redirect_uri problems are a page: never redirect to an unverified address.
    if param(&params, "client_id") != Some(spec.client_id) {
        return html_page(
            StatusCode::BAD_REQUEST,
            spec.title,
            "Invalid client_id: no such application.",
        );
    }
    let redirect_uri = match param(&params, "redirect_uri") {
        Some(r) if r == sh.redirect_uri => r,
        None if spec.redirect_uri_optional => sh.redirect_uri.as_str(),
        _ => {
            return html_page(
                StatusCode::BAD_REQUEST,
                spec.title,
                "The redirect_uri does not match the one registered for this application.",
            );
        }
    };
    let Ok(target) = Url::parse(redirect_uri) else {
        return html_page(StatusCode::BAD_REQUEST, spec.title, "Invalid redirect_uri.");
    };
    let state = param(&params, "state");
    let fail = |error: &str, description: &str, extra: &[(&str, &str)]| {
        let mut url = target.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("error", error)
                .append_pair("error_description", description);
            for (k, v) in extra {
                q.append_pair(k, v);
            }
            if let Some(s) = state {
                q.append_pair("state", s);
            }
        }
        redirect(&url)
    };

    match param(&params, "response_type") {
        Some("code") => {}
        None if !spec.response_type_required => {}
        None => return fail("invalid_request", "response_type is required", &[]),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "response_type must be code",
                &[],
            );
        }
    }
    if spec.state_required && state.is_none_or(str::is_empty) {
        return fail("invalid_request", "state is required", &[]);
    }

    let requested = match (given(&params, "scope"), spec.default_scope) {
        (Some(s), _) => s,
        (None, Some(default)) => default,
        (None, None) => return fail("invalid_request", "scope is required", &[]),
    };
    let mut scopes: Vec<String> = spec.implicit_scope.map(str::to_owned).into_iter().collect();
    for s in requested
        .split(|c| spec.scope_separators.contains(&c))
        .filter(|s| !s.is_empty())
    {
        if spec.known_scopes.is_some_and(|known| !known.contains(&s)) {
            return fail("invalid_scope", &format!("Invalid scope: {s}"), &[]);
        }
        if !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_owned());
        }
    }

    let method = given(&params, "code_challenge_method");
    let challenge = match given(&params, "code_challenge") {
        None if spec.pkce_required => {
            return fail("invalid_request", "code_challenge is required", &[]);
        }
        None => None,
        Some(_) if spec.pkce_required && method.is_none() => {
            return fail("invalid_request", "code_challenge_method is required", &[]);
        }
        Some(c) => {
            // RFC 7636: no method means plain.
            let m = method.unwrap_or("plain");
            if !spec.pkce_methods.contains(&m) {
                return fail(
                    "invalid_request",
                    "code_challenge_method is not supported",
                    &[],
                );
            }
            Some((m.to_owned(), c.to_owned()))
        }
    };

    if st.behaviour == Behaviour::Deny {
        return fail("access_denied", spec.deny_description, spec.deny_extra);
    }

    let code = match sh.network {
        Network::Facebook => format!("AQ{}", st.fresh(TOKEN_ALPHABET, 120)),
        Network::GitHub => st.fresh(HEX, 19),
        _ => st.fresh(ALNUM, 30),
    };
    let device_id = (sh.network == Network::VkId).then(|| st.fresh(TOKEN_ALPHABET, 40));
    let grant = Grant {
        person: st.person.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        challenge,
        device_id: device_id.clone(),
    };
    st.codes.insert(code.clone(), grant);

    let mut url = target.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        if let Some(d) = &device_id {
            q.append_pair("device_id", d)
                .append_pair("expires_in", "600")
                .append_pair("type", "code_v2");
        }
    }
    redirect(&url)
}

// ---------------------------------------------------------------------------------------------
// Token endpoints

async fn token(
    State(sh): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = collect_params(query.as_deref(), &headers, &body);
    let behaviour = {
        let mut st = sh.lock();
        st.bump("token");
        st.last_token_params = params.clone();
        st.last_token_authorization =
            header_str(&headers, header::AUTHORIZATION).map(str::to_owned);
        st.behaviour
    };
    if behaviour == Behaviour::TokenHttp500 {
        return html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            sh.spec.title,
            "500 Internal Server Error",
        );
    }
    match sh.network {
        Network::VkId => vkid_token(&sh, &params),
        Network::Yandex => yandex_token(&sh, &params, &headers),
        Network::MailRu => mailru_token(&sh, &params, &headers),
        Network::GitHub => github_token(&sh, &params, &headers),
        Network::Facebook => facebook_token(&sh, &params),
        Network::X => x_token(&sh, &params, &headers),
        Network::Custom => custom_token(&sh, &params, &headers),
    }
}

/// The RFC 6749 error body most networks use.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// VK ID: PKCE only, no client_secret; the code is bound to device_id.
fn vkid_token(sh: &Shared, p: &[(String, String)]) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    match given(p, "client_id") {
        None => return oauth_error(bad, "invalid_request", "client_id is missing"),
        Some(c) if c != sh.spec.client_id => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id is invalid",
            );
        }
        Some(_) => {}
    }
    for name in ["grant_type", "code", "state"] {
        if given(p, name).is_none() {
            return oauth_error(bad, "invalid_request", &format!("{name} is missing"));
        }
    }
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(bad, "unsupported_grant_type", "grant_type is invalid");
    }
    let code = param(p, "code").unwrap_or_default();
    let mut st = sh.lock();
    // One-time: the code is gone as soon as it is presented (even if the rest is wrong).
    let Some(grant) = st.codes.remove(code) else {
        return oauth_error(bad, "invalid_grant", "code is invalid or expired");
    };
    if given(p, "device_id") != grant.device_id.as_deref() {
        return oauth_error(bad, "invalid_grant", "device_id is invalid");
    }
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(bad, "invalid_grant", "redirect_uri is invalid");
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "code_verifier is invalid");
    }
    let user_id = id_number(&grant.person.id);
    let scope = grant.scopes.join(" ");
    let token = st.issue_token(sh.network, grant);
    let refresh = format!("vk2.a.{}", st.fresh(TOKEN_ALPHABET, 96));
    let id_token = fake_jwt(
        &json!({ "alg": "RS256", "typ": "JWT", "kid": "vkid-fake" }),
        &json!({ "iss": "VK", "sub": user_id, "app": sh.spec.client_id, "iat": now_secs(), "exp": now_secs() + 3600 }),
        &st.fresh(TOKEN_ALPHABET, 86),
    );
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "refresh_token": refresh,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "user_id": user_id,
            "state": param(p, "state"),
            "scope": scope,
        }),
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Looks like a JWT; nobody verifies its signature.
fn fake_jwt(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        signature
    )
}

/// Yandex: credentials in the body or HTTP Basic; code_verifier iff a challenge was sent.
fn yandex_token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let (id, secret) = client_credentials(p, headers);
    if id.as_deref() != Some(sh.spec.client_id) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client not found",
        );
    }
    if secret.as_deref() != Some(sh.spec.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Wrong client secret",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    match param(p, "grant_type") {
        Some("authorization_code") => {}
        None => return oauth_error(bad, "invalid_request", "Missing grant_type"),
        Some(_) => return oauth_error(bad, "unsupported_grant_type", "Unsupported grant_type"),
    }
    let Some(code) = given(p, "code") else {
        return oauth_error(bad, "invalid_request", "Missing code");
    };
    let mut st = sh.lock();
    let Some(grant) = st.codes.remove(code) else {
        return oauth_error(bad, "invalid_grant", "Code has expired");
    };
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "Code verifier is not valid");
    }
    let token = st.issue_token(sh.network, grant);
    let refresh = format!("1:{}", st.fresh(TOKEN_ALPHABET, 60));
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "expires_in": 31536000,
            "refresh_token": refresh,
            "token_type": "bearer",
        }),
    )
}

/// Mail.ru errors carry a numeric `error_code` next to `error`.
fn mailru_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_code": code, "error_description": description }),
    )
}

fn mailru_token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let (id, secret) = client_credentials(p, headers);
    if id.as_deref() != Some(sh.spec.client_id) || secret.as_deref() != Some(sh.spec.client_secret)
    {
        return mailru_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            2,
            "invalid client",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    if param(p, "grant_type") != Some("authorization_code") {
        return mailru_error(bad, "unsupported_grant_type", 5, "unsupported grant_type");
    }
    let Some(code) = given(p, "code") else {
        return mailru_error(bad, "invalid_request", 3, "code is required");
    };
    let Some(redirect_uri) = given(p, "redirect_uri") else {
        return mailru_error(bad, "invalid_request", 3, "redirect_uri is required");
    };
    let mut st = sh.lock();
    let Some(grant) = st.codes.remove(code) else {
        return mailru_error(bad, "invalid_grant", 4, "invalid code");
    };
    if redirect_uri != grant.redirect_uri {
        return mailru_error(bad, "invalid_grant", 4, "invalid redirect_uri");
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return mailru_error(bad, "invalid_grant", 4, "invalid code_verifier");
    }
    let token = st.issue_token(sh.network, grant);
    let refresh = st.fresh(HEX, 40);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "refresh_token": refresh, "expires_in": 3600 }),
    )
}

/// GitHub answers form-encoded unless asked for JSON, errors included, always HTTP 200.
fn github_answer(headers: &HeaderMap, fields: &[(&str, &str)]) -> Response {
    let wants_json = header_str(headers, header::ACCEPT)
        .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"));
    if wants_json {
        let obj: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        return json_response(StatusCode::OK, Value::Object(obj));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    text_response(
        StatusCode::OK,
        "application/x-www-form-urlencoded; charset=utf-8",
        body,
    )
}

const GITHUB_TOKEN_ERRORS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

fn github_token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let error = |error: &str, description: &str, anchor: &str| {
        let uri = format!("{GITHUB_TOKEN_ERRORS}/#{anchor}");
        github_answer(
            headers,
            &[
                ("error", error),
                ("error_description", description),
                ("error_uri", &uri),
            ],
        )
    };
    if param(p, "client_id") != Some(sh.spec.client_id)
        || param(p, "client_secret") != Some(sh.spec.client_secret)
    {
        return error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
            "incorrect-client-credentials",
        );
    }
    let bad_code = || {
        error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
            "bad-verification-code",
        )
    };
    let mut st = sh.lock();
    let Some(grant) = given(p, "code").and_then(|c| st.codes.remove(c)) else {
        return bad_code();
    };
    if param(p, "redirect_uri").is_some_and(|r| r != grant.redirect_uri) {
        return error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
            "redirect-uri-mismatch",
        );
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return bad_code();
    }
    let scope = grant.scopes.join(",");
    let token = st.issue_token(sh.network, grant);
    github_answer(
        headers,
        &[
            ("access_token", &token),
            ("scope", &scope),
            ("token_type", "bearer"),
        ],
    )
}

/// Facebook errors are an object under `error`, with a trace id.
fn facebook_error(sh: &Shared, kind: &str, code: u32, message: &str) -> Response {
    facebook_error_with(sh, kind, code, message, None)
}

fn facebook_error_with(
    sh: &Shared,
    kind: &str,
    code: u32,
    message: &str,
    subcode: Option<u32>,
) -> Response {
    let trace = sh.lock().fresh(ALNUM, 10);
    let mut err = json!({ "message": message, "type": kind, "code": code, "fbtrace_id": trace });
    if let Some(sub) = subcode {
        err["error_subcode"] = json!(sub);
    }
    json_response(StatusCode::BAD_REQUEST, json!({ "error": err }))
}

fn facebook_token(sh: &Shared, p: &[(String, String)]) -> Response {
    let oauth = "OAuthException";
    match given(p, "client_id") {
        None => return facebook_error(sh, oauth, 101, "Missing client_id parameter."),
        Some(c) if c != sh.spec.client_id => {
            return facebook_error(
                sh,
                oauth,
                101,
                "Error validating application. Invalid application ID.",
            );
        }
        Some(_) => {}
    }
    let Some(redirect_uri) = given(p, "redirect_uri") else {
        return facebook_error(sh, oauth, 191, "Missing redirect_uri parameter.");
    };
    if param(p, "client_secret") != Some(sh.spec.client_secret) {
        return facebook_error(sh, oauth, 1, "Error validating client secret.");
    }
    let Some(code) = given(p, "code") else {
        return facebook_error(sh, oauth, 1, "Missing authorization code");
    };
    let taken = {
        let mut st = sh.lock();
        let grant = st.codes.remove(code);
        let spent = !st.spent_codes.insert(code.to_owned());
        (grant, spent)
    };
    let grant = match taken {
        (Some(g), _) => g,
        (None, true) => {
            return facebook_error_with(
                sh,
                oauth,
                100,
                "This authorization code has been used.",
                Some(36009),
            );
        }
        (None, false) => {
            return facebook_error(sh, oauth, 100, "Invalid verification code format.");
        }
    };
    if redirect_uri != grant.redirect_uri {
        return facebook_error_with(
            sh,
            oauth,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            Some(36008),
        );
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return facebook_error(sh, oauth, 100, "Invalid code verifier.");
    }
    let token = sh.lock().issue_token(sh.network, grant);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": 5183944 }),
    )
}

/// X: a confidential client must authenticate with HTTP Basic.
fn x_token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let expected = (
        sh.spec.client_id.to_owned(),
        sh.spec.client_secret.to_owned(),
    );
    if basic_credentials(headers) != Some(expected) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    for name in ["grant_type", "code", "redirect_uri"] {
        if given(p, name).is_none() {
            return oauth_error(
                bad,
                "invalid_request",
                &format!("Missing required parameter [{name}]."),
            );
        }
    }
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(
            bad,
            "invalid_request",
            "Value passed for the grant type was invalid.",
        );
    }
    let invalid_code = || {
        oauth_error(
            bad,
            "invalid_request",
            "Value passed for the authorization code was invalid.",
        )
    };
    let mut st = sh.lock();
    let Some(grant) = st.codes.remove(param(p, "code").unwrap_or_default()) else {
        return invalid_code();
    };
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            bad,
            "invalid_request",
            "Value passed for the redirect uri did not match the uri of the authorization code.",
        );
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return invalid_code();
    }
    let scope = grant.scopes.join(" ");
    let offline = grant.has("offline.access");
    let token = st.issue_token(sh.network, grant);
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": token,
        "scope": scope,
    });
    // X gives a refresh token only for offline.access.
    if offline {
        answer["refresh_token"] = json!(st.fresh(TOKEN_ALPHABET, 80));
    }
    json_response(StatusCode::OK, answer)
}

/// Custom: HTTP Basic only, PKCE S256 always.
fn custom_token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let unauthorized = |description: &str| {
        let mut resp = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"example-id\""),
        );
        resp
    };
    if param(p, "client_secret").is_some() {
        return unauthorized("client_secret_post is not allowed; use HTTP Basic");
    }
    let Some((id, secret)) = basic_credentials(headers) else {
        return unauthorized("client authentication required");
    };
    if id != sh.spec.client_id
        || secret != sh.spec.client_secret
        || param(p, "client_id").is_some_and(|c| c != id)
    {
        return unauthorized("client authentication failed");
    }
    let bad = StatusCode::BAD_REQUEST;
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(
            bad,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let Some(code) = given(p, "code") else {
        return oauth_error(bad, "invalid_request", "code is required");
    };
    let mut st = sh.lock();
    let Some(grant) = st.codes.remove(code) else {
        return oauth_error(bad, "invalid_grant", "unknown or used code");
    };
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(bad, "invalid_grant", "redirect_uri mismatch");
    }
    if !pkce_ok(&grant, param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "PKCE verification failed");
    }
    let scope = grant.scopes.join(",");
    let token = st.issue_token(sh.network, grant);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": scope }),
    )
}

// ---------------------------------------------------------------------------------------------
// Profile endpoints

async fn userinfo(
    State(sh): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = collect_params(query.as_deref(), &headers, &body);
    let behaviour = {
        let mut st = sh.lock();
        st.bump("userinfo");
        st.last_userinfo_params = params.clone();
        st.behaviour
    };
    // GitHub refuses a request without User-Agent before anything else.
    if sh.network == Network::GitHub {
        if let Some(refusal) = github_needs_user_agent(&headers) {
            return refusal;
        }
    }
    match behaviour {
        Behaviour::UserinfoHttp500 => {
            return html_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                sh.spec.title,
                "500 Internal Server Error",
            );
        }
        Behaviour::UserinfoError => return invalid_token(&sh),
        _ => {}
    }
    match sh.network {
        Network::VkId => vkid_userinfo(&sh, &params),
        Network::Yandex => yandex_info(&sh, &params, &headers),
        Network::MailRu => mailru_userinfo(&sh, &params),
        Network::GitHub => github_user(&sh, &headers),
        Network::Facebook => facebook_me(&sh, &params, &headers),
        Network::X => x_users_me(&sh, &params, &headers),
        Network::Custom => custom_whoami(&sh, &headers),
    }
}

/// Each network's documented answer to an unknown access token (never echoing it).
fn invalid_token(sh: &Shared) -> Response {
    match sh.network {
        Network::VkId => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "invalid access_token",
        ),
        Network::Yandex => text_response(
            StatusCode::UNAUTHORIZED,
            "text/plain; charset=utf-8",
            "401 Unauthorized: OAuth token is missing, invalid or expired".to_owned(),
        ),
        // Quirk: HTTP 200.
        Network::MailRu => mailru_error(StatusCode::OK, "invalid_token", 2, "token not found"),
        Network::GitHub => json_response(
            StatusCode::UNAUTHORIZED,
            json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            }),
        ),
        Network::Facebook => facebook_error(
            sh,
            "OAuthException",
            190,
            "Invalid OAuth access token - Cannot parse access token",
        ),
        Network::X => json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" }),
        ),
        Network::Custom => json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "status": "error", "message": "bad token" }),
        ),
    }
}

/// POST /oauth2/user_info (form: client_id, access_token).
fn vkid_userinfo(sh: &Shared, p: &[(String, String)]) -> Response {
    let grant = sh.grant_for(param(p, "access_token"));
    let Some(grant) = grant.filter(|_| param(p, "client_id") == Some(sh.spec.client_id)) else {
        return invalid_token(sh);
    };
    let person = &grant.person;
    let mut user = Map::new();
    user.insert("user_id".to_owned(), json!(person.id));
    user.insert("first_name".to_owned(), json!(person.first_name));
    user.insert("last_name".to_owned(), json!(person.last_name));
    user.insert("avatar".to_owned(), json!(person.picture));
    if let Some(email) = person.email.as_ref().filter(|_| grant.has("email")) {
        user.insert("email".to_owned(), json!(email));
    }
    user.insert("phone".to_owned(), json!("79*******00"));
    let sex = match person.gender.as_deref() {
        Some("female") => 1,
        Some("male") => 2,
        _ => 0,
    };
    user.insert("sex".to_owned(), json!(sex));
    user.insert("verified".to_owned(), json!(false));
    if let Some(b) = person.birthdate.as_deref().and_then(iso_to_dmy) {
        user.insert("birthday".to_owned(), json!(b));
    }
    json_response(StatusCode::OK, json!({ "user": Value::Object(user) }))
}

/// GET /info with `Authorization: OAuth <token>`; fields by granted scope.
fn yandex_info(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["OAuth"])) else {
        return invalid_token(sh);
    };
    if param(p, "format") != Some("json") {
        return text_response(
            StatusCode::OK,
            "text/xml; charset=utf-8",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<user/>".to_owned(),
        );
    }
    let person = &grant.person;
    let mut info = Map::new();
    info.insert("id".to_owned(), json!(person.id));
    info.insert("login".to_owned(), json!(person.login));
    info.insert("client_id".to_owned(), json!(sh.spec.client_id));
    info.insert(
        "psuid".to_owned(),
        json!(format!("1.AAqbmw.{}.c2FtcGxlLXBzdWlk", person.id)),
    );
    if grant.has("login:info") {
        info.insert("display_name".to_owned(), json!(person.login));
        info.insert("real_name".to_owned(), json!(full_name(person)));
        info.insert("first_name".to_owned(), json!(person.first_name));
        info.insert("last_name".to_owned(), json!(person.last_name));
        info.insert("sex".to_owned(), json!(person.gender));
    }
    if grant.has("login:email") {
        info.insert("default_email".to_owned(), json!(person.email));
        let emails: Vec<&String> = person.email.iter().collect();
        info.insert("emails".to_owned(), json!(emails));
    }
    if grant.has("login:avatar") {
        info.insert("default_avatar_id".to_owned(), json!(YANDEX_AVATAR_ID));
        info.insert("is_avatar_empty".to_owned(), json!(false));
    }
    if grant.has("login:birthday") {
        info.insert("birthday".to_owned(), json!(person.birthdate));
    }
    json_response(StatusCode::OK, Value::Object(info))
}

/// GET /userinfo?access_token=…
fn mailru_userinfo(sh: &Shared, p: &[(String, String)]) -> Response {
    let Some(grant) = sh.grant_for(param(p, "access_token")) else {
        return invalid_token(sh);
    };
    let person = &grant.person;
    let mut info = Map::new();
    info.insert("id".to_owned(), json!(person.id));
    info.insert("email".to_owned(), json!(person.email));
    info.insert("name".to_owned(), json!(full_name(person)));
    info.insert("first_name".to_owned(), json!(person.first_name));
    info.insert("last_name".to_owned(), json!(person.last_name));
    info.insert("nickname".to_owned(), json!(person.login));
    match person.gender.as_deref() {
        Some("female") => {
            info.insert("gender".to_owned(), json!("f"));
        }
        Some("male") => {
            info.insert("gender".to_owned(), json!("m"));
        }
        _ => {}
    }
    if let Some(image) = &person.picture {
        info.insert("image".to_owned(), json!(image));
    }
    if let Some(b) = person.birthdate.as_deref().and_then(iso_to_dmy) {
        info.insert("birthday".to_owned(), json!(b));
    }
    info.insert(
        "locale".to_owned(),
        json!(person.locale.as_deref().unwrap_or("ru_RU")),
    );
    json_response(StatusCode::OK, Value::Object(info))
}

fn github_needs_user_agent(headers: &HeaderMap) -> Option<Response> {
    header_str(headers, header::USER_AGENT)
        .filter(|ua| !ua.trim().is_empty())
        .is_none()
        .then(|| {
            text_response(
                StatusCode::FORBIDDEN,
                "text/plain; charset=utf-8",
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n".to_owned(),
            )
        })
}

/// The grant behind GitHub's `Authorization: Bearer|token <t>`, or the refusal to send.
fn github_auth(sh: &Shared, headers: &HeaderMap, docs: &str) -> Result<Grant, Box<Response>> {
    let Some(token) = auth_token(headers, &["Bearer", "token"]) else {
        return Err(Box::new(json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "message": "Requires authentication", "documentation_url": docs, "status": "401" }),
        )));
    };
    sh.grant_for(Some(token))
        .ok_or_else(|| Box::new(invalid_token(sh)))
}

fn github_user(sh: &Shared, headers: &HeaderMap) -> Response {
    let grant = match github_auth(
        sh,
        headers,
        "https://docs.github.com/rest/users/users#get-the-authenticated-user",
    ) {
        Ok(g) => g,
        Err(resp) => return *resp,
    };
    let person = &grant.person;
    let name = full_name(person);
    let node_id = STANDARD.encode(format!("04:User{}", person.id));
    let mut resp = json_response(
        StatusCode::OK,
        json!({
            "login": person.login,
            "id": id_number(&person.id),
            "node_id": node_id,
            "avatar_url": person.picture,
            "gravatar_id": "",
            "url": format!("https://api.github.com/users/{}", person.login),
            "html_url": format!("https://github.com/{}", person.login),
            "type": "User",
            "site_admin": false,
            "name": if name.is_empty() { Value::Null } else { json!(name) },
            "company": null,
            "blog": "",
            "location": null,
            // The person keeps the address private: only /user/emails shows it.
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "public_repos": 8,
            "public_gists": 1,
            "followers": 20,
            "following": 0,
            "created_at": "2008-01-14T04:33:35Z",
            "updated_at": "2024-05-02T10:11:12Z",
        }),
    );
    if let Ok(v) = header::HeaderValue::from_str(&grant.scopes.join(", ")) {
        resp.headers_mut().insert("x-oauth-scopes", v);
    }
    resp
}

/// GET /user/emails: needs `user:email` (or `user`) granted.
async fn github_emails(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let behaviour = {
        let mut st = sh.lock();
        st.bump("emails");
        st.behaviour
    };
    if let Some(refusal) = github_needs_user_agent(&headers) {
        return refusal;
    }
    match behaviour {
        Behaviour::UserinfoHttp500 => {
            return html_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                sh.spec.title,
                "500 Internal Server Error",
            );
        }
        Behaviour::UserinfoError => return invalid_token(&sh),
        _ => {}
    }
    let docs =
        "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user";
    let grant = match github_auth(&sh, &headers, docs) {
        Ok(g) => g,
        Err(resp) => return *resp,
    };
    if !(grant.has("user:email") || grant.has("user")) {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({ "message": "Not Found", "documentation_url": docs, "status": "404" }),
        );
    }
    let person = &grant.person;
    let primary_verified = behaviour != Behaviour::EmailsPrimaryUnverified;
    let noreply = format!("{}+{}@users.noreply.github.com", person.id, person.login);
    let list = match &person.email {
        Some(email) => json!([
            { "email": noreply, "primary": false, "verified": true, "visibility": null },
            { "email": email, "primary": true, "verified": primary_verified, "visibility": "private" },
        ]),
        None => json!([
            { "email": noreply, "primary": true, "verified": primary_verified, "visibility": null },
        ]),
    };
    json_response(StatusCode::OK, list)
}

/// Real /me fields this fake does not model: requested, they are silently left out.
const FACEBOOK_OMITTED_FIELDS: &[&str] = &[
    "birthday",
    "gender",
    "link",
    "middle_name",
    "short_name",
    "name_format",
    "age_range",
    "locale",
];

/// GET /v19.0/me?fields=… with the token as Bearer or `access_token`, plus appsecret_proof.
fn facebook_me(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let token = auth_token(headers, &["Bearer", "OAuth"]).or_else(|| given(p, "access_token"));
    let Some(token) = token else {
        return facebook_error(
            sh,
            "OAuthException",
            2500,
            "An active access token must be used to query information about the current user.",
        );
    };
    let Some(grant) = sh.grant_for(Some(token)) else {
        return invalid_token(sh);
    };
    let proof_required = sh.lock().behaviour != Behaviour::RequireNoProof;
    if proof_required {
        match given(p, "appsecret_proof") {
            None => {
                return facebook_error(
                    sh,
                    "GraphMethodException",
                    100,
                    "API calls from the server require an appsecret_proof argument",
                );
            }
            Some(proof) if proof != appsecret_proof(sh.spec.client_secret, token) => {
                return facebook_error(
                    sh,
                    "GraphMethodException",
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                );
            }
            Some(_) => {}
        }
    }
    let person = &grant.person;
    let fields = given(p, "fields").unwrap_or("id,name");
    let mut me = Map::new();
    for raw in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        // `picture.type(large)` or `picture{url}`: the field is the name before modifiers.
        let field = raw.split(['.', '{', '(']).next().unwrap_or_default().trim();
        let value = match field {
            "id" => json!(person.id),
            "name" => json!(full_name(person)),
            "first_name" => json!(person.first_name),
            "last_name" => json!(person.last_name),
            "email" => match person.email.as_ref().filter(|_| grant.has("email")) {
                Some(e) => json!(e),
                None => continue,
            },
            "picture" => match &person.picture {
                Some(url) => json!({ "data": {
                    "height": 50, "is_silhouette": false, "url": url, "width": 50,
                } }),
                None => continue,
            },
            f if FACEBOOK_OMITTED_FIELDS.contains(&f) => continue,
            f => {
                return facebook_error(
                    sh,
                    "OAuthException",
                    100,
                    &format!("(#100) Tried accessing nonexisting field ({f}) on node type (User)"),
                );
            }
        };
        me.insert(field.to_owned(), value);
    }
    json_response(StatusCode::OK, Value::Object(me))
}

/// Accepted `user.fields` values; the ones not rendered are left out of the answer.
const X_USER_FIELDS: &[&str] = &[
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];

/// GET /2/users/me with Bearer; needs `users.read` and `tweet.read`.
fn x_users_me(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["Bearer"])) else {
        return invalid_token(sh);
    };
    if !(grant.has("users.read") && grant.has("tweet.read")) {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({
                "title": "Forbidden",
                "type": "https://api.twitter.com/2/problems/oauth2-insufficient-scope",
                "status": 403,
                "detail": "Missing required scopes: tweet.read users.read",
            }),
        );
    }
    let fields: Vec<&str> = given(p, "user.fields")
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = fields.iter().find(|f| !X_USER_FIELDS.contains(f)) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "errors": [{
                    "parameters": { "user.fields": [bad] },
                    "message": format!("The `user.fields` query parameter value [{bad}] is not one of [{}]", X_USER_FIELDS.join(",")),
                }],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }),
        );
    }
    let person = &grant.person;
    let mut data = Map::new();
    data.insert("id".to_owned(), json!(person.id));
    data.insert("name".to_owned(), json!(full_name(person)));
    data.insert("username".to_owned(), json!(person.login));
    if let Some(url) = person
        .picture
        .as_ref()
        .filter(|_| fields.contains(&"profile_image_url"))
    {
        data.insert("profile_image_url".to_owned(), json!(url));
    }
    if fields.contains(&"verified") {
        data.insert("verified".to_owned(), json!(false));
    }
    if fields.contains(&"protected") {
        data.insert("protected".to_owned(), json!(false));
    }
    json_response(StatusCode::OK, json!({ "data": Value::Object(data) }))
}

/// GET /api/v1/whoami with Bearer: the nested shape a descriptor has to map.
fn custom_whoami(sh: &Shared, headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["Bearer"])) else {
        return invalid_token(sh);
    };
    if !grant.has("profile") {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({ "status": "error", "message": "insufficient scope" }),
        );
    }
    let person = &grant.person;
    let mut contact = Map::new();
    if let Some(mail) = person.email.as_ref().filter(|_| grant.has("mail")) {
        contact.insert("mail".to_owned(), json!(mail));
    }
    contact.insert("mail_confirmed".to_owned(), json!(true));
    json_response(
        StatusCode::OK,
        json!({
            "status": "ok",
            "result": { "account": {
                "uid": id_number(&person.id),
                "display": full_name(person),
                "names": { "given": person.first_name, "family": person.last_name },
                "contact": Value::Object(contact),
                "avatar": { "url": person.picture },
            } },
        }),
    )
}

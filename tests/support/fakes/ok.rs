//! A fake OK.ru (Odnoklassniki) upstream for the integration tests.
//!
//! It reproduces the behaviour described in `docs/providers.md` ("OK.ru"): OAuth code flow with
//! `;`-separated scopes, a token endpoint that answers errors with HTTP 200, `expires_in` as a
//! string, and the `fb.do` REST endpoint with its own `sig` signature (implemented here
//! independently of the gateway, so the gateway's signing is checked against a second
//! implementation) and `error_code` objects at HTTP 200.
//!
//! The authorize endpoint plays the person consenting: it answers with a 302 straight away.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use url::Url;

use super::classic::{ClassicBehaviour, failing_api, failing_token};
use super::wire::{self, Incoming, Params, Query, param, redirect_with};
use super::{Fake, Recorder, bind};

/// The person who "logs in" at the fake's authorize endpoint.
#[derive(Clone, Debug)]
pub struct OkUser {
    pub uid: String,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
    pub gender: Option<String>,
    pub birthday: Option<String>,
    pub locale: Option<String>,
    pub pic190x190: Option<String>,
    pub email: Option<String>,
}

impl OkUser {
    pub fn sample() -> Self {
        OkUser {
            uid: "575123456789".to_owned(),
            name: "Иван Петров".to_owned(),
            first_name: "Иван".to_owned(),
            last_name: "Петров".to_owned(),
            gender: Some("male".to_owned()),
            birthday: Some("1990-05-17".to_owned()),
            locale: Some("ru".to_owned()),
            pic190x190: Some("https://i.mycdn.me/i?r=sample".to_owned()),
            email: Some("ivan@example.ru".to_owned()),
        }
    }
}

/// The OK application as registered at ok.ru/devaccess.
#[derive(Clone, Debug)]
pub struct FakeOkConfig {
    pub app_id: String,
    pub public_key: String,
    pub secret_key: String,
    /// The only redirect_uri registered in the app.
    pub redirect_uri: String,
    /// OK support granted GET_EMAIL to this app.
    pub app_has_get_email: bool,
    pub user: OkUser,
    /// `expires_in` of the access tokens it issues (OK's own is about 30 minutes).
    pub token_lifetime: String,
}

impl FakeOkConfig {
    pub fn new(redirect_uri: &str) -> Self {
        FakeOkConfig {
            app_id: "512000000001".to_owned(),
            public_key: "CBAFJIICABABABABA".to_owned(),
            secret_key: "0F1E2D3C4B5A69788796A5B4".to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            app_has_get_email: true,
            user: OkUser::sample(),
            token_lifetime: "1800".to_owned(),
        }
    }
}

/// What the fake OK does wrong (or, for `Normal`, right) from now on.
pub type OkBehaviour = ClassicBehaviour;

/// Lowercase hex MD5 of a UTF-8 string.
pub fn md5_hex(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(input.as_bytes());
    let mut out = String::with_capacity(32);
    for byte in digest.iter() {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0x0f) as usize] as char);
    }
    out
}

/// `session_secret_key = lowercase_hex(md5(access_token + application_secret_key))`.
pub fn session_secret_key(access_token: &str, secret_key: &str) -> String {
    md5_hex(&format!("{access_token}{secret_key}"))
}

/// OK's `sig`: every parameter except `sig`, `access_token` and `session_key`, sorted by name
/// (byte order), joined as `name=value` with no separator (raw values), followed by `secret`
/// (the session secret key for calls in a user's session), md5, lowercase hex.
pub fn sign_params<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], secret: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| !matches!(*k, "sig" | "access_token" | "session_key"))
        .collect();
    pairs.sort();
    let mut joined = String::new();
    for (k, v) in pairs {
        joined.push_str(k);
        joined.push('=');
        joined.push_str(v);
    }
    joined.push_str(secret);
    md5_hex(&joined)
}

#[derive(Clone, Debug)]
pub struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    user: OkUser,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    user: OkUser,
    scope_has_get_email: bool,
}

pub struct OkState {
    refresh_tokens: HashMap<String, IssuedToken>,
    /// Sessions of apps launched inside OK: session_key → (session_secret_key, person).
    launches: HashMap<String, (String, OkUser)>,
    /// Group tokens of the Bot API, and how many calls each made.
    group_tokens: HashMap<String, (GroupToken, usize)>,
}

upstream!(OkState: FakeOkConfig, OkBehaviour, OkUser, IssuedCode, IssuedToken);

/// A fresh (counter, 32 hex chars) pair; unique within this fake.
fn fresh(rec: &mut Recorder) -> (u64, String) {
    let n = rec.next();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (n, md5_hex(&format!("ok:{nanos}:{n}")))
}

/// A running fake OK server: requests are counted as "authorize", "token" and "api".
pub type FakeOk = Fake<OkState>;

impl FakeOk {
    pub async fn start(config: FakeOkConfig) -> FakeOk {
        let own = OkState {
            refresh_tokens: HashMap::new(),
            launches: HashMap::new(),
            group_tokens: GroupToken::known(),
        };
        let routes = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token.do", post(token))
            .route("/fb.do", get(api).post(api))
            .route(
                "/api/users/getCurrentUser",
                get(api_get_current_user).post(api_get_current_user),
            )
            .route("/graph/me/chats", get(graph_chats));
        let (behaviour, person) = (OkBehaviour::Normal, config.user.clone());
        Fake::serve(bind().await, config, behaviour, person, own, routes)
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.base_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token.do", self.base_url)
    }

    pub fn api_url(&self) -> String {
        format!("{}/fb.do", self.base_url)
    }

    /// OK opens the app inside its iframe for the current person: the parameters it puts in
    /// the app's URL, with a fresh session, `auth_sig` and `sig` (over every parameter but
    /// `sig`, with the app's secret key). `extra` adds context (`refplace`, `custom_args`…).
    pub fn launch(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let cfg = self.config();
        let (user, session_key, session_secret) = {
            let mut st = self.shared().lock();
            let (_, key) = fresh(&mut st.rec);
            let (_, secret) = fresh(&mut st.rec);
            let session_key = format!("-s-{key}");
            let user = st.person.clone();
            st.launches
                .insert(session_key.clone(), (secret.clone(), user.clone()));
            (user, session_key, secret)
        };
        let auth_sig = md5_hex(&format!("{}{session_key}{}", user.uid, cfg.secret_key));
        let mut params: Vec<(String, String)> = [
            ("api_server", "https://api.ok.ru/"),
            ("apiconnection", "512000000001_1700000000000"),
            ("application_key", cfg.public_key.as_str()),
            ("auth_sig", auth_sig.as_str()),
            ("authorized", "1"),
            ("logged_user_id", user.uid.as_str()),
            ("session_key", session_key.as_str()),
            ("session_secret_key", session_secret.as_str()),
            ("web_server", "https://ok.ru"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let sig = launch_sig(&params, &cfg.secret_key);
        params.push(("sig".to_owned(), sig));
        params
    }

    /// OK ends a launch's session (the person left, or it timed out).
    pub fn end_launch_session(&self, session_key: &str) {
        self.shared().lock().launches.remove(session_key);
    }
}

/// The `sig` of launch parameters: every parameter but `sig` (`session_key` included),
/// sorted, joined, then the app's secret key.
pub fn launch_sig<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], secret_key: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != "sig")
        .collect();
    pairs.sort();
    let joined: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    md5_hex(&format!("{joined}{secret_key}"))
}

// ---------------------------------------------------------------------------------------------
// Request helpers

fn html_page(status: StatusCode, title: &str, message: &str) -> Response {
    wire::html_page(status, title, &format!("<h1>{title}</h1><p>{message}</p>"))
}

/// OK's page when it fails with `status`.
fn failure_page(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "Произошла ошибка. Попробуйте позже.",
        StatusCode::BAD_GATEWAY => "The server returned an invalid or incomplete response.",
        _ => "",
    };
    html_page(status, &status.to_string(), message)
}

// ---------------------------------------------------------------------------------------------
// GET /oauth/authorize

async fn authorize(State(sh): State<Arc<Shared>>, Query(params): Query) -> Response {
    let cfg = &sh.config;
    let mut st = sh.lock();
    st.rec.record("authorize", &params);

    // Every problem here is a 400 page: OK never redirects to an unverified redirect_uri.
    if param(&params, "client_id") != Some(cfg.app_id.as_str()) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Ошибка",
            "Приложение не найдено (invalid client_id)",
        );
    }
    let redirect_uri = match param(&params, "redirect_uri") {
        Some(r) if r == cfg.redirect_uri => r,
        _ => {
            return html_page(
                StatusCode::BAD_REQUEST,
                "Ошибка",
                "redirect_uri не совпадает с адресом, указанным в настройках приложения",
            );
        }
    };
    if param(&params, "response_type") != Some("code") {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Ошибка",
            "Unsupported response_type",
        );
    }
    let state = match param(&params, "state") {
        Some(s) if !s.is_empty() => s,
        _ => return html_page(StatusCode::BAD_REQUEST, "Ошибка", "Missing state"),
    };
    let Ok(target) = Url::parse(redirect_uri) else {
        return html_page(StatusCode::BAD_REQUEST, "Ошибка", "Invalid redirect_uri");
    };

    if st.behaviour == OkBehaviour::Deny {
        return redirect_with(&target, &[("error", "access_denied")], Some(state));
    }

    // Quirk: OK separates scopes with ';' (and only ';').
    let scopes: Vec<String> = param(&params, "scope")
        .unwrap_or("")
        .split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let (n, hex) = fresh(&mut st.rec);
    let code = format!("okc{n}{}", &hex[..24]);
    let issued = IssuedCode {
        client_id: cfg.app_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        user: st.person.clone(),
    };
    st.codes.insert(code.clone(), issued);
    redirect_with(&target, &[("code", &code)], Some(state))
}

// ---------------------------------------------------------------------------------------------
// POST /oauth/token.do

/// OK's habit: token errors come as a JSON body with **HTTP 200**, not 400/401 as RFC 6749 says.
/// The gateway must therefore look for `error` in the body whatever the status; the fake answers
/// 200 so that a gateway relying on the HTTP status alone fails the tests.
fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::OK,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(State(sh): State<Arc<Shared>>, Incoming { params, .. }: Incoming) -> Response {
    let behaviour = sh.seen("token", None);
    let json = "application/json;charset=utf-8";
    if let Some(failure) = failing_token(&behaviour, failure_page, json).await {
        return failure;
    }

    let cfg = &sh.config;
    let Some(grant_type) = param(&params, "grant_type") else {
        return token_error("invalid_request", "Missing required parameter: grant_type");
    };
    if grant_type != "authorization_code" && grant_type != "refresh_token" {
        return token_error("unsupported_grant_type", "Unsupported grant_type");
    }
    let (Some(client_id), Some(client_secret)) =
        (param(&params, "client_id"), param(&params, "client_secret"))
    else {
        return token_error(
            "invalid_request",
            "Missing required parameter: client_id or client_secret",
        );
    };
    if client_id != cfg.app_id || client_secret != cfg.secret_key {
        return token_error("invalid_client", "Invalid client_id or client_secret");
    }

    let mut st = sh.lock();
    if grant_type == "refresh_token" {
        let Some(refresh) = param(&params, "refresh_token") else {
            return token_error(
                "invalid_request",
                "Missing required parameter: refresh_token",
            );
        };
        let Some(grant) = st.refresh_tokens.get(refresh).cloned() else {
            return token_error("invalid_grant", "Invalid or expired refresh_token");
        };
        let (n, hex) = fresh(&mut st.rec);
        let access_token = format!("tkn.-{n}_{}", &hex[..26]);
        st.tokens.insert(access_token.clone(), grant);
        return (
            StatusCode::OK,
            Json(json!({
                "access_token": access_token,
                "token_type": "session",
                "expires_in": cfg.token_lifetime,
            })),
        )
            .into_response();
    }

    let (Some(code), Some(redirect_uri)) = (param(&params, "code"), param(&params, "redirect_uri"))
    else {
        return token_error(
            "invalid_request",
            "Missing required parameter: code or redirect_uri",
        );
    };
    // One-time: the code is gone as soon as it is presented (even if the rest is wrong).
    let Some(issued) = st.codes.remove(code) else {
        return token_error("invalid_grant", "Expired or already used code");
    };
    if issued.redirect_uri != redirect_uri || issued.client_id != client_id {
        return token_error("invalid_grant", "redirect_uri mismatch");
    }
    let grant = IssuedToken {
        user: issued.user,
        scope_has_get_email: issued.scopes.iter().any(|s| s == "GET_EMAIL"),
    };
    let (n, hex) = fresh(&mut st.rec);
    let access_token = format!("tkn.-{n}_{}", &hex[..26]);
    let refresh_token = format!("rfr.-{n}_{}", &hex[6..]);
    st.tokens.insert(access_token.clone(), grant.clone());
    st.refresh_tokens.insert(refresh_token.clone(), grant);
    (
        StatusCode::OK,
        Json(json!({
            "access_token": access_token,
            "token_type": "session",
            "refresh_token": refresh_token,
            // Quirk: a string, not a number.
            "expires_in": cfg.token_lifetime,
        })),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// GET|POST /fb.do  (and /api/users/getCurrentUser)

fn ok_error_msg(code: u32) -> &'static str {
    match code {
        1 => "UNKNOWN : Unknown error",
        2 => "SERVICE : Service is temporarily unavailable",
        3 => "METHOD : Method not found",
        4 => "REQUEST : Failed to process request",
        7 => "ACTION_BLOCKED : The requested action is temporarily blocked",
        8 => "FLOOD_BLOCKED : Flood blocked",
        9 => "IP_BLOCKED : IP blocked",
        10 => "PERMISSION_DENIED : Permission denied",
        11 => "LIMIT_REACHED : Limit reached",
        100 => "PARAM : Missing or invalid parameter",
        101 => "PARAM_API_KEY : Application key is invalid",
        102 => "PARAM_SESSION_EXPIRED : Session expired",
        103 => "PARAM_SESSION_KEY : Invalid session key",
        104 => "PARAM_SIGNATURE : Invalid signature",
        105 => "PARAM_RESIGNATURE : Invalid re-signature",
        200..=299 => "PARAM_PERMISSION : No permission to call this method",
        300 => "NOT_FOUND : Requested resource not found",
        _ => "UNKNOWN : Unknown error",
    }
}

/// Quirk: every REST error is HTTP 200 with an `error_code` object.
fn api_error(code: u32) -> Response {
    api_error_saying(code, None)
}

fn api_error_saying(code: u32, message: Option<&str>) -> Response {
    (
        StatusCode::OK,
        Json(json!({
            "error_code": code,
            "error_data": null,
            "error_msg": message.unwrap_or(ok_error_msg(code)),
        })),
    )
        .into_response()
}

async fn api(State(sh): State<Arc<Shared>>, Incoming { params, .. }: Incoming) -> Response {
    api_common(sh, params, None).await
}

async fn api_get_current_user(
    State(sh): State<Arc<Shared>>,
    Incoming { params, .. }: Incoming,
) -> Response {
    api_common(sh, params, Some("users.getCurrentUser")).await
}

async fn api_common(sh: Arc<Shared>, params: Params, implied_method: Option<&str>) -> Response {
    let behaviour = sh.seen("api", Some(&params));
    if let Some(failure) = failing_api(&behaviour, failure_page, api_error_saying).await {
        return failure;
    }

    let cfg = &sh.config;
    if param(&params, "application_key") != Some(cfg.public_key.as_str()) {
        return api_error(101);
    }
    // A login's access token, or a launched app's session_key with its own secret.
    let session = match (
        param(&params, "access_token"),
        param(&params, "session_key"),
    ) {
        (Some(token), _) => sh.grant_for(Some(token)).map(|grant| {
            let secret = session_secret_key(token, &cfg.secret_key);
            (secret, grant.user, grant.scope_has_get_email)
        }),
        (None, Some(key)) => sh.lock().launches.get(key).cloned().map(|(secret, user)| {
            // An app launched inside OK has the permissions its app was granted.
            (secret, user, true)
        }),
        (None, None) => None,
    };
    let Some((secret, user, scope_has_get_email)) = session else {
        return api_error(102);
    };
    let expected = sign_params(&params, &secret);
    if param(&params, "sig") != Some(expected.as_str()) {
        return api_error(104);
    }
    let method = implied_method.or_else(|| param(&params, "method"));
    if method.is_some_and(|m| m.eq_ignore_ascii_case("users.getInfo")) {
        return users_get_info(&user, &params);
    }
    if !method.is_some_and(|m| m.eq_ignore_ascii_case("users.getCurrentUser")) {
        return api_error(3);
    }

    let email_allowed = cfg.app_has_get_email && scope_has_get_email;
    let fields = param(&params, "fields").filter(|f| !f.trim().is_empty());
    (
        StatusCode::OK,
        Json(user_json(&user, email_allowed, fields)),
    )
        .into_response()
}

fn user_json(user: &OkUser, email_allowed: bool, fields: Option<&str>) -> Value {
    let mut all: Vec<(&str, Value)> = vec![
        ("uid", json!(user.uid)),
        ("name", json!(user.name)),
        ("first_name", json!(user.first_name)),
        ("last_name", json!(user.last_name)),
    ];
    let optional = [
        ("gender", &user.gender),
        ("birthday", &user.birthday),
        ("locale", &user.locale),
        ("pic190x190", &user.pic190x190),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            all.push((k, json!(v)));
        }
    }
    all.push(("has_email", json!(user.email.is_some())));
    if let Some(email) = user.email.as_ref().filter(|_| email_allowed) {
        all.push(("email", json!(email)));
    }

    let wanted: Option<Vec<String>> = fields.map(|f| {
        f.split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let mut out = Map::new();
    for (k, v) in all {
        let keep = match &wanted {
            None => true,
            Some(w) => k == "uid" || w.iter().any(|f| f == k),
        };
        if keep {
            out.insert(k.to_owned(), v);
        }
    }
    Value::Object(out)
}

/// `users.getInfo`: the people among `uids` this fake knows (only its person), with the
/// fields asked for; OK answers a list.
fn users_get_info(user: &OkUser, params: &Params) -> Response {
    let Some(uids) = param(params, "uids") else {
        return api_error(100);
    };
    let fields = param(params, "fields").filter(|f| !f.trim().is_empty());
    let people: Vec<Value> = uids
        .split(',')
        .filter(|uid| uid.trim() == user.uid)
        .map(|_| user_json(user, false, fields))
        .collect();
    (StatusCode::OK, Json(Value::Array(people))).into_response()
}

// ---------------------------------------------------------------------------------------------
// GET /graph/me/chats  (the Bot API, with a group's token)

/// A group token this fake knows as alive from the start.
pub const GROUP_TOKEN_ALIVE: &str = "tkn1.group-alive-Qw7rT2yU9iO3pA5s";
/// A group token that has gone unused for 30 days (error 102).
pub const GROUP_TOKEN_EXPIRED: &str = "tkn1.group-expired-Zx4cV6bN8mL1kJ3h";
/// A group token whose group was issued a newer one (error 103).
pub const GROUP_TOKEN_REPLACED: &str = "tkn1.group-replaced-Gf5dS7aP9oI2uY4t";

/// What a group token is worth at the Bot API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupToken {
    Alive,
    /// Unused for 30 days: 102.
    Expired,
    /// A newer token was issued for the group: 103.
    Replaced,
}

impl GroupToken {
    fn known() -> HashMap<String, (GroupToken, usize)> {
        [
            (GROUP_TOKEN_ALIVE, GroupToken::Alive),
            (GROUP_TOKEN_EXPIRED, GroupToken::Expired),
            (GROUP_TOKEN_REPLACED, GroupToken::Replaced),
        ]
        .into_iter()
        .map(|(t, state)| (t.to_owned(), (state, 0)))
        .collect()
    }
}

impl FakeOk {
    /// The Bot API's base, as the gateway derives it from the REST endpoint.
    pub fn graph_url(&self) -> String {
        format!("{}/graph", self.base_url)
    }

    /// From now on `token` is worth `state` (a token it did not know becomes known).
    pub fn set_group_token(&self, token: &str, state: GroupToken) {
        let mut st = self.shared().lock();
        st.group_tokens
            .entry(token.to_owned())
            .or_insert((state, 0))
            .0 = state;
    }

    /// Calls the Bot API saw with `token`, whatever it answered.
    pub fn group_token_calls(&self, token: &str) -> usize {
        let st = self.shared().lock();
        st.group_tokens.get(token).map_or(0, |(_, calls)| *calls)
    }
}

/// The group's chats for a live token; OK's `error_code` objects (HTTP 200) otherwise: 102
/// for an expired token, 103 for a replaced or unknown one. `ApiHttp502` and `ApiHang` break
/// it as they break the REST API.
async fn graph_chats(State(sh): State<Arc<Shared>>, Query(params): Query) -> Response {
    let behaviour = sh.seen("graph", Some(&params));
    if let Some(failure) = failing_api(&behaviour, failure_page, api_error_saying).await {
        return failure;
    }
    let Some(token) = param(&params, "access_token") else {
        return api_error(100);
    };
    let state = {
        let mut st = sh.lock();
        st.group_tokens.get_mut(token).map(|(state, calls)| {
            *calls += 1;
            *state
        })
    };
    match state {
        Some(GroupToken::Alive) => (
            StatusCode::OK,
            Json(json!({
                "chats": [{ "chat_id": "chat:C3f5a1b2c3d4", "type": "CHAT", "status": "ACTIVE" }],
                "marker": null,
            })),
        )
            .into_response(),
        Some(GroupToken::Expired) => api_error(102),
        Some(GroupToken::Replaced) | None => api_error(103),
    }
}

//! A fake VK (classic OAuth, oauth.vk.ru / api.vk.ru) upstream for the integration tests.
//!
//! It reproduces the behaviour described in `docs/providers.md` ("VK — classic OAuth"): the
//! email arrives only in the token response, `user_id` is a JSON number, `users.get` requires
//! the `v` parameter, and API errors come as `{"error":{...}}` with HTTP 200.
//!
//! The authorize endpoint plays the person consenting: it answers with a 302 straight away.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use url::Url;

use super::classic::{ClassicBehaviour, failing_api, failing_token};
use super::wire::{self, Incoming, Query, param, redirect_with};
use super::{Fake, HEX, TOKEN_ALPHABET, bind};

/// The person who "logs in" at the fake's authorize endpoint.
#[derive(Clone, Debug)]
pub struct VkUser {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub photo_200: Option<String>,
    /// 0 unknown, 1 female, 2 male.
    pub sex: u8,
    /// "D.M.YYYY" or "D.M".
    pub bdate: Option<String>,
    pub screen_name: Option<String>,
    pub email: Option<String>,
}

impl VkUser {
    pub fn sample() -> Self {
        VkUser {
            id: 1234567,
            first_name: "Мария".to_owned(),
            last_name: "Иванова".to_owned(),
            photo_200: Some("https://sun9-1.userapi.com/sample.jpg".to_owned()),
            sex: 1,
            bdate: Some("7.11.1993".to_owned()),
            screen_name: Some("maria".to_owned()),
            email: Some("maria@example.ru".to_owned()),
        }
    }
}

/// The VK application as registered.
#[derive(Clone, Debug)]
pub struct FakeVkConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The only redirect_uri registered in the app.
    pub redirect_uri: String,
    pub user: VkUser,
}

impl FakeVkConfig {
    pub fn new(redirect_uri: &str) -> Self {
        FakeVkConfig {
            client_id: "51234567".to_owned(),
            client_secret: "vk-secret-Zx81".to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            user: VkUser::sample(),
        }
    }
}

/// What the fake VK does wrong (or, for `Normal`, right) from now on.
pub type VkBehaviour = ClassicBehaviour;

/// The `email` access right as a bit of the numeric scope mask.
const EMAIL_SCOPE_BIT: u64 = 1 << 22;

#[derive(Clone, Debug)]
pub struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    email_granted: bool,
    user: VkUser,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    user: VkUser,
}

/// VK keeps nothing beyond its codes and tokens.
pub struct VkState;

upstream!(VkState: FakeVkConfig, VkBehaviour, VkUser, IssuedCode, IssuedToken);

/// A running fake VK server: requests are counted as "authorize", "token" and "api".
pub type FakeVk = Fake<VkState>;

impl FakeVk {
    pub async fn start(config: FakeVkConfig) -> FakeVk {
        let routes = Router::new()
            .route("/authorize", get(authorize))
            .route("/access_token", get(access_token).post(access_token))
            .route("/method/users.get", get(users_get).post(users_get))
            .route("/method/{name}", get(method).post(method));
        let (behaviour, person) = (VkBehaviour::Normal, config.user.clone());
        Fake::serve(bind().await, config, behaviour, person, VkState, routes)
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.base_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/access_token", self.base_url)
    }

    pub fn users_get_url(&self) -> String {
        format!("{}/method/users.get", self.base_url)
    }
}

// ---------------------------------------------------------------------------------------------
// Request helpers

fn html_page(status: StatusCode, body: &str) -> Response {
    wire::html_page(status, "VK", &format!("<pre>{body}</pre>"))
}

/// VK's page when it fails with `status`.
fn failure_page(status: StatusCode) -> Response {
    html_page(status, &status.to_string())
}

/// VK shows authorize errors as a page whose text is a JSON error object.
fn authorize_error(error: &str, description: &str) -> Response {
    let text = json!({ "error": error, "error_description": description }).to_string();
    html_page(StatusCode::BAD_REQUEST, &text)
}

/// Scope: names separated by commas or spaces, or VK's numeric bit mask.
fn scope_has_email(scope: &str) -> bool {
    if let Ok(mask) = scope.trim().parse::<u64>() {
        return mask & EMAIL_SCOPE_BIT != 0;
    }
    scope
        .split([',', ' '])
        .any(|s| s.trim().eq_ignore_ascii_case("email"))
}

// ---------------------------------------------------------------------------------------------
// GET /authorize

async fn authorize(State(sh): State<Arc<Shared>>, Query(params): Query) -> Response {
    let cfg = &sh.config;
    let mut st = sh.lock();
    st.rec.record("authorize", &params);

    // Every problem here is a 400 page: VK never redirects to an unverified redirect_uri.
    if param(&params, "client_id") != Some(cfg.client_id.as_str()) {
        return authorize_error("invalid_client", "client_id is incorrect");
    }
    let redirect_uri = match param(&params, "redirect_uri") {
        Some(r) if r == cfg.redirect_uri => r,
        _ => {
            return authorize_error(
                "invalid_request",
                "redirect_uri is incorrect, check application redirect uri in the settings page",
            );
        }
    };
    if param(&params, "response_type") != Some("code") {
        return authorize_error("unsupported_response_type", "response_type is incorrect");
    }
    let Ok(target) = Url::parse(redirect_uri) else {
        return authorize_error("invalid_request", "redirect_uri is incorrect");
    };
    let state = param(&params, "state");

    if st.behaviour == VkBehaviour::Deny {
        let denial = [
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", "User denied your request"),
        ];
        return redirect_with(&target, &denial, state);
    }

    let email_granted = param(&params, "scope").is_some_and(scope_has_email);
    let code = st.rec.fresh(HEX, 18);
    let issued = IssuedCode {
        client_id: cfg.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        email_granted,
        user: st.person.clone(),
    };
    st.codes.insert(code.clone(), issued);
    redirect_with(&target, &[("code", &code)], state)
}

// ---------------------------------------------------------------------------------------------
// GET|POST /access_token

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn access_token(
    State(sh): State<Arc<Shared>>,
    Incoming { params, .. }: Incoming,
) -> Response {
    let behaviour = sh.seen("token", None);
    let json = "application/json; charset=utf-8";
    if let Some(failure) = failing_token(&behaviour, failure_page, json).await {
        return failure;
    }

    let cfg = &sh.config;
    if param(&params, "client_id") != Some(cfg.client_id.as_str()) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_id is incorrect",
        );
    }
    if param(&params, "client_secret") != Some(cfg.client_secret.as_str()) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_secret is incorrect",
        );
    }
    let Some(code) = param(&params, "code") else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is undefined",
        );
    };
    let invalid_grant = || {
        token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Code is invalid or expired.",
        )
    };
    let mut st = sh.lock();
    // One-time: the code is gone as soon as it is presented (even if the rest is wrong).
    let Some(issued) = st.codes.remove(code) else {
        return invalid_grant();
    };
    if param(&params, "redirect_uri") != Some(issued.redirect_uri.as_str())
        || issued.client_id != cfg.client_id
    {
        return invalid_grant();
    }
    let token = format!("vk1.a.{}", st.rec.fresh(TOKEN_ALPHABET, 120));
    st.tokens.insert(
        token.clone(),
        IssuedToken {
            user: issued.user.clone(),
        },
    );
    let mut answer = Map::new();
    answer.insert("access_token".to_owned(), json!(token));
    answer.insert("expires_in".to_owned(), json!(86400));
    // Quirk: a JSON number.
    answer.insert("user_id".to_owned(), json!(issued.user.id));
    // Quirk: the email arrives here (and only here), if granted.
    if let Some(email) = issued.user.email.as_ref().filter(|_| issued.email_granted) {
        answer.insert("email".to_owned(), json!(email));
    }
    (StatusCode::OK, Json(Value::Object(answer))).into_response()
}

// ---------------------------------------------------------------------------------------------
// GET|POST /method/users.get

fn vk_error_msg(code: u32) -> &'static str {
    match code {
        1 => "Unknown error occurred",
        2 => "Application is disabled. Enable your application or use test mode",
        5 => "User authorization failed: invalid access_token (4).",
        6 => "Too many requests per second",
        8 => "Invalid request: v (version) is required or invalid",
        9 => "Flood control",
        10 => "Internal server error",
        15 => "Access denied",
        17 => "Validation required",
        18 => "User was deleted or banned",
        29 => "Rate limit reached",
        30 => "This profile is private",
        100 => "One of the parameters specified was missing or invalid",
        113 => "Invalid user id",
        _ => "Unknown error occurred",
    }
}

/// Quirk: API errors are HTTP 200 with an `error` object; `request_params` echoes the call
/// (never the access_token).
fn api_error(code: u32, params: &[(String, String)]) -> Response {
    let mut echoed = vec![
        json!({ "key": "method", "value": "users.get" }),
        json!({ "key": "oauth", "value": "1" }),
    ];
    echoed.extend(
        params
            .iter()
            .filter(|(k, _)| k != "access_token")
            .map(|(k, v)| json!({ "key": k, "value": v })),
    );
    (
        StatusCode::OK,
        Json(json!({
            "error": {
                "error_code": code,
                "error_msg": vk_error_msg(code),
                "request_params": echoed,
            }
        })),
    )
        .into_response()
}

/// `v` must look like `5.N`.
fn valid_version(v: &str) -> bool {
    match v.split_once('.') {
        Some((major, minor)) => {
            major == "5" && !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

async fn users_get(State(sh): State<Arc<Shared>>, Incoming { params, .. }: Incoming) -> Response {
    let behaviour = sh.seen("api", Some(&params));
    let error = |code, _: Option<&str>| api_error(code, &params);
    if let Some(failure) = failing_api(&behaviour, failure_page, error).await {
        return failure;
    }

    let grant = sh.grant_for(param(&params, "access_token"));
    let Some(grant) = grant else {
        return api_error(5, &params);
    };
    if !param(&params, "v").is_some_and(valid_version) {
        return api_error(8, &params);
    }
    let user = &grant.user;
    if let Some(ids) = param(&params, "user_ids").filter(|s| !s.trim().is_empty()) {
        let id = user.id.to_string();
        let known = ids.split(',').map(str::trim).all(|one| {
            one == id || user.screen_name.as_deref() == Some(one) || one == format!("id{id}")
        });
        if !known {
            return api_error(113, &params);
        }
    }

    let fields: Vec<String> = param(&params, "fields")
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let wants = |name: &str| fields.iter().any(|f| f == name);

    let mut obj = Map::new();
    obj.insert("id".to_owned(), json!(user.id));
    obj.insert("first_name".to_owned(), json!(user.first_name));
    obj.insert("last_name".to_owned(), json!(user.last_name));
    obj.insert("can_access_closed".to_owned(), json!(true));
    obj.insert("is_closed".to_owned(), json!(false));
    if let Some(p) = user.photo_200.as_ref().filter(|_| wants("photo_200")) {
        obj.insert("photo_200".to_owned(), json!(p));
    }
    if wants("sex") {
        obj.insert("sex".to_owned(), json!(user.sex));
    }
    if let Some(b) = user.bdate.as_ref().filter(|_| wants("bdate")) {
        obj.insert("bdate".to_owned(), json!(b));
    }
    if let Some(s) = user.screen_name.as_ref().filter(|_| wants("screen_name")) {
        obj.insert("screen_name".to_owned(), json!(s));
    }
    // Never an `email` here: VK gives it only in the token response.
    (
        StatusCode::OK,
        Json(json!({ "response": [Value::Object(obj)] })),
    )
        .into_response()
}

/// Any other method: `messages.getHistory` answers the person's last message; the rest is
/// VK's error 3, "Unknown method passed". Token and `v` are checked as for `users.get`.
async fn method(
    State(sh): State<Arc<Shared>>,
    axum::extract::Path(name): axum::extract::Path<String>,
    Incoming { params, .. }: Incoming,
) -> Response {
    sh.seen("method", Some(&params));
    if sh.grant_for(param(&params, "access_token")).is_none() {
        return api_error(5, &params);
    }
    if !param(&params, "v").is_some_and(valid_version) {
        return api_error(8, &params);
    }
    if name != "messages.getHistory" {
        return api_error(3, &params);
    }
    let peer = param(&params, "peer_id").unwrap_or("0");
    (
        StatusCode::OK,
        Json(json!({ "response": { "count": 1, "items": [
            { "id": 1, "peer_id": peer, "text": "Здравствуйте! Когда доставка?" }
        ] } })),
    )
        .into_response()
}

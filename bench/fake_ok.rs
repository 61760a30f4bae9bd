//! A fast fake OK for the benchmark: the token endpoint and the signed `users.getCurrentUser`
//! call of a login, checking what OK checks (the app's secret, the MD5 `sig` with the session
//! secret key) and answering as OK does (errors at HTTP 200). Stateless, so it costs the shared
//! cores as little as possible: the code names the person, the token names the code.
//!
//! The person's visit to OK itself (its login form) is not served: the simulated browser
//! takes the gateway's redirect to OK and comes back to `/callback/ok` with a code, as OK would
//! send it after the person allowed access.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use md5::{Digest, Md5};

pub const APP_ID: &str = "512000000001";
pub const PUBLIC_KEY: &str = "CBAFJIICABABABABA";
pub const SECRET_KEY: &str = "0F1E2D3C4B5A69788796A5B4";

/// The code OK would hand the person `uid` (unique per login: `n`).
pub fn code_for(uid: u64, n: u64) -> String {
    format!("okc{uid}x{n}")
}

pub async fn start() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/oauth/token.do", post(token))
        .route("/fb.do", post(api));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn json(body: String) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body,
    )
}

fn error(code: &str, description: &str) -> axum::response::Response {
    // OK answers errors with HTTP 200.
    json(format!(
        r#"{{"error":"{code}","error_description":"{description}"}}"#
    ))
    .into_response()
}

async fn token(RawQuery(query): RawQuery, body: Bytes) -> axum::response::Response {
    let mut params = form(&body);
    params.extend(form(query.unwrap_or_default().as_bytes()));
    if get(&params, "grant_type") != Some("authorization_code") {
        return error("unsupported_grant_type", "Unsupported grant_type");
    }
    if get(&params, "client_id") != Some(APP_ID)
        || get(&params, "client_secret") != Some(SECRET_KEY)
    {
        return error("invalid_client", "Invalid client_id or client_secret");
    }
    let (Some(code), Some(_redirect_uri)) = (get(&params, "code"), get(&params, "redirect_uri"))
    else {
        return error("invalid_request", "Missing code or redirect_uri");
    };
    let Some(rest) = code.strip_prefix("okc") else {
        return error("invalid_grant", "Expired or already used code");
    };
    json(format!(
        r#"{{"access_token":"tkn.-{rest}","token_type":"session","refresh_token":"rfr.-{rest}","expires_in":"1800"}}"#
    ))
    .into_response()
}

fn md5_hex(input: &[u8]) -> String {
    Md5::digest(input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// OK's `sig`: every parameter but `sig`, `access_token` and `session_key`, sorted, joined as
/// `name=value`, then the session secret key; MD5, lowercase hex.
fn sig(params: &[(String, String)], secret: &str) -> String {
    let mut pairs: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "sig" | "access_token" | "session_key"))
        .collect();
    pairs.sort();
    let mut joined = String::new();
    for (k, v) in pairs {
        joined.push_str(k);
        joined.push('=');
        joined.push_str(v);
    }
    joined.push_str(secret);
    md5_hex(joined.as_bytes())
}

fn api_error(code: u32, message: &str) -> axum::response::Response {
    json(format!(
        r#"{{"error_code":{code},"error_msg":"{message}","error_data":null}}"#
    ))
    .into_response()
}

async fn api(body: Bytes) -> axum::response::Response {
    let params = form(&body);
    if get(&params, "method") != Some("users.getCurrentUser") {
        return api_error(3, "METHOD : Method not found");
    }
    if get(&params, "application_key") != Some(PUBLIC_KEY) {
        return api_error(101, "PARAM_API_KEY : Application not exist");
    }
    let Some(token) = get(&params, "access_token") else {
        return api_error(102, "PARAM_SESSION_EXPIRED : Session expired");
    };
    let secret = md5_hex(format!("{token}{SECRET_KEY}").as_bytes());
    if get(&params, "sig") != Some(sig(&params, &secret).as_str()) {
        return api_error(104, "PARAM_SIGNATURE : Invalid signature");
    }
    let Some(uid) = token
        .strip_prefix("tkn.-")
        .and_then(|rest| rest.split('x').next())
    else {
        return api_error(102, "PARAM_SESSION_EXPIRED : Session expired");
    };
    json(format!(
        r#"{{"uid":"{uid}","name":"Иван Петров","first_name":"Иван","last_name":"Петров","gender":"male","birthday":"1990-05-17","locale":"ru","pic190x190":"https://i.mycdn.me/i?r=bench","email":"p{uid}@example.ru"}}"#
    ))
    .into_response()
}

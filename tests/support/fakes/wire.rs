//! What every fake network does the same way: reading parameters and credentials, answering
//! redirects, pages and JSON, checking PKCE, making up unique random-looking strings without a
//! rand crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

pub type Params = Vec<(String, String)>;

/// Whether the request body is `application/x-www-form-urlencoded`.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Parameters from the query string, then from a form body.
pub fn collect_params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Params {
    let mut out: Params = Vec::new();
    if let Some(q) = query {
        out.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if is_form(headers) && !body.is_empty() {
        out.extend(url::form_urlencoded::parse(body).into_owned());
    }
    out
}

/// Parameters from the query string alone.
pub fn query_params(query: Option<&str>) -> Params {
    collect_params(query, &HeaderMap::new(), &[])
}

/// Extracts the query string's parameters.
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(query_params(parts.uri.query())))
    }
}

/// Extracts a request's parameters (query string, then form body) and its headers.
pub struct Incoming {
    pub params: Params,
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(str::to_owned);
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = collect_params(query.as_deref(), &headers, &body);
        Ok(Incoming { params, headers })
    }
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A parameter that is present and not empty.
pub fn given<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    param(params, name).filter(|v| !v.is_empty())
}

pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The credentials of an `Authorization` header whose scheme is one of `schemes`.
pub fn auth_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let (scheme, rest) = header_str(headers, header::AUTHORIZATION)?.split_once(' ')?;
    schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// HTTP Basic client credentials, each form-urldecoded as RFC 6749 §2.3.1 asks.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
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
pub fn client_credentials(
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

/// Strict form-urldecoding of one component (`+` is a space); `None` for a broken escape.
pub fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

pub fn redirect(target: &Url) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, target.as_str().to_owned())],
    )
        .into_response()
}

/// `target` with `pairs` appended to its query, and `state` last when there is one.
pub fn redirect_with(target: &Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut url = target.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    redirect(&url)
}

pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

pub fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An HTML page titled `title` whose body is `body_html`.
pub fn html_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body>{body_html}</body></html>"
    );
    (status, Html(page)).into_response()
}

/// The RFC 6749 error body most networks use.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// A network that never answers.
pub async fn hang() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// PKCE S256: base64url-no-pad(sha256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636: 43..=128 unreserved characters.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A well-formed `verifier` matches `challenge` by `method` ("S256" or "plain").
pub fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    valid_verifier(verifier)
        && match method {
            "S256" => pkce_s256(verifier) == challenge,
            "plain" => verifier == challenge,
            _ => false,
        }
}

/// `counter` followed by `len` characters of `alphabet`: unique per counter value.
pub fn random_string(counter: u64, alphabet: &[u8], len: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 over (time, counter).
    let mut x = nanos ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = format!("{counter}");
    for _ in 0..len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push(alphabet[(z % alphabet.len() as u64) as usize] as char);
    }
    out
}

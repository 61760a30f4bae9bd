//! What every fake network does the same way: reading parameters, answering redirects,
//! making up unique random-looking strings without a rand crate.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

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
pub fn collect_params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(q) = query {
        out.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if is_form(headers) && !body.is_empty() {
        out.extend(url::form_urlencoded::parse(body).into_owned());
    }
    out
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn redirect(target: &Url) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, target.as_str().to_owned())],
    )
        .into_response()
}

/// A network that never answers.
pub async fn hang() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
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

//! The one upstream HTTP client (rustls on aws-lc-rs, timeouts) and the helpers every
//! network call goes through: bounded bodies, failures classified once.

use std::time::Duration;

use reqwest::StatusCode;

use super::UpstreamError;

/// Largest upstream answer read; profile and token answers are a few kilobytes.
const MAX_BODY: usize = 1024 * 1024;

/// Builds the shared upstream client. Every call is bounded by `timeout`, so a network
/// that hangs never holds a login open.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // Idempotent: a second call (tests start many gateways) finds the provider installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("socialgate/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends a request and reads the answer. Transport failures, timeouts and 5xx answers are
/// `Unavailable`: a site may retry later.
pub async fn send(
    network: &str,
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, Vec<u8>), UpstreamError> {
    let unavailable = |detail: String| UpstreamError::Unavailable {
        network: network.to_string(),
        detail,
    };
    let mut response = request
        .send()
        .await
        .map_err(|e| unavailable(describe(&e)))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(unavailable(format!("it answered HTTP {}", status.as_u16())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamError::Malformed {
                network: network.to_string(),
                detail: "the answer is larger than 1 MiB".into(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// Parses an answer as a JSON object.
pub fn json(network: &str, body: &[u8]) -> Result<serde_json::Value, UpstreamError> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(UpstreamError::Malformed {
            network: network.to_string(),
            detail: "the answer is not a JSON object".into(),
        }),
    }
}

/// A transport error in words, without the URL (whose query may hold a token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "the connection failed".into()
    }
}

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
        _ => Err(not_json(network, "a JSON object")),
    }
}

/// Parses an API answer: any JSON (OK's methods answer lists too).
pub fn json_value(network: &str, body: &[u8]) -> Result<serde_json::Value, UpstreamError> {
    serde_json::from_slice(body).map_err(|_| not_json(network, "JSON"))
}

fn not_json(network: &str, what: &str) -> UpstreamError {
    UpstreamError::Malformed {
        network: network.to_string(),
        detail: format!("the answer is not {what}"),
    }
}

/// A network's error answer, whatever its shape: OAuth's `error` and `error_description`,
/// Facebook's and VK's `error` object, OK's `error_code` and `error_msg`.
#[derive(Debug, PartialEq, Eq)]
pub struct ApiError {
    /// `invalid_grant`, or `error 102` for a numbered one.
    pub error: String,
    pub detail: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{} ({d})", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// The one reader of error answers; `None` when the answer is not an error.
pub fn parse_error(v: &serde_json::Value) -> Option<ApiError> {
    let text = |v: &serde_json::Value, k: &str| match v.get(k) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(clean(s)),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let numbered = |code: String, detail| ApiError {
        error: format!("error {code}"),
        detail,
    };
    match v.get("error") {
        Some(serde_json::Value::String(e)) => {
            return Some(ApiError {
                error: clean(e),
                detail: text(v, "error_description"),
            });
        }
        Some(obj @ serde_json::Value::Object(_)) => {
            let code = text(obj, "code")
                .or_else(|| text(obj, "error_code"))
                .unwrap_or_default();
            let msg = text(obj, "message").or_else(|| text(obj, "error_msg"));
            return Some(numbered(code, msg));
        }
        _ => {}
    }
    let code = text(v, "error_code")?;
    Some(numbered(code, text(v, "error_msg")))
}

/// A network's error answer in words, `error (detail)`; `None` when it is not an error.
pub fn describe_error(v: &serde_json::Value) -> Option<String> {
    parse_error(v).map(|e| e.to_string())
}

/// Upstream text on its way into an error description: printable, short.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
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

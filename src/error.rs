//! Every error a person or a site can meet, and — in one place — how each becomes an HTTP
//! answer: an HTML page (never a redirect to an unchecked URI), a redirect back to the site
//! with RFC 6749 `error`, a JSON token error, or a bearer-token error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::keys::KeyError;
use crate::store::StoreError;
use crate::web;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be trusted to carry a redirect target: shown as a page.
    #[error("{0}")]
    Page(#[from] PageError),
    /// Sent back to the site's (already verified) redirect URI.
    #[error("{} ({})", .0.code.as_str(), .0.description)]
    Site(Box<SiteError>),
    /// RFC 6749 §5.2 answer from the token endpoint.
    #[error("{} ({})", .0.as_str(), .1)]
    Token(TokenErrorCode, String),
    /// RFC 6750 §3.1 answer from the userinfo endpoint.
    #[error("invalid_token ({0})")]
    InvalidToken(String),
    /// No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    #[error("no bearer token")]
    NoToken,
    /// The store failed during a login: a 503 page.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store (or the keys in it) failed at an API endpoint: a 503 JSON answer.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => Error::Store(e),
            KeyError::NotLoaded => Error::Store(StoreError::Unavailable(e.to_string())),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    /// The same error at the token and revocation endpoints, which answer in JSON.
    pub fn for_token_endpoint(self) -> Self {
        match self {
            Error::Store(_) | Error::Unavailable(_) => {
                tracing::error!(error = %self, "store failure at the token endpoint");
                Error::token(
                    TokenErrorCode::TemporarilyUnavailable,
                    "the service cannot reach its storage; retry later",
                )
            }
            Error::Internal(e) => {
                tracing::error!(error = %e, "internal error at the token endpoint");
                Error::token(TokenErrorCode::ServerError, "internal error")
            }
            other => other,
        }
    }

    /// The same error for an API caller: store trouble as JSON rather than a page.
    pub fn for_api(self) -> Self {
        match self {
            Error::Store(e) => Error::Unavailable(e.to_string()),
            other => other,
        }
    }
}

/// Errors shown to the person as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("the request's parameters cannot be read")]
    MalformedRequest,
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    #[error("unknown client_id")]
    UnknownClient,
    #[error("the redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
    #[error("the login link is invalid or has expired")]
    BadState,
    #[error("unknown provider")]
    UnknownProvider,
    #[error("the login was started in another browser")]
    OtherBrowser,
    #[error("the logout request's id_token_hint is invalid")]
    BadLogoutHint,
    #[error("the post_logout_redirect_uri is not registered for the client")]
    UnregisteredPostLogoutUri,
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::UnknownProvider => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// (English, Russian) explanation for the person.
    fn explain(&self) -> (String, String) {
        match self {
            PageError::MalformedRequest => (
                "The site sent a login request that cannot be read.".into(),
                "Сайт отправил запрос на вход, который невозможно прочитать.".into(),
            ),
            PageError::MissingParameter(p) => (
                format!("The site sent an incomplete login request: `{p}` is missing."),
                format!("Сайт отправил неполный запрос на вход: нет параметра `{p}`."),
            ),
            PageError::UnknownClient => (
                "The site that sent you here is not registered with this login service.".into(),
                "Сайт, с которого вы пришли, не зарегистрирован в этой службе входа.".into(),
            ),
            PageError::UnregisteredRedirectUri => (
                "The site asked to return you to an address it has not registered. For your safety, you are not sent there.".into(),
                "Сайт попросил вернуть вас на незарегистрированный адрес. Ради вашей безопасности переход не выполнен.".into(),
            ),
            PageError::BadState => (
                "This login link is invalid, was already used, or has expired. Go back to the site and start the login again.".into(),
                "Ссылка входа недействительна, уже использована или устарела. Вернитесь на сайт и начните вход заново.".into(),
            ),
            PageError::OtherBrowser => (
                "This login was started in another browser (or cookies are blocked). Go back to the site and start the login again in this browser.".into(),
                "Этот вход был начат в другом браузере (или cookies отключены). Вернитесь на сайт и начните вход заново в этом браузере.".into(),
            ),
            PageError::UnknownProvider => (
                "This login method does not exist.".into(),
                "Такого способа входа нет.".into(),
            ),
            PageError::BadLogoutHint => (
                "The site sent a logout request that this login service did not issue.".into(),
                "Сайт отправил запрос на выход, который эта служба входа не выдавала.".into(),
            ),
            PageError::UnregisteredPostLogoutUri => (
                "The site asked to return you after logout to an address it has not registered. For your safety, you are not sent there.".into(),
                "Сайт попросил вернуть вас после выхода на незарегистрированный адрес. Ради вашей безопасности переход не выполнен.".into(),
            ),
        }
    }
}

/// An error returned to the site at its redirect URI.
#[derive(Debug)]
pub struct SiteError {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub issuer: String,
    pub code: SiteErrorCode,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteErrorCode {
    InvalidRequest,
    InvalidScope,
    UnsupportedResponseType,
    AccessDenied,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
}

impl SiteErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteErrorCode::InvalidRequest => "invalid_request",
            SiteErrorCode::InvalidScope => "invalid_scope",
            SiteErrorCode::UnsupportedResponseType => "unsupported_response_type",
            SiteErrorCode::AccessDenied => "access_denied",
            SiteErrorCode::LoginRequired => "login_required",
            SiteErrorCode::RequestNotSupported => "request_not_supported",
            SiteErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            SiteErrorCode::ServerError => "server_error",
            SiteErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenErrorCode {
    InvalidRequest,
    /// `basic`: the client tried HTTP Basic, so the answer carries `WWW-Authenticate`.
    InvalidClient {
        basic: bool,
    },
    InvalidGrant,
    InvalidScope,
    UnsupportedGrantType,
    ServerError,
    TemporarilyUnavailable,
}

impl TokenErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::InvalidRequest => "invalid_request",
            TokenErrorCode::InvalidClient { .. } => "invalid_client",
            TokenErrorCode::InvalidGrant => "invalid_grant",
            TokenErrorCode::InvalidScope => "invalid_scope",
            TokenErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenErrorCode::ServerError => "server_error",
            TokenErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

impl Error {
    pub fn token(code: TokenErrorCode, description: impl Into<String>) -> Self {
        Error::Token(code, description.into())
    }
}

impl From<SiteError> for Error {
    fn from(e: SiteError) -> Self {
        Error::Site(Box::new(e))
    }
}

/// Appends OAuth response parameters to a redirect URI, keeping its own query (RFC 6749
/// §3.1.2: a registered `?action=…` stays, ours follow with `&`).
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        // Registered URIs were validated at start-up; this cannot happen, but never panic.
        Err(_) => web::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "Внутренняя ошибка",
            "The site's redirect address is invalid.",
            "Адрес возврата сайта некорректен.",
        ),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Page(e) => {
                tracing::info!(error = %e, "login stopped with an error page");
                let (en, ru) = e.explain();
                web::error_page(e.status(), "Login error", "Ошибка входа", &en, &ru)
            }
            Error::Site(e) => {
                tracing::info!(error = e.code.as_str(), description = %e.description, "login error returned to the site");
                let description = description_for_site(&e.description);
                let mut params = vec![
                    ("error", e.code.as_str()),
                    ("error_description", description.as_str()),
                ];
                if let Some(state) = &e.state {
                    params.push(("state", state));
                }
                params.push(("iss", &e.issuer));
                redirect_with(&e.redirect_uri, &params)
            }
            Error::Token(code, description) => {
                tracing::info!(error = code.as_str(), %description, "token request refused");
                let status = match code {
                    TokenErrorCode::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
                    TokenErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                    TokenErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                let body = json!({ "error": code.as_str(), "error_description": description });
                let mut response = (status, no_store(), axum::Json(body)).into_response();
                if code == (TokenErrorCode::InvalidClient { basic: true }) {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"socialgate\""),
                    );
                }
                response
            }
            Error::NoToken => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"socialgate\"")],
            )
                .into_response(),
            Error::InvalidToken(description) => {
                let challenge = format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    description.replace(['"', '\\'], "")
                );
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(
                        json!({ "error": "invalid_token", "error_description": description }),
                    ),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                response
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "store failure");
                web::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "Сервис недоступен",
                    "The login service cannot reach its storage. Try again in a minute.",
                    "Служба входа не может обратиться к хранилищу. Попробуйте через минуту.",
                )
            }
            Error::Unavailable(e) => {
                tracing::error!(error = %e, "store failure");
                let body = json!({
                    "error": "temporarily_unavailable",
                    "error_description": "the service cannot reach its storage; retry later",
                });
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "5")],
                    no_store(),
                    axum::Json(body),
                )
                    .into_response()
            }
            Error::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                web::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "Внутренняя ошибка",
                    "Something went wrong on our side.",
                    "Что-то пошло не так на нашей стороне.",
                )
            }
        }
    }
}

/// RFC 6749 §4.1.2.1 allows only printable ASCII without `"` and `\\` in
/// `error_description`; network messages may hold anything, so the rest becomes `?`.
fn description_for_site(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| {
            if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Token answers must not be cached (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_descriptions_keep_to_the_rfc_charset() {
        assert_eq!(
            description_for_site("VK said \"Ошибка\" \\ ok"),
            "VK said ???????? ? ok"
        );
        assert_eq!(description_for_site(&"x".repeat(500)).len(), 200);
    }
}

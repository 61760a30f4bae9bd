//! The error surfaces: how a domain `Error` looks on the wire, written once per surface. A
//! handler picks its surface by the type it returns:
//! - `BrowserError`: a person's browser — an HTML page while the redirect URI is not
//!   trusted, else an RFC 6749 redirect back to the site;
//! - `TokenEndpointError`: `/token` and `/revoke`, RFC 6749 §5.2 JSON;
//! - `ApiError`: the JSON APIs (`/userinfo`, `/jwks`, those to come), with RFC 6750
//!   bearer challenges.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::pages::{self, WayOut, Words};
use crate::oidc::error::{Error, PageError, SiteError, SiteHome, TokenErrorCode};

const STORE_DOWN: &str = "the service cannot reach its storage; retry later";

/// A domain error in a person's browser.
#[derive(Debug)]
pub struct BrowserError(pub Error);

/// A domain error at the token or revocation endpoint. `basic_challenge`: the client
/// tried HTTP Basic, so a failed authentication answers with `WWW-Authenticate`.
#[derive(Debug)]
pub struct TokenEndpointError {
    pub error: Error,
    pub basic_challenge: bool,
}

/// A domain error at a JSON API.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for BrowserError {
    fn from(e: E) -> Self {
        BrowserError(e.into())
    }
}

impl<E: Into<Error>> From<E> for TokenEndpointError {
    fn from(e: E) -> Self {
        TokenEndpointError {
            error: e.into(),
            basic_challenge: false,
        }
    }
}

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for BrowserError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Page(e) => page_error(&e, None),
            Error::PageWithSite(e, site) => page_error(&e, Some(&site)),
            Error::Site(e) => to_site(&e),
            Error::RateLimited(retry_after) => {
                refused("rate_limited");
                let wait = retry_after.as_secs();
                let mut response = pages::error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    &words(
                        "Too many attempts",
                        &format!(
                            "Too many logins came from your network in a short time. Try again in {wait} seconds."
                        ),
                        "Wait, then start the login again from the site.",
                    ),
                    &words(
                        "Слишком много попыток",
                        &format!(
                            "С вашего адреса было слишком много входов за короткое время. Попробуйте снова через {wait} с."
                        ),
                        "Подождите и начните вход на сайте заново.",
                    ),
                    WayOut::Advice,
                );
                with_retry_after(&mut response, retry_after);
                response
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "store failure");
                pages::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &words(
                        "Service unavailable",
                        "The login service cannot reach its storage.",
                        "Try again in a minute.",
                    ),
                    &words(
                        "Сервис недоступен",
                        "Служба входа не может обратиться к хранилищу.",
                        "Попробуйте через минуту.",
                    ),
                    WayOut::Advice,
                )
            }
            // The demo site redeems its code in the browser's request.
            Error::Token(code, description) => {
                tracing::info!(error = code.as_str(), %description, "token request refused");
                refused(code.as_str());
                let message = format!("{}: {description}", code.as_str());
                pages::error_page(
                    StatusCode::BAD_REQUEST,
                    &words(
                        "Login error",
                        &message,
                        "Start the login again from the home page.",
                    ),
                    &words(
                        "Ошибка входа",
                        &message,
                        "Начните вход заново с главной страницы.",
                    ),
                    WayOut::Home,
                )
            }
            other => {
                tracing::error!(error = %other, "login failed");
                internal_error_page(
                    "Something went wrong on our side.",
                    "Что-то пошло не так на нашей стороне.",
                )
            }
        }
    }
}

/// `socialgate_refusals_total{reason}`: every request refused, by why (the error code, or
/// what was wrong with a page request).
fn refused(reason: &'static str) {
    metrics::counter!("socialgate_refusals_total", "reason" => reason).increment(1);
}

/// `Retry-After` in whole seconds (RFC 9110 §10.2.3).
fn with_retry_after(response: &mut Response, after: std::time::Duration) {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(after.as_secs().max(1)),
    );
}

fn words(title: &'static str, message: &str, advice: &'static str) -> Words {
    Words {
        title,
        message: message.to_string(),
        advice,
    }
}

fn internal_error_page(en: &str, ru: &str) -> Response {
    pages::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &words(
            "Internal error",
            en,
            "Go back to the site and try again later.",
        ),
        &words(
            "Внутренняя ошибка",
            ru,
            "Вернитесь на сайт и попробуйте позже.",
        ),
        WayOut::Advice,
    )
}

/// A page error: the site's link when the request named a registered site and the error
/// is not about where to send the person; else advice only.
fn page_error(e: &PageError, site: Option<&SiteHome>) -> Response {
    tracing::info!(error = %e, "login stopped with an error page");
    refused(match e {
        PageError::MalformedRequest => "malformed_request",
        PageError::MissingParameter(_) => "missing_parameter",
        PageError::UnknownClient => "unknown_client",
        PageError::UnregisteredRedirectUri => "unregistered_redirect_uri",
        PageError::BadState => "bad_state",
        PageError::UnknownProvider => "unknown_provider",
        PageError::OtherBrowser => "other_browser",
        PageError::BadLogoutHint => "bad_logout_hint",
        PageError::UnregisteredPostLogoutUri => "unregistered_post_logout_uri",
    });
    let status = match e {
        PageError::UnknownProvider => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let (en, ru) = explain(e, site.is_some());
    let way = site.map_or(WayOut::Advice, WayOut::Site);
    pages::error_page(status, &en, &ru, way)
}

/// An RFC 6749 §4.1.2.1 error redirect to the site's verified redirect URI.
fn to_site(e: &SiteError) -> Response {
    tracing::info!(error = e.code.as_str(), description = %e.description, "login error returned to the site");
    refused(e.code.as_str());
    let description = description_for_site(&e.description);
    let mut params = vec![
        ("error", e.code.as_str()),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = &e.state {
        params.push(("state", state.as_str()));
    }
    params.push(("iss", &e.issuer));
    redirect_with(e.redirect_uri.as_str(), &params)
}

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let (code, description) = match self.error {
            // 429 says what happened; the code is one every client knows means "retry".
            Error::RateLimited(retry_after) => {
                refused("rate_limited");
                let mut response = json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    TokenErrorCode::TemporarilyUnavailable.as_str(),
                    &format!(
                        "too many failed client authentications; retry in {}s",
                        retry_after.as_secs()
                    ),
                );
                with_retry_after(&mut response, retry_after);
                return response;
            }
            Error::Token(code, description) => {
                tracing::info!(error = code.as_str(), %description, "token request refused");
                refused(code.as_str());
                (code, description)
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "store failure at the token endpoint");
                (TokenErrorCode::TemporarilyUnavailable, STORE_DOWN.into())
            }
            other => {
                tracing::error!(error = %other, "internal error at the token endpoint");
                (TokenErrorCode::ServerError, "internal error".into())
            }
        };
        let status = match code {
            TokenErrorCode::InvalidClient | TokenErrorCode::InvalidLaunch => {
                StatusCode::UNAUTHORIZED
            }
            TokenErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            TokenErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = json_error(status, code.as_str(), &description);
        if code == TokenErrorCode::InvalidClient && self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"socialgate\""),
            );
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::NoToken => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"socialgate\"")],
            )
                .into_response(),
            Error::InvalidToken(description) => {
                refused("invalid_token");
                bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", &description)
            }
            Error::InsufficientScope(description) => {
                refused("insufficient_scope");
                bearer_error(StatusCode::FORBIDDEN, "insufficient_scope", &description)
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "store failure");
                let mut response = json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    STORE_DOWN,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
            // A client-authenticated API answers refusals as the token endpoint does.
            Error::Token(..) | Error::RateLimited(_) => {
                TokenEndpointError::from(self.0).into_response()
            }
            other => {
                tracing::error!(error = %other, "internal error at an API");
                json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

/// An RFC 6750 §3 error: the JSON object and the `WWW-Authenticate` challenge saying it.
fn bearer_error(status: StatusCode, code: &str, description: &str) -> Response {
    let challenge = format!(
        "Bearer error=\"{code}\", error_description=\"{}\"",
        description.replace(['"', '\\'], "")
    );
    let body = json!({ "error": code, "error_description": description });
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// An OAuth error object, never cached.
fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({ "error": code, "error_description": description });
    (status, no_store(), Json(body)).into_response()
}

/// Token answers must not be cached (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
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
        Err(_) => internal_error_page(
            "The site's redirect address is invalid.",
            "Адрес возврата сайта некорректен.",
        ),
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

/// What a person whose login the site got wrong can do: the site must fix it.
const TELL_THE_SITE: (&str, &str) = (
    "Go back to the site with your browser's Back button and let its owners know.",
    "Вернитесь на сайт кнопкой «Назад» в браузере и сообщите о проблеме его владельцам.",
);
const START_AGAIN: (&str, &str) = (
    "Open the site you were logging in to and start the login again.",
    "Откройте сайт, на который вы входили, и начните вход заново.",
);
/// A logout refused before anything ended, the site unknown or not to be trusted.
const STILL_LOGGED_IN: (&str, &str) = (
    "You are still logged in. Go back to the site with your browser's Back button and log out there again.",
    "Вы не вышли. Вернитесь на сайт кнопкой «Назад» в браузере и выйдите там ещё раз.",
);
const LOGIN: (&str, &str) = ("Login error", "Ошибка входа");
const LOGOUT: (&str, &str) = ("Logout error", "Ошибка выхода");

/// The (English, Russian) words for the person; `linked`: the page links back to the site.
fn explain(e: &PageError, linked: bool) -> (Words, Words) {
    let (title, (message_en, message_ru), advice) = match e {
        PageError::MalformedRequest => (
            LOGIN,
            (
                "The site sent a login request that cannot be read.".to_string(),
                "Сайт отправил запрос на вход, который невозможно прочитать.".to_string(),
            ),
            TELL_THE_SITE,
        ),
        PageError::MissingParameter(p) => (
            LOGIN,
            (
                format!("The site sent an incomplete login request: `{p}` is missing."),
                format!("Сайт отправил неполный запрос на вход: нет параметра `{p}`."),
            ),
            TELL_THE_SITE,
        ),
        PageError::UnknownClient => (
            LOGIN,
            (
                "The site that sent you here is not registered with this login service.".into(),
                "Сайт, с которого вы пришли, не зарегистрирован в этой службе входа.".into(),
            ),
            TELL_THE_SITE,
        ),
        PageError::UnregisteredRedirectUri => (
            LOGIN,
            (
                "The site asked to return you to an address it has not registered. For your safety, you are not sent there.".into(),
                "Сайт попросил вернуть вас на незарегистрированный адрес. Ради вашей безопасности переход не выполнен.".into(),
            ),
            TELL_THE_SITE,
        ),
        PageError::BadState => (
            LOGIN,
            (
                "This login link is invalid, was already used, or has expired.".into(),
                "Ссылка входа недействительна, уже использована или устарела.".into(),
            ),
            START_AGAIN,
        ),
        PageError::OtherBrowser => (
            LOGIN,
            (
                "This login was started in another browser (or cookies are blocked).".into(),
                "Этот вход был начат в другом браузере (или cookies отключены).".into(),
            ),
            if linked {
                (
                    "Go back to the site and start the login again in this browser.",
                    "Вернитесь на сайт и начните вход заново в этом браузере.",
                )
            } else {
                (
                    "Open the site you were logging in to and start the login again in this browser.",
                    "Откройте сайт, на который вы входили, и начните вход заново в этом браузере.",
                )
            },
        ),
        PageError::UnknownProvider => (
            LOGIN,
            (
                "This login method does not exist.".into(),
                "Такого способа входа нет.".into(),
            ),
            START_AGAIN,
        ),
        PageError::BadLogoutHint => (
            LOGOUT,
            (
                "The site sent a logout request that this login service did not issue.".into(),
                "Сайт отправил запрос на выход, который эта служба входа не выдавала.".into(),
            ),
            if linked {
                (
                    "You are still logged in. Go back to the site and log out there again.",
                    "Вы не вышли. Вернитесь на сайт и выйдите там ещё раз.",
                )
            } else {
                STILL_LOGGED_IN
            },
        ),
        PageError::UnregisteredPostLogoutUri => (
            LOGOUT,
            (
                "The site asked to return you after logout to an address it has not registered. For your safety, you are not sent there.".into(),
                "Сайт попросил вернуть вас после выхода на незарегистрированный адрес. Ради вашей безопасности переход не выполнен.".into(),
            ),
            STILL_LOGGED_IN,
        ),
    };
    (
        Words {
            title: title.0,
            message: message_en,
            advice: advice.0,
        },
        Words {
            title: title.1,
            message: message_ru,
            advice: advice.1,
        },
    )
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

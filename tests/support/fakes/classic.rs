//! What OK and VK share, the two networks of classic OAuth with an API method for the
//! profile: what can go wrong with them, and how their token and API endpoints fail then.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::wire::hang;

/// What the fake does wrong (or, for `Normal`, right) from now on.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassicBehaviour {
    Normal,
    /// The person refuses at the consent page.
    Deny,
    TokenHttp500,
    TokenMalformedJson,
    TokenHang,
    /// The API answers the network's own error object with this code (HTTP 200): OK's
    /// `{"error_code":n,...}`, VK's `{"error":{"error_code":n,...}}`.
    ApiError(u32),
    /// The same with this `error_msg` instead of the network's usual one (OK only).
    ApiErrorSaying(u32, &'static str),
    ApiHttp502,
    ApiHang,
    /// The API answers normally, after this long.
    ApiSlow(std::time::Duration),
}

/// The token endpoint's answer under a behaviour that breaks it: `page` is the network's
/// error page for a status, `json_type` the content type of its JSON.
pub async fn failing_token(
    behaviour: &ClassicBehaviour,
    page: fn(StatusCode) -> Response,
    json_type: &'static str,
) -> Option<Response> {
    match behaviour {
        ClassicBehaviour::TokenHttp500 => Some(page(StatusCode::INTERNAL_SERVER_ERROR)),
        ClassicBehaviour::TokenMalformedJson => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, json_type)],
                "{\"access_token\": ",
            )
                .into_response(),
        ),
        ClassicBehaviour::TokenHang => {
            hang().await;
            Some(page(StatusCode::GATEWAY_TIMEOUT))
        }
        _ => None,
    }
}

/// The API's answer under a behaviour that breaks it; `api_error` renders an error code.
pub async fn failing_api(
    behaviour: &ClassicBehaviour,
    page: fn(StatusCode) -> Response,
    api_error: impl FnOnce(u32, Option<&str>) -> Response,
) -> Option<Response> {
    match behaviour {
        ClassicBehaviour::ApiError(n) => Some(api_error(*n, None)),
        ClassicBehaviour::ApiErrorSaying(n, message) => Some(api_error(*n, Some(message))),
        ClassicBehaviour::ApiHttp502 => Some(page(StatusCode::BAD_GATEWAY)),
        ClassicBehaviour::ApiHang => {
            hang().await;
            Some(page(StatusCode::GATEWAY_TIMEOUT))
        }
        ClassicBehaviour::ApiSlow(delay) => {
            tokio::time::sleep(*delay).await;
            None
        }
        _ => None,
    }
}

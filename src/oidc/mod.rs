//! What sites talk to: the OpenID Connect endpoints. Handlers only parse the request, call
//! the domain function and turn its result into a response.

pub mod exchange;
pub mod login;
pub mod request;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use crate::error::{Error, PageError, TokenErrorCode, no_store, redirect_with};
use crate::gateway::Gateway;
use crate::token::random_token;
use crate::web::{self, Lang, ProviderButton};
use exchange::{ClientAuth, TokenParams};
use request::AuthorizeParams;

pub type AppState = Arc<Gateway>;

pub fn routes() -> Router<AppState> {
    // What single-page and mobile apps call from their own origin: open to any origin,
    // without cookies (these endpoints never read them).
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let api = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", axum::routing::post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .layer(cors);
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/callback/{provider}", get(callback))
        .merge(api)
}

async fn discovery(State(gw): State<AppState>) -> Response {
    let issuer = &gw.config.server.issuer;
    let doc = json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": issuer.url("/authorize"),
        "token_endpoint": issuer.url("/token"),
        "userinfo_endpoint": issuer.url("/userinfo"),
        "jwks_uri": issuer.url("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "provider", "provider_user_id", "name", "given_name", "family_name",
            "picture", "locale", "gender", "birthdate", "email", "email_verified"
        ],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    Json(doc).into_response()
}

async fn jwks(State(gw): State<AppState>) -> Response {
    Json(gw.key.jwks()).into_response()
}

async fn authorize_get(
    State(gw): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|_| PageError::MalformedRequest)?;
    authorize(&gw, &headers, params).await
}

async fn authorize_post(
    State(gw): State<AppState>,
    headers: HeaderMap,
    params: Result<Form<AuthorizeParams>, FormRejection>,
) -> Result<Response, Error> {
    let Form(params) = params.map_err(|_| PageError::MalformedRequest)?;
    authorize(&gw, &headers, params).await
}

async fn authorize(
    gw: &Gateway,
    headers: &HeaderMap,
    params: AuthorizeParams,
) -> Result<Response, Error> {
    let (request, client, provider) = request::validate(&gw.config, params)?;
    if let Some(provider) = provider {
        let existing = browser_id(gw, headers);
        let browser = existing.clone().unwrap_or_else(random_token);
        let url = login::start(gw, request, provider, &browser).await?;
        let mut response = Redirect::to(&url).into_response();
        if existing.is_none() {
            if let Ok(cookie) = HeaderValue::from_str(&browser_cookie(gw, &browser)) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
        }
        return Ok(response);
    }
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let buttons: Vec<ProviderButton> = client
        .providers
        .iter()
        .filter_map(|name| gw.providers.get(name.as_str()))
        .map(|p| ProviderButton {
            label: p.label(lang == Lang::Ru).to_string(),
            color: p.button_color.clone().unwrap_or_else(|| "#374151".into()),
            href: format!("/authorize?{}", request.to_query(&p.name)),
            demo: p.is_demo,
        })
        .collect();
    Ok(web::login_page(lang, &client.name, &buttons))
}

/// Name of the cookie that ties a login to the browser that started it; `__Host-` pins it
/// to this exact origin when the issuer is https.
fn browser_cookie_name(gw: &Gateway) -> &'static str {
    if gw.config.server.issuer.is_https() {
        "__Host-socialgate_browser"
    } else {
        "socialgate_browser"
    }
}

/// Lax, so it comes along on the network's top-level redirect back to the callback.
fn browser_cookie(gw: &Gateway, value: &str) -> String {
    let secure = if gw.config.server.issuer.is_https() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
        browser_cookie_name(gw)
    )
}

fn browser_id(gw: &Gateway, headers: &HeaderMap) -> Option<String> {
    let name = browser_cookie_name(gw);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == name && v.len() == 43)
        .map(|(_, v)| v.to_string())
}

async fn callback(
    State(gw): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|_| PageError::BadState)?;
    let browser = browser_id(&gw, &headers);
    let (redirect_uri, params) = login::finish(&gw, &provider, params, browser.as_deref()).await?;
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(redirect_with(&redirect_uri, &params))
}

async fn token(
    State(gw): State<AppState>,
    headers: HeaderMap,
    params: Result<Form<TokenParams>, FormRejection>,
) -> Result<Response, Error> {
    let Form(params) = params.map_err(|e| {
        Error::token(
            TokenErrorCode::InvalidRequest,
            format!("the body must be application/x-www-form-urlencoded: {e}"),
        )
    })?;
    let auth = ClientAuth {
        basic: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    };
    // A token endpoint answers in JSON, whatever failed.
    let response = exchange::token(&gw, auth, params)
        .await
        .map_err(|e| match e {
            Error::Store(e) => Error::token(TokenErrorCode::TemporarilyUnavailable, e.to_string()),
            Error::Internal(e) => {
                tracing::error!(error = %e, "internal error at the token endpoint");
                Error::token(TokenErrorCode::ServerError, "internal error")
            }
            other => other,
        })?;
    Ok((no_store(), Json(response)).into_response())
}

async fn userinfo(State(gw): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let claims = exchange::userinfo(&gw, bearer)?;
    Ok((no_store(), Json(claims)).into_response())
}

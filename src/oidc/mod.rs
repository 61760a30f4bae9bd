//! What sites talk to: the OpenID Connect endpoints. Handlers only parse the request, call
//! the domain function and turn its result into a response.

pub mod exchange;
pub mod login;
pub mod logout;
pub mod refresh;
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

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::error::{Error, PageError, SiteErrorCode, TokenErrorCode, no_store, redirect_with};
use crate::gateway::Gateway;
use crate::primitives::random_token;
use crate::store::StoreError;
use crate::store::sessions::BrowserSessions;
use crate::web::{self, Lang, ProviderButton};
use exchange::{ClientAuth, TokenParams};
use logout::{LogoutParams, Outcome};
use request::AuthorizeParams;

pub type AppState = Arc<Gateway>;

/// The browser session's key holding the SSO session id.
const SID: &str = "sid";
/// The browser session's key holding the logout confirmation form's CSRF token.
const LOGOUT_CSRF: &str = "logout_csrf";

pub fn routes(gw: &Gateway) -> Router<AppState> {
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
        .route("/revoke", axum::routing::post(revoke))
        .route("/userinfo", get(userinfo).post(userinfo))
        .layer(cors);
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/callback/{provider}", get(callback))
        .route("/logout", get(logout_get).post(logout_post))
        .layer(session_layer(gw))
        .merge(api)
}

/// The SSO session cookie: HttpOnly, SameSite=Lax (it must come along on the network's
/// redirect back), Secure and `__Host-` on https; it idles out with the session.
fn session_layer(gw: &Gateway) -> SessionManagerLayer<BrowserSessions> {
    let https = gw.config.server.issuer.is_https();
    let idle = time::Duration::try_from(gw.config.session.idle_timeout)
        .unwrap_or(time::Duration::hours(8));
    SessionManagerLayer::new(BrowserSessions::new(gw.store.clone()))
        .with_name(if https {
            "__Host-socialgate_session"
        } else {
            "socialgate_session"
        })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every visit restarts the idle timer, not only changes.
        .with_always_save(true)
}

fn session_error(e: tower_sessions::session::Error) -> Error {
    Error::Store(StoreError::Unavailable(e.to_string()))
}

async fn browser_sid(session: &Session) -> Result<Option<String>, Error> {
    session.get::<String>(SID).await.map_err(session_error)
}

/// Points the browser at SSO session `sid` under a new cookie value: every network login
/// renews it, so a cookie planted or copied before the login (session fixation) is
/// worthless after it.
async fn remember_sid(session: &Session, sid: &str) -> Result<(), Error> {
    session.cycle_id().await.map_err(session_error)?;
    session.insert(SID, sid).await.map_err(session_error)?;
    persist(session).await
}

/// Saves the browser session now, so a store failure becomes our 503 page; the session
/// layer, saving after the handler, could only replace the response with a blank 500.
async fn persist(session: &Session) -> Result<(), Error> {
    session.save().await.map_err(session_error)
}

async fn discovery(State(gw): State<AppState>) -> Response {
    let issuer = &gw.config.server.issuer;
    let doc = json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": issuer.url("/authorize"),
        "token_endpoint": issuer.url("/token"),
        "userinfo_endpoint": issuer.url("/userinfo"),
        "jwks_uri": issuer.url("/jwks"),
        "end_session_endpoint": issuer.url("/logout"),
        "revocation_endpoint": issuer.url("/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "prompt_values_supported": ["none", "login", "select_account"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
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

async fn jwks(State(gw): State<AppState>) -> Result<Response, Error> {
    let jwks = gw.keys.jwks().map_err(|e| Error::from(e).for_api())?;
    let cache = format!("public, max-age={}", gw.keys.jwks_max_age().as_secs());
    Ok(([(header::CACHE_CONTROL, cache)], Json(jwks)).into_response())
}

async fn authorize_get(
    State(gw): State<AppState>,
    session: Session,
    headers: HeaderMap,
    params: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|_| PageError::MalformedRequest)?;
    authorize(&gw, &session, &headers, params).await
}

async fn authorize_post(
    State(gw): State<AppState>,
    session: Session,
    headers: HeaderMap,
    params: Result<Form<AuthorizeParams>, FormRejection>,
) -> Result<Response, Error> {
    let Form(params) = params.map_err(|_| PageError::MalformedRequest)?;
    authorize(&gw, &session, &headers, params).await
}

async fn authorize(
    gw: &Gateway,
    session: &Session,
    headers: &HeaderMap,
    params: AuthorizeParams,
) -> Result<Response, Error> {
    let validated = request::validate(&gw.config, params)?;
    let sid = browser_sid(session).await?;
    if let Some(issued) = login::from_session(gw, &validated, sid.as_deref()).await? {
        persist(session).await?;
        return Ok(redirect_issued(&issued));
    }
    let request::Validated {
        request,
        client,
        provider,
        prompt,
    } = validated;
    if prompt.none {
        return Err(request.error(
            gw.config.server.issuer.as_str(),
            SiteErrorCode::LoginRequired,
            "the person must log in".into(),
        ));
    }
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
    let lang = page_lang(headers);
    let buttons: Vec<ProviderButton> = client
        .providers
        .iter()
        .filter_map(|name| gw.providers.get(name.as_str()))
        .map(|p| ProviderButton {
            label: p.label(lang == Lang::Ru).to_string(),
            color: p.button_color.clone().unwrap_or_else(|| "#374151".into()),
            text_color: p
                .button_text_color
                .clone()
                .unwrap_or_else(|| "#ffffff".into()),
            href: format!("/authorize?{}", request.to_query(&p.name, &prompt)),
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
    session: Session,
    Path(provider): Path<String>,
    headers: HeaderMap,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|_| PageError::BadState)?;
    let browser = browser_id(&gw, &headers);
    let sid = browser_sid(&session).await?;
    let issued = login::finish(&gw, &provider, params, browser.as_deref(), sid.as_deref()).await?;
    remember_sid(&session, &issued.sid).await?;
    Ok(redirect_issued(&issued))
}

fn redirect_issued(issued: &login::Issued) -> Response {
    let params: Vec<(&str, &str)> = issued
        .params
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    redirect_with(&issued.redirect_uri, &params)
}

async fn logout_get(
    State(gw): State<AppState>,
    session: Session,
    headers: HeaderMap,
    params: Result<Query<LogoutParams>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|_| PageError::MalformedRequest)?;
    end_session(&gw, &session, &headers, params, false).await
}

async fn logout_post(
    State(gw): State<AppState>,
    session: Session,
    headers: HeaderMap,
    params: Result<Form<LogoutParams>, FormRejection>,
) -> Result<Response, Error> {
    let Form(params) = params.map_err(|_| PageError::MalformedRequest)?;
    end_session(&gw, &session, &headers, params, true).await
}

/// `/logout`. The confirmation form carries a one-time token from this browser's
/// session, so only the person's own click on the gateway's page confirms.
async fn end_session(
    gw: &Gateway,
    session: &Session,
    headers: &HeaderMap,
    params: LogoutParams,
    posted: bool,
) -> Result<Response, Error> {
    let lang = page_lang(headers);
    let sid = browser_sid(session).await?;
    let confirmed = match (&params.confirm, posted) {
        (Some(token), true) => {
            let expected: Option<String> =
                session.remove(LOGOUT_CSRF).await.map_err(session_error)?;
            expected.as_deref() == Some(token.as_str())
        }
        _ => false,
    };
    match logout::logout(gw, params, sid.as_deref(), confirmed).await? {
        Outcome::Confirm(mut fields) => {
            let csrf = random_token();
            session
                .insert(LOGOUT_CSRF, &csrf)
                .await
                .map_err(session_error)?;
            fields.push(("confirm", csrf));
            Ok(web::logout_confirm_page(lang, &fields))
        }
        Outcome::Done(redirect) => {
            session.flush().await.map_err(session_error)?;
            Ok(match redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => web::logged_out_page(lang),
            })
        }
    }
}

fn page_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn client_auth(headers: &HeaderMap) -> ClientAuth<'_> {
    ClientAuth {
        basic: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    }
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
    // A token endpoint answers in JSON, whatever failed.
    let response = exchange::token(&gw, client_auth(&headers), params)
        .await
        .map_err(Error::for_token_endpoint)?;
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
    let claims = exchange::userinfo(&gw, bearer)
        .await
        .map_err(Error::for_api)?;
    Ok((no_store(), Json(claims)).into_response())
}

/// RFC 7009 token revocation.
async fn revoke(
    State(gw): State<AppState>,
    headers: HeaderMap,
    params: Result<Form<exchange::RevokeParams>, FormRejection>,
) -> Result<Response, Error> {
    let Form(params) = params.map_err(|e| {
        Error::token(
            TokenErrorCode::InvalidRequest,
            format!("the body must be application/x-www-form-urlencoded: {e}"),
        )
    })?;
    exchange::revoke(&gw, client_auth(&headers), params)
        .await
        .map_err(Error::for_token_endpoint)?;
    Ok((no_store(), Json(json!({}))).into_response())
}

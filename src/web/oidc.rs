//! The OpenID Connect endpoints sites talk to. Each handler extracts the request, makes one
//! call into `crate::oidc` and turns the result into a response; errors take the surface of
//! the type the handler returns.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use super::AppState;
use super::browser::{self, Browser};
use super::errors::{ApiError, BrowserError, TokenEndpointError, no_store, redirect_with};
use super::extract::{BearerToken, ClientForm, ClientSource, Gw, Pairs, TokenForm};
use super::pages::{self, Lang, ProviderButton};
use crate::gateway::Gateway;
use crate::oidc::authorize::AuthorizeParams;
use crate::oidc::code::Issued;
use crate::oidc::error::PageError;
use crate::oidc::exchange::{self, TokenRequest};
use crate::oidc::limits;
use crate::oidc::login::{self, Authorized};
use crate::oidc::logout::{LogoutParams, Outcome};
use crate::oidc::{self as domain, access, launch as launches};

pub fn routes(gw: &Gateway) -> Router<AppState> {
    // What single-page and mobile apps call from their own origin: open to any origin,
    // without cookies (these endpoints never read them).
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let api = Router::new()
        .route("/.well-known/openid-configuration", get(discovery(gw)))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .route("/launch/{provider}", post(launch))
        .route("/userinfo", get(userinfo).post(userinfo))
        .layer(cors);
    let pages = Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .route("/callback/{provider}", get(callback))
        .route("/logout", get(logout).post(logout))
        .layer(browser::session_layer(gw))
        .layer(axum::middleware::map_response(
            browser::unsaved_session_is_unavailable,
        ));
    browser::on_issuer_host(gw, pages).merge(api)
}

/// The discovery document, serialised once: it depends on the issuer only, which a reload
/// cannot change.
fn discovery(gw: &Gateway) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + use<> {
    let document = Bytes::from(domain::discovery(&gw.config.server.issuer).to_string());
    move || std::future::ready(json_text(document.clone()))
}

fn json_text(body: impl Into<axum::body::Body>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

async fn jwks(Gw(gw): Gw) -> Result<Response, ApiError> {
    let jwks = gw.keys.jwks_json()?;
    let cache = format!("public, max-age={}", gw.keys.jwks_max_age().as_secs());
    let body = Bytes::copy_from_slice(jwks.as_bytes());
    Ok(([(header::CACHE_CONTROL, cache)], json_text(body)).into_response())
}

/// `/authorize`, GET or POST (axum's `Form` reads a GET's query string).
async fn authorize(
    Gw(gw): Gw,
    ClientSource(source): ClientSource,
    browser: Browser,
    lang: Lang,
    params: Result<Form<AuthorizeParams>, FormRejection>,
) -> Result<Response, BrowserError> {
    let gw = gw.as_ref();
    limits::login_step(gw, source).await?;
    let Form(params) = params.map_err(|_| PageError::MalformedRequest)?;
    let sid = browser.sid().await?;
    let binding = browser.binding().cloned();
    match login::authorize(gw, params, sid.as_ref(), binding).await? {
        Authorized::Issued(issued) => {
            browser.save().await?;
            Ok(redirect_issued(&issued))
        }
        Authorized::ToNetwork {
            url,
            browser: id,
            new_browser,
        } => {
            let mut response = Redirect::to(&url).into_response();
            if new_browser {
                browser.bind(gw, &id, &mut response);
            }
            Ok(response)
        }
        Authorized::Choose {
            client_name,
            choices,
        } => {
            let buttons: Vec<ProviderButton> = choices
                .iter()
                .map(|c| ProviderButton::new(c.provider, lang, c.href.clone()))
                .collect();
            Ok(pages::login_page(lang, client_name, &buttons))
        }
    }
}

async fn callback(
    Gw(gw): Gw,
    ClientSource(source): ClientSource,
    browser: Browser,
    Path(provider): Path<String>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, BrowserError> {
    limits::login_step(&gw, source).await?;
    let Query(params) = params.map_err(|_| PageError::BadState)?;
    let sid = browser.sid().await?;
    let issued = login::finish(&gw, &provider, params, browser.binding(), sid.as_ref()).await?;
    browser.log_in(&issued.sid).await?;
    Ok(redirect_issued(&issued))
}

fn redirect_issued(issued: &Issued) -> Response {
    let params: Vec<(&str, &str)> = issued
        .params
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    redirect_with(issued.redirect_uri.as_str(), &params)
}

/// `/logout`'s parameters, and the one-time token the gateway's own confirmation form adds.
#[derive(serde::Deserialize)]
struct LogoutForm {
    #[serde(flatten)]
    params: LogoutParams,
    confirm: Option<String>,
}

/// `/logout` (the end_session_endpoint), GET or POST.
async fn logout(
    Gw(gw): Gw,
    ClientSource(source): ClientSource,
    method: Method,
    browser: Browser,
    lang: Lang,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, BrowserError> {
    // Its confirmation page keeps a token in a new browser session: limited like a login.
    limits::login_step(&gw, source).await?;
    let Form(LogoutForm { params, confirm }) = form.map_err(|_| PageError::MalformedRequest)?;
    let sid = browser.sid().await?;
    let confirmed = browser.confirms_logout(&method, confirm.as_deref()).await?;
    match crate::oidc::logout::logout(&gw, params, sid.as_ref(), confirmed).await? {
        Outcome::Confirm { fields, csrf } => {
            browser.expect_logout_confirmation(&csrf).await?;
            Ok(pages::logout_confirm_page(lang, &fields))
        }
        Outcome::Done { redirect, site } => {
            browser.end().await?;
            Ok(match redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => pages::logged_out_page(lang, site.as_ref()),
            })
        }
    }
}

async fn token(Gw(gw): Gw, request: ClientForm<TokenForm>) -> Result<Response, TokenEndpointError> {
    let client = request.client(&gw).await?;
    let grant = TokenRequest::try_from(request.form)?;
    let response = exchange::token(&gw, client, grant).await?;
    Ok((no_store(), Json(response)).into_response())
}

async fn userinfo(Gw(gw): Gw, BearerToken(token): BearerToken) -> Result<Response, ApiError> {
    let claims = access::userinfo(&gw, &token).await?;
    Ok((no_store(), Json(claims)).into_response())
}

/// `/revoke`'s form (RFC 7009); the hint is optional and not needed.
#[derive(serde::Deserialize)]
struct RevokeForm {
    token: Option<String>,
}

async fn revoke(
    Gw(gw): Gw,
    request: ClientForm<RevokeForm>,
) -> Result<Response, TokenEndpointError> {
    let client = request.client(&gw).await?;
    access::revoke(&gw, client, request.form.token.as_deref()).await?;
    Ok((no_store(), Json(json!({}))).into_response())
}

/// `/launch/{provider}`: the parameters a platform opened the site's app with, verified;
/// answered like the token endpoint.
async fn launch(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    request: ClientForm<Pairs>,
) -> Result<Response, TokenEndpointError> {
    let client = request.client(&gw).await?;
    let response = launches::launch(&gw, client, &provider, &request.form.0).await?;
    Ok((no_store(), Json(response)).into_response())
}

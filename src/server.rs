//! The HTTP server: routes, middleware (request ids, tracing, limits, timeouts, security
//! headers) and the demo network's pages.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::demo_site;
use crate::error::{Error, PageError};
use crate::gateway::Gateway;
use crate::oidc::{self, AppState};
use crate::provider::demo;
use crate::web::{self, Lang};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longer than the upstream timeout, so a slow network ends as a proper error first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Every request the gateway takes is a small form.
const BODY_LIMIT: usize = 64 * 1024;

pub fn app(gateway: Gateway) -> Router {
    let oidc_routes = oidc::routes(&gateway);
    let state: AppState = Arc::new(gateway);
    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Codes travel in URLs: never leak them to another site through Referer.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
            ),
        ));
    Router::new()
        .merge(oidc_routes)
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/demo/{provider}", get(demo_form).post(demo_submit))
        .route(demo_site::CALLBACK_PATH, get(demo_site_callback))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        // The path only: queries carry codes and states.
                        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                ))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .layer(security_headers),
        )
        .with_state(state)
}

/// Readiness: the store answers and the signing keys are loaded. A load balancer sends
/// logins only to ready instances.
async fn readyz(State(gw): State<AppState>) -> Response {
    match gw.is_ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store is unavailable",
            )
                .into_response()
        }
    }
}

async fn home(State(gw): State<AppState>) -> Response {
    let discovery = gw
        .config
        .server
        .issuer
        .url("/.well-known/openid-configuration");
    web::home_page(&discovery, demo_site::start_url(&gw).as_deref())
}

#[derive(Deserialize)]
struct DemoSiteCallback {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The built-in demo site's redirect URI: shows what a site would receive.
async fn demo_site_callback(
    State(gw): State<AppState>,
    Query(q): Query<DemoSiteCallback>,
) -> Result<Response, Error> {
    if demo_site::client(&gw).is_none() {
        return Ok((StatusCode::NOT_FOUND, "not found").into_response());
    }
    match (q.code, q.error) {
        (Some(code), _) => Ok(web::demo_site_page(&demo_site::finish(&gw, code).await?)),
        (None, error) => Ok(web::demo_site_page(&[
            ("error".into(), error.unwrap_or_else(|| "no code".into())),
            (
                "error_description".into(),
                q.error_description.unwrap_or_default(),
            ),
        ])),
    }
}

#[derive(Deserialize)]
struct DemoQuery {
    state: Option<String>,
}

#[derive(Deserialize)]
struct DemoForm {
    state: String,
    name: String,
    #[serde(default)]
    email: String,
}

fn demo_provider<'g>(
    gw: &'g Gateway,
    name: &str,
) -> Result<&'g crate::provider::ConfiguredProvider, Error> {
    gw.providers
        .get(name)
        .filter(|p| p.is_demo)
        .ok_or_else(|| PageError::UnknownProvider.into())
}

async fn demo_form(
    State(gw): State<AppState>,
    Path(provider): Path<String>,
    headers: axum::http::HeaderMap,
    Query(q): Query<DemoQuery>,
) -> Result<Response, Error> {
    let p = demo_provider(&gw, &provider)?;
    let state = q.state.ok_or(PageError::BadState)?;
    let lang = Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    Ok(web::demo_page(lang, &format!("/demo/{}", p.name), &state))
}

async fn demo_submit(
    State(gw): State<AppState>,
    Path(provider): Path<String>,
    Form(form): Form<DemoForm>,
) -> Result<Response, Error> {
    let p = demo_provider(&gw, &provider)?;
    let url = demo::complete(
        gw.store.as_ref(),
        &gw.config.server.issuer,
        &p.name,
        &form.state,
        &form.name,
        &form.email,
    )
    .await?;
    Ok(Redirect::to(&url).into_response())
}

/// Serves until Ctrl-C / SIGTERM, finishing requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, gateway: Gateway) -> std::io::Result<()> {
    axum::serve(listener, app(gateway))
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

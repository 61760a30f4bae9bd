//! The web layer, the only code that knows HTTP: the router and its middleware (request
//! ids, tracing, limits, timeouts, security headers), handlers, extractors, the error
//! surfaces, the browser's session and cookies, and the pages.

mod browser;
mod demo;
pub mod errors;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod oidc;
pub mod pages;
pub mod server;
pub mod session_store;
mod upstream;
mod widget;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{OnResponse, TraceLayer};

use crate::demo_site;
use crate::gateway::Gateway;

pub type AppState = Arc<Gateway>;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longer than the upstream timeout, so a slow network ends as a proper error first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Every request the gateway takes is a small form.
const BODY_LIMIT: usize = 64 * 1024;

pub fn app(gateway: Gateway) -> Router {
    let oidc_routes = oidc::routes(&gateway);
    let pages = browser::on_issuer_host(
        &gateway,
        Router::new().route("/", get(home)).merge(demo::routes()),
    );
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
        .merge(pages)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(widget::routes())
        .merge(upstream::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(page_language))
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
                    })
                    // One line per request, inside the span above; numbers, for collectors.
                    .on_response(RequestLine),
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

/// One line per request, inside its span: status and latency as numbers, for collectors.
#[derive(Clone, Copy)]
struct RequestLine;

impl<B> OnResponse<B> for RequestLine {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        tracing::info!(
            status = response.status().as_u16(),
            latency_us,
            "request finished"
        );
    }
}

/// Every request runs with its browser's language known to the pages it may end on.
async fn page_language(
    lang: pages::Lang,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    pages::in_language(lang, next.run(request)).await
}

/// An address the gateway does not serve: a page that says so and leads home.
async fn not_found() -> Response {
    pages::error_page(
        StatusCode::NOT_FOUND,
        &pages::Words {
            title: "Not found",
            message: "There is nothing at this address.".into(),
            advice: "The login service starts at its home page.",
        },
        &pages::Words {
            title: "Страница не найдена",
            message: "По этому адресу ничего нет.".into(),
            advice: "Служба входа начинается с главной страницы.",
        },
        pages::WayOut::Home,
    )
}

/// Readiness: the store answers and the signing keys are loaded. A load balancer sends
/// logins only to ready instances. OK group tokens that are dead (or could not be checked)
/// follow as lines of their own without changing the status: logins do not need them.
async fn readyz(State(gw): State<AppState>) -> Response {
    let (status, verdict) = match gw.is_ready().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store is unavailable",
            )
        }
    };
    let mut body = verdict.to_string();
    for problem in gw.ok_groups.problems() {
        body.push('\n');
        body.push_str(&problem);
    }
    (status, body).into_response()
}

async fn home(State(gw): State<AppState>, lang: pages::Lang) -> Response {
    let discovery = gw
        .config
        .server
        .issuer
        .url("/.well-known/openid-configuration");
    pages::home_page(lang, &discovery, demo_site::start_url(&gw).as_deref())
}

/// Serves until Ctrl-C / SIGTERM, then finishes requests in flight (`[limits]`).
pub async fn serve(listener: tokio::net::TcpListener, gateway: Gateway) -> std::io::Result<()> {
    serve_until(listener, gateway, shutdown()).await
}

/// Serves until `stop` completes, then finishes requests in flight.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = gateway.config.limits.clone();
    server::serve_until(listener, app(gateway), &limits, stop).await
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

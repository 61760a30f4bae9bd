//! The web layer, the only code that knows HTTP: the router and its middleware (request
//! ids, tracing, limits, timeouts, security headers), handlers, extractors, the error
//! surfaces, the browser's session and cookies, and the pages.

mod browser;
mod demo;
pub mod errors;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod oidc;
pub mod pages;
pub mod server;
pub mod session_store;
mod upstream;
mod widget;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
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
use extract::Gw;

/// The gateway serving requests now, swapped whole when the config is reloaded (SIGHUP);
/// each request keeps the one it arrived to (`extract::Gw`).
pub type AppState = Arc<ArcSwap<Gateway>>;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longer than the upstream timeout, so a slow network ends as a proper error first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Every request the gateway takes is a small form.
const BODY_LIMIT: usize = 64 * 1024;

pub fn app(gateway: Gateway) -> Router {
    app_for(shared(gateway))
}

/// The state requests are served from, with `gateway` current.
fn shared(gateway: Gateway) -> AppState {
    Arc::new(ArcSwap::new(running(gateway)))
}

/// `gateway` with its background work that outlives requests (ending with it).
fn running(gateway: Gateway) -> Arc<Gateway> {
    let gateway = Arc::new(gateway);
    crate::oidc::backchannel::spawn_delivery(&gateway);
    gateway
}

/// Re-reads the config file and, when it is valid and changes nothing that takes a
/// restart, serves new requests from it; requests under way finish on the old one, and
/// sessions and logins carry on (the store is the same). Otherwise the running config stays.
pub async fn reload(state: &AppState) -> Result<(), String> {
    let current = state.load_full();
    let file = current.config.file.clone();
    let config = crate::config::Config::load(&file).map_err(|e| e.to_string())?;
    let next = current.reloaded(config).map_err(|e| e.to_string())?;
    let (providers, clients) = (next.config.providers.len(), next.config.clients.len());
    state.store(running(next));
    tracing::info!(file = %file.display(), providers, clients, "config reloaded");
    Ok(())
}

/// Reloads on every SIGHUP (`systemctl reload`, `kill -HUP`), for as long as `state` lives.
fn reload_on_sighup(state: &AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; config reload is unavailable");
            return;
        };
        let state = Arc::downgrade(state);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(state) = state.upgrade() else { return };
                if let Err(e) = reload(&state).await {
                    tracing::error!(error = %e, "config reload refused; the running config stays");
                }
            }
        });
    }
}

fn app_for(state: AppState) -> Router {
    let current = state.load_full();
    let gateway = current.as_ref();
    let oidc_routes = oidc::routes(gateway);
    let pages = browser::on_issuer_host(
        gateway,
        Router::new().route("/", get(home)).merge(demo::routes()),
    );
    let metrics = &gateway.config.metrics;
    // On the main listener only when no address of their own is set.
    let metrics_here = if metrics.enabled && metrics.listen.is_none() {
        metrics::recorder();
        metrics::routes()
    } else {
        Router::new()
    };
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
        .merge(metrics_here)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(page_language))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pin_gateway,
        ))
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
        let status = response.status().as_u16();
        tracing::info!(status, latency_us, "request finished");
        ::metrics::counter!("socialgate_http_requests_total", "status" => status.to_string())
            .increment(1);
        ::metrics::histogram!("socialgate_http_request_seconds").record(latency.as_secs_f64());
    }
}

/// Each request is served by the gateway current when it arrived, whatever reloads happen
/// meanwhile (`extract::Gw` reads it).
async fn pin_gateway(
    State(state): State<AppState>,
    mut request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    request.extensions_mut().insert(state.load_full());
    next.run(request).await
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
async fn readyz(Gw(gw): Gw) -> Response {
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

async fn home(Gw(gw): Gw, lang: pages::Lang) -> Response {
    let discovery = gw
        .config
        .server
        .issuer
        .url("/.well-known/openid-configuration");
    pages::home_page(lang, &discovery, demo_site::start_url(&gw).as_deref())
}

/// `socialgate serve`: the gateway on its own runtime, listening where the config says,
/// until Ctrl-C / SIGTERM. (The benchmark's gateway process runs this too.)
pub fn run(config: crate::config::Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listen = config.server.listen;
        for p in config.providers.values() {
            if p.is_demo() {
                tracing::warn!(
                    provider = %p.name,
                    "DEMO provider enabled: anyone can log in as anyone. For trying out only; remove it before real use"
                );
            }
        }
        let gateway = Gateway::new(config).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        // The scheme only: a Redis URL may hold a password.
        let store = gateway.config.store.url.scheme().to_string();
        tracing::info!(
            %listen,
            issuer = gateway.config.server.issuer.as_str(),
            %store,
            "socialgate is running"
        );
        if demo_site::client(&gateway).is_some() {
            tracing::info!(
                "try the demo login: open {}/ in a browser",
                gateway.config.server.issuer.as_str()
            );
        }
        serve(listener, gateway).await?;
        Ok(())
    })
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
    let metrics_listen = gateway.config.metrics.listen;
    let state = shared(gateway);
    reload_on_sighup(&state);
    let Some(address) = metrics_listen else {
        return server::serve_until(listener, app_for(state), &limits, stop).await;
    };
    // `/metrics` on an address of its own, stopped with the main listener.
    let metrics_listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {address} for metrics: {e}"),
        )
    })?;
    metrics::recorder();
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let metrics_app = metrics::routes().with_state(state.clone());
    let metrics_server = tokio::spawn({
        let limits = limits.clone();
        let stopped = stopped.clone();
        async move { server::serve_until(metrics_listener, metrics_app, &limits, wait(stopped)).await }
    });
    let main = server::serve_until(listener, app_for(state), &limits, async move {
        stop.await;
        let _ = stopping.send(true);
    });
    let served = main.await;
    let _ = metrics_server.await;
    served
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

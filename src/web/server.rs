//! The listener: accepts connections and serves the router on each, under `[limits]` — a
//! cap on connections served at once, a deadline for a request's headers (which is also how
//! long an idle kept-alive connection stays), and a graceful shutdown with a deadline.
//!
//! Written out rather than `axum::serve`, which gives hyper no timer, so a client that sends
//! half a header and stalls would hold its connection (and a file descriptor) for ever.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::LimitsConfig;

/// Serves `app` on `listener` until `stop` completes, then lets requests in flight finish
/// for up to `limits.shutdown_timeout` and returns.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // The connections' tasks, to drop those still open at the shutdown deadline.
    let mut connections = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        while connections.try_join_next().is_some() {}
        // A free slot first: at the cap, new connections wait in the kernel's listen queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut stop => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer's address, for per-address limits and logs.
        let service = app
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request
            });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        connections.spawn(async move {
            // A client that goes away or times out is routine, not worth a line.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(
        open,
        "stopping: no new connections; finishing requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped: every connection closed"),
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(
                open = connections.len(),
                timeout_s = limits.shutdown_timeout.as_secs(),
                "stopped: connections still open after the shutdown timeout were dropped"
            );
            connections.shutdown().await;
        }
    }
    Ok(())
}

/// Errors of one connection (reset before accept) are the peer's; running out of file
/// descriptors is ours: say so, and wait a little rather than spin.
async fn accept_failed(e: &io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

//! `/metrics` (`[metrics]`): the counters and histograms the code records through the
//! `metrics` facade, rendered in Prometheus text by the exporter; gauges of the store and
//! the OK group tokens are read when scraped.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;
use super::extract::Gw;
use crate::provider::ok::groups::TokenState;

/// Seconds: from a memory-store read to a slow network.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: every gateway of a
/// process counts into it).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the metrics recorder; /metrics is unavailable");
                    None
                }
            }
        })
        .as_ref()
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(Gw(gw): Gw) -> Response {
    let Some(handle) = recorder() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are unavailable\n").into_response();
    };
    for (pool, used) in gw.store.pools() {
        metrics::gauge!("socialgate_store_memory_bytes", "pool" => pool).set(used.bytes as f64);
        metrics::gauge!("socialgate_store_memory_entries", "pool" => pool).set(used.entries as f64);
        metrics::counter!("socialgate_store_evictions_total", "pool" => pool)
            .absolute(used.evicted);
    }
    for (group, checked) in gw.ok_groups.states() {
        let alive = if checked.state == TokenState::Alive {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("socialgate_ok_group_token_alive", "group" => group.to_string()).set(alive);
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

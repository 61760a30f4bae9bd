//! Driving load: as many operations as `concurrency` people can do for a while (closed
//! loop), or operations started at a fixed rate whatever the answers' speed (open loop, the
//! latency of a steady stream), and what the gateway process spent meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::Mutex;

use super::gateway::Gateway;

/// One scenario's figures.
#[derive(Serialize, Clone, Debug)]
pub struct Figures {
    pub scenario: String,
    pub operations: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The gateway's user + system CPU per operation.
    pub cpu_us_per_op: f64,
    /// Signatures the gateway made per operation (counted in its answers).
    pub signatures_per_op: f64,
    /// The gateway's peak RSS so far.
    pub peak_rss_mb: f64,
    /// Filled in by the report: signatures' CPU ÷ gateway CPU per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
}

/// What one operation reports: how many signatures its answers carried.
pub type Op = anyhow::Result<u32>;

struct Tally {
    latencies_us: Vec<u32>,
    signatures: u64,
    error: Option<anyhow::Error>,
}

/// Runs `op(person)` in a loop in `concurrency` tasks for `warmup` (not counted), then for
/// `duration` (counted). `op` gets the task's index.
pub async fn closed<F, Fut>(
    name: &str,
    gateway: &Gateway,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Op> + Send,
{
    let op = Arc::new(op);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally {
        latencies_us: Vec::new(),
        signatures: 0,
        error: None,
    }));
    let mut tasks = Vec::new();
    for person in 0..concurrency {
        let (op, measuring, stop, tally) =
            (op.clone(), measuring.clone(), stop.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut signatures = 0;
            while !stop.load(Ordering::Relaxed) {
                let counted = measuring.load(Ordering::Relaxed);
                let started = Instant::now();
                match op(person).await {
                    Ok(s) if counted && !stop.load(Ordering::Relaxed) => {
                        mine.push(started.elapsed().as_micros() as u32);
                        signatures += u64::from(s);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tally.lock().await.error.get_or_insert(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            let mut t = tally.lock().await;
            t.latencies_us.extend(mine);
            t.signatures += signatures;
        }));
    }
    tokio::time::sleep(warmup).await;
    let cpu_before = gateway.cpu()?;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let cpu = gateway.cpu()? - cpu_before;
    for t in tasks {
        t.await?;
    }
    let tally = Arc::into_inner(tally)
        .context("tasks still hold the tally")?
        .into_inner();
    if let Some(e) = tally.error {
        return Err(e.context(format!("scenario {name}")));
    }
    figures(
        name,
        gateway,
        tally.latencies_us,
        tally.signatures,
        seconds,
        cpu,
    )
}

/// Starts `op(n)` `rate` times a second for `duration`; latency counts from each operation's
/// scheduled start (a slow answer delays nobody's clock).
pub async fn paced<F, Fut>(
    name: &str,
    gateway: &Gateway,
    rate: f64,
    duration: Duration,
    op: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Op> + Send + 'static,
{
    let op = Arc::new(op);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (duration.as_secs_f64() * rate) as usize;
    let cpu_before = gateway.cpu()?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let signatures = op(n).await?;
            Ok::<_, anyhow::Error>((due.elapsed().as_micros() as u32, signatures))
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut signatures = 0;
    for t in tasks {
        let (latency, s) = t.await??;
        latencies.push(latency);
        signatures += u64::from(s);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = gateway.cpu()? - cpu_before;
    figures(name, gateway, latencies, signatures, seconds, cpu)
}

fn figures(
    name: &str,
    gateway: &Gateway,
    mut latencies_us: Vec<u32>,
    signatures: u64,
    seconds: f64,
    cpu: Duration,
) -> anyhow::Result<Figures> {
    latencies_us.sort_unstable();
    let n = latencies_us.len().max(1);
    let at = |q: f64| {
        let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
        f64::from(latencies_us.get(i).copied().unwrap_or(0)) / 1000.0
    };
    let operations = latencies_us.len() as u64;
    let (_, peak) = gateway.memory()?;
    Ok(Figures {
        scenario: name.to_owned(),
        operations,
        seconds,
        per_second: operations as f64 / seconds,
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        cpu_us_per_op: cpu.as_secs_f64() * 1e6 / operations.max(1) as f64,
        signatures_per_op: signatures as f64 / operations.max(1) as f64,
        peak_rss_mb: peak as f64 / 1048576.0,
        efficiency: None,
    })
}

//! The figures of one run, as text for people and JSON for comparing commits, and each of
//! the project's targets checked against them (ratios to this run's own signing limit).

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use super::load::Figures;
use super::signing::Limit;

#[derive(Serialize)]
pub struct Report {
    pub machine: Machine,
    pub signing: Vec<Limit>,
    pub starts: Vec<Start>,
    pub scenarios: Vec<Figures>,
    pub memory: Vec<StoreMemory>,
    pub targets: Vec<Target>,
}

#[derive(Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub commit: String,
}

#[derive(Serialize)]
pub struct Start {
    pub store: String,
    /// Spawn → `/readyz` 200, with signing keys already made.
    pub cold_start_ms: f64,
    pub idle_rss_mb: f64,
}

#[derive(Serialize)]
pub struct StoreMemory {
    pub store: String,
    pub sessions: u64,
    pub gateway_rss_growth_mb: f64,
    pub redis_used_memory_growth_mb: Option<f64>,
}

#[derive(Serialize)]
pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        commit,
    }
}

impl Report {
    pub fn new(signing: Vec<Limit>) -> Report {
        Report {
            machine: machine(),
            signing,
            starts: Vec::new(),
            scenarios: Vec::new(),
            memory: Vec::new(),
            targets: Vec::new(),
        }
    }

    pub fn start(&mut self, store: &str, cold: Duration, idle_rss: u64) {
        self.starts.push(Start {
            store: store.to_owned(),
            cold_start_ms: cold.as_secs_f64() * 1000.0,
            idle_rss_mb: idle_rss as f64 / 1048576.0,
        });
    }

    fn limit(&self, alg: &str) -> Option<&Limit> {
        self.signing.iter().find(|l| l.alg == alg)
    }

    /// Logins per second the signatures alone allow on every core (two per login).
    pub fn login_limit(&self, alg: &str) -> f64 {
        self.limit(alg)
            .map_or(0.0, |l| l.all_cores_per_second / 2.0)
    }

    fn scenario(&self, name: &str) -> Option<&Figures> {
        self.scenarios.iter().find(|f| f.scenario == name)
    }

    /// Efficiency of each scenario, then every target.
    pub fn finish(&mut self) {
        let per_signature = |alg: &str| self.limit(alg).map_or(0.0, |l| l.us_per_signature);
        let (rs, es) = (per_signature("RS256"), per_signature("ES256"));
        for f in &mut self.scenarios {
            let us = if f.scenario.contains("ES256") { es } else { rs };
            if f.signatures_per_op > 0.0 && f.cpu_us_per_op > 0.0 {
                f.efficiency = Some(f.signatures_per_op * us / f.cpu_us_per_op);
            }
        }
        let mut targets = Vec::new();
        let mut at_least = |what: String, goal: f64, measured: Option<f64>, unit: &str| {
            let m = measured.unwrap_or(f64::NAN);
            targets.push(Target {
                what,
                goal: format!("≥ {goal}{unit}"),
                measured: format!("{m:.3}{unit}"),
                met: m >= goal,
            });
        };
        let eff = |name: &str| self.scenario(name).and_then(|f| f.efficiency);
        let rate = |name: &str| self.scenario(name).map(|f| f.per_second);
        let limit = self.login_limit("RS256");
        for (store, goal) in [("memory", 0.7), ("redis", 0.6)] {
            if self.scenario(&format!("{store}: brokered login")).is_some() {
                at_least(
                    format!("{store}: brokered login efficiency"),
                    goal,
                    eff(&format!("{store}: brokered login")),
                    "",
                );
            }
        }
        for store in ["memory", "redis"] {
            for s in ["SSO login, second site", "refresh grant"] {
                let name = format!("{store}: {s}");
                if self.scenario(&name).is_some() {
                    at_least(format!("{name} efficiency"), 0.8, eff(&name), "");
                }
            }
        }
        at_least(
            "memory: brokered logins/s ÷ login limit".into(),
            0.5,
            rate("memory: brokered login").map(|r| r / limit),
            "",
        );
        at_least(
            "memory: discovery + JWKS rate ÷ login rate".into(),
            30.0,
            rate("memory: discovery + JWKS")
                .zip(rate("memory: brokered login"))
                .map(|(d, l)| d / l),
            "",
        );
        if let (Some(es), Some(rs)) = (
            rate("memory: brokered login, ES256"),
            rate("memory: brokered login"),
        ) {
            at_least(
                "ES256 login rate ÷ RS256 login rate".into(),
                10.0,
                Some(es / rs),
                "",
            );
        }
        let mut at_most = |what: String, goal: f64, measured: Option<f64>, unit: &str| {
            let m = measured.unwrap_or(f64::NAN);
            targets.push(Target {
                what,
                goal: format!("≤ {goal}{unit}"),
                measured: format!("{m:.1}{unit}"),
                met: m <= goal,
            });
        };
        at_most(
            "memory: paced brokered login p99".into(),
            10.0,
            self.scenario("memory: brokered login, paced")
                .map(|f| f.p99_ms),
            " ms",
        );
        for s in &self.starts {
            at_most(
                format!("{}: idle RSS", s.store),
                15.0,
                Some(s.idle_rss_mb),
                " MB",
            );
            at_most(
                format!("{}: cold start with keys", s.store),
                100.0,
                Some(s.cold_start_ms),
                " ms",
            );
        }
        for m in &self.memory {
            let per_100k = 100_000.0 / m.sessions.max(1) as f64;
            match m.redis_used_memory_growth_mb {
                Some(redis) => at_most(
                    "redis: used_memory per 100,000 sessions".into(),
                    60.0,
                    Some(redis * per_100k),
                    " MB",
                ),
                None => at_most(
                    "memory: RSS growth per 100,000 sessions".into(),
                    100.0,
                    Some(m.gateway_rss_growth_mb * per_100k),
                    " MB",
                ),
            }
        }
        self.targets = targets;
    }

    pub fn text(&mut self) -> String {
        self.finish();
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\nsocialgate-bench at {} on {} ({} cores)\n",
            m.commit, m.cpu, m.cores
        );
        for l in &self.signing {
            let _ = writeln!(
                out,
                "signing limit {}: {:.0}/s on one core ({:.0} µs each), {:.0}/s on {} cores → {:.0} logins/s",
                l.alg,
                l.one_core_per_second,
                l.us_per_signature,
                l.all_cores_per_second,
                l.cores,
                l.all_cores_per_second / 2.0
            );
        }
        let _ = writeln!(
            out,
            "\n{:<38} {:>9} {:>7} {:>7} {:>7} {:>9} {:>6} {:>6} {:>8}",
            "scenario",
            "ops/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "CPU µs/op",
            "sig/op",
            "effic.",
            "peak MB"
        );
        for f in &self.scenarios {
            let eff = f.efficiency.map_or("-".to_owned(), |e| format!("{e:.2}"));
            let _ = writeln!(
                out,
                "{:<38} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>9.0} {:>6.1} {:>6} {:>8.1}",
                f.scenario,
                f.per_second,
                f.p50_ms,
                f.p95_ms,
                f.p99_ms,
                f.cpu_us_per_op,
                f.signatures_per_op,
                eff,
                f.peak_rss_mb
            );
        }
        let _ = writeln!(out);
        for s in &self.starts {
            let _ = writeln!(
                out,
                "{}: cold start with keys {:.0} ms, idle RSS {:.1} MB",
                s.store, s.cold_start_ms, s.idle_rss_mb
            );
        }
        for mem in &self.memory {
            let _ = write!(
                out,
                "{}: {} live SSO sessions: gateway RSS +{:.1} MB",
                mem.store, mem.sessions, mem.gateway_rss_growth_mb
            );
            if let Some(r) = mem.redis_used_memory_growth_mb {
                let _ = write!(out, ", Redis used_memory +{r:.1} MB");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "\ntargets (ratios to this run's signing limit):");
        for t in &self.targets {
            let _ = writeln!(
                out,
                "  {} {:<48} {:>10}  (goal {})",
                if t.met { "met " } else { "MISS" },
                t.what,
                t.measured,
                t.goal
            );
        }
        out
    }
}

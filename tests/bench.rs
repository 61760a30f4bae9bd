//! The benchmark stays runnable: a short run of every scenario, on the memory store and on a
//! real Redis, must complete (each simulated login is checked as a site checks it) and report
//! every figure. No timing is asserted: the benchmark is the measure, not this test.

use std::process::Command;

#[test]
fn the_benchmark_runs_every_scenario_and_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("figures.json");
    let output = Command::new(env!("CARGO_BIN_EXE_socialgate-bench"))
        .args([
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--concurrency",
            "4",
        ])
        .args(["--sessions", "300", "--json"])
        .arg(&json)
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();

    let algs: Vec<&str> = figures["signing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["RS256", "ES256"]);
    for limit in figures["signing"].as_array().unwrap() {
        assert!(limit["one_core_per_second"].as_f64().unwrap() > 0.0);
        assert!(limit["all_cores_per_second"].as_f64().unwrap() > 0.0);
    }

    let scenarios = figures["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "memory: discovery + JWKS",
            "memory: brokered login",
            "memory: brokered login, paced",
            "memory: brokered login, ES256",
            "memory: SSO login, second site",
            "memory: refresh grant",
            "redis: discovery + JWKS",
            "redis: brokered login",
            "redis: brokered login, paced",
            "redis: SSO login, second site",
            "redis: refresh grant",
        ]
    );
    for s in scenarios {
        let name = s["scenario"].as_str().unwrap();
        assert!(
            s["operations"].as_u64().unwrap() > 0,
            "{name}: no operation"
        );
        assert!(s["cpu_us_per_op"].as_f64().unwrap() > 0.0, "{name}: no CPU");
        // Every token answer carries two signed JWTs (id_token and access token);
        // discovery and JWKS none.
        let expected = if name.ends_with("discovery + JWKS") {
            0.0
        } else {
            2.0
        };
        assert_eq!(s["signatures_per_op"].as_f64().unwrap(), expected, "{name}");
        assert_eq!(s["efficiency"].is_number(), expected > 0.0, "{name}");
    }

    let stores: Vec<&str> = figures["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect();
    assert_eq!(stores, ["memory", "redis"]);
    let memory = figures["memory"].as_array().unwrap();
    assert_eq!(memory.len(), 2);
    assert_eq!(memory[0]["sessions"], 300);
    assert!(memory[0]["redis_used_memory_growth_mb"].is_null());
    assert!(memory[1]["redis_used_memory_growth_mb"].as_f64().unwrap() > 0.0);

    // Each target is judged, and the text report says so.
    assert!(figures["targets"].as_array().unwrap().len() >= 10);
    assert!(stdout.contains("targets (ratios to this run's signing limit):"));
    assert!(stdout.contains("signing limit RS256:"));
}

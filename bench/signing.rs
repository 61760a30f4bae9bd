//! The physical limit: how fast the gateway's own signing code (`socialgate::keys`) signs
//! an id_token-sized JWT, on one core and on all of them. Every target is a ratio to these.

use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use serde::Serialize;
use socialgate::keys::{EcKey, ID_TOKEN_TYP, SigningKey};

#[derive(Serialize, Clone, Debug)]
pub struct Limit {
    pub alg: String,
    pub one_core_per_second: f64,
    pub all_cores_per_second: f64,
    pub cores: usize,
    /// CPU time of one signature (one core, nothing else running).
    pub us_per_signature: f64,
}

/// Claims the size of a login's id_token.
fn claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "ok:575123456789", "provider": "ok", "provider_user_id": "575123456789",
        "name": "Иван Петров", "given_name": "Иван", "family_name": "Петров",
        "picture": "https://i.mycdn.me/i?r=bench", "locale": "ru", "gender": "male",
        "birthdate": "1990-05-17", "email": "p575123456789@example.ru", "email_verified": false,
        "iss": "http://127.0.0.1:8080", "aud": "shop", "exp": 1_800_000_000u64,
        "iat": 1_799_996_400u64, "auth_time": 1_799_996_400u64,
        "at_hash": "x3fFv1kzMNFqUnXrXyW5Bw", "sid": "Hk3pQ0sV9aZ2mN8bC4dE6fG1",
        "nonce": "n-0S6_WzA2Mj",
    })
}

pub fn rsa_key() -> anyhow::Result<SigningKey> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("cannot generate an RSA key"))?;
    let der = pair
        .as_der()
        .map_err(|_| anyhow::anyhow!("cannot encode the RSA key"))?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    SigningKey::from_pem(&pem).map_err(|e| anyhow::anyhow!(e))
}

/// Signatures per second of `sign` on `threads` threads for `duration`.
fn rate(threads: usize, duration: Duration, sign: &(dyn Fn() + Sync)) -> f64 {
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while started.elapsed() < duration {
                        for _ in 0..16 {
                            sign();
                        }
                        n += 16;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64()
}

/// Measured with nothing else running (before the gateway starts).
pub fn measure(alg: &str, sign: &(dyn Fn() + Sync), duration: Duration) -> Limit {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    sign();
    let one = rate(1, duration, sign);
    let all = rate(cores, duration, sign);
    Limit {
        alg: alg.to_owned(),
        one_core_per_second: one,
        all_cores_per_second: all,
        cores,
        us_per_signature: 1e6 / one,
    }
}

pub fn rs256(duration: Duration) -> anyhow::Result<Limit> {
    let key = rsa_key()?;
    let claims = claims();
    let sign = || {
        let _ = std::hint::black_box(key.sign(&claims, ID_TOKEN_TYP));
    };
    Ok(measure("RS256", &sign, duration))
}

pub fn es256(duration: Duration) -> anyhow::Result<Limit> {
    let pem = EcKey::generate_pem().map_err(|e| anyhow::anyhow!(e))?;
    let key = EcKey::from_pem(&pem).map_err(|e| anyhow::anyhow!(e))?;
    let claims = claims();
    let sign = || {
        let _ = std::hint::black_box(key.sign(&claims, ID_TOKEN_TYP));
    };
    Ok(measure("ES256", &sign, duration))
}

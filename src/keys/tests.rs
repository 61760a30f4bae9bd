//! The ring's unit tests: persistence, rotation, the upgrade of keys stored before ES256,
//! and verification by `kid` with either algorithm.

use super::*;
use crate::store::MemoryStore;

fn timings(rotate_secs: u64) -> KeyTimings {
    KeyTimings {
        rotate_every: Duration::from_secs(rotate_secs),
        token_lifetime: Duration::from_secs(1),
        reload_every: Duration::from_millis(500),
    }
}

/// The kids in the JWKS of this algorithm, in order.
fn kids(ring: &KeyRing, alg: &str) -> Vec<String> {
    ring.jwks().unwrap()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == alg)
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn kid_of(ring: &KeyRing, alg: SigningAlg) -> String {
    ring.signing_key(alg).unwrap().kid().to_string()
}

#[tokio::test]
async fn keys_persist_owner_only_for_one_instance_and_reload_with_same_kid() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = KeyRing::new(Arc::new(MemoryStore::new()), &data, timings(3600));
    first.refresh().await.unwrap();
    // A restart: a fresh memory store, the same data_dir.
    let second = KeyRing::new(Arc::new(MemoryStore::new()), &data, timings(3600));
    second.refresh().await.unwrap();
    for alg in SigningAlg::ALL {
        assert_eq!(kid_of(&first, alg), kid_of(&second, alg), "{alg:?}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&data), 0o700);
    }
}

#[tokio::test]
async fn every_generation_has_both_keys_and_the_jwks_publishes_both() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(Arc::new(MemoryStore::new()), dir.path(), timings(3600));
    ring.refresh().await.unwrap();
    let jwks = ring.jwks().unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    let rsa = ring.signing_key(SigningAlg::Rs256).unwrap();
    let ec = ring.signing_key(SigningAlg::Es256).unwrap();
    assert_eq!(rsa.alg(), SigningAlg::Rs256);
    assert_eq!(ec.alg(), SigningAlg::Es256);
    assert_eq!(keys[0], rsa.jwk());
    assert_eq!(keys[0]["kty"], "RSA");
    let x = ec.jwk()["x"].clone();
    let y = ec.jwk()["y"].clone();
    assert_eq!(
        keys[1],
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
            "kid": ec.kid(), "x": x, "y": y,
        })
    );
    assert_ne!(rsa.kid(), ec.kid());
}

#[tokio::test]
async fn rotation_publishes_ahead_then_signs_with_the_new_key_and_retires_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(Arc::new(MemoryStore::new()), dir.path(), timings(2));
    ring.refresh().await.unwrap();
    let first = kid_of(&ring, SigningAlg::Rs256);
    let first_ec = kid_of(&ring, SigningAlg::Es256);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    ring.refresh().await.unwrap();
    // Published, not yet signing: the RSA and the P-256 key alike.
    assert_eq!(kids(&ring, "RS256").len(), 2);
    assert_eq!(kids(&ring, "ES256").len(), 2);
    assert_eq!(kid_of(&ring, SigningAlg::Rs256), first);
    assert_eq!(kid_of(&ring, SigningAlg::Es256), first_ec);
    let second = kids(&ring, "RS256")[1].clone();
    let second_ec = kids(&ring, "ES256")[1].clone();
    // publish_ahead is 1 s here.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(kid_of(&ring, SigningAlg::Rs256), second);
    assert_eq!(kid_of(&ring, SigningAlg::Es256), second_ec);
    assert!(ring.by_kid(&first).is_some(), "old key still verifies");
    assert!(ring.by_kid(&first_ec).is_some(), "old key still verifies");
    // At the next rotation the second generation has signed for longer than the token
    // lifetime (1 s) plus a reload (0.5 s): the first is dropped, both its keys.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ring.refresh().await.unwrap();
    let now_published = kids(&ring, "RS256");
    assert_eq!(now_published.len(), 2, "{now_published:?}");
    assert_eq!(now_published[0], second);
    assert_eq!(kids(&ring, "ES256")[0], second_ec);
    assert!(ring.by_kid(&first).is_none());
    assert!(ring.by_kid(&first_ec).is_none());
}

/// A key set exactly as the code before ES256 wrote it (to Redis's `keys` or to
/// `signing-keys.json`): two RSA generations, the newer one published ahead.
fn rsa_only_key_set() -> (serde_json::Value, Vec<String>) {
    let generation = |created_ms: u64, active_from_ms: u64| {
        let mut key = new_key(0).unwrap();
        key.created_ms = created_ms;
        key.active_from_ms = active_from_ms;
        key
    };
    let t = now_ms();
    let keys = [
        generation(t - 60_000, t - 60_000),
        generation(t, t + 3_600_000),
    ];
    let pems: Vec<String> = keys.iter().map(|k| k.pem.clone()).collect();
    let json = serde_json::json!({
        "keys": keys.iter().map(|k| serde_json::json!({
            "pem": k.pem, "created_ms": k.created_ms, "active_from_ms": k.active_from_ms,
        })).collect::<Vec<_>>(),
    });
    (json, pems)
}

/// What an upgraded ring must hold: the RSA keys as they were (the older still signing,
/// tokens it signed before still valid), a P-256 key per generation signing on the same
/// schedule, written back to where the keys live, and nothing changed by the next reload.
async fn assert_upgraded(ring: &KeyRing, pems: &[String], old_token: &str, written: StoredKeys) {
    let rsa_kids: Vec<String> = pems
        .iter()
        .map(|p| SigningKey::from_pem(p).unwrap().kid().to_string())
        .collect();
    assert_eq!(kids(ring, "RS256"), rsa_kids);
    assert_eq!(kid_of(ring, SigningAlg::Rs256), rsa_kids[0]);
    let expect = || Expect {
        typ: ACCESS_TOKEN_TYP,
        issuer: "https://gw",
        allow_expired: false,
    };
    let back: serde_json::Value = ring.verify(old_token, expect()).unwrap();
    assert_eq!(back["sub"], "ok:1");

    assert_eq!(written.keys.len(), 2);
    for (stored, pem) in written.keys.iter().zip(pems) {
        assert_eq!(&stored.pem, pem, "the RSA key is kept");
        let ec = EcKey::from_pem(stored.ec_pem.as_deref().expect("an ES256 key")).unwrap();
        assert!(ring.by_kid(ec.kid()).is_some());
    }
    let ec_kids = kids(ring, "ES256");
    assert_eq!(ec_kids.len(), 2);
    // The older generation's P-256 key signs now; the newer one's when its RSA key does.
    assert_eq!(kid_of(ring, SigningAlg::Es256), ec_kids[0]);
    let token = ring
        .signing_key(SigningAlg::Es256)
        .unwrap()
        .sign(
            &serde_json::json!({"iss": "https://gw", "sub": "ok:2", "exp": 4_000_000_000u64}),
            ACCESS_TOKEN_TYP,
        )
        .unwrap();
    let back: serde_json::Value = ring.verify(&token, expect()).unwrap();
    assert_eq!(back["sub"], "ok:2");

    let before = ring.read().stored.clone();
    ring.refresh().await.unwrap();
    assert!(
        ring.read().stored == before,
        "a second reload changes nothing"
    );
}

fn old_token(pems: &[String]) -> String {
    let claims = serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 4_000_000_000u64});
    SigningKey::from_pem(&pems[0])
        .unwrap()
        .sign(&claims, ACCESS_TOKEN_TYP)
        .unwrap()
}

#[tokio::test]
async fn an_rsa_only_key_set_in_the_store_keeps_its_keys_and_gains_es256_ones() {
    let (json, pems) = rsa_only_key_set();
    let token = old_token(&pems);
    let store = Arc::new(MemoryStore::new());
    store::put_json(store.as_ref(), STORE_KEY, &json, Ttl::Forever)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(store.clone(), dir.path(), timings(3600));
    ring.refresh().await.unwrap();
    let written: StoredKeys = store::get_json(store.as_ref(), STORE_KEY)
        .await
        .unwrap()
        .unwrap();
    assert_upgraded(&ring, &pems, &token, written).await;
    // The file, for one instance, holds the same.
    let file: StoredKeys =
        serde_json::from_slice(&std::fs::read(dir.path().join(KEY_FILE)).unwrap()).unwrap();
    assert!(file == ring.read().stored);
}

#[tokio::test]
async fn an_rsa_only_key_file_keeps_its_keys_and_gains_es256_ones() {
    let (json, pems) = rsa_only_key_set();
    let token = old_token(&pems);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(KEY_FILE),
        serde_json::to_vec(&json).unwrap(),
    )
    .unwrap();
    // A restart of one instance: its memory store is empty, its file is from before.
    let ring = KeyRing::new(Arc::new(MemoryStore::new()), dir.path(), timings(3600));
    ring.refresh().await.unwrap();
    let written: StoredKeys =
        serde_json::from_slice(&std::fs::read(dir.path().join(KEY_FILE)).unwrap()).unwrap();
    assert_upgraded(&ring, &pems, &token, written).await;
}

#[tokio::test]
async fn access_token_verifies_and_id_token_is_refused_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(
        Arc::new(MemoryStore::new()),
        dir.path(),
        KeyTimings::from_config(&crate::config::TokensConfig::default()),
    );
    ring.refresh().await.unwrap();
    for alg in SigningAlg::ALL {
        let key = ring.signing_key(alg).unwrap();
        let claims =
            serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 4_000_000_000u64});
        let expect = |issuer| Expect {
            typ: ACCESS_TOKEN_TYP,
            issuer,
            allow_expired: false,
        };
        let at = key.sign(&claims, ACCESS_TOKEN_TYP).unwrap();
        let header = jsonwebtoken::decode_header(&at).unwrap();
        assert_eq!(serde_json::to_value(header.alg).unwrap(), alg.as_str());
        let back: serde_json::Value = ring.verify(&at, expect("https://gw")).unwrap();
        assert_eq!(back["sub"], "ok:1");
        let id = key.sign(&claims, ID_TOKEN_TYP).unwrap();
        assert_eq!(
            ring.verify::<serde_json::Value>(&id, expect("https://gw"))
                .unwrap_err(),
            VerifyError::WrongType
        );
        assert_eq!(
            ring.verify::<serde_json::Value>(&at, expect("https://other"))
                .unwrap_err(),
            VerifyError::Invalid
        );
        let expired = serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 1_000u64});
        let old = key.sign(&expired, ACCESS_TOKEN_TYP).unwrap();
        assert_eq!(
            ring.verify::<serde_json::Value>(&old, expect("https://gw"))
                .unwrap_err(),
            VerifyError::Expired
        );
        let lenient = Expect {
            allow_expired: true,
            ..expect("https://gw")
        };
        assert!(ring.verify::<serde_json::Value>(&old, lenient).is_ok());
    }
}

/// A token whose header names one key and one algorithm, validly signed by whatever
/// `encoding` is: the key a `kid` names decides the algorithm, never the header.
#[tokio::test]
async fn a_kid_is_never_verified_with_another_algorithm() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(Arc::new(MemoryStore::new()), dir.path(), timings(3600));
    ring.refresh().await.unwrap();
    let stored = ring.read().stored.keys[0].clone();
    let rsa_kid = kid_of(&ring, SigningAlg::Rs256);
    let ec_kid = kid_of(&ring, SigningAlg::Es256);
    let rsa = EncodingKey::from_rsa_pem(stored.pem.as_bytes()).unwrap();
    let ec = EncodingKey::from_ec_pem(stored.ec_pem.unwrap().as_bytes()).unwrap();
    let claims = serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 4_000_000_000u64});
    let forge = |alg, kid: &str, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_string());
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    };
    let verify = |token: &str| {
        ring.verify::<serde_json::Value>(
            token,
            Expect {
                typ: ACCESS_TOKEN_TYP,
                issuer: "https://gw",
                allow_expired: false,
            },
        )
    };
    // The jsonwebtoken-made tokens verify under their own key's kid...
    assert!(verify(&forge(Algorithm::RS256, &rsa_kid, &rsa)).is_ok());
    assert!(verify(&forge(Algorithm::ES256, &ec_kid, &ec)).is_ok());
    // ...and under the other key's kid are refused, in either direction.
    assert_eq!(
        verify(&forge(Algorithm::RS256, &ec_kid, &rsa)).unwrap_err(),
        VerifyError::Invalid
    );
    assert_eq!(
        verify(&forge(Algorithm::ES256, &rsa_kid, &ec)).unwrap_err(),
        VerifyError::Invalid
    );
    // An HMAC "signed" with a public key as its secret is nobody's token.
    for (kid, public) in [(&rsa_kid, "n"), (&ec_kid, "x")] {
        let jwk = ring.by_kid(kid).unwrap().jwk();
        let secret = EncodingKey::from_secret(jwk[public].as_str().unwrap().as_bytes());
        assert_eq!(
            verify(&forge(Algorithm::HS256, kid, &secret)).unwrap_err(),
            VerifyError::Invalid
        );
    }
}

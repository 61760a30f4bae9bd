//! A string presented as a token: as a bearer access token (`/userinfo`, the APIs) and as
//! `/logout`'s id_token_hint. Nothing the fuzzer writes carries the gateway's signature, so
//! nothing it writes is accepted. Input starting with `{` is instead a set of claims the
//! gateway signs itself, so every check after the signature runs on them too: an id_token is
//! never taken for an access token, nor an access token for an id_token, whichever
//! algorithm (RS256, ES256) signed it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use socialgate::config::SigningAlg;
use socialgate::keys::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use socialgate::oidc::access;
use socialgate::oidc::logout::{self, LogoutParams};
use socialgate::oidc::mint::Minter;
use socialgate::primitives::now;
use socialgate_fuzz::Running;

/// `/logout` with this hint, from a browser with no session; whether a hint was taken.
fn logout_with(running: &Running, hint: &str) -> bool {
    let params = LogoutParams {
        id_token_hint: Some(hint.to_string()),
        ..LogoutParams::default()
    };
    let taken = running
        .block_on(logout::logout(&running.gateway, params, None, false))
        .is_ok();
    let verified = Minter::of(&running.gateway)
        .verify_id_token_hint::<Value>(hint)
        .is_ok();
    // A hint refused by its signature or type is refused at /logout; an empty one is none.
    assert!(verified || !taken || hint.is_empty());
    taken && !hint.is_empty()
}

fuzz_target!(|data: &[u8]| {
    let running = socialgate_fuzz::gateway();
    let gw = &running.gateway;
    let text = String::from_utf8_lossy(data);
    if !text.trim_start().starts_with('{') {
        assert!(
            running.block_on(access::verify(gw, &text)).is_err(),
            "a forged access token"
        );
        assert!(!logout_with(running, &text), "a forged id_token_hint");
        return;
    }
    let Ok(claims) = serde_json::from_str::<Map<String, Value>>(&text) else {
        return;
    };
    // With each algorithm's key: a client may be configured for either.
    for alg in SigningAlg::ALL {
        let key = gw.keys.signing_key(alg).expect("keys are loaded");
        let access_token = key.sign(&claims, ACCESS_TOKEN_TYP).expect("claims sign");
        if let Ok(access) = running.block_on(access::verify(gw, &access_token)) {
            assert_eq!(access.iss, gw.config.server.issuer.as_str());
            assert!(
                access.exp.saturating_add(2) >= now(),
                "an expired access token"
            );
            assert!(claims.get("sub").is_some_and(Value::is_string));
        }
        let id_token = key.sign(&claims, ID_TOKEN_TYP).expect("claims sign");
        assert!(
            running.block_on(access::verify(gw, &id_token)).is_err(),
            "an id_token taken for an access token"
        );
        logout_with(running, &id_token);
        assert!(
            !logout_with(running, &access_token),
            "an access token taken for an id_token_hint"
        );
    }
});

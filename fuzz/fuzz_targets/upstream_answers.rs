//! A network's answer, fed to every reader of one: token answers (OK's HTTP-200 errors
//! among them), API answers, profiles mapped into an `Identity` by every network's claim
//! map, VK's `users.get`, GitHub's emails, an OpenID Connect network's discovery document,
//! JWKS, id_token and userinfo. Garbage is refused in words; never a panic. What is read is
//! well formed: what a site will be told holds only what OIDC allows.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use socialgate::provider::Identity;
use socialgate::provider::fuzzing::Networks;
use socialgate_fuzz::printable;

fn networks() -> &'static Networks {
    static NETWORKS: OnceLock<Networks> = OnceLock::new();
    NETWORKS.get_or_init(|| {
        Networks::new(socialgate_fuzz::config().providers.values()).expect("the networks open")
    })
}

fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn check(identity: &Identity) {
    assert!(!identity.provider_user_id.is_empty());
    assert!(
        identity
            .picture
            .as_ref()
            .is_none_or(|p| p.starts_with("https://"))
    );
    if let Some(email) = &identity.email {
        assert!(email.len() <= 254 && email.contains('@'), "{email:?}");
    }
    assert!(!identity.email_verified || identity.email.is_some());
    assert!(
        identity.birthdate.as_deref().is_none_or(is_date),
        "{:?}",
        identity.birthdate
    );
    assert!(identity.locale.as_ref().is_none_or(|l| !l.contains('_')));
}

fuzz_target!(|data: &[u8]| {
    let read = networks().read(data);
    for identity in &read.identities {
        check(identity);
    }
    for error in &read.errors {
        // Into a site's error_description and the log, as is.
        assert!(printable(&error.to_string()), "{error:?}");
    }
});

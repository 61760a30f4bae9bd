//! Client authentication as a client-authenticated endpoint reads it: an `Authorization`
//! header (HTTP Basic with RFC 6749's form-encoding), the posted `client_id` and
//! `client_secret`, and the source address behind trusted proxies (`X-Forwarded-For`).
//! Input: the header's value, a line break, the address header's value, a line break, the
//! form body. Credentials prove a registered client only with its secret; never a panic.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use socialgate::oidc::clients::AuthMethod;
use socialgate::web::fuzzing;

/// What `HeaderValue::to_str` accepts: visible ASCII and tabs. Anything else reads as no
/// header at all.
fn header(line: &[u8]) -> Option<&str> {
    let visible = line.iter().all(|&b| b == b'\t' || (32..127).contains(&b));
    (visible && !line.is_empty())
        .then(|| std::str::from_utf8(line).ok())
        .flatten()
}

fuzz_target!(|data: &[u8]| {
    let config = socialgate_fuzz::config();
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let authorization = parts.next().and_then(header);
    let forwarded = parts.next().and_then(header);
    let body = parts.next().unwrap_or_default();

    // The source address: the peer unless it is a trusted proxy, else an address the
    // header names.
    let addresses = &config.limits.addresses;
    for peer in [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    ] {
        let source = addresses.source(peer, forwarded.into_iter());
        if !addresses.is_trusted(peer) {
            assert_eq!(source, peer);
        } else if source != peer {
            let named = forwarded.unwrap_or_default();
            assert!(
                named.contains(&source.to_string()) || named.contains(':'),
                "{source} from {named:?}"
            );
        }
    }

    match fuzzing::credentials(authorization, body) {
        Ok(credentials) => {
            let basic = authorization.is_some();
            assert_eq!(credentials.method == AuthMethod::Basic, basic);
            if let Ok(client) = credentials.authenticate(config) {
                assert_eq!(client.client_id.as_str(), credentials.client_id);
                match &client.client_secret {
                    None => assert!(credentials.secret.is_none()),
                    Some(expected) => assert!(
                        [&credentials.secret, &credentials.secret_as_sent]
                            .into_iter()
                            .flatten()
                            .any(|given| given.expose_secret() == expected.expose_secret()),
                        "{} authenticated without its secret",
                        client.client_id.as_str()
                    ),
                }
            }
        }
        Err(answer) => {
            assert!(matches!(answer.status, 400 | 401), "{answer:?}");
            if let Some(challenge) = &answer.www_authenticate {
                assert_eq!(challenge, "Basic realm=\"socialgate\"");
                assert_eq!(answer.status, 401);
            }
        }
    }
    let _ = fuzzing::token_request(authorization, body);
});

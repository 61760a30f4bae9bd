//! `/authorize`'s query string (or form body), validated against `gateway.toml`. Bad
//! requests get an error page or, once the redirect URI is verified, an error redirect to
//! it; never a panic, never a redirect anywhere else. A valid request's chooser links repeat
//! it exactly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socialgate::oidc::authorize::Validated;
use socialgate::web::fuzzing;
use url::Url;

/// A redirect URI's place: all of it but the query the gateway adds to.
fn place(url: &Url) -> (String, Option<String>, String) {
    (
        url.origin().ascii_serialization(),
        url.host_str().map(str::to_string),
        url.path().to_string(),
    )
}

fn check(v: &Validated<'_>) {
    let r = &v.request;
    assert!(
        v.client
            .redirect_uris
            .iter()
            .any(|u| u == r.redirect_uri.as_str())
    );
    assert!(r.scopes.iter().any(|s| s == "openid"));
    assert!(
        r.state
            .as_ref()
            .is_none_or(|s| !s.as_str().is_empty() && s.as_str().len() <= 1024)
    );
    assert!(
        r.nonce
            .as_ref()
            .is_none_or(|n| !n.as_str().is_empty() && n.as_str().len() <= 1024)
    );
    if v.client.client_secret.is_none() {
        assert!(r.code_challenge.is_some(), "a public client without PKCE");
    }
    if let Some(p) = &v.provider {
        assert!(v.client.providers.contains(p));
    }
}

fuzz_target!(|data: &[u8]| {
    let config = socialgate_fuzz::config();
    match fuzzing::authorize(config, data) {
        Ok((validated, links)) => {
            check(&validated);
            assert_eq!(links.len(), validated.client.providers.len());
            for (link, provider) in links.iter().zip(&validated.client.providers) {
                let (again, _) = fuzzing::authorize(config, link.as_bytes())
                    .unwrap_or_else(|e| panic!("the chooser's link {link:?} is refused: {e:?}"));
                let (a, b) = (&validated.request, &again.request);
                assert_eq!(a.client_id, b.client_id);
                assert_eq!(a.redirect_uri.as_str(), b.redirect_uri.as_str());
                assert_eq!(a.scopes, b.scopes);
                assert_eq!(
                    a.state.as_ref().map(|s| s.as_str()),
                    b.state.as_ref().map(|s| s.as_str())
                );
                assert_eq!(
                    a.nonce.as_ref().map(|s| s.as_str()),
                    b.nonce.as_ref().map(|s| s.as_str())
                );
                assert_eq!(
                    a.code_challenge.as_ref().map(|s| s.as_str()),
                    b.code_challenge.as_ref().map(|s| s.as_str())
                );
                assert_eq!(again.provider.as_ref(), Some(provider));
                assert_eq!(
                    (validated.prompt.login, validated.prompt.max_age),
                    (again.prompt.login, again.prompt.max_age)
                );
            }
        }
        Err(answer) => match answer.status {
            400 | 404 => assert_eq!(answer.location, None),
            303 => {
                // Back to a URI a client registered, and nowhere else.
                let location = answer.location.expect("a redirect has a Location");
                let to = Url::parse(&location).expect("the Location is a URL");
                let registered = config.clients.values().flat_map(|c| &c.redirect_uris);
                assert!(
                    registered
                        .filter_map(|u| Url::parse(u).ok())
                        .any(|u| place(&u) == place(&to)),
                    "an error redirect to {location}"
                );
                assert!(to.query_pairs().any(|(k, _)| k == "error"));
            }
            status => panic!("/authorize answered {status}: {answer:?}"),
        },
    }
});

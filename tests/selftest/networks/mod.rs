//! The fake VK ID, Yandex, Mail.ru, GitHub, Facebook, X and Custom upstreams: they must
//! accept what the real networks accept and refuse what they refuse, the same way. What every
//! network's checks use, and the checks of all of them at once; one module per network.

mod custom;
mod facebook;
mod github;
mod mailru;
mod vkid;
mod x;
mod yandex;

use crate::support::fakes::facebook::appsecret_proof;
use crate::support::fakes::oauth2::{Behaviour, FakeNetwork, Network, Person};
use crate::support::fakes::wire::pkce_s256;
use crate::support::{jarless, param};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT};
use serde_json::{Value, json};
use url::Url;

use super::{CHALLENGE, VERIFIER};

const REDIRECT: &str = "http://127.0.0.1:9/callback/net";
/// Mail.ru compares the trailing slash too.
const MAILRU_REDIRECT: &str = "http://127.0.0.1:9/callback/mailru/";
const OTHER_VERIFIER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
const UA: &str = "socialgate-selftest";

const ALL: [Network; 7] = [
    Network::VkId,
    Network::Yandex,
    Network::MailRu,
    Network::GitHub,
    Network::Facebook,
    Network::X,
    Network::Custom,
];

fn redirect_of(net: Network) -> &'static str {
    if net == Network::MailRu {
        MAILRU_REDIRECT
    } else {
        REDIRECT
    }
}

/// Authorize parameters the network accepts, with PKCE S256 and state "st-1".
fn auth_params(fake: &FakeNetwork, scope: &str) -> Vec<(String, String)> {
    let net = fake.network();
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", fake.client_id()),
        ("redirect_uri", redirect_of(net)),
        ("state", "st-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    if !scope.is_empty() {
        p.push(("scope", scope));
    }
    p.into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn without(mut p: Vec<(String, String)>, names: &[&str]) -> Vec<(String, String)> {
    p.retain(|(k, _)| !names.contains(&k.as_str()));
    p
}

fn with(mut p: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    p.retain(|(k, _)| k != name);
    p.push((name.to_owned(), value.to_owned()));
    p
}

/// GET authorize; the status and the Location, if any.
async fn authorize(fake: &FakeNetwork, params: &[(String, String)]) -> (StatusCode, Option<Url>) {
    let resp = jarless()
        .get(fake.authorize_url())
        .query(params)
        .send()
        .await
        .unwrap();
    let loc = resp
        .headers()
        .get(LOCATION)
        .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
    (resp.status(), loc)
}

/// A successful authorize: the redirect back with state echoed and a code.
async fn code_for(fake: &FakeNetwork, params: &[(String, String)]) -> Url {
    let (status, loc) = authorize(fake, params).await;
    assert_eq!(status, StatusCode::FOUND);
    let loc = loc.expect("Location");
    assert_eq!(
        loc.as_str().split('?').next(),
        Some(redirect_of(fake.network()))
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"), "{loc}");
    assert!(param(&loc, "code").is_some(), "{loc}");
    loc
}

async fn code(fake: &FakeNetwork, params: &[(String, String)]) -> String {
    param(&code_for(fake, params).await, "code").unwrap()
}

async fn status_json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

async fn post_form(
    url: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut req = jarless().post(url).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    status_json(req.send().await.unwrap()).await
}

#[tokio::test]
async fn every_network_refuses_bad_client_and_redirect_with_a_page_and_reports_denial() {
    for net in ALL {
        let fake = FakeNetwork::start(net, redirect_of(net)).await;
        let good = auth_params(&fake, "");
        for bad in [
            with(good.clone(), "client_id", "nope"),
            with(good.clone(), "redirect_uri", "https://evil.example/cb"),
        ] {
            let (status, loc) = authorize(&fake, &bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{net:?}");
            assert!(loc.is_none(), "{net:?} redirected to {loc:?}");
        }

        fake.set_behaviour(Behaviour::Deny);
        let good = if net == Network::X {
            with(good, "scope", "users.read tweet.read")
        } else {
            good
        };
        let (status, loc) = authorize(&fake, &good).await;
        assert_eq!(status, StatusCode::FOUND, "{net:?}");
        let loc = loc.unwrap();
        assert_eq!(
            param(&loc, "error").as_deref(),
            Some("access_denied"),
            "{net:?}"
        );
        assert!(param(&loc, "error_description").is_some(), "{net:?}");
        assert_eq!(param(&loc, "state").as_deref(), Some("st-1"), "{net:?}");
        assert!(param(&loc, "code").is_none());
        assert_eq!(fake.calls("authorize"), 3);

        fake.set_behaviour(Behaviour::TokenHttp500);
        let resp = jarless()
            .post(fake.token_url())
            .form(&[("code", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR, "{net:?}");
        if net != Network::Facebook {
            let resp = jarless().get(fake.token_url()).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{net:?}");
        }
        fake.set_behaviour(Behaviour::UserinfoHttp500);
        let resp = jarless()
            .request(
                if net == Network::VkId {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                },
                fake.userinfo_url(),
            )
            .header(USER_AGENT, UA)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR, "{net:?}");
        assert_eq!(fake.calls("token"), 1);
        assert_eq!(fake.calls("userinfo"), 1);
    }
}

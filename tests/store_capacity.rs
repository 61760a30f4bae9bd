//! The embedded store never refuses service: filled past `[store] max_memory` by a flood of
//! abandoned logins and by real ones, it evicts the least recently used entries — pending
//! logins only push out pending logins — so new logins keep working and the people active
//! most recently stay logged in.

mod support;

use support::*;

const FLOOD: usize = 4000;
const PEOPLE: usize = 700;

fn authorize(gw: &TestGateway, client: &str, redirect_uri: &str, provider: Option<&str>) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("scope", "openid"),
    ];
    if let Some(p) = provider {
        params.push(("provider", p));
    }
    gw.authorize_url(&params)
}

/// A person in a browser of their own logs in at the shop through OK.
async fn log_in(gw: &TestGateway) -> reqwest::Client {
    let person = browser();
    let site = follow_with(&person, &authorize(gw, SHOP, SHOP_REDIRECT, Some("ok")))
        .await
        .site();
    assert!(param(&site, "code").is_some(), "{site}");
    person
}

/// Whether `person` is still logged in at the gateway: the forum's login comes straight
/// back with a code, without OK.
async fn still_logged_in(gw: &TestGateway, person: &reqwest::Client) -> bool {
    let before = gw.ok.calls("authorize");
    let url = format!("{}&prompt=none", authorize(gw, FORUM, FORUM_REDIRECT, None));
    let site = follow_with(person, &url).await.site();
    assert_eq!(
        gw.ok.calls("authorize"),
        before,
        "prompt=none never asks OK"
    );
    param(&site, "code").is_some()
}

#[tokio::test]
async fn a_full_memory_store_evicts_the_least_recently_active_and_keeps_serving() {
    let capture = capture::logs();
    let gw = TestGateway::start_with(Options {
        // extra_toml follows the [store] table: its first line is a key of [store].
        extra_toml: "max_memory = \"1MB\"\n\n[limits]\nlogins_per_address = \"off\"\n".into(),
        ..Options::default()
    })
    .await;
    let first = log_in(&gw).await;

    // Abandoned logins: each leaves a pending login behind, far more than fit.
    let flood = browser();
    for _ in 0..FLOOD {
        let response = flood
            .get(authorize(&gw, SHOP, SHOP_REDIRECT, Some("ok")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
    }
    // The person who logged in before the flood is still logged in: the flood evicted
    // only its own kind.
    assert!(still_logged_in(&gw, &first).await);

    // Real logins, more than fit: every one works.
    let mut people = Vec::new();
    for _ in 0..PEOPLE {
        people.push(log_in(&gw).await);
    }
    // The most recently active are logged in; the least recently active were evicted.
    for person in people.iter().rev().take(50) {
        assert!(still_logged_in(&gw, person).await);
    }
    let evicted = {
        let mut evicted = 0;
        for person in people.iter().take(50) {
            if !still_logged_in(&gw, person).await {
                evicted += 1;
            }
        }
        evicted
    };
    assert!(
        evicted >= 45,
        "only {evicted} of the 50 least recently active were evicted"
    );

    let logs = capture.text();
    assert!(
        logs.contains("the memory store is full: least recently used entries evicted"),
        "{logs}"
    );
}

//! Self-test of the fake VK ID, Yandex, Mail.ru, GitHub, Facebook, X and Custom upstreams:
//! they must accept what the real networks accept and refuse what they refuse, the same way.

mod support;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT};
use serde_json::{Value, json};
use support::fakes::facebook::appsecret_proof;
use support::fakes::network::{Behaviour, FakeNetwork, Network, Person};
use support::fakes::wire::pkce_s256;
use support::{jarless, param};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/callback/net";
/// Mail.ru compares the trailing slash too.
const MAILRU_REDIRECT: &str = "http://127.0.0.1:9/callback/mailru/";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
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

// --------------------------------------------------------------------------------------- all

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

// ------------------------------------------------------------------------------------- VK ID

#[tokio::test]
async fn vkid_pkce_login_with_device_id() {
    let vk = FakeNetwork::start(Network::VkId, REDIRECT).await;
    assert_eq!(vk.client_id(), "52345678");
    let params = with(
        auth_params(&vk, "vkid.personal_info email"),
        "provider",
        "ok_ru",
    );
    let loc = code_for(&vk, &params).await;
    assert!(
        vk.last_request("authorize")
            .contains(&("provider".into(), "ok_ru".into()))
    );
    let code = param(&loc, "code").unwrap();
    let device_id = param(&loc, "device_id").unwrap();
    assert!(device_id.len() >= 40);
    assert_eq!(param(&loc, "expires_in").as_deref(), Some("600"));
    assert_eq!(param(&loc, "type").as_deref(), Some("code_v2"));

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", "52345678"),
        ("device_id", device_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
    ];
    let (status, tok) = post_form(&vk.token_url(), &form, None).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["user_id"], json!(246813579), "a number");
    assert_eq!(tok["state"], "st-1");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    assert_eq!(tok["scope"], "vkid.personal_info email");
    assert!(tok["refresh_token"].is_string());
    assert_eq!(tok["id_token"].as_str().unwrap().split('.').count(), 3);
    let token = tok["access_token"].as_str().unwrap();

    let (status, me) = post_form(
        &vk.userinfo_url(),
        &[("client_id", "52345678"), ("access_token", token)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({ "user": {
            "user_id": "246813579",
            "first_name": "Ольга",
            "last_name": "Соколова",
            "avatar": "https://sun9-75.userapi.com/s/v1/ig2/sokolova.jpg?size=200x200",
            "email": "o.sokolova@example.ru",
            "phone": "79*******00",
            "sex": 1,
            "verified": false,
            "birthday": "14.03.1991",
        } })
    );
    for form in [
        [("client_id", "52345678"), ("access_token", "vk2.a.nope")],
        [("client_id", "11111111"), ("access_token", token)],
    ] {
        let (status, err) = post_form(&vk.userinfo_url(), &form, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            err,
            json!({ "error": "invalid_token", "error_description": "invalid access_token" })
        );
    }

    // The same code again.
    let (status, err) = post_form(&vk.token_url(), &form, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");

    // No email scope, no email; a client_secret is ignored.
    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let mut form = form;
    form[1].1 = &code;
    form[4].1 = &device_id;
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", "whatever"));
    let (status, tok) = post_form(&vk.token_url(), &with_secret, None).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "vkid.personal_info");
    let token = tok["access_token"].as_str().unwrap();
    let (_, me) = post_form(
        &vk.userinfo_url(),
        &[("client_id", "52345678"), ("access_token", token)],
        None,
    )
    .await;
    assert!(me["user"].get("email").is_none(), "{me}");
}

#[tokio::test]
async fn vkid_refusals() {
    let vk = FakeNetwork::start(Network::VkId, REDIRECT).await;
    // PKCE is mandatory.
    let (status, loc) = authorize(&vk, &without(auth_params(&vk, ""), &["code_challenge"])).await;
    assert_eq!(status, StatusCode::FOUND);
    let loc = loc.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        param(&loc, "error_description").as_deref(),
        Some("code_challenge is required")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));

    let token_form = |code: &str, device_id: &str, verifier: &str, client_id: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("client_id", client_id.to_owned()),
            ("device_id", device_id.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("state", "st-1".to_owned()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let url = vk.token_url();
        async move { status_json(jarless().post(url).form(&form).send().await.unwrap()).await }
    };

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let (status, err) = post(token_form(&code, &device_id, VERIFIER, "999")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, err) = post(token_form(&code, "another-device", VERIFIER, "52345678")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(err["error_description"], "device_id is invalid");
    // Presented once, gone.
    let (status, err) = post(token_form(&code, &device_id, VERIFIER, "52345678")).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let (status, err) = post(token_form(&code, &device_id, OTHER_VERIFIER, "52345678")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_description"], "code_verifier is invalid");

    let loc = code_for(&vk, &auth_params(&vk, "")).await;
    let (code, device_id) = (
        param(&loc, "code").unwrap(),
        param(&loc, "device_id").unwrap(),
    );
    let mut form = token_form(&code, &device_id, VERIFIER, "52345678");
    form[5].1 = "http://127.0.0.1:9/elsewhere".to_owned();
    let (status, err) = post(form).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let form = token_form(&code, &device_id, VERIFIER, "52345678")
        .into_iter()
        .filter(|(k, _)| *k != "state")
        .collect();
    let (status, err) = post(form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_request");
}

// ------------------------------------------------------------------------------------ Yandex

#[tokio::test]
async fn yandex_login_oauth_header_and_scopes() {
    let ya = FakeNetwork::start(Network::Yandex, REDIRECT).await;
    // No scope: the app's scopes; Basic client auth; PKCE.
    let code = code(&ya, &auth_params(&ya, "")).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, tok) = post_form(
        &ya.token_url(),
        &form,
        Some((ya.client_id(), ya.client_secret())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 31536000);
    assert!(tok["refresh_token"].is_string());
    assert!(ya.last_token_authorization().unwrap().starts_with("Basic "));
    let token = tok["access_token"].as_str().unwrap();

    let info = |auth: String, query: &'static str| {
        let url = format!("{}{query}", ya.userinfo_url());
        async move {
            jarless()
                .get(url)
                .header(AUTHORIZATION, auth)
                .send()
                .await
                .unwrap()
        }
    };
    let (status, me) = status_json(info(format!("OAuth {token}"), "?format=json").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({
            "id": "1130000031415926",
            "login": "ivan.petrov",
            "client_id": "0b1c2d3e4f5a69788796a5b4c3d2e1f0",
            "psuid": "1.AAqbmw.1130000031415926.c2FtcGxlLXBzdWlk",
            "display_name": "ivan.petrov",
            "real_name": "Иван Петров",
            "first_name": "Иван",
            "last_name": "Петров",
            "sex": "male",
            "default_email": "ivan.petrov@yandex.ru",
            "emails": ["ivan.petrov@yandex.ru"],
            "default_avatar_id": "131652443/abcdEF-1",
            "is_avatar_empty": false,
            "birthday": "1988-07-21",
        })
    );
    assert!(
        ya.last_request("userinfo")
            .contains(&("format".into(), "json".into()))
    );
    let resp = info(format!("OAuth {token}"), "").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert!(resp.text().await.unwrap().contains("<user/>"));
    // Quirk: Bearer is not accepted; errors are plain text.
    for auth in [format!("Bearer {token}"), "OAuth y0_nope".to_owned()] {
        let resp = info(auth, "?format=json").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(!resp.text().await.unwrap().contains(token));
    }

    // A narrower scope, no PKCE, credentials in the body: only what was granted.
    let params = without(
        auth_params(&ya, "login:info"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&ya, &params).await;
    let (status, tok) = post_form(
        &ya.token_url(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", ya.client_id()),
            ("client_secret", ya.client_secret()),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    let token = tok["access_token"].as_str().unwrap();
    let (_, me) = status_json(info(format!("OAuth {token}"), "?format=json").await).await;
    let mut keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "client_id",
            "display_name",
            "first_name",
            "id",
            "last_name",
            "login",
            "psuid",
            "real_name",
            "sex"
        ]
    );

    // A scope the app does not have.
    let (status, loc) = authorize(&ya, &auth_params(&ya, "login:info login:phone")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        param(&loc.unwrap(), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn yandex_token_refusals() {
    let ya = FakeNetwork::start(Network::Yandex, REDIRECT).await;
    let code = code(&ya, &auth_params(&ya, "")).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, id: &'static str, secret: &'static str| {
        let url = ya.token_url();
        async move {
            let req = jarless().post(url).form(&form).basic_auth(id, Some(secret));
            status_json(req.send().await.unwrap()).await
        }
    };
    let id = "0b1c2d3e4f5a69788796a5b4c3d2e1f0";
    let secret = "5e4d3c2b1a0f9e8d7c6b5a4938271605";
    let (status, err) = send(form(&code, VERIFIER), id, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        err,
        json!({ "error": "invalid_client", "error_description": "Wrong client secret" })
    );
    let (status, err) = send(form(&code, VERIFIER), "nope", secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error_description"], "Client not found");
    // The client was refused before the code was looked at: it still works, once.
    let (status, _) = send(form(&code, VERIFIER), id, secret).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = send(form(&code, VERIFIER), id, secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_grant", "error_description": "Code has expired" })
    );
    let code = self::code(&ya, &auth_params(&ya, "")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), id, secret).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A challenge was sent: a verifier is required.
    let code = self::code(&ya, &auth_params(&ya, "")).await;
    let no_verifier = form(&code, VERIFIER).into_iter().take(2).collect();
    let (status, err) = send(no_verifier, id, secret).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

// ----------------------------------------------------------------------------------- Mail.ru

#[tokio::test]
async fn mailru_login_and_http_200_errors() {
    let mr = FakeNetwork::start(Network::MailRu, MAILRU_REDIRECT).await;
    // The trailing slash is part of the registered address.
    let params = with(
        auth_params(&mr, "userinfo"),
        "redirect_uri",
        "http://127.0.0.1:9/callback/mailru",
    );
    assert_eq!(authorize(&mr, &params).await.0, StatusCode::BAD_REQUEST);

    let params = without(
        auth_params(&mr, "userinfo"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = code(&mr, &params).await;
    let form = |code: &str, secret: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", MAILRU_REDIRECT.to_owned()),
            ("client_id", "a3f1c9e07b2d4e5f8a6b1c2d3e4f5a6b".to_owned()),
            ("client_secret", secret.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let url = mr.token_url();
        async move { status_json(jarless().post(url).form(&form).send().await.unwrap()).await }
    };
    let secret = "f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5";
    let (status, err) = send(form(&code, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (err["error"].as_str(), err["error_code"].as_u64()),
        (Some("invalid_client"), Some(2))
    );
    let (status, tok) = send(form(&code, secret)).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["expires_in"], 3600);
    assert!(tok["refresh_token"].is_string());
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_grant", "error_code": 4, "error_description": "invalid code" })
    );

    let me = |token: String| {
        let url = mr.userinfo_url();
        async move {
            status_json(
                jarless()
                    .get(url)
                    .query(&[("access_token", token)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, me_ok) = me(token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({
            "id": "8412503917265340211",
            "email": "anna.kuznetsova@mail.ru",
            "name": "Анна Кузнецова",
            "first_name": "Анна",
            "last_name": "Кузнецова",
            "nickname": "anna.kuznetsova",
            "gender": "f",
            "image": "https://filin.mail.ru/pic?d=anna-kuznetsova&width=180&height=180",
            "birthday": "02.12.1995",
            "locale": "ru_RU",
        })
    );
    // Quirk: an unknown token is HTTP 200 with an error.
    let (status, err) = me("deadbeef".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        err,
        json!({ "error": "invalid_token", "error_code": 2, "error_description": "token not found" })
    );

    // With PKCE and Basic: the verifier must match.
    let code = self::code(&mr, &auth_params(&mr, "userinfo")).await;
    let (status, err) = post_form(
        &mr.token_url(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", MAILRU_REDIRECT),
            ("code_verifier", OTHER_VERIFIER),
        ],
        Some((mr.client_id(), secret)),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

// ------------------------------------------------------------------------------------ GitHub

async fn github_get(url: &str, token: &str, ua: bool) -> reqwest::Response {
    let mut req = jarless()
        .get(url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(ACCEPT, "application/vnd.github+json");
    if ua {
        req = req.header(USER_AGENT, UA);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn github_login_form_or_json_tokens_and_emails() {
    let gh = FakeNetwork::start(Network::GitHub, REDIRECT).await;
    let code = code(&gh, &auth_params(&gh, "read:user user:email")).await;
    let form = [
        ("client_id", gh.client_id()),
        ("client_secret", gh.client_secret()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    // Without Accept: JSON the answer is form-encoded.
    let resp = jarless()
        .post(gh.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    let answer: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        answer[1],
        ("scope".to_owned(), "read:user,user:email".to_owned())
    );
    assert_eq!(answer[2], ("token_type".to_owned(), "bearer".to_owned()));
    assert_eq!(answer[0].0, "access_token");
    let token = answer[0].1.clone();
    assert!(token.starts_with("gho_"));

    let (status, me) = status_json(github_get(&gh.userinfo_url(), &token, true).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["login"], "monalisa");
    assert_eq!(me["id"], json!(9919), "a number");
    assert_eq!(me["name"], "Mona Lisa");
    assert_eq!(me["email"], Value::Null);
    assert_eq!(
        me["avatar_url"],
        "https://avatars.githubusercontent.com/u/9919?v=4"
    );

    let emails_url = format!("{}/user/emails", gh.base_url);
    let (status, emails) = status_json(github_get(&emails_url, &token, true).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        emails,
        json!([
            { "email": "9919+monalisa@users.noreply.github.com", "primary": false, "verified": true, "visibility": null },
            { "email": "mona@example.com", "primary": true, "verified": true, "visibility": "private" },
        ])
    );
    gh.set_behaviour(Behaviour::EmailsPrimaryUnverified);
    let (_, emails) = status_json(github_get(&emails_url, &token, true).await).await;
    assert_eq!(emails[1]["verified"], false);
    assert_eq!(gh.calls("emails"), 2);

    // No User-Agent: 403 text; bad token: 401.
    for url in [gh.userinfo_url(), emails_url.clone()] {
        let resp = github_get(&url, &token, false).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("User-Agent header"));
        let (status, err) = status_json(github_get(&url, "gho_nope", true).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["message"], "Bad credentials");
        assert_eq!(err["status"], "401");
    }

    // Without user:email, /user/emails is 404; tokens as JSON on request.
    let params = without(
        auth_params(&gh, "read:user"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&gh, &params).await;
    let resp = jarless()
        .post(gh.token_url())
        .header(ACCEPT, "application/json")
        .form(&[
            ("client_id", gh.client_id()),
            ("client_secret", gh.client_secret()),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let (status, tok) = status_json(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tok["scope"], "read:user");
    assert_eq!(tok["token_type"], "bearer");
    let token = tok["access_token"].as_str().unwrap();
    let (status, err) = status_json(github_get(&emails_url, token, true).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["message"], "Not Found");
    let resp = github_get(&gh.userinfo_url(), token, true).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn github_token_errors_are_http_200() {
    let gh = FakeNetwork::start(Network::GitHub, REDIRECT).await;
    let code = code(&gh, &auth_params(&gh, "user:email")).await;
    let send = |secret: &'static str, code: String, verifier: &'static str| {
        let url = gh.token_url();
        let id = gh.client_id().to_owned();
        async move {
            let resp = jarless()
                .post(url)
                .header(ACCEPT, "application/json")
                .form(&[
                    ("client_id", id.as_str()),
                    ("client_secret", secret),
                    ("code", &code),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap();
            status_json(resp).await
        }
    };
    let secret = "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e";
    let (status, err) = send("wrong", code.clone(), VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "incorrect_client_credentials");
    let (status, err) = send(secret, code.clone(), OTHER_VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "bad_verification_code");
    // That attempt used the code up.
    let (status, err) = send(secret, code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["error"], "bad_verification_code");
    assert_eq!(
        err["error_description"],
        "The code passed is incorrect or expired."
    );
    assert!(
        err["error_uri"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );

    // Form-encoded errors without Accept: JSON.
    let code = self::code(&gh, &auth_params(&gh, "")).await;
    let resp = jarless()
        .post(gh.token_url())
        .form(&[
            ("client_id", gh.client_id()),
            ("client_secret", secret),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .starts_with("error=redirect_uri_mismatch&")
    );
}

// ---------------------------------------------------------------------------------- Facebook

#[tokio::test]
async fn facebook_login_and_appsecret_proof() {
    let fb = FakeNetwork::start(Network::Facebook, REDIRECT).await;
    let params = without(
        auth_params(&fb, "public_profile,email"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = code(&fb, &params).await;
    let token_query = |code: &str, secret: &str, redirect: &str| {
        vec![
            ("client_id", "1234567890123456".to_owned()),
            ("client_secret", secret.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("code", code.to_owned()),
        ]
    };
    let get_token = |q: Vec<(&'static str, String)>| {
        let url = fb.token_url();
        async move { status_json(jarless().get(url).query(&q).send().await.unwrap()).await }
    };
    let secret = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
    let (status, err) = get_token(token_query(&code, "wrong", REDIRECT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["message"], "Error validating client secret.");
    assert_eq!(err["error"]["type"], "OAuthException");
    assert_eq!(err["error"]["code"], 1);
    assert!(err["error"]["fbtrace_id"].is_string());
    let (status, tok) = get_token(token_query(&code, secret, REDIRECT)).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 5183944);
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = get_token(token_query(&code, secret, REDIRECT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "This authorization code has been used."
    );
    assert_eq!(err["error"]["code"], 100);

    let me = |query: Vec<(&'static str, String)>, bearer: Option<String>| {
        let url = fb.userinfo_url();
        async move {
            let mut req = jarless().get(url).query(&query);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let proof = appsecret_proof(secret, &token);
    assert_eq!(proof.len(), 64);
    let fields = (
        "fields",
        "id,name,first_name,last_name,email,picture".to_owned(),
    );
    let (status, me_ok) = me(
        vec![fields.clone(), ("appsecret_proof", proof.clone())],
        Some(token.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me_ok}");
    assert_eq!(
        me_ok,
        json!({
            "id": "10158123456789012",
            "name": "John Smith",
            "first_name": "John",
            "last_name": "Smith",
            "email": "john.smith@example.com",
            "picture": { "data": {
                "height": 50,
                "is_silhouette": false,
                "url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012&height=50&width=50",
                "width": 50,
            } },
        })
    );
    // The token as a query parameter works too; only the requested fields come.
    let (status, me_ok) = me(
        vec![
            ("fields", "id,name".to_owned()),
            ("access_token", token.clone()),
            ("appsecret_proof", proof.clone()),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({ "id": "10158123456789012", "name": "John Smith" })
    );

    let (status, err) = me(vec![fields.clone()], Some(token.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "API calls from the server require an appsecret_proof argument"
    );
    assert_eq!(err["error"]["type"], "GraphMethodException");
    assert_eq!(err["error"]["code"], 100);
    let wrong = appsecret_proof("not-the-secret", &token);
    let (status, err) = me(
        vec![fields.clone(), ("appsecret_proof", wrong)],
        Some(token.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "Invalid appsecret_proof provided in the API argument"
    );
    let (status, err) = me(vec![fields.clone()], Some("EAARnope".to_owned())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], 190);
    assert_eq!(
        err["error"]["message"],
        "Invalid OAuth access token - Cannot parse access token"
    );
    fb.set_behaviour(Behaviour::RequireNoProof);
    let (status, _) = me(vec![fields], Some(token.clone())).await;
    assert_eq!(status, StatusCode::OK);

    // Without the email permission, no email; the token endpoint takes POST too.
    fb.set_behaviour(Behaviour::Normal);
    let params = without(
        auth_params(&fb, "public_profile"),
        &["code_challenge", "code_challenge_method"],
    );
    let code = self::code(&fb, &params).await;
    let (status, err) = post_form(
        &fb.token_url(),
        &[
            ("client_id", fb.client_id()),
            ("client_secret", secret),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code", &code),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().starts_with(
        "Error validating verification code. Please make sure your redirect_uri is identical"
    ));
    let code = self::code(&fb, &params).await;
    let q: Vec<(&str, &str)> = vec![
        ("client_id", fb.client_id()),
        ("client_secret", secret),
        ("redirect_uri", REDIRECT),
        ("code", &code),
    ];
    let (status, tok) = post_form(&fb.token_url(), &q, None).await;
    assert_eq!(status, StatusCode::OK);
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let proof = appsecret_proof(secret, &token);
    let (_, me_ok) = me(
        vec![
            ("fields", "id,email".to_owned()),
            ("appsecret_proof", proof),
        ],
        Some(token),
    )
    .await;
    assert_eq!(me_ok, json!({ "id": "10158123456789012" }));
}

// ----------------------------------------------------------------------------------------- X

#[tokio::test]
async fn x_login_needs_basic_and_scopes() {
    let x = FakeNetwork::start(Network::X, REDIRECT).await;
    let scope = "users.read tweet.read offline.access";
    let code = code(&x, &auth_params(&x, scope)).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("code", code.to_owned()),
            ("grant_type", "authorization_code".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, basic: Option<(&'static str, &'static str)>| {
        let url = x.token_url();
        async move {
            let mut req = jarless().post(url).form(&form);
            if let Some((id, secret)) = basic {
                req = req.basic_auth(id, Some(secret));
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let id = "dGhpc0lzQW5YQ2xpZW50SWQ6MTpjaQ";
    let secret = "Wq9rT3yU7iO1pA5sD8fG2hJ6kL0zX4cV9bN3mQ7wE1rT5yU8iO";
    for basic in [None, Some((id, "wrong"))] {
        let (status, err) = send(form(&code, VERIFIER), basic).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            err,
            json!({ "error": "unauthorized_client", "error_description": "Missing valid authorization header" })
        );
    }
    let (status, tok) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 7200);
    assert_eq!(tok["scope"], scope);
    assert!(tok["refresh_token"].is_string());
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({ "error": "invalid_request", "error_description": "Value passed for the authorization code was invalid." })
    );

    let me = |query: &'static str, token: String| {
        let url = format!("{}{query}", x.userinfo_url());
        async move { status_json(jarless().get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let (status, me_ok) = me("?user.fields=profile_image_url", token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_ok,
        json!({ "data": {
            "id": "1512345678901234567",
            "name": "Alex Morgan",
            "username": "alex_morgan",
            "profile_image_url": "https://pbs.twimg.com/profile_images/1512345678/alex_normal.jpg",
        } })
    );
    let (_, me_ok) = me("", token).await;
    assert!(me_ok["data"].get("profile_image_url").is_none());
    let (status, err) = me("", "nope".to_owned()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        err,
        json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" })
    );

    // Verifier mismatch; then a token without tweet.read.
    let code = self::code(&x, &auth_params(&x, "users.read")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_request");
    let code = self::code(&x, &auth_params(&x, "users.read")).await;
    let (status, tok) = send(form(&code, VERIFIER), Some((id, secret))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tok.get("refresh_token").is_none());
    let (status, err) = me("", tok["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["title"], "Forbidden");
    assert_eq!(err["status"], 403);

    // PKCE and scope are required at authorize.
    let params = without(
        auth_params(&x, scope),
        &["code_challenge", "code_challenge_method"],
    );
    let loc = authorize(&x, &params).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    let loc = authorize(&x, &auth_params(&x, "")).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
}

// ------------------------------------------------------------------------------------ Custom

#[tokio::test]
async fn custom_login_basic_only_pkce_and_nested_profile() {
    let c = FakeNetwork::start(Network::Custom, REDIRECT).await;
    let form = |code: &str, verifier: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, basic: bool| {
        let url = c.token_url();
        let (id, secret) = (c.client_id().to_owned(), c.client_secret().to_owned());
        async move {
            let mut req = jarless().post(url);
            if basic {
                req = req.basic_auth(id, Some(secret)).form(&form);
            } else {
                let mut form = form;
                form.push(("client_id", id));
                form.push(("client_secret", secret));
                req = req.form(&form);
            }
            status_json(req.send().await.unwrap()).await
        }
    };
    let code = code(&c, &auth_params(&c, "profile,mail")).await;
    let (status, err) = send(form(&code, VERIFIER), false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, tok) = send(form(&code, VERIFIER), true).await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "profile,mail");
    assert!(c.last_token_authorization().unwrap().starts_with("Basic "));
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, err) = send(form(&code, VERIFIER), true).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let whoami = |token: String| {
        let url = c.userinfo_url();
        async move { status_json(jarless().get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let (status, me) = whoami(token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({ "status": "ok", "result": { "account": {
            "uid": 42017,
            "display": "Kira Lebedeva",
            "names": { "given": "Kira", "family": "Lebedeva" },
            "contact": { "mail": "kira@example.org", "mail_confirmed": true },
            "avatar": { "url": "https://id.example.org/avatars/42017.png" },
        } } })
    );
    let (status, err) = whoami("cst_nope".to_owned()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err, json!({ "status": "error", "message": "bad token" }));

    // Verifier mismatch; a space-separated scope is one unknown scope; PKCE is required.
    let code = self::code(&c, &auth_params(&c, "profile")).await;
    let (status, err) = send(form(&code, OTHER_VERIFIER), true).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let loc = authorize(&c, &auth_params(&c, "profile mail"))
        .await
        .1
        .unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_scope"));
    let params = without(auth_params(&c, "profile"), &["code_challenge"]);
    let loc = authorize(&c, &params).await.1.unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));

    // Only what was granted, and who set_person says.
    c.set_person(Person {
        email: None,
        ..Person::sample(Network::Custom)
    });
    let code = self::code(&c, &auth_params(&c, "profile,mail")).await;
    let (_, tok) = send(form(&code, VERIFIER), true).await;
    let (_, me) = whoami(tok["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        me["result"]["account"]["contact"],
        json!({ "mail_confirmed": true })
    );
    assert_eq!(pkce_s256(VERIFIER), CHALLENGE);
}

//! The provider catalogue: every shipped network logs a person in through the gateway
//! against its fake, with the claims the README's table promises; an OpenID Connect
//! network's id_token is verified; a network added by a descriptor file alone works.

mod support;

use serde_json::{Value, json};
use support::fakes::oauth2::{Behaviour, FakeNetwork, Network};
use support::fakes::oidc::{self as fake_oidc, FakeOidc, Flavour};
use support::fakes::wire::param as get;
use support::fakes::yandex::YANDEX_AVATAR_ID;
use support::*;

/// The claims an identity may carry; each test names exactly those it expects.
const IDENTITY_CLAIMS: &[&str] = &[
    "sub",
    "provider",
    "provider_user_id",
    "name",
    "given_name",
    "family_name",
    "picture",
    "locale",
    "gender",
    "birthdate",
    "email",
    "email_verified",
];

/// Asserts the id_token's identity claims are exactly `expected` (others absent).
fn assert_identity(claims: &Value, expected: Value) {
    for key in IDENTITY_CLAIMS {
        assert_eq!(
            claims.get(*key),
            expected.get(*key),
            "claim {key} in {claims:#}"
        );
    }
}

/// A gateway whose shop offers exactly `provider`, configured by `table`.
async fn gateway(
    listener: tokio::net::TcpListener,
    issuer: String,
    provider: &str,
    table: String,
) -> TestGateway {
    gateway_with(listener, issuer, provider, table, Vec::new()).await
}

/// The same, with descriptor files in `providers/` beside the config file.
async fn gateway_with(
    listener: tokio::net::TcpListener,
    issuer: String,
    provider: &str,
    table: String,
    descriptors: Vec<(String, String)>,
) -> TestGateway {
    TestGateway::start_on(
        listener,
        issuer,
        Options {
            extra_providers: table,
            shop_providers: vec![provider.into()],
            descriptors,
            ..Options::default()
        },
    )
    .await
}

/// A provider table for a fake OAuth 2.0 network, its endpoints pointed at the fake.
fn network_table(name: &str, kind: &str, fake: &FakeNetwork, extra: &str) -> String {
    format!(
        r#"
[providers.{name}]
kind = "{kind}"
client_id = "{id}"
client_secret = "{secret}"
authorize_url = "{authorize}"
token_url = "{token}"
userinfo_url = "{userinfo}"
{extra}
"#,
        id = fake.client_id(),
        secret = fake.client_secret(),
        authorize = fake.authorize_url(),
        token = fake.token_url(),
        userinfo = fake.userinfo_url(),
    )
}

fn oidc_table(name: &str, kind: &str, fake: &FakeOidc, extra: &str) -> String {
    format!(
        r#"
[providers.{name}]
kind = "{kind}"
client_id = "{id}"
client_secret = "{secret}"
{extra}
"#,
        id = fake.client_id(),
        secret = fake.client_secret(),
    )
}

/// Logs in at `provider` for the shop with `scope`; the id_token's claims.
async fn login(gw: &TestGateway, provider: &str, scope: &str) -> Value {
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "site-nonce"),
            ("provider", provider),
        ]))
        .await
        .site();
    let code = param(&site, "code").unwrap_or_else(|| panic!("a code, got {site}"));
    let (status, body) = redeem(gw, &code, SHOP_REDIRECT, SHOP, SHOP_SECRET).await;
    assert_eq!(status, 200, "{body}");
    jwt_claims(body["id_token"].as_str().unwrap())
}

/// Logs in at `provider` expecting the network to fail it: the site's `error` and
/// `error_description`.
async fn failed_login(gw: &TestGateway, provider: &str) -> (String, String) {
    let site = gw
        .follow(&gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("provider", provider),
        ]))
        .await
        .site();
    assert_eq!(param(&site, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&site, "code"), None, "{site}");
    (
        param(&site, "error").expect("an error"),
        param(&site, "error_description").unwrap_or_default(),
    )
}

// ------------------------------------------------------------------------------ VK ID

#[tokio::test]
async fn vkid_logs_in_with_pkce_and_returns_the_device_id() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::VkId, &format!("{issuer}/callback/vkid")).await;
    // A VK ID app needs no secret: PKCE proves the exchange.
    let table = format!(
        r#"
[providers.vkid]
kind = "vkid"
client_id = "{id}"
authorize_url = "{a}"
token_url = "{t}"
userinfo_url = "{u}"
"#,
        id = fake.client_id(),
        a = fake.authorize_url(),
        t = fake.token_url(),
        u = fake.userinfo_url(),
    );
    let gw = gateway(listener, issuer, "vkid", table).await;
    let claims = login(&gw, "vkid", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "vkid:246813579",
            "provider": "vkid",
            "provider_user_id": "246813579",
            "name": "Ольга Соколова",
            "given_name": "Ольга",
            "family_name": "Соколова",
            "picture": "https://sun9-75.userapi.com/s/v1/ig2/sokolova.jpg?size=200x200",
            "gender": "female",
            "birthdate": "1991-03-14",
            "email": "o.sokolova@example.ru",
            "email_verified": false,
        }),
    );
    let authorize = fake.last_request("authorize");
    assert!(has(&authorize, "code_challenge_method", "S256"));
    assert_eq!(get(&authorize, "scope"), Some("vkid.personal_info email"));
    let token = fake.last_request("token");
    assert!(get(&token, "device_id").is_some_and(|d| !d.is_empty()));
    assert!(get(&token, "code_verifier").is_some());
    assert_eq!(get(&token, "state"), get(&authorize, "state"));
    assert_eq!(get(&token, "client_secret"), None);
}

#[tokio::test]
async fn vkid_can_log_in_ok_accounts_through_authorize_params() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::VkId, &format!("{issuer}/callback/vk_ok")).await;
    let table = network_table(
        "vk_ok",
        "vkid",
        &fake,
        r#"authorize_params = { provider = "ok_ru" }"#,
    );
    let gw = gateway(listener, issuer, "vk_ok", table).await;
    let claims = login(&gw, "vk_ok", "openid profile").await;
    assert_eq!(claims["sub"], "vk_ok:246813579");
    assert!(has(&fake.last_request("authorize"), "provider", "ok_ru"));
}

// ------------------------------------------------------------------------------ Yandex

#[tokio::test]
async fn yandex_logs_in_with_the_oauth_header_and_builds_the_avatar_url() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::Yandex, &format!("{issuer}/callback/yandex")).await;
    let table = network_table("yandex", "yandex", &fake, r#"scopes = ["login:birthday"]"#);
    let gw = gateway(listener, issuer, "yandex", table).await;
    let claims = login(&gw, "yandex", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "yandex:1130000031415926",
            "provider": "yandex",
            "provider_user_id": "1130000031415926",
            "name": "Иван Петров",
            "given_name": "Иван",
            "family_name": "Петров",
            "picture": format!("https://avatars.yandex.net/get-yapic/{}/islands-200", YANDEX_AVATAR_ID),
            "gender": "male",
            "birthdate": "1988-07-21",
            "email": "ivan.petrov@yandex.ru",
            "email_verified": false,
        }),
    );
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("login:info login:avatar login:birthday login:email")
    );
    assert!(has(&fake.last_request("userinfo"), "format", "json"));
}

#[tokio::test]
async fn yandex_without_the_email_scope_gives_no_email() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::Yandex, &format!("{issuer}/callback/yandex")).await;
    let gw = gateway(
        listener,
        issuer,
        "yandex",
        network_table("yandex", "yandex", &fake, ""),
    )
    .await;
    let claims = login(&gw, "yandex", "openid profile").await;
    assert_eq!(claims["name"], "Иван Петров");
    assert_eq!(claims.get("email"), None);
    assert_eq!(claims.get("birthdate"), None);
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("login:info login:avatar")
    );
}

// ------------------------------------------------------------------------------ Mail.ru

#[tokio::test]
async fn mailru_logs_in_and_normalizes_gender_birthday_and_locale() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::MailRu, &format!("{issuer}/callback/mailru")).await;
    let gw = gateway(
        listener,
        issuer,
        "mailru",
        network_table("mailru", "mailru", &fake, ""),
    )
    .await;
    let claims = login(&gw, "mailru", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "mailru:8412503917265340211",
            "provider": "mailru",
            "provider_user_id": "8412503917265340211",
            "name": "Анна Кузнецова",
            "given_name": "Анна",
            "family_name": "Кузнецова",
            "picture": "https://filin.mail.ru/pic?d=anna-kuznetsova&width=180&height=180",
            "locale": "ru-RU",
            "gender": "female",
            "birthdate": "1995-12-02",
            "email": "anna.kuznetsova@mail.ru",
            "email_verified": false,
        }),
    );
    assert!(get(&fake.last_request("userinfo"), "access_token").is_some());
}

#[tokio::test]
async fn mailru_error_sent_with_http_200_fails_the_login() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::MailRu, &format!("{issuer}/callback/mailru")).await;
    let gw = gateway(
        listener,
        issuer,
        "mailru",
        network_table("mailru", "mailru", &fake, ""),
    )
    .await;
    fake.set_behaviour(Behaviour::UserinfoError);
    let (error, description) = failed_login(&gw, "mailru").await;
    assert_eq!(error, "server_error");
    assert!(description.contains("invalid_token"), "{description}");
}

// ------------------------------------------------------------------------------ GitHub

#[tokio::test]
async fn github_takes_the_verified_primary_email_from_the_emails_endpoint() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::GitHub, &format!("{issuer}/callback/github")).await;
    let gw = gateway(
        listener,
        issuer,
        "github",
        network_table("github", "github", &fake, ""),
    )
    .await;
    let claims = login(&gw, "github", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "github:9919",
            "provider": "github",
            "provider_user_id": "9919",
            "name": "Mona Lisa",
            "picture": "https://avatars.githubusercontent.com/u/9919?v=4",
            "email": "mona@example.com",
            "email_verified": true,
        }),
    );
    assert_eq!(fake.calls("emails"), 1);
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("read:user user:email")
    );

    // An unverified primary address is not handed on.
    fake.set_behaviour(Behaviour::EmailsPrimaryUnverified);
    let browser_two = TestGateway {
        browser: browser(),
        ..gw
    };
    let claims = login(&browser_two, "github", "openid profile email").await;
    assert_eq!(claims["sub"], "github:9919");
    assert_eq!(claims.get("email"), None);
    assert_eq!(claims.get("email_verified"), None);
}

#[tokio::test]
async fn github_without_the_email_scope_gives_no_email() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::GitHub, &format!("{issuer}/callback/github")).await;
    let gw = gateway(
        listener,
        issuer,
        "github",
        network_table("github", "github", &fake, ""),
    )
    .await;
    let claims = login(&gw, "github", "openid profile").await;
    assert_eq!(claims["name"], "Mona Lisa");
    assert_eq!(claims.get("email"), None);
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("read:user")
    );
}

// ------------------------------------------------------------------------------ Facebook

#[tokio::test]
async fn facebook_signs_graph_calls_with_appsecret_proof() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::Facebook, &format!("{issuer}/callback/facebook")).await;
    let gw = gateway(
        listener,
        issuer,
        "facebook",
        network_table("facebook", "facebook", &fake, ""),
    )
    .await;
    let claims = login(&gw, "facebook", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "facebook:10158123456789012",
            "provider": "facebook",
            "provider_user_id": "10158123456789012",
            "name": "John Smith",
            "given_name": "John",
            "family_name": "Smith",
            "picture": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012&height=50&width=50",
            "email": "john.smith@example.com",
            "email_verified": false,
        }),
    );
    // The fake refuses a missing or wrong proof; the secret itself never travels.
    let params = fake.last_request("userinfo");
    assert_eq!(get(&params, "appsecret_proof").map(str::len), Some(64));
    assert!(params.iter().all(|(_, v)| v != fake.client_secret()));
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("public_profile,email")
    );
}

#[tokio::test]
async fn facebook_error_object_reaches_the_site_in_words() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::Facebook, &format!("{issuer}/callback/facebook")).await;
    let table = network_table("facebook", "facebook", &fake, "")
        .replace(fake.client_secret(), "not-the-app-secret");
    let gw = gateway(listener, issuer, "facebook", table).await;
    let (error, description) = failed_login(&gw, "facebook").await;
    assert_eq!(error, "server_error");
    assert!(
        description.contains("Error validating client secret"),
        "{description}"
    );
}

// ------------------------------------------------------------------------------ X

#[tokio::test]
async fn x_logs_in_with_pkce_and_basic_auth_and_has_no_email() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::X, &format!("{issuer}/callback/x")).await;
    let gw = gateway(listener, issuer, "x", network_table("x", "x", &fake, "")).await;
    let claims = login(&gw, "x", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "x:1512345678901234567",
            "provider": "x",
            "provider_user_id": "1512345678901234567",
            "name": "Alex Morgan",
            "picture": "https://pbs.twimg.com/profile_images/1512345678/alex_normal.jpg",
        }),
    );
    assert!(
        fake.last_token_authorization()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    assert_eq!(get(&fake.last_request("token"), "client_secret"), None);
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("users.read tweet.read")
    );
}

// ------------------------------------------------------------------------------ a network from a descriptor alone

#[tokio::test]
async fn a_network_added_by_a_descriptor_file_logs_in_without_recompiling() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::Custom, &format!("{issuer}/callback/example")).await;
    // Written at run time into `providers/` beside the config: the binary has never seen it.
    let descriptor = format!(
        r##"
protocol = "oauth2"
display_name = "Example ID"
button_color = "#7c3aed"
authorize_url = "{a}"
token_url = "{t}"
userinfo_url = "{u}"
pkce = true
token_auth = "client_secret_basic"
scope_separator = ","
default_scopes = ["profile"]

[scope_map]
email = ["mail"]

[claims]
provider_user_id = "result.account.uid"
name = "result.account.display"
given_name = "result.account.names.given"
family_name = "result.account.names.family"
picture = "result.account.avatar.url"
email = "result.account.contact.mail"
email_verified = "result.account.contact.mail_confirmed"
"##,
        a = fake.authorize_url(),
        t = fake.token_url(),
        u = fake.userinfo_url(),
    );
    // The shipped kinds (ok, vk, demo in this config) stay available beside the admin's own.
    let table = format!(
        r#"
[providers.example]
kind = "exampleid"
client_id = "{}"
client_secret = "{}"
"#,
        fake.client_id(),
        fake.client_secret()
    );
    let gw = gateway_with(
        listener,
        issuer,
        "example",
        table,
        vec![("exampleid".into(), descriptor)],
    )
    .await;
    let claims = login(&gw, "example", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "example:42017",
            "provider": "example",
            "provider_user_id": "42017",
            "name": "Kira Lebedeva",
            "given_name": "Kira",
            "family_name": "Lebedeva",
            "picture": "https://id.example.org/avatars/42017.png",
            "email": "kira@example.org",
            "email_verified": true,
        }),
    );
    assert_eq!(
        get(&fake.last_request("authorize"), "scope"),
        Some("profile,mail")
    );

    // Its button on the login page, in its colour (a new browser: no session to reuse).
    let page = browser()
        .get(gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
        ]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"style="background: #7c3aed; color: #ffffff""#)
            && page.contains("Example ID"),
        "{page}"
    );
}

// ------------------------------------------------------------------------------ OpenID Connect

#[tokio::test]
async fn google_logs_in_through_discovery_with_a_verified_id_token() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Google, &format!("{issuer}/callback/google")).await;
    let table = oidc_table(
        "google",
        "google",
        &fake,
        &format!("issuer = \"{}\"", fake.issuer("")),
    );
    let gw = gateway(listener, issuer, "google", table).await;
    let claims = login(&gw, "google", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "google:110248495921238986420",
            "provider": "google",
            "provider_user_id": "110248495921238986420",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "picture": "https://lh3.googleusercontent.com/a/ACg8ocJ3kq7Xsample=s96-c",
            "locale": "en",
            "email": "ada.lovelace@gmail.com",
            "email_verified": true,
        }),
    );
    let authorize = fake.last_request("authorize");
    assert!(has(&authorize, "code_challenge_method", "S256"));
    assert_eq!(get(&authorize, "scope"), Some("openid profile email"));
    // Google offers client_secret_post, which the gateway prefers (Entra ID needs it).
    assert_eq!(
        get(&fake.last_request("token"), "client_secret"),
        Some(fake.client_secret())
    );
    // The gateway's own nonce upstream, never the site's.
    assert!(get(&authorize, "nonce").is_some_and(|n| n.len() >= 32 && n != "site-nonce"));
    assert_eq!(claims["nonce"], "site-nonce");

    // A second login reuses the discovery document and the keys.
    let again = TestGateway {
        browser: browser(),
        ..gw
    };
    login(&again, "google", "openid").await;
    assert_eq!((fake.calls("discovery"), fake.calls("jwks")), (1, 1));

    // Google rotates its keys: the gateway fetches the new set once.
    fake.rotate_key();
    let third = TestGateway {
        browser: browser(),
        ..again
    };
    login(&third, "google", "openid").await;
    assert_eq!((fake.calls("discovery"), fake.calls("jwks")), (1, 2));
}

#[tokio::test]
async fn google_unverified_address_is_not_vouched_for() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Google, &format!("{issuer}/callback/google")).await;
    let mut person = fake_oidc::Person::sample(Flavour::Google);
    person.email_verified = Some(false);
    fake.set_person(person);
    let table = oidc_table(
        "google",
        "google",
        &fake,
        &format!("issuer = \"{}\"", fake.issuer("")),
    );
    let gw = gateway(listener, issuer, "google", table).await;
    let claims = login(&gw, "google", "openid email").await;
    assert_eq!(claims["email"], "ada.lovelace@gmail.com");
    assert_eq!(claims["email_verified"], false);
}

#[tokio::test]
async fn microsoft_multi_tenant_checks_the_issuer_of_the_persons_tenant() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Microsoft, &format!("{issuer}/callback/microsoft")).await;
    // The shipped descriptor's issuer is Microsoft's; the test points it at the fake with
    // the same `{tenant}` template and leaves the tenant at its default, `common`.
    let template = format!("{}/{{tenant}}/v2.0", fake.base_url);
    let table = oidc_table(
        "microsoft",
        "microsoft",
        &fake,
        &format!("issuer = \"{template}\""),
    );
    let gw = gateway(listener, issuer, "microsoft", table).await;
    let claims = login(&gw, "microsoft", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "microsoft:AAAAAAAAAAAAAAAAAAAAAKq0y3bXvDpSQ5cW1m2Kb9E",
            "provider": "microsoft",
            "provider_user_id": "AAAAAAAAAAAAAAAAAAAAAKq0y3bXvDpSQ5cW1m2Kb9E",
            "name": "Alex Wilber",
            "given_name": "Alex",
            "family_name": "Wilber",
            "email": "alex.wilber@contoso.com",
            "email_verified": false,
        }),
    );
    assert_eq!(fake.calls("discovery"), 1);
}

#[tokio::test]
async fn microsoft_single_tenant_by_domain_name() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Microsoft, &format!("{issuer}/callback/microsoft")).await;
    let template = format!("{}/{{tenant}}/v2.0", fake.base_url);
    let table = oidc_table(
        "microsoft",
        "microsoft",
        &fake,
        &format!("issuer = \"{template}\"\ntenant = \"contoso\""),
    );
    let gw = gateway(listener, issuer, "microsoft", table).await;
    let claims = login(&gw, "microsoft", "openid profile").await;
    assert_eq!(claims["name"], "Alex Wilber");
    assert!(
        fake.last_request("authorize")
            .iter()
            .any(|(k, _)| k == "nonce")
    );
}

#[tokio::test]
async fn gitlab_self_hosted_by_base_url() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::GitLab, &format!("{issuer}/callback/gitlab")).await;
    let table = oidc_table(
        "gitlab",
        "gitlab",
        &fake,
        &format!("base_url = \"{}\"", fake.issuer("")),
    );
    let gw = gateway(listener, issuer, "gitlab", table).await;
    let claims = login(&gw, "gitlab", "openid profile email").await;
    assert_identity(
        &claims,
        json!({
            "sub": "gitlab:4817263",
            "provider": "gitlab",
            "provider_user_id": "4817263",
            "name": "Grace Hopper",
            "picture": "https://gitlab.com/uploads/-/system/user/avatar/4817263/avatar.png",
            "email": "grace.hopper@example.org",
            "email_verified": true,
        }),
    );
}

#[tokio::test]
async fn any_oidc_network_from_its_issuer_alone() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::GitLab, &format!("{issuer}/callback/corp")).await;
    let table = oidc_table(
        "corp",
        "oidc",
        &fake,
        &format!(
            "issuer = \"{}\"\ndisplay_name = \"Corp SSO\"",
            fake.issuer("")
        ),
    );
    let gw = gateway(listener, issuer, "corp", table).await;
    let claims = login(&gw, "corp", "openid profile email").await;
    assert_eq!(claims["sub"], "corp:4817263");
    assert_eq!(claims["email_verified"], true);
}

#[tokio::test]
async fn oidc_id_tokens_that_fail_verification_fail_the_login() {
    use fake_oidc::Behaviour as B;
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Google, &format!("{issuer}/callback/google")).await;
    let table = oidc_table(
        "google",
        "google",
        &fake,
        &format!("issuer = \"{}\"", fake.issuer("")),
    );
    let mut gw = gateway(listener, issuer, "google", table).await;
    for (behaviour, words) in [
        (B::WrongAudience, "for another client"),
        (B::WrongIssuer, "from another issuer"),
        (B::Expired, "has expired"),
        (B::WrongNonce, "nonce"),
        (B::NoNonce, "nonce"),
        (B::BadSignature, "signature is invalid"),
        (B::AlgNone, "not a signed JWT"),
        (B::Hs256WithClientSecret, "not allowed"),
        (B::UnknownKid, "key it does not publish"),
        (B::UserinfoOtherSub, "another subject"),
    ] {
        fake.set_behaviour(behaviour);
        gw.browser = browser();
        let (error, description) = failed_login(&gw, "google").await;
        assert_eq!(error, "server_error", "{behaviour:?}");
        assert!(description.contains(words), "{behaviour:?}: {description}");
    }
}

#[tokio::test]
async fn oidc_discovery_down_tells_the_site_to_retry() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Google, &format!("{issuer}/callback/google")).await;
    fake.set_behaviour(fake_oidc::Behaviour::DiscoveryHttp500);
    let table = oidc_table(
        "google",
        "google",
        &fake,
        &format!("issuer = \"{}\"", fake.issuer("")),
    );
    let gw = gateway(listener, issuer, "google", table).await;
    let (error, description) = failed_login(&gw, "google").await;
    assert_eq!(error, "temporarily_unavailable");
    assert!(
        description.contains("Google is unavailable"),
        "{description}"
    );
    // Back up: the next login discovers it.
    fake.set_behaviour(fake_oidc::Behaviour::Normal);
    let claims = login(&gw, "google", "openid").await;
    assert_eq!(claims["sub"], "google:110248495921238986420");
}

// ------------------------------------------------------------------------------ fresh logins

/// The shop asks for a login at `provider` in a fresh browser (no SSO session) with `extra`
/// authorize parameters, and gets a code; `seen` reads what the network's authorize endpoint
/// was sent.
async fn asked_upstream(
    gw: &TestGateway,
    provider: &str,
    extra: &[(&str, &str)],
    seen: impl Fn() -> Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", SHOP),
        ("redirect_uri", SHOP_REDIRECT),
        ("scope", "openid profile"),
        ("state", "st-1"),
        ("provider", provider),
    ];
    params.extend_from_slice(extra);
    let site = follow_with(&browser(), &gw.authorize_url(&params))
        .await
        .site();
    assert!(param(&site, "code").is_some(), "{site}");
    seen()
}

/// What a network's authorize endpoint got for a plain login, `prompt=login`, `max_age=0`
/// and `max_age=300`, in that order.
async fn fresh_login_params(
    gw: &TestGateway,
    provider: &str,
    seen: impl Fn() -> Vec<(String, String)>,
) -> [Vec<(String, String)>; 4] {
    [
        asked_upstream(gw, provider, &[], &seen).await,
        asked_upstream(gw, provider, &[("prompt", "login")], &seen).await,
        asked_upstream(gw, provider, &[("max_age", "0")], &seen).await,
        asked_upstream(gw, provider, &[("max_age", "300")], &seen).await,
    ]
}

/// `name` is absent from a plain login, and is `value` whenever a fresh login is asked for
/// (`max_age` included: the network cannot be told an age), and no `max_age` goes upstream.
fn assert_forced_by(asked: &[Vec<(String, String)>; 4], name: &str, value: &str) {
    let [plain, login, zero, age] = asked;
    assert_eq!(get(plain, name), None, "{plain:?}");
    for params in [login, zero, age] {
        assert_eq!(get(params, name), Some(value), "{params:?}");
        assert_eq!(get(params, "max_age"), None, "{params:?}");
    }
}

#[tokio::test]
async fn yandex_vkid_and_facebook_are_asked_for_a_fresh_login_in_their_own_words() {
    for (network, kind, name, value) in [
        (Network::Yandex, "yandex", "force_confirm", "yes"),
        (Network::VkId, "vkid", "prompt", "login"),
        (Network::Facebook, "facebook", "auth_type", "reauthenticate"),
    ] {
        let (listener, issuer) = reserve().await;
        let fake = FakeNetwork::start(network, &format!("{issuer}/callback/{kind}")).await;
        let table = network_table(kind, kind, &fake, "");
        let gw = gateway(listener, issuer, kind, table).await;
        let asked = fresh_login_params(&gw, kind, || fake.last_request("authorize")).await;
        assert_forced_by(&asked, name, value);
        assert_eq!(fake.calls("token"), 4, "{kind}");
    }
}

#[tokio::test]
async fn a_network_with_no_way_to_force_a_login_is_sent_nothing_new() {
    let (listener, issuer) = reserve().await;
    let fake = FakeNetwork::start(Network::MailRu, &format!("{issuer}/callback/mailru")).await;
    let table = network_table("mailru", "mailru", &fake, "");
    let gw = gateway(listener, issuer, "mailru", table).await;
    let asked = fresh_login_params(&gw, "mailru", || fake.last_request("authorize")).await;
    let names = |params: &Vec<(String, String)>| {
        let mut names: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
        names.sort();
        names
    };
    for params in &asked[1..] {
        assert_eq!(names(params), names(&asked[0]));
    }
}

#[tokio::test]
async fn gitlab_and_any_oidc_network_get_prompt_login_and_the_sites_max_age() {
    for kind in ["gitlab", "oidc"] {
        let (listener, issuer) = reserve().await;
        let fake = FakeOidc::start(Flavour::GitLab, &format!("{issuer}/callback/{kind}")).await;
        let table = oidc_table(
            kind,
            kind,
            &fake,
            &format!("issuer = \"{}\"", fake.issuer("")),
        );
        let gw = gateway(listener, issuer, kind, table).await;
        let [plain, login, zero, age] =
            fresh_login_params(&gw, kind, || fake.last_request("authorize")).await;
        assert_eq!(get(&plain, "prompt"), None, "{plain:?}");
        assert_eq!(get(&plain, "max_age"), None, "{plain:?}");
        assert_eq!(get(&login, "prompt"), Some("login"), "{login:?}");
        assert_eq!(get(&login, "max_age"), None, "{login:?}");
        assert_eq!(get(&zero, "prompt"), Some("login"), "{zero:?}");
        assert_eq!(get(&zero, "max_age"), Some("0"), "{zero:?}");
        // The network decides about its own session's age.
        assert_eq!(get(&age, "prompt"), None, "{age:?}");
        assert_eq!(get(&age, "max_age"), Some("300"), "{age:?}");
    }
}

#[tokio::test]
async fn microsoft_gets_prompt_login_for_any_max_age_it_cannot_be_told() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Microsoft, &format!("{issuer}/callback/microsoft")).await;
    let template = format!("{}/{{tenant}}/v2.0", fake.base_url);
    let table = oidc_table(
        "microsoft",
        "microsoft",
        &fake,
        &format!("issuer = \"{template}\""),
    );
    let gw = gateway(listener, issuer, "microsoft", table).await;
    let asked = fresh_login_params(&gw, "microsoft", || fake.last_request("authorize")).await;
    assert_forced_by(&asked, "prompt", "login");
}

#[tokio::test]
async fn google_which_refuses_prompt_login_is_never_sent_it() {
    let (listener, issuer) = reserve().await;
    let fake = FakeOidc::start(Flavour::Google, &format!("{issuer}/callback/google")).await;
    let table = oidc_table(
        "google",
        "google",
        &fake,
        &format!("issuer = \"{}\"", fake.issuer("")),
    );
    let gw = gateway(listener, issuer, "google", table).await;
    // Each of these logins ends at the site with a code: Google was asked nothing it refuses.
    for params in fresh_login_params(&gw, "google", || fake.last_request("authorize")).await {
        assert_eq!(get(&params, "prompt"), None, "{params:?}");
        assert_eq!(get(&params, "max_age"), None, "{params:?}");
    }
}

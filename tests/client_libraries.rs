//! The client libraries sites run log a person in through the gateway unchanged: Node's
//! `openid-client` (v6) and Python's `Authlib`, each driven by a small program in
//! `tests/clients/` that acts as a site and as the person's browser (discovery, code flow with
//! PKCE S256, state and nonce, the library's own callback, id_token and userinfo checks).
//!
//! The libraries are installed by `tests/clients/setup.sh`, which `tests/run.sh` runs first;
//! without them these tests fail (never skip), saying so.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

const LOGGED_OUT: &str = "https://shop.example.ru/logged-out";
/// How long one client program may take (it usually takes well under a second).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

#[derive(Clone, Copy, Debug)]
enum Library {
    OpenIdClient,
    Authlib,
}

impl Library {
    /// The program and its script; a clear failure when setup.sh has not run.
    fn command(self) -> Command {
        let missing = |what: &Path| -> ! {
            panic!(
                "{} is missing: the client libraries are not installed. Run `bash tests/run.sh` \
                 (or `bash tests/clients/setup.sh` once, then cargo test) — these tests never skip",
                what.display()
            )
        };
        match self {
            Library::OpenIdClient => {
                let dir = clients_dir().join("node");
                let package = dir.join("node_modules/openid-client/package.json");
                if !package.exists() {
                    missing(&package);
                }
                let mut command = Command::new("node");
                command.arg(dir.join("login.mjs"));
                command
            }
            Library::Authlib => {
                // setup.sh makes it in $CARGO_TARGET_DIR/tmp, which cargo names here.
                let python = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients-venv/bin/python");
                if !python.exists() {
                    missing(&python);
                }
                let mut command = Command::new(python);
                command.arg(clients_dir().join("python/login.py"));
                command
            }
        }
    }
}

/// What a client program ended with.
#[derive(Debug)]
struct Outcome {
    /// 0: logged in; 2: the library refused.
    code: i32,
    out: serde_json::Value,
}

/// Runs `library`'s program against the gateway, as the site `vars` describe (`SG_*`, see the
/// programs' headers).
async fn run(gw: &TestGateway, library: Library, vars: &[(&str, &str)]) -> Outcome {
    let mut command = library.command();
    for (name, _) in std::env::vars() {
        if name.starts_with("SG_") {
            command.env_remove(name);
        }
    }
    command
        .env("SG_ISSUER", &gw.issuer)
        .envs(vars.iter().copied());
    // The gateway serves on this runtime: wait for the program on another thread.
    let output = tokio::time::timeout(
        CLIENT_TIMEOUT,
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .unwrap_or_else(|_| panic!("{library:?} did not finish in {CLIENT_TIMEOUT:?}"))
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "cannot start {library:?}'s program ({e}); run `bash tests/run.sh`, which installs it"
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    let out = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("{library:?} exited with {code} and no JSON ({e}):\n{stdout}\n{stderr}")
    });
    Outcome { code, out }
}

fn shop(auth_method: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("SG_CLIENT_ID", SHOP),
        ("SG_CLIENT_SECRET", SHOP_SECRET),
        ("SG_REDIRECT_URI", SHOP_REDIRECT),
        ("SG_AUTH_METHOD", auth_method),
    ]
}

/// The forum's secret has `+`, `%`, `:` and `/`: client_secret_basic must form-urlencode it.
fn forum_basic() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SG_CLIENT_ID", FORUM),
        ("SG_CLIENT_SECRET", FORUM_SECRET),
        ("SG_REDIRECT_URI", FORUM_REDIRECT),
        ("SG_AUTH_METHOD", "client_secret_basic"),
    ]
}

/// A login the library completed: the id_token's claims as the library validated them are
/// the fake OK's person for `client_id`, and the userinfo the library fetched is what the
/// gateway's `/userinfo` answers for the same access token.
async fn assert_ok_person(gw: &TestGateway, outcome: &Outcome, client_id: &str) {
    assert_eq!(outcome.code, 0, "{:#}", outcome.out);
    let claims = &outcome.out["claims"];
    assert_eq!(claims["sub"], "ok:575123456789", "{claims:#}");
    assert_eq!(claims["provider"], "ok");
    assert_eq!(claims["name"], "Иван Петров");
    assert_eq!(claims["email"], "ivan@example.ru");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["iss"], gw.issuer.as_str());
    assert_eq!(claims["aud"], client_id);
    assert!(claims["nonce"].as_str().is_some_and(|n| !n.is_empty()));

    let access_token = outcome.out["access_token"]
        .as_str()
        .expect("an access token");
    let (status, _, gateway_userinfo) = userinfo(gw, access_token).await;
    assert_eq!(status, 200, "{gateway_userinfo}");
    assert_eq!(outcome.out["userinfo"], gateway_userinfo);
    assert_eq!(gateway_userinfo["sub"], "ok:575123456789");
    assert_eq!(gateway_userinfo["email"], "ivan@example.ru");
}

/// The site sent PKCE S256, a state and a nonce, and the gateway's token request checked the
/// verifier (a wrong one is refused, see tests/errors.rs).
fn assert_authorize_request(outcome: &Outcome) {
    let sent = &outcome.out["authorize"];
    assert_eq!(sent["code_challenge_method"], "S256", "{sent:#}");
    assert_eq!(sent["code_challenge"].as_str().map(str::len), Some(43));
    assert!(sent["state"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(sent["nonce"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(sent["provider"], "ok");
}

#[tokio::test]
async fn openid_client_logs_in_with_basic_auth() {
    let gw = TestGateway::start().await;
    let outcome = run(&gw, Library::OpenIdClient, &shop("client_secret_basic")).await;
    assert_ok_person(&gw, &outcome, SHOP).await;
    assert_authorize_request(&outcome);
    // The callback carried iss (RFC 9207), which openid-client checked against discovery.
    assert_eq!(outcome.out["callback"]["iss"], gw.issuer.as_str());
    assert_eq!(outcome.out["token_type"], "bearer");
}

#[tokio::test]
async fn openid_client_logs_out_through_the_end_session_url() {
    let gw = TestGateway::start_with(Options {
        shop_extra: format!("post_logout_redirect_uris = [\"{LOGGED_OUT}\"]"),
        ..Options::default()
    })
    .await;
    let vars = [
        shop("client_secret_post"),
        vec![("SG_LOGOUT_REDIRECT", LOGGED_OUT)],
    ]
    .concat();
    let outcome = run(&gw, Library::OpenIdClient, &vars).await;
    assert_eq!(outcome.code, 0, "{:#}", outcome.out);
    assert_eq!(outcome.out["claims"]["sub"], "ok:575123456789");
    assert_eq!(outcome.out["userinfo"]["sub"], "ok:575123456789");

    // buildEndSessionUrl with the id_token: back at the site with the site's state, and the
    // session's access token refused at userinfo, which openid-client reports.
    let logout = &outcome.out["logout"];
    assert!(
        logout["landing"]
            .as_str()
            .is_some_and(|l| l.starts_with(&format!("{LOGGED_OUT}?"))),
        "{logout:#}"
    );
    assert_eq!(logout["state_back"], true, "{logout:#}");
    let error = &logout["after"]["error"];
    assert_eq!(
        error["code"], "OAUTH_WWW_AUTHENTICATE_CHALLENGE",
        "{logout:#}"
    );
    assert_eq!(error["status"], 401, "{logout:#}");
    let access_token = outcome.out["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&gw, access_token).await.0, 401);
}

#[tokio::test]
async fn openid_client_form_urlencodes_an_odd_secret_and_logs_in_as_a_public_client() {
    let gw = TestGateway::start().await;
    let outcome = run(&gw, Library::OpenIdClient, &forum_basic()).await;
    assert_ok_person(&gw, &outcome, FORUM).await;

    // The public client: no secret, PKCE only (token_endpoint_auth_method none).
    let outcome = run(
        &gw,
        Library::OpenIdClient,
        &[("SG_CLIENT_ID", SPA), ("SG_REDIRECT_URI", SPA_REDIRECT)],
    )
    .await;
    assert_ok_person(&gw, &outcome, SPA).await;
    assert_authorize_request(&outcome);
}

/// openid-client run with one thing tampered with: it must refuse with a `ClientError` whose
/// cause is returned.
async fn openid_client_refusal(gw: &TestGateway, tamper: &'static str) -> serde_json::Value {
    let outcome = run(
        gw,
        Library::OpenIdClient,
        &[shop("client_secret_basic"), vec![("SG_TAMPER", tamper)]].concat(),
    )
    .await;
    assert_eq!(outcome.code, 2, "{:#}", outcome.out);
    let refused = &outcome.out["refused"];
    assert_eq!(refused["name"], "ClientError", "{refused:#}");
    refused.clone()
}

#[tokio::test]
async fn openid_client_refuses_a_tampered_state_iss_or_nonce() {
    let gw = TestGateway::start().await;
    // oauth4webapi's check of the callback, under openid-client's ClientError.
    for (tamper, says) in [
        ("state", "unexpected \"state\" response parameter value"),
        (
            "iss",
            "unexpected \"iss\" (issuer) response parameter value",
        ),
    ] {
        let refused = openid_client_refusal(&gw, tamper).await;
        assert_eq!(refused["message"], "invalid response encountered");
        assert_eq!(
            refused["cause"]["code"], "OAUTH_INVALID_RESPONSE",
            "{refused:#}"
        );
        assert_eq!(refused["cause"]["message"], says, "{refused:#}");
    }

    // The id_token's nonce is checked too (after the code exchange).
    let refused = openid_client_refusal(&gw, "nonce").await;
    assert_eq!(
        refused["cause"]["code"], "OAUTH_JWT_CLAIM_COMPARISON_FAILED",
        "{refused:#}"
    );
    assert_eq!(
        refused["cause"]["message"], "unexpected ID Token \"nonce\" claim value",
        "{refused:#}"
    );
}

#[tokio::test]
async fn authlib_logs_in_with_post_and_basic_auth() {
    let gw = TestGateway::start().await;
    let outcome = run(&gw, Library::Authlib, &shop("client_secret_post")).await;
    assert_ok_person(&gw, &outcome, SHOP).await;
    assert_authorize_request(&outcome);
    assert_eq!(outcome.out["token_type"], "Bearer");
    // The id_token carries at_hash, which Authlib checked against the access token.
    assert!(outcome.out["claims"]["at_hash"].is_string());

    let outcome = run(&gw, Library::Authlib, &forum_basic()).await;
    assert_ok_person(&gw, &outcome, FORUM).await;
}

#[tokio::test]
async fn authlib_refuses_a_tampered_state_or_nonce() {
    let gw = TestGateway::start().await;
    let outcome = run(
        &gw,
        Library::Authlib,
        &[shop("client_secret_post"), vec![("SG_TAMPER", "state")]].concat(),
    )
    .await;
    assert_eq!(outcome.code, 2, "{:#}", outcome.out);
    let refused = &outcome.out["refused"];
    assert_eq!(refused["name"], "MismatchingStateError", "{refused:#}");
    assert_eq!(refused["error"], "mismatching_state");

    let outcome = run(
        &gw,
        Library::Authlib,
        &[shop("client_secret_post"), vec![("SG_TAMPER", "nonce")]].concat(),
    )
    .await;
    assert_eq!(outcome.code, 2, "{:#}", outcome.out);
    let refused = &outcome.out["refused"];
    assert_eq!(refused["name"], "InvalidClaimError", "{refused:#}");
    assert_eq!(refused["message"], "invalid_claim: Invalid claim: 'nonce'");
}

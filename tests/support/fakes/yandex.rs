//! Yandex ID (oauth.yandex.ru, login.yandex.ru/info): credentials in the body or HTTP Basic,
//! `code_verifier` iff a challenge was sent, the profile under `Authorization: OAuth <token>`
//! with its fields chosen by the scopes the app was granted.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::oauth2::{Person, Shared, Spec, some};
use super::wire::{
    auth_token, client_credentials, given, json_response, oauth_error, param, text_response,
};
use super::{Recorder, TOKEN_ALPHABET};

/// Yandex gives an avatar id, never a URL; the gateway builds
/// `https://avatars.yandex.net/get-yapic/131652443/abcdEF-1/islands-200` from it.
pub const YANDEX_AVATAR_ID: &str = "131652443/abcdEF-1";

const YANDEX_APP_SCOPES: &[&str] = &[
    "login:info",
    "login:email",
    "login:avatar",
    "login:birthday",
];

pub const SPEC: Spec = Spec {
    userinfo_path: "/info",
    client_id: "0b1c2d3e4f5a69788796a5b4c3d2e1f0",
    client_secret: "5e4d3c2b1a0f9e8d7c6b5a4938271605",
    title: "Яндекс ID",
    pkce_methods: &["S256", "plain"],
    default_scope: Some("login:info login:email login:avatar login:birthday"),
    known_scopes: Some(YANDEX_APP_SCOPES),
    deny_description: "User denied access",
    userinfo_post: true,
    ..Spec::base(sample, access_token, token, info, invalid_token)
};

fn sample() -> Person {
    Person {
        email: some("ivan.petrov@yandex.ru"),
        // Not rendered: Yandex answers YANDEX_AVATAR_ID instead.
        picture: None,
        gender: some("male"),
        birthdate: some("1988-07-21"),
        locale: some("ru"),
        ..Person::named("1130000031415926", "ivan.petrov", "Иван", "Петров")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    format!("y0_AgAAAA{}", rec.fresh(TOKEN_ALPHABET, 48))
}

/// Credentials in the body or HTTP Basic; code_verifier iff a challenge was sent.
fn token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let (id, secret) = client_credentials(p, headers);
    if id.as_deref() != Some(SPEC.client_id) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client not found",
        );
    }
    if secret.as_deref() != Some(SPEC.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Wrong client secret",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    match param(p, "grant_type") {
        Some("authorization_code") => {}
        None => return oauth_error(bad, "invalid_request", "Missing grant_type"),
        Some(_) => return oauth_error(bad, "unsupported_grant_type", "Unsupported grant_type"),
    }
    let Some(code) = given(p, "code") else {
        return oauth_error(bad, "invalid_request", "Missing code");
    };
    let Some(grant) = sh.take_code(code) else {
        return oauth_error(bad, "invalid_grant", "Code has expired");
    };
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "Code verifier is not valid");
    }
    let token = sh.issue_token(grant);
    let refresh = format!("1:{}", sh.fresh(TOKEN_ALPHABET, 60));
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "expires_in": 31536000,
            "refresh_token": refresh,
            "token_type": "bearer",
        }),
    )
}

fn invalid_token(_: &Shared) -> Response {
    text_response(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        "401 Unauthorized: OAuth token is missing, invalid or expired".to_owned(),
    )
}

/// GET /info with `Authorization: OAuth <token>`; fields by granted scope.
fn info(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["OAuth"])) else {
        return invalid_token(sh);
    };
    if param(p, "format") != Some("json") {
        return text_response(
            StatusCode::OK,
            "text/xml; charset=utf-8",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<user/>".to_owned(),
        );
    }
    let person = &grant.person;
    let mut info = Map::new();
    info.insert("id".to_owned(), json!(person.id));
    info.insert("login".to_owned(), json!(person.login));
    info.insert("client_id".to_owned(), json!(SPEC.client_id));
    info.insert(
        "psuid".to_owned(),
        json!(format!("1.AAqbmw.{}.c2FtcGxlLXBzdWlk", person.id)),
    );
    if grant.has("login:info") {
        info.insert("display_name".to_owned(), json!(person.login));
        info.insert("real_name".to_owned(), json!(person.full_name()));
        info.insert("first_name".to_owned(), json!(person.first_name));
        info.insert("last_name".to_owned(), json!(person.last_name));
        info.insert("sex".to_owned(), json!(person.gender));
    }
    if grant.has("login:email") {
        info.insert("default_email".to_owned(), json!(person.email));
        let emails: Vec<&String> = person.email.iter().collect();
        info.insert("emails".to_owned(), json!(emails));
    }
    if grant.has("login:avatar") {
        info.insert("default_avatar_id".to_owned(), json!(YANDEX_AVATAR_ID));
        info.insert("is_avatar_empty".to_owned(), json!(false));
    }
    if grant.has("login:birthday") {
        info.insert("birthday".to_owned(), json!(person.birthdate));
    }
    json_response(StatusCode::OK, Value::Object(info))
}

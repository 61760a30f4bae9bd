//! Mail.ru (oauth.mail.ru): errors carry a numeric `error_code` next to `error`, and the
//! profile endpoint answers its invalid-token error with HTTP 200.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::oauth2::{Person, Shared, Spec, iso_to_dmy, some};
use super::wire::{client_credentials, given, json_response, param};
use super::{HEX, Recorder};

pub const SPEC: Spec = Spec {
    authorize_path: "/login",
    client_id: "a3f1c9e07b2d4e5f8a6b1c2d3e4f5a6b",
    client_secret: "f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5",
    title: "Mail",
    default_scope: Some("userinfo"),
    known_scopes: Some(&["userinfo", "mail.imap"]),
    deny_description: "user denied access",
    userinfo_post: true,
    ..Spec::base(sample, access_token, token, userinfo, invalid_token)
};

fn sample() -> Person {
    Person {
        email: some("anna.kuznetsova@mail.ru"),
        picture: some("https://filin.mail.ru/pic?d=anna-kuznetsova&width=180&height=180"),
        gender: some("female"),
        birthdate: some("1995-12-02"),
        locale: some("ru_RU"),
        ..Person::named(
            "8412503917265340211",
            "anna.kuznetsova",
            "Анна",
            "Кузнецова",
        )
    }
}

fn access_token(rec: &mut Recorder) -> String {
    rec.fresh(HEX, 40)
}

/// Mail.ru errors carry a numeric `error_code` next to `error`.
fn mailru_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_code": code, "error_description": description }),
    )
}

fn token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let (id, secret) = client_credentials(p, headers);
    if id.as_deref() != Some(SPEC.client_id) || secret.as_deref() != Some(SPEC.client_secret) {
        return mailru_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            2,
            "invalid client",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    if param(p, "grant_type") != Some("authorization_code") {
        return mailru_error(bad, "unsupported_grant_type", 5, "unsupported grant_type");
    }
    let Some(code) = given(p, "code") else {
        return mailru_error(bad, "invalid_request", 3, "code is required");
    };
    let Some(redirect_uri) = given(p, "redirect_uri") else {
        return mailru_error(bad, "invalid_request", 3, "redirect_uri is required");
    };
    let Some(grant) = sh.take_code(code) else {
        return mailru_error(bad, "invalid_grant", 4, "invalid code");
    };
    if redirect_uri != grant.redirect_uri {
        return mailru_error(bad, "invalid_grant", 4, "invalid redirect_uri");
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return mailru_error(bad, "invalid_grant", 4, "invalid code_verifier");
    }
    let token = sh.issue_token(grant);
    let refresh = sh.fresh(HEX, 40);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "refresh_token": refresh, "expires_in": 3600 }),
    )
}

/// Quirk: HTTP 200.
fn invalid_token(_: &Shared) -> Response {
    mailru_error(StatusCode::OK, "invalid_token", 2, "token not found")
}

/// GET /userinfo?access_token=…
fn userinfo(sh: &Shared, p: &[(String, String)], _: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(param(p, "access_token")) else {
        return invalid_token(sh);
    };
    let person = &grant.person;
    let mut info = Map::new();
    info.insert("id".to_owned(), json!(person.id));
    info.insert("email".to_owned(), json!(person.email));
    info.insert("name".to_owned(), json!(person.full_name()));
    info.insert("first_name".to_owned(), json!(person.first_name));
    info.insert("last_name".to_owned(), json!(person.last_name));
    info.insert("nickname".to_owned(), json!(person.login));
    match person.gender.as_deref() {
        Some("female") => {
            info.insert("gender".to_owned(), json!("f"));
        }
        Some("male") => {
            info.insert("gender".to_owned(), json!("m"));
        }
        _ => {}
    }
    if let Some(image) = &person.picture {
        info.insert("image".to_owned(), json!(image));
    }
    if let Some(b) = person.birthdate.as_deref().and_then(iso_to_dmy) {
        info.insert("birthday".to_owned(), json!(b));
    }
    info.insert(
        "locale".to_owned(),
        json!(person.locale.as_deref().unwrap_or("ru_RU")),
    );
    json_response(StatusCode::OK, Value::Object(info))
}

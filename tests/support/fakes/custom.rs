//! "Example ID": a made-up network socialgate knows only through an admin's descriptor file.
//! HTTP Basic only, PKCE S256 always, comma-separated scopes, a nested profile to map.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, json};

use super::oauth2::{Person, Shared, Spec, id_number, some};
use super::wire::{auth_token, basic_credentials, given, json_response, oauth_error, param};
use super::{ALNUM, Recorder};

pub const SPEC: Spec = Spec {
    authorize_path: "/oauth/authorize",
    token_path: "/oauth/token",
    userinfo_path: "/api/v1/whoami",
    client_id: "socialgate-demo",
    client_secret: "c5t0m-s3cr3t-9f8e7d6c",
    title: "Example ID",
    pkce_required: true,
    scope_separators: &[','],
    default_scope: Some("profile"),
    known_scopes: Some(&["profile", "mail"]),
    deny_description: "The resource owner denied the request",
    ..Spec::base(sample, access_token, token, whoami, invalid_token)
};

fn sample() -> Person {
    Person {
        email: some("kira@example.org"),
        picture: some("https://id.example.org/avatars/42017.png"),
        gender: some("female"),
        birthdate: some("1990-01-15"),
        locale: some("en"),
        ..Person::named("42017", "kira", "Kira", "Lebedeva")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    format!("cst_{}", rec.fresh(ALNUM, 32))
}

/// HTTP Basic only, PKCE S256 always.
fn token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let unauthorized = |description: &str| {
        let mut resp = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"example-id\""),
        );
        resp
    };
    if param(p, "client_secret").is_some() {
        return unauthorized("client_secret_post is not allowed; use HTTP Basic");
    }
    let Some((id, secret)) = basic_credentials(headers) else {
        return unauthorized("client authentication required");
    };
    if id != SPEC.client_id
        || secret != SPEC.client_secret
        || param(p, "client_id").is_some_and(|c| c != id)
    {
        return unauthorized("client authentication failed");
    }
    let bad = StatusCode::BAD_REQUEST;
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(
            bad,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let Some(code) = given(p, "code") else {
        return oauth_error(bad, "invalid_request", "code is required");
    };
    let Some(grant) = sh.take_code(code) else {
        return oauth_error(bad, "invalid_grant", "unknown or used code");
    };
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(bad, "invalid_grant", "redirect_uri mismatch");
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "PKCE verification failed");
    }
    let scope = grant.scopes.join(",");
    let token = sh.issue_token(grant);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": scope }),
    )
}

fn invalid_token(_: &Shared) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "status": "error", "message": "bad token" }),
    )
}

/// GET /api/v1/whoami with Bearer: the nested shape a descriptor has to map.
fn whoami(sh: &Shared, _: &[(String, String)], headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["Bearer"])) else {
        return invalid_token(sh);
    };
    if !grant.has("profile") {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({ "status": "error", "message": "insufficient scope" }),
        );
    }
    let person = &grant.person;
    let mut contact = Map::new();
    if let Some(mail) = person.email.as_ref().filter(|_| grant.has("mail")) {
        contact.insert("mail".to_owned(), json!(mail));
    }
    contact.insert("mail_confirmed".to_owned(), json!(true));
    json_response(
        StatusCode::OK,
        json!({
            "status": "ok",
            "result": { "account": {
                "uid": id_number(&person.id),
                "display": person.full_name(),
                "names": { "given": person.first_name, "family": person.last_name },
                "contact": serde_json::Value::Object(contact),
                "avatar": { "url": person.picture },
            } },
        }),
    )
}

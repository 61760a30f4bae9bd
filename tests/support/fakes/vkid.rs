//! VK ID (id.vk.ru): PKCE only, no client_secret on the web; the code is bound to the
//! `device_id` sent along with it; the profile is a POST with the token in the form.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::oauth2::{Person, Shared, Spec, id_number, iso_to_dmy, some};
use super::wire::{given, json_response, now_secs, oauth_error, param};
use super::{Recorder, TOKEN_ALPHABET};

pub const SPEC: Spec = Spec {
    token_path: "/oauth2/auth",
    userinfo_path: "/oauth2/user_info",
    client_id: "52345678",
    // The app's "protected key": the web PKCE flow never uses it.
    client_secret: "Zq7Lr2Xv9Tk4Wm8Np3Hd",
    title: "VK ID",
    state_required: true,
    pkce_required: true,
    default_scope: Some("vkid.personal_info"),
    implicit_scope: Some("vkid.personal_info"),
    deny_description: "User denied access",
    device_id: true,
    userinfo_get: false,
    userinfo_post: true,
    ..Spec::base(sample, access_token, token, userinfo, invalid_token)
};

fn sample() -> Person {
    Person {
        email: some("o.sokolova@example.ru"),
        picture: some("https://sun9-75.userapi.com/s/v1/ig2/sokolova.jpg?size=200x200"),
        gender: some("female"),
        birthdate: some("1991-03-14"),
        locale: some("ru"),
        ..Person::named("246813579", "olga.sokolova", "Ольга", "Соколова")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    format!("vk2.a.{}", rec.fresh(TOKEN_ALPHABET, 96))
}

/// PKCE only, no client_secret; the code is bound to device_id.
fn token(sh: &Shared, p: &[(String, String)], _: &HeaderMap) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    match given(p, "client_id") {
        None => return oauth_error(bad, "invalid_request", "client_id is missing"),
        Some(c) if c != SPEC.client_id => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id is invalid",
            );
        }
        Some(_) => {}
    }
    for name in ["grant_type", "code", "state"] {
        if given(p, name).is_none() {
            return oauth_error(bad, "invalid_request", &format!("{name} is missing"));
        }
    }
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(bad, "unsupported_grant_type", "grant_type is invalid");
    }
    let code = param(p, "code").unwrap_or_default();
    // One-time: the code is gone as soon as it is presented (even if the rest is wrong).
    let Some(grant) = sh.take_code(code) else {
        return oauth_error(bad, "invalid_grant", "code is invalid or expired");
    };
    if given(p, "device_id") != grant.device_id.as_deref() {
        return oauth_error(bad, "invalid_grant", "device_id is invalid");
    }
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(bad, "invalid_grant", "redirect_uri is invalid");
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return oauth_error(bad, "invalid_grant", "code_verifier is invalid");
    }
    let user_id = id_number(&grant.person.id);
    let scope = grant.scopes.join(" ");
    let token = sh.issue_token(grant);
    let refresh = access_token(&mut sh.lock().rec);
    let id_token = fake_jwt(
        &json!({ "alg": "RS256", "typ": "JWT", "kid": "vkid-fake" }),
        &json!({ "iss": "VK", "sub": user_id, "app": SPEC.client_id, "iat": now_secs(), "exp": now_secs() + 3600 }),
        &sh.fresh(TOKEN_ALPHABET, 86),
    );
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "refresh_token": refresh,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "user_id": user_id,
            "state": param(p, "state"),
            "scope": scope,
        }),
    )
}

/// Looks like a JWT; nobody verifies its signature.
fn fake_jwt(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        signature
    )
}

fn invalid_token(_: &Shared) -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "invalid access_token",
    )
}

/// POST /oauth2/user_info (form: client_id, access_token).
fn userinfo(sh: &Shared, p: &[(String, String)], _: &HeaderMap) -> Response {
    let grant = sh.grant_for(param(p, "access_token"));
    let Some(grant) = grant.filter(|_| param(p, "client_id") == Some(SPEC.client_id)) else {
        return invalid_token(sh);
    };
    let person = &grant.person;
    let mut user = Map::new();
    user.insert("user_id".to_owned(), json!(person.id));
    user.insert("first_name".to_owned(), json!(person.first_name));
    user.insert("last_name".to_owned(), json!(person.last_name));
    user.insert("avatar".to_owned(), json!(person.picture));
    if let Some(email) = person.email.as_ref().filter(|_| grant.has("email")) {
        user.insert("email".to_owned(), json!(email));
    }
    user.insert("phone".to_owned(), json!("79*******00"));
    let sex = match person.gender.as_deref() {
        Some("female") => 1,
        Some("male") => 2,
        _ => 0,
    };
    user.insert("sex".to_owned(), json!(sex));
    user.insert("verified".to_owned(), json!(false));
    if let Some(b) = person.birthdate.as_deref().and_then(iso_to_dmy) {
        user.insert("birthday".to_owned(), json!(b));
    }
    json_response(StatusCode::OK, json!({ "user": Value::Object(user) }))
}

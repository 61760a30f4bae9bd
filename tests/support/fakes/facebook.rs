//! Facebook (Graph API v19.0): errors are an object under `error` with a trace id, a used code
//! is told from an unknown one, and server calls must carry `appsecret_proof`.

use aws_lc_rs::hmac;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::oauth2::{Behaviour, Person, Shared, Spec, some};
use super::wire::{auth_token, given, json_response, param};
use super::{ALNUM, Recorder, TOKEN_ALPHABET};

pub const SPEC: Spec = Spec {
    authorize_path: "/v19.0/dialog/oauth",
    token_path: "/v19.0/oauth/access_token",
    userinfo_path: "/v19.0/me",
    client_id: "1234567890123456",
    client_secret: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    title: "Facebook",
    // response_type defaults to code.
    response_type_required: false,
    pkce_methods: &["S256", "plain"],
    scope_separators: &[',', ' '],
    default_scope: Some("public_profile"),
    implicit_scope: Some("public_profile"),
    deny_description: "Permissions error.",
    deny_extra: &[("error_reason", "user_denied")],
    code: |rec| format!("AQ{}", rec.fresh(TOKEN_ALPHABET, 120)),
    token_takes_get: true,
    ..Spec::base(sample, access_token, token, me, invalid_token)
};

fn sample() -> Person {
    Person {
        email: some("john.smith@example.com"),
        picture: some(
            "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012&height=50&width=50",
        ),
        gender: some("male"),
        birthdate: some("1985-04-30"),
        locale: some("en_US"),
        ..Person::named("10158123456789012", "john.smith", "John", "Smith")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    format!("EAAR{}", rec.fresh(ALNUM, 160))
}

/// Facebook's `appsecret_proof`: lowercase hex HMAC-SHA256(key = app secret, access token).
pub fn appsecret_proof(client_secret: &str, access_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    hmac::sign(&key, access_token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Facebook errors are an object under `error`, with a trace id.
fn error(sh: &Shared, kind: &str, code: u32, message: &str) -> Response {
    error_with(sh, kind, code, message, None)
}

fn error_with(sh: &Shared, kind: &str, code: u32, message: &str, subcode: Option<u32>) -> Response {
    let trace = sh.fresh(ALNUM, 10);
    let mut err = json!({ "message": message, "type": kind, "code": code, "fbtrace_id": trace });
    if let Some(sub) = subcode {
        err["error_subcode"] = json!(sub);
    }
    json_response(StatusCode::BAD_REQUEST, json!({ "error": err }))
}

fn token(sh: &Shared, p: &[(String, String)], _: &HeaderMap) -> Response {
    let oauth = "OAuthException";
    match given(p, "client_id") {
        None => return error(sh, oauth, 101, "Missing client_id parameter."),
        Some(c) if c != SPEC.client_id => {
            return error(
                sh,
                oauth,
                101,
                "Error validating application. Invalid application ID.",
            );
        }
        Some(_) => {}
    }
    let Some(redirect_uri) = given(p, "redirect_uri") else {
        return error(sh, oauth, 191, "Missing redirect_uri parameter.");
    };
    if param(p, "client_secret") != Some(SPEC.client_secret) {
        return error(sh, oauth, 1, "Error validating client secret.");
    }
    let Some(code) = given(p, "code") else {
        return error(sh, oauth, 1, "Missing authorization code");
    };
    let taken = {
        let mut st = sh.lock();
        let grant = st.codes.remove(code);
        let spent = !st.spent_codes.insert(code.to_owned());
        (grant, spent)
    };
    let grant = match taken {
        (Some(g), _) => g,
        (None, true) => {
            return error_with(
                sh,
                oauth,
                100,
                "This authorization code has been used.",
                Some(36009),
            );
        }
        (None, false) => {
            return error(sh, oauth, 100, "Invalid verification code format.");
        }
    };
    if redirect_uri != grant.redirect_uri {
        return error_with(
            sh,
            oauth,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            Some(36008),
        );
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return error(sh, oauth, 100, "Invalid code verifier.");
    }
    let token = sh.issue_token(grant);
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": 5183944 }),
    )
}

fn invalid_token(sh: &Shared) -> Response {
    error(
        sh,
        "OAuthException",
        190,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

/// Real /me fields this fake does not model: requested, they are silently left out.
const OMITTED_FIELDS: &[&str] = &[
    "birthday",
    "gender",
    "link",
    "middle_name",
    "short_name",
    "name_format",
    "age_range",
    "locale",
];

/// GET /v19.0/me?fields=… with the token as Bearer or `access_token`, plus appsecret_proof.
fn me(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let token = auth_token(headers, &["Bearer", "OAuth"]).or_else(|| given(p, "access_token"));
    let Some(token) = token else {
        return error(
            sh,
            "OAuthException",
            2500,
            "An active access token must be used to query information about the current user.",
        );
    };
    let Some(grant) = sh.grant_for(Some(token)) else {
        return invalid_token(sh);
    };
    let proof_required = sh.lock().behaviour != Behaviour::RequireNoProof;
    if proof_required {
        match given(p, "appsecret_proof") {
            None => {
                return error(
                    sh,
                    "GraphMethodException",
                    100,
                    "API calls from the server require an appsecret_proof argument",
                );
            }
            Some(proof) if proof != appsecret_proof(SPEC.client_secret, token) => {
                return error(
                    sh,
                    "GraphMethodException",
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                );
            }
            Some(_) => {}
        }
    }
    let person = &grant.person;
    let fields = given(p, "fields").unwrap_or("id,name");
    let mut me = Map::new();
    for raw in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        // `picture.type(large)` or `picture{url}`: the field is the name before modifiers.
        let field = raw.split(['.', '{', '(']).next().unwrap_or_default().trim();
        let value = match field {
            "id" => json!(person.id),
            "name" => json!(person.full_name()),
            "first_name" => json!(person.first_name),
            "last_name" => json!(person.last_name),
            "email" => match person.email.as_ref().filter(|_| grant.has("email")) {
                Some(e) => json!(e),
                None => continue,
            },
            "picture" => match &person.picture {
                Some(url) => json!({ "data": {
                    "height": 50, "is_silhouette": false, "url": url, "width": 50,
                } }),
                None => continue,
            },
            f if OMITTED_FIELDS.contains(&f) => continue,
            f => {
                return error(
                    sh,
                    "OAuthException",
                    100,
                    &format!("(#100) Tried accessing nonexisting field ({f}) on node type (User)"),
                );
            }
        };
        me.insert(field.to_owned(), value);
    }
    json_response(StatusCode::OK, Value::Object(me))
}

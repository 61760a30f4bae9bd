//! X (Twitter API v2): a confidential client must authenticate with HTTP Basic, PKCE always, a
//! refresh token only for `offline.access`, never an email.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::oauth2::{Person, Shared, Spec, some};
use super::wire::{auth_token, basic_credentials, given, json_response, oauth_error, param};
use super::{Recorder, TOKEN_ALPHABET};

pub const SPEC: Spec = Spec {
    authorize_path: "/i/oauth2/authorize",
    token_path: "/2/oauth2/token",
    userinfo_path: "/2/users/me",
    client_id: "dGhpc0lzQW5YQ2xpZW50SWQ6MTpjaQ",
    client_secret: "Wq9rT3yU7iO1pA5sD8fG2hJ6kL0zX4cV9bN3mQ7wE1rT5yU8iO",
    title: "X",
    state_required: true,
    pkce_required: true,
    pkce_methods: &["S256", "plain"],
    default_scope: None,
    deny_description: "The user denied the request",
    ..Spec::base(sample, access_token, token, users_me, invalid_token)
};

fn sample() -> Person {
    Person {
        // X never gives an email.
        picture: some("https://pbs.twimg.com/profile_images/1512345678/alex_normal.jpg"),
        ..Person::named("1512345678901234567", "alex_morgan", "Alex", "Morgan")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    rec.fresh(TOKEN_ALPHABET, 80)
}

/// A confidential client must authenticate with HTTP Basic.
fn token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let expected = (SPEC.client_id.to_owned(), SPEC.client_secret.to_owned());
    if basic_credentials(headers) != Some(expected) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    let bad = StatusCode::BAD_REQUEST;
    for name in ["grant_type", "code", "redirect_uri"] {
        if given(p, name).is_none() {
            return oauth_error(
                bad,
                "invalid_request",
                &format!("Missing required parameter [{name}]."),
            );
        }
    }
    if param(p, "grant_type") != Some("authorization_code") {
        return oauth_error(
            bad,
            "invalid_request",
            "Value passed for the grant type was invalid.",
        );
    }
    let invalid_code = || {
        oauth_error(
            bad,
            "invalid_request",
            "Value passed for the authorization code was invalid.",
        )
    };
    let Some(grant) = sh.take_code(param(p, "code").unwrap_or_default()) else {
        return invalid_code();
    };
    if param(p, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            bad,
            "invalid_request",
            "Value passed for the redirect uri did not match the uri of the authorization code.",
        );
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return invalid_code();
    }
    let scope = grant.scopes.join(" ");
    let offline = grant.has("offline.access");
    let token = sh.issue_token(grant);
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": token,
        "scope": scope,
    });
    // X gives a refresh token only for offline.access.
    if offline {
        answer["refresh_token"] = json!(sh.fresh(TOKEN_ALPHABET, 80));
    }
    json_response(StatusCode::OK, answer)
}

fn invalid_token(_: &Shared) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" }),
    )
}

/// Accepted `user.fields` values; the ones not rendered are left out of the answer.
const USER_FIELDS: &[&str] = &[
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];

/// GET /2/users/me with Bearer; needs `users.read` and `tweet.read`.
fn users_me(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let Some(grant) = sh.grant_for(auth_token(headers, &["Bearer"])) else {
        return invalid_token(sh);
    };
    if !(grant.has("users.read") && grant.has("tweet.read")) {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({
                "title": "Forbidden",
                "type": "https://api.twitter.com/2/problems/oauth2-insufficient-scope",
                "status": 403,
                "detail": "Missing required scopes: tweet.read users.read",
            }),
        );
    }
    let fields: Vec<&str> = given(p, "user.fields")
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = fields.iter().find(|f| !USER_FIELDS.contains(f)) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "errors": [{
                    "parameters": { "user.fields": [bad] },
                    "message": format!("The `user.fields` query parameter value [{bad}] is not one of [{}]", USER_FIELDS.join(",")),
                }],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }),
        );
    }
    let person = &grant.person;
    let mut data = Map::new();
    data.insert("id".to_owned(), json!(person.id));
    data.insert("name".to_owned(), json!(person.full_name()));
    data.insert("username".to_owned(), json!(person.login));
    if let Some(url) = person
        .picture
        .as_ref()
        .filter(|_| fields.contains(&"profile_image_url"))
    {
        data.insert("profile_image_url".to_owned(), json!(url));
    }
    if fields.contains(&"verified") {
        data.insert("verified".to_owned(), json!(false));
    }
    if fields.contains(&"protected") {
        data.insert("protected".to_owned(), json!(false));
    }
    json_response(StatusCode::OK, json!({ "data": Value::Object(data) }))
}

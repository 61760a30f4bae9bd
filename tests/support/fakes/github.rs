//! GitHub: token answers form-encoded unless asked for JSON, errors included, always HTTP 200;
//! the REST API refuses a request without User-Agent; a private address only in /user/emails.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::oauth2::{Behaviour, Grant, Person, Shared, Spec, failing_profile, id_number, some};
use super::wire::{auth_token, given, header_str, json_response, param, text_response};
use super::{ALNUM, HEX, Recorder};

pub const SPEC: Spec = Spec {
    authorize_path: "/login/oauth/authorize",
    token_path: "/login/oauth/access_token",
    userinfo_path: "/user",
    client_id: "Ov23liAbCdEfGhIjKlMn",
    client_secret: "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e",
    title: "GitHub",
    // GitHub ignores response_type.
    response_type_required: false,
    redirect_uri_optional: true,
    // GitHub answers scopes comma-separated but reads both.
    scope_separators: &[',', ' '],
    deny_description: "The user has denied your application access.",
    deny_extra: &[(
        "error_uri",
        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
    )],
    code: |rec| rec.fresh(HEX, 19),
    userinfo_guard: needs_user_agent,
    extra_routes: |routes| routes.route("/user/emails", get(emails)),
    ..Spec::base(sample, access_token, token, user, invalid_token)
};

fn sample() -> Person {
    Person {
        // Private: /user says "email": null, only /user/emails has it.
        email: some("mona@example.com"),
        picture: some("https://avatars.githubusercontent.com/u/9919?v=4"),
        ..Person::named("9919", "monalisa", "Mona", "Lisa")
    }
}

fn access_token(rec: &mut Recorder) -> String {
    format!("gho_{}", rec.fresh(ALNUM, 35))
}

/// GitHub answers form-encoded unless asked for JSON, errors included, always HTTP 200.
fn answer(headers: &HeaderMap, fields: &[(&str, &str)]) -> Response {
    let wants_json = header_str(headers, header::ACCEPT)
        .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"));
    if wants_json {
        let obj: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        return json_response(StatusCode::OK, Value::Object(obj));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    text_response(
        StatusCode::OK,
        "application/x-www-form-urlencoded; charset=utf-8",
        body,
    )
}

const TOKEN_ERRORS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

fn token(sh: &Shared, p: &[(String, String)], headers: &HeaderMap) -> Response {
    let error = |error: &str, description: &str, anchor: &str| {
        let uri = format!("{TOKEN_ERRORS}/#{anchor}");
        answer(
            headers,
            &[
                ("error", error),
                ("error_description", description),
                ("error_uri", &uri),
            ],
        )
    };
    if param(p, "client_id") != Some(SPEC.client_id)
        || param(p, "client_secret") != Some(SPEC.client_secret)
    {
        return error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
            "incorrect-client-credentials",
        );
    }
    let bad_code = || {
        error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
            "bad-verification-code",
        )
    };
    let Some(grant) = given(p, "code").and_then(|c| sh.take_code(c)) else {
        return bad_code();
    };
    if param(p, "redirect_uri").is_some_and(|r| r != grant.redirect_uri) {
        return error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
            "redirect-uri-mismatch",
        );
    }
    if !grant.pkce_ok(param(p, "code_verifier")) {
        return bad_code();
    }
    let scope = grant.scopes.join(",");
    let token = sh.issue_token(grant);
    answer(
        headers,
        &[
            ("access_token", &token),
            ("scope", &scope),
            ("token_type", "bearer"),
        ],
    )
}

fn invalid_token(_: &Shared) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }),
    )
}

/// GitHub refuses a request without User-Agent before anything else.
fn needs_user_agent(headers: &HeaderMap) -> Option<Response> {
    header_str(headers, header::USER_AGENT)
        .filter(|ua| !ua.trim().is_empty())
        .is_none()
        .then(|| {
            text_response(
                StatusCode::FORBIDDEN,
                "text/plain; charset=utf-8",
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n".to_owned(),
            )
        })
}

/// The grant behind GitHub's `Authorization: Bearer|token <t>`, or the refusal to send.
fn authorized(sh: &Shared, headers: &HeaderMap, docs: &str) -> Result<Grant, Box<Response>> {
    let Some(token) = auth_token(headers, &["Bearer", "token"]) else {
        return Err(Box::new(json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "message": "Requires authentication", "documentation_url": docs, "status": "401" }),
        )));
    };
    sh.grant_for(Some(token))
        .ok_or_else(|| Box::new(invalid_token(sh)))
}

fn user(sh: &Shared, _: &[(String, String)], headers: &HeaderMap) -> Response {
    let grant = match authorized(
        sh,
        headers,
        "https://docs.github.com/rest/users/users#get-the-authenticated-user",
    ) {
        Ok(g) => g,
        Err(resp) => return *resp,
    };
    let person = &grant.person;
    let name = person.full_name();
    let node_id = STANDARD.encode(format!("04:User{}", person.id));
    let mut resp = json_response(
        StatusCode::OK,
        json!({
            "login": person.login,
            "id": id_number(&person.id),
            "node_id": node_id,
            "avatar_url": person.picture,
            "gravatar_id": "",
            "url": format!("https://api.github.com/users/{}", person.login),
            "html_url": format!("https://github.com/{}", person.login),
            "type": "User",
            "site_admin": false,
            "name": if name.is_empty() { Value::Null } else { json!(name) },
            "company": null,
            "blog": "",
            "location": null,
            // The person keeps the address private: only /user/emails shows it.
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "public_repos": 8,
            "public_gists": 1,
            "followers": 20,
            "following": 0,
            "created_at": "2008-01-14T04:33:35Z",
            "updated_at": "2024-05-02T10:11:12Z",
        }),
    );
    if let Ok(v) = header::HeaderValue::from_str(&grant.scopes.join(", ")) {
        resp.headers_mut().insert("x-oauth-scopes", v);
    }
    resp
}

/// GET /user/emails: needs `user:email` (or `user`) granted.
async fn emails(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let behaviour = sh.seen("emails", None);
    if let Some(refusal) = needs_user_agent(&headers) {
        return refusal;
    }
    if let Some(failure) = failing_profile(&sh, behaviour) {
        return failure;
    }
    let docs =
        "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user";
    let grant = match authorized(&sh, &headers, docs) {
        Ok(g) => g,
        Err(resp) => return *resp,
    };
    if !(grant.has("user:email") || grant.has("user")) {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({ "message": "Not Found", "documentation_url": docs, "status": "404" }),
        );
    }
    let person = &grant.person;
    let primary_verified = behaviour != Behaviour::EmailsPrimaryUnverified;
    let noreply = format!("{}+{}@users.noreply.github.com", person.id, person.login);
    let list = match &person.email {
        Some(email) => json!([
            { "email": noreply, "primary": false, "verified": true, "visibility": null },
            { "email": email, "primary": true, "verified": primary_verified, "visibility": "private" },
        ]),
        None => json!([
            { "email": noreply, "primary": true, "verified": primary_verified, "visibility": null },
        ]),
    };
    json_response(StatusCode::OK, list)
}

//! A fake OpenID Connect upstream for the integration tests, in three flavours: Google,
//! Microsoft Entra ID (v2.0 endpoints) and GitLab.
//!
//! It behaves as those providers do where a relying party could trip over it: discovery at
//! the flavour's paths (Entra's `{tenantid}` issuer template for the multi-tenant tenants, the
//! tenant GUID for a named one), RS256 id_tokens with a `kid` from the JWKS, one-time codes,
//! PKCE checked when a challenge was sent, client_secret_post and client_secret_basic, claims
//! only for the scopes granted, and a few harmless extras (`session_state`, `authuser`,
//! Google's URL-form scopes, `ext_expires_in`). Each [`Behaviour`] corrupts exactly one aspect,
//! so a gateway test can check that the gateway refuses it.
//!
//! The authorize endpoint plays the person consenting: it answers with a 302 straight away.

mod discovery;
pub mod flavour;
mod id_token;

pub use flavour::{Flavour, Person};

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::wire::{
    self, Params, Query, form_decode, is_form, now_secs, param, redirect, redirect_with,
};
use super::{Fake, base_url, bind};
use discovery::{discovery, discovery_tenant, jwks};
use id_token::{RsaKey, id_token_claims, person_claims, sign_id_token};

/// What the fake does wrong (or, for `Normal`, right) from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// The person refuses at the consent page: `error=access_denied`.
    Deny,
    /// id_token `aud` is "someone-else".
    WrongAudience,
    /// id_token `iss` is "https://evil.example".
    WrongIssuer,
    /// id_token `iat`/`exp` two hours in the past (expired an hour ago).
    Expired,
    /// id_token `nonce` differs from the one sent to authorize.
    WrongNonce,
    /// id_token carries no `nonce` even though one was sent.
    NoNonce,
    /// A few bytes of the RS256 signature flipped.
    BadSignature,
    /// Header `alg: none`, empty signature.
    AlgNone,
    /// HS256 keyed with the client secret (the algorithm-confusion attack).
    Hs256WithClientSecret,
    /// RS256 with a fresh key whose `kid` the JWKS does not have.
    UnknownKid,
    /// The token endpoint answers an HTML 500.
    TokenHttp500,
    /// The discovery document is an HTML 500.
    DiscoveryHttp500,
    /// userinfo answers for another `sub` than the id_token's.
    UserinfoOtherSub,
}

const CODE_LIFETIME: Duration = Duration::from_secs(600);
const TOKEN_LIFETIME_SECS: u64 = 3599;

// ---------------------------------------------------------------------------------------------
// State

#[derive(Clone, Debug)]
pub struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    /// (code_challenge, method) — method "plain" or "S256".
    challenge: Option<(String, String)>,
    person: Person,
    issued: Instant,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    person: Person,
    scopes: Vec<String>,
    expires: Instant,
}

pub struct OidcState {
    key: Arc<RsaKey>,
}

/// The flavour, where it serves, and its one registered client.
pub struct OidcConfig {
    pub flavour: Flavour,
    pub base_url: String,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    /// The only redirect_uri registered for the client.
    pub redirect_uri: String,
}

upstream!(OidcState: OidcConfig, Behaviour, Person, IssuedCode, IssuedToken);

/// A running fake OpenID Connect provider: requests are counted as "discovery", "jwks",
/// "authorize", "token" and "userinfo", the parameters of authorize and token recorded.
pub type FakeOidc = Fake<OidcState>;

impl FakeOidc {
    /// Starts the fake with one registered client whose only redirect URI is `redirect_uri`.
    pub async fn start(flavour: Flavour, redirect_uri: &str) -> FakeOidc {
        let listener = bind().await;
        let (client_id, client_secret) = flavour.client();
        let config = OidcConfig {
            flavour,
            base_url: base_url(&listener),
            client_id,
            client_secret,
            redirect_uri: redirect_uri.to_owned(),
        };
        let own = OidcState {
            key: Arc::new(RsaKey::generate(flavour)),
        };
        // The paths the discovery document announces, with Entra's tenant as a parameter.
        let ep = flavour.endpoints("", "{tenant}");
        let routes = Router::new()
            .route(&ep.authorization, get(authorize))
            .route(&ep.token, post(token))
            .route(&ep.userinfo, get(userinfo).post(userinfo))
            .route(&ep.jwks, get(jwks));
        let routes = match flavour {
            Flavour::Microsoft => routes.route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery_tenant),
            ),
            _ => routes.route("/.well-known/openid-configuration", get(discovery)),
        };
        let person = Person::sample(flavour);
        Fake::serve(listener, config, Behaviour::Normal, person, own, routes)
    }

    /// The issuer an admin configures: Google/GitLab `base_url` (`tenant` ignored);
    /// Microsoft `{base_url}/{tenant}/v2.0`.
    pub fn issuer(&self, tenant: &str) -> String {
        match self.config().flavour {
            Flavour::Microsoft => format!("{}/{tenant}/v2.0", self.base_url),
            _ => self.base_url.clone(),
        }
    }

    pub fn client_id(&self) -> &str {
        self.config().client_id
    }

    pub fn client_secret(&self) -> &str {
        self.config().client_secret
    }

    /// A new signing key and kid; the JWKS serves only the new key from now on.
    pub fn rotate_key(&self) {
        // Generated outside the lock: it takes a moment.
        let key = Arc::new(RsaKey::generate(self.config().flavour));
        self.shared().lock().key = key;
    }

    /// The kid id_tokens are signed with now.
    pub fn current_kid(&self) -> String {
        self.shared().lock().key.kid.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Request helpers

fn html_page(status: StatusCode, body: &str) -> Response {
    let body = format!("<h1>Sorry, something went wrong</h1><p>{body}</p>");
    wire::html_page(status, "Sign in", &body)
}

/// A GUID-shaped string derived from `seed`, stable for the same seed.
fn guid_from(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// ---------------------------------------------------------------------------------------------
// GET authorize

/// Redirects to the (already verified) redirect_uri with an OAuth error.
fn authorize_error(target: Url, error: &str, description: &str, state: Option<&str>) -> Response {
    let pairs = [("error", error), ("error_description", description)];
    redirect_with(&target, &pairs, state)
}

async fn authorize(State(sh): State<Arc<Shared>>, Query(params): Query) -> Response {
    let cfg = &sh.config;
    let mut st = sh.lock();
    st.rec.record("authorize", &params);

    // Never a redirect to an unverified redirect_uri: these are pages shown to the person.
    if param(&params, "client_id") != Some(cfg.client_id) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error 401: invalid_client. The OAuth client was not found.",
        );
    }
    if param(&params, "redirect_uri") != Some(cfg.redirect_uri.as_str()) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error 400: redirect_uri_mismatch. The redirect URI in the request does not match \
             the ones registered for the application.",
        );
    }
    let Ok(target) = Url::parse(&cfg.redirect_uri) else {
        return html_page(StatusCode::BAD_REQUEST, "invalid redirect_uri");
    };
    let state = param(&params, "state");
    if param(&params, "response_type") != Some("code") {
        return authorize_error(
            target,
            "unsupported_response_type",
            "Only response_type=code is supported.",
            state,
        );
    }
    let requested: Vec<&str> = param(&params, "scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if !requested.contains(&"openid") {
        return authorize_error(
            target,
            "invalid_scope",
            "The scope must include openid.",
            state,
        );
    }
    let Some(state) = state else {
        return authorize_error(target, "invalid_request", "state is required.", None);
    };
    // OpenID Connect Core §3.1.2.1: `none` stands alone; values are the network's own.
    if let Some(prompt) = param(&params, "prompt") {
        let values: Vec<&str> = prompt.split(' ').filter(|v| !v.is_empty()).collect();
        if let Some(unknown) = values.iter().find(|v| !cfg.flavour.prompts().contains(v)) {
            let description = format!("Invalid prompt: {unknown}");
            return authorize_error(target, "invalid_request", &description, Some(state));
        }
        if values.contains(&"none") && values.len() > 1 {
            let description = "prompt=none cannot be combined with other values.";
            return authorize_error(target, "invalid_request", description, Some(state));
        }
    }
    if param(&params, "max_age").is_some_and(|m| m.parse::<u64>().is_err()) {
        let description = "max_age must be a number of seconds.";
        return authorize_error(target, "invalid_request", description, Some(state));
    }
    let challenge = match (
        param(&params, "code_challenge"),
        param(&params, "code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            return authorize_error(
                target,
                "invalid_request",
                "code_challenge_method without code_challenge.",
                Some(state),
            );
        }
        // RFC 7636 §4.3: no method means plain.
        (Some(c), m @ (None | Some("plain") | Some("S256"))) => {
            Some((c.to_owned(), m.unwrap_or("plain").to_owned()))
        }
        (Some(_), Some(_)) => {
            return authorize_error(
                target,
                "invalid_request",
                "Unsupported code_challenge_method.",
                Some(state),
            );
        }
    };
    if st.behaviour == Behaviour::Deny {
        let description = match cfg.flavour {
            Flavour::Microsoft => "AADSTS65004: User declined to consent to access the app.",
            _ => "The resource owner or authorization server denied the request.",
        };
        return authorize_error(target, "access_denied", description, Some(state));
    }

    let supported = cfg.flavour.supported_scopes();
    let mut scopes: Vec<String> = Vec::new();
    for s in requested {
        if supported.contains(&s) && !scopes.iter().any(|g| g == s) {
            scopes.push(s.to_owned());
        }
    }
    let code = cfg.flavour.code(&mut st.rec);
    let issued = IssuedCode {
        client_id: cfg.client_id.to_owned(),
        redirect_uri: cfg.redirect_uri.clone(),
        scopes,
        nonce: param(&params, "nonce").map(str::to_owned),
        challenge,
        person: st.person.clone(),
        issued: Instant::now(),
    };
    let scope_text = cfg.flavour.scope_text(&issued.scopes);
    st.codes.insert(code.clone(), issued);
    let session_state = guid_from(&code);
    drop(st);

    let mut target = target;
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("code", &code).append_pair("state", state);
        // Harmless extras the relying party must ignore.
        match cfg.flavour {
            Flavour::Google => {
                q.append_pair("scope", &scope_text)
                    .append_pair("authuser", "0")
                    .append_pair("prompt", "consent");
            }
            Flavour::Microsoft => {
                q.append_pair("session_state", &session_state);
            }
            Flavour::GitLab => {}
        }
    }
    redirect(&target)
}

// ---------------------------------------------------------------------------------------------
// POST token

fn token_error(sh: &Shared, status: StatusCode, error: &str, description: &str) -> Response {
    let mut body = json!({ "error": error, "error_description": description });
    if sh.config.flavour == Flavour::Microsoft {
        // Harmless Entra extras.
        body["error_codes"] = json!([if error == "invalid_client" {
            7000215
        } else {
            70008
        }]);
        body["trace_id"] = json!(guid_from(description));
    }
    let mut resp = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6749 §5.2: a 401 for invalid_client names the scheme.
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    resp
}

/// The client's credentials: client_secret_basic if an Authorization header is present,
/// else client_secret_post.
fn client_credentials(
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(String, String), &'static str> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| "Malformed Authorization header.")?;
        let Some(b64) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
        else {
            return Err("Unsupported client authentication scheme.");
        };
        let raw = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("Malformed Basic credentials.")?;
        let (id, secret) = raw.split_once(':').ok_or("Malformed Basic credentials.")?;
        let id = form_decode(id).ok_or("Malformed Basic credentials.")?;
        let secret = form_decode(secret).ok_or("Malformed Basic credentials.")?;
        // A client_id in the body as well must be the same client.
        if param(params, "client_id").is_some_and(|body_id| body_id != id) {
            return Err("client_id in the body and in the Authorization header differ.");
        }
        return Ok((id, secret));
    }
    match (param(params, "client_id"), param(params, "client_secret")) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
        (Some(_), None) => Err("The client secret is missing."),
        _ => Err("Client authentication failed."),
    }
}

async fn token(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // Form body only: the query string is not read, as at the real endpoints.
    let form = is_form(&headers);
    let params: Params = if form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let behaviour = {
        let mut st = sh.lock();
        st.rec.record("token", &params);
        st.behaviour
    };
    if behaviour == Behaviour::TokenHttp500 {
        return html_page(StatusCode::INTERNAL_SERVER_ERROR, "500. That’s an error.");
    }
    if !form {
        return token_error(
            &sh,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        );
    }
    let unauthorized =
        |why: &str| token_error(&sh, StatusCode::UNAUTHORIZED, "invalid_client", why);
    match client_credentials(&headers, &params) {
        Ok((id, _)) if id != sh.config.client_id => {
            return unauthorized("The OAuth client was not found.");
        }
        Ok((_, secret)) if secret != sh.config.client_secret => {
            return unauthorized("Invalid client secret provided.");
        }
        Ok(_) => {}
        Err(why) => return unauthorized(why),
    }
    if param(&params, "grant_type") != Some("authorization_code") {
        return token_error(
            &sh,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only grant_type=authorization_code is supported.",
        );
    }
    let Some(code) = param(&params, "code") else {
        return token_error(
            &sh,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code",
        );
    };
    let invalid_grant = |why: &str| token_error(&sh, StatusCode::BAD_REQUEST, "invalid_grant", why);

    // One-time: the code is gone as soon as it is presented, even if the rest is wrong.
    let issued = sh.take_code(code);
    let Some(issued) = issued else {
        return invalid_grant("The authorization code is invalid, expired or already used.");
    };
    if issued.issued.elapsed() > CODE_LIFETIME {
        return invalid_grant("The authorization code has expired.");
    }
    if issued.client_id != sh.config.client_id {
        return invalid_grant("The code was issued to another client.");
    }
    if param(&params, "redirect_uri") != Some(issued.redirect_uri.as_str()) {
        return invalid_grant("redirect_uri does not match the authorization request.");
    }
    if let Some((challenge, method)) = &issued.challenge {
        let Some(verifier) = param(&params, "code_verifier") else {
            return invalid_grant("Missing code_verifier.");
        };
        if !wire::pkce_matches(method, challenge, verifier) {
            return invalid_grant("The code_verifier does not match the code_challenge.");
        }
    }

    let (access_token, refresh_token, key) = {
        let mut st = sh.lock();
        let access_token = sh.config.flavour.access_token(&mut st.rec);
        let refresh_token = sh.config.flavour.refresh_token(&mut st.rec);
        st.tokens.insert(
            access_token.clone(),
            IssuedToken {
                person: issued.person.clone(),
                scopes: issued.scopes.clone(),
                expires: Instant::now() + Duration::from_secs(TOKEN_LIFETIME_SECS),
            },
        );
        (access_token, refresh_token, st.key.clone())
    };
    let claims = id_token_claims(&sh.config, &issued, &access_token, behaviour);
    let id_token = sign_id_token(&sh.config, &key, &claims, behaviour);

    let mut answer = Map::new();
    answer.insert("access_token".to_owned(), json!(access_token));
    answer.insert("token_type".to_owned(), json!("Bearer"));
    answer.insert("expires_in".to_owned(), json!(TOKEN_LIFETIME_SECS));
    answer.insert(
        "scope".to_owned(),
        json!(sh.config.flavour.scope_text(&issued.scopes)),
    );
    answer.insert("id_token".to_owned(), json!(id_token));
    answer.insert("refresh_token".to_owned(), json!(refresh_token));
    match sh.config.flavour {
        Flavour::Microsoft => {
            answer.insert("ext_expires_in".to_owned(), json!(TOKEN_LIFETIME_SECS));
        }
        Flavour::GitLab => {
            answer.insert("created_at".to_owned(), json!(now_secs()));
        }
        Flavour::Google => {
            answer.insert("refresh_token_expires_in".to_owned(), json!(604_799u64));
        }
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(Value::Object(answer)),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// GET|POST userinfo

async fn userinfo(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (behaviour, grant) = {
        let mut st = sh.lock();
        st.rec.bump("userinfo");
        let grant = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| st.tokens.get(t.trim()).cloned())
            .filter(|g| g.expires > Instant::now());
        (st.behaviour, grant)
    };
    let Some(grant) = grant else {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\", error_description=\"The access token is \
                 invalid or has expired\"",
            )],
            Json(json!({ "error": "invalid_token", "error_description": "Invalid Credentials" })),
        )
            .into_response();
    };
    let mut out = Map::new();
    let sub = if behaviour == Behaviour::UserinfoOtherSub {
        format!("{}-other", grant.person.sub)
    } else {
        grant.person.sub.clone()
    };
    out.insert("sub".to_owned(), json!(sub));
    person_claims(&sh.config, &grant.person, &grant.scopes, &mut out);
    (StatusCode::OK, Json(Value::Object(out))).into_response()
}

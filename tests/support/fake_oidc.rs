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
#![allow(dead_code)]

use super::fake_http::{is_form, param, redirect};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Google,
    Microsoft,
    GitLab,
}

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

/// The person who "logs in" at the fake's authorize endpoint.
#[derive(Clone, Debug)]
pub struct Person {
    pub sub: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub picture: Option<String>,
    pub locale: Option<String>,
    pub preferred_username: Option<String>,
    /// Microsoft only: the person's directory (tenant) GUID.
    pub tid: Option<String>,
}

/// The tenant GUID of [`Person::sample`] for Microsoft.
pub const MS_SAMPLE_TID: &str = "8f1c3b2a-5d4e-4f6a-9b7c-2e1d0a3f4b5c";

impl Person {
    pub fn sample(flavour: Flavour) -> Person {
        let s = |v: &str| Some(v.to_owned());
        match flavour {
            Flavour::Google => Person {
                sub: "110248495921238986420".to_owned(),
                name: s("Ada Lovelace"),
                given_name: s("Ada"),
                family_name: s("Lovelace"),
                email: s("ada.lovelace@gmail.com"),
                email_verified: Some(true),
                picture: s("https://lh3.googleusercontent.com/a/ACg8ocJ3kq7Xsample=s96-c"),
                locale: s("en"),
                preferred_username: None,
                tid: None,
            },
            // Entra: a pairwise `sub`, no email_verified, no picture in the token.
            Flavour::Microsoft => Person {
                sub: "AAAAAAAAAAAAAAAAAAAAAKq0y3bXvDpSQ5cW1m2Kb9E".to_owned(),
                name: s("Alex Wilber"),
                given_name: s("Alex"),
                family_name: s("Wilber"),
                email: s("alex.wilber@contoso.com"),
                email_verified: None,
                picture: None,
                locale: None,
                preferred_username: s("alex.wilber@contoso.com"),
                tid: s(MS_SAMPLE_TID),
            },
            // GitLab: a numeric `sub`, a nickname, no given/family names.
            Flavour::GitLab => Person {
                sub: "4817263".to_owned(),
                name: s("Grace Hopper"),
                given_name: None,
                family_name: None,
                email: s("grace.hopper@example.org"),
                email_verified: Some(true),
                picture: s("https://gitlab.com/uploads/-/system/user/avatar/4817263/avatar.png"),
                locale: None,
                preferred_username: s("ghopper"),
                tid: None,
            },
        }
    }
}

/// The Entra tenants whose discovery document carries the `{tenantid}` issuer template.
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const TOKEN_LIFETIME_SECS: u64 = 3599;
const ID_TOKEN_LIFETIME_SECS: u64 = 3600;

// ---------------------------------------------------------------------------------------------
// Keys

struct RsaKey {
    kid: String,
    encoding: EncodingKey,
    n: String,
    e: String,
}

impl RsaKey {
    fn generate(flavour: Flavour) -> RsaKey {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let der = pair.as_der().expect("RSA key as PKCS#8");
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA encoding key");
        let public = pair.public_key();
        let n = B64.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64.encode(public.exponent().big_endian_without_leading_zero());
        // RFC 7638 thumbprint, shaped like each provider's kids (Google: 40 hex digits).
        let thumb = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        let kid = match flavour {
            Flavour::Google => thumb[..20].iter().map(|b| format!("{b:02x}")).collect(),
            Flavour::Microsoft => B64.encode(&thumb[..20]),
            Flavour::GitLab => B64.encode(thumb),
        };
        RsaKey {
            kid,
            encoding,
            n,
            e,
        }
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": self.kid, "n": self.n, "e": self.e,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign an id_token")
    }
}

// ---------------------------------------------------------------------------------------------
// State

#[derive(Clone, Debug)]
struct IssuedCode {
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
struct IssuedToken {
    person: Person,
    scopes: Vec<String>,
    expires: Instant,
}

struct OidcState {
    behaviour: Behaviour,
    person: Person,
    key: Arc<RsaKey>,
    calls: HashMap<&'static str, usize>,
    codes: HashMap<String, IssuedCode>,
    tokens: HashMap<String, IssuedToken>,
    last_authorize_params: Vec<(String, String)>,
    last_token_params: Vec<(String, String)>,
    counter: u64,
}

impl OidcState {
    fn bump(&mut self, endpoint: &'static str) {
        *self.calls.entry(endpoint).or_insert(0) += 1;
    }

    /// A fresh random-looking string; unique within this fake.
    fn fresh(&mut self, alphabet: &[u8], len: usize) -> String {
        self.counter += 1;
        super::fake_http::random_string(self.counter, alphabet, len)
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const B64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct Shared {
    flavour: Flavour,
    base_url: String,
    client_id: String,
    client_secret: String,
    /// The only redirect_uri registered for the client.
    redirect_uri: String,
    state: Mutex<OidcState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, OidcState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the endpoints live; `tenant` is the path segment Entra's endpoints carry.
    fn endpoints(&self, tenant: &str) -> Endpoints {
        let b = &self.base_url;
        match self.flavour {
            Flavour::Google => Endpoints {
                authorization: format!("{b}/o/oauth2/v2/auth"),
                token: format!("{b}/token"),
                userinfo: format!("{b}/v1/userinfo"),
                jwks: format!("{b}/oauth2/v3/certs"),
            },
            Flavour::Microsoft => Endpoints {
                authorization: format!("{b}/{tenant}/oauth2/v2.0/authorize"),
                token: format!("{b}/{tenant}/oauth2/v2.0/token"),
                // Graph's userinfo is not per tenant.
                userinfo: format!("{b}/oidc/userinfo"),
                jwks: format!("{b}/{tenant}/discovery/v2.0/keys"),
            },
            Flavour::GitLab => Endpoints {
                authorization: format!("{b}/oauth/authorize"),
                token: format!("{b}/oauth/token"),
                userinfo: format!("{b}/oauth/userinfo"),
                jwks: format!("{b}/oauth/discovery/keys"),
            },
        }
    }

    /// The `iss` of id_tokens: Entra names the person's own tenant by GUID.
    fn token_issuer(&self, person: &Person) -> String {
        match self.flavour {
            Flavour::Microsoft => format!(
                "{}/{}/v2.0",
                self.base_url,
                person.tid.as_deref().unwrap_or(MS_SAMPLE_TID)
            ),
            _ => self.base_url.clone(),
        }
    }

    fn supported_scopes(&self) -> &'static [&'static str] {
        match self.flavour {
            Flavour::Google => &["openid", "email", "profile"],
            Flavour::Microsoft => &["openid", "profile", "email", "offline_access"],
            Flavour::GitLab => &["openid", "profile", "email", "read_user", "read_api", "api"],
        }
    }

    /// The granted scopes as the flavour writes them in the token response.
    fn scope_text(&self, scopes: &[String]) -> String {
        match self.flavour {
            // Google answers with URL forms for email and profile.
            Flavour::Google => scopes
                .iter()
                .map(|s| match s.as_str() {
                    "email" => "https://www.googleapis.com/auth/userinfo.email".to_owned(),
                    "profile" => "https://www.googleapis.com/auth/userinfo.profile".to_owned(),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            // Entra adds the Graph permission it grants by default.
            Flavour::Microsoft => {
                let mut s = scopes.join(" ");
                s.push_str(" https://graph.microsoft.com/User.Read");
                s
            }
            Flavour::GitLab => scopes.join(" "),
        }
    }
}

struct Endpoints {
    authorization: String,
    token: String,
    userinfo: String,
    jwks: String,
}

/// A running fake OpenID Connect provider (stays up until the test's runtime ends).
pub struct FakeOidc {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeOidc {
    /// Starts the fake with one registered client whose only redirect URI is `redirect_uri`.
    pub async fn start(flavour: Flavour, redirect_uri: &str) -> FakeOidc {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake OIDC on 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake OIDC local address");
        let base_url = format!("http://{addr}");
        let (client_id, client_secret) = match flavour {
            Flavour::Google => (
                "408762915371-k3d9vq0s5hj2m1c8pa7tfu6lbr4xne0g.apps.googleusercontent.com",
                "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",
            ),
            // Entra secrets carry `~` and `.`: client_secret_basic must survive them.
            Flavour::Microsoft => (
                "6731de76-14a6-49ae-97bc-6eba6914391e",
                "Xq58Q~vR2.kT9wLm_3bNc7Yz-HdEa1sFgPu4oJi",
            ),
            Flavour::GitLab => (
                "c1d6b2e0f84a97352d1e6c0b8a4f3e29d7c5b1a0e9f8d7c6b5a4f3e2d1c0b9a8",
                "gloas-5e8a1f0c3b7d9e2a4c6f8b0d1e3a5c7e9f1b3d5a7c9e0f2a4b6c8d0e1f3a5b7c",
            ),
        };
        let state = OidcState {
            behaviour: Behaviour::Normal,
            person: Person::sample(flavour),
            key: Arc::new(RsaKey::generate(flavour)),
            calls: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            last_authorize_params: Vec::new(),
            last_token_params: Vec::new(),
            counter: 0,
        };
        let shared = Arc::new(Shared {
            flavour,
            base_url: base_url.clone(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: Mutex::new(state),
        });
        let app = match flavour {
            Flavour::Google => Router::new()
                .route("/.well-known/openid-configuration", get(discovery))
                .route("/o/oauth2/v2/auth", get(authorize))
                .route("/token", axum::routing::post(token))
                .route("/v1/userinfo", get(userinfo).post(userinfo))
                .route("/oauth2/v3/certs", get(jwks)),
            Flavour::Microsoft => Router::new()
                .route(
                    "/{tenant}/v2.0/.well-known/openid-configuration",
                    get(discovery_tenant),
                )
                .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
                .route("/{tenant}/oauth2/v2.0/token", axum::routing::post(token))
                .route("/oidc/userinfo", get(userinfo).post(userinfo))
                .route("/{tenant}/discovery/v2.0/keys", get(jwks)),
            Flavour::GitLab => Router::new()
                .route("/.well-known/openid-configuration", get(discovery))
                .route("/oauth/authorize", get(authorize))
                .route("/oauth/token", axum::routing::post(token))
                .route("/oauth/userinfo", get(userinfo).post(userinfo))
                .route("/oauth/discovery/keys", get(jwks)),
        }
        .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOidc { base_url, shared }
    }

    /// The issuer an admin configures: Google/GitLab `base_url` (`tenant` ignored);
    /// Microsoft `{base_url}/{tenant}/v2.0`.
    pub fn issuer(&self, tenant: &str) -> String {
        match self.shared.flavour {
            Flavour::Microsoft => format!("{}/{tenant}/v2.0", self.base_url),
            _ => self.base_url.clone(),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.shared.lock().behaviour = b;
    }

    /// Who "logs in" at the next authorize.
    pub fn set_person(&self, p: Person) {
        self.shared.lock().person = p;
    }

    /// A new signing key and kid; the JWKS serves only the new key from now on.
    pub fn rotate_key(&self) {
        // Generated outside the lock: it takes a moment.
        let key = Arc::new(RsaKey::generate(self.shared.flavour));
        self.shared.lock().key = key;
    }

    /// The kid id_tokens are signed with now.
    pub fn current_kid(&self) -> String {
        self.shared.lock().key.kid.clone()
    }

    /// Requests seen by "discovery" | "jwks" | "authorize" | "token" | "userinfo" (0 otherwise).
    pub fn calls(&self, endpoint: &str) -> usize {
        self.shared.lock().calls.get(endpoint).copied().unwrap_or(0)
    }

    /// Query parameters of the last authorize request (empty before the first).
    pub fn last_authorize_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_authorize_params.clone()
    }

    /// Form parameters of the last token request (empty before the first).
    pub fn last_token_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_token_params.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Request helpers

fn html_page(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\
         <body><h1>Sorry, something went wrong</h1><p>{body}</p></body></html>"
    );
    (status, Html(page)).into_response()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Form-urldecoding of one component (`+` is a space), as RFC 6749 §2.3.1 asks of
/// client_secret_basic credentials.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
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
// Discovery and JWKS

async fn discovery(State(sh): State<Arc<Shared>>) -> Response {
    discovery_document(&sh, None)
}

async fn discovery_tenant(State(sh): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    discovery_document(&sh, Some(&tenant))
}

fn discovery_document(sh: &Shared, tenant: Option<&str>) -> Response {
    let (behaviour, tid) = {
        let mut st = sh.lock();
        st.bump("discovery");
        let tid = st
            .person
            .tid
            .clone()
            .unwrap_or_else(|| MS_SAMPLE_TID.to_owned());
        (st.behaviour, tid)
    };
    if behaviour == Behaviour::DiscoveryHttp500 {
        return html_page(StatusCode::INTERNAL_SERVER_ERROR, "500. That’s an error.");
    }
    let base = &sh.base_url;
    let (issuer, segment) = match (sh.flavour, tenant) {
        (Flavour::Microsoft, Some(t)) if MULTI_TENANT.contains(&t) => {
            // Literally `{tenantid}`: the relying party substitutes the token's `tid`.
            (format!("{base}/{{tenantid}}/v2.0"), t.to_owned())
        }
        // A named tenant resolves to its GUID, in the issuer and the endpoints alike.
        (Flavour::Microsoft, _) => (format!("{base}/{tid}/v2.0"), tid),
        _ => (base.clone(), String::new()),
    };
    let ep = sh.endpoints(&segment);
    let claims: &[&str] = match sh.flavour {
        Flavour::Google => &[
            "aud",
            "email",
            "email_verified",
            "exp",
            "family_name",
            "given_name",
            "iat",
            "iss",
            "locale",
            "name",
            "picture",
            "sub",
            "nonce",
        ],
        Flavour::Microsoft => &[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "nonce",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "tid",
            "oid",
            "ver",
        ],
        Flavour::GitLab => &[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "sub_legacy",
            "name",
            "nickname",
            "preferred_username",
            "email",
            "email_verified",
            "website",
            "profile",
            "picture",
            "groups",
        ],
    };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": ep.authorization,
        "token_endpoint": ep.token,
        "userinfo_endpoint": ep.userinfo,
        "jwks_uri": ep.jwks,
        "response_types_supported": ["code"],
        "subject_types_supported": [if sh.flavour == Flavour::Microsoft { "pairwise" } else { "public" }],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": sh.supported_scopes(),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "claims_supported": claims,
        "grant_types_supported": ["authorization_code", "refresh_token"],
    });
    if sh.flavour == Flavour::Microsoft {
        // Harmless Entra extras.
        doc["tenant_region_scope"] = json!(null);
        doc["cloud_instance_name"] = json!("microsoftonline.com");
        doc["response_modes_supported"] = json!(["query", "fragment", "form_post"]);
    }
    (StatusCode::OK, Json(doc)).into_response()
}

async fn jwks(State(sh): State<Arc<Shared>>) -> Response {
    let key = {
        let mut st = sh.lock();
        st.bump("jwks");
        st.key.clone()
    };
    (
        StatusCode::OK,
        // As the real ones: cacheable, so a relying party must refetch on an unknown kid.
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(json!({ "keys": [key.jwk()] })),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// GET authorize

/// Redirects to the (already verified) redirect_uri with an OAuth error.
fn authorize_error(
    mut target: Url,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("error", error)
            .append_pair("error_description", description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    redirect(&target)
}

async fn authorize(State(sh): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params: Vec<(String, String)> = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut st = sh.lock();
    st.bump("authorize");
    st.last_authorize_params = params.clone();

    // Never a redirect to an unverified redirect_uri: these are pages shown to the person.
    if param(&params, "client_id") != Some(sh.client_id.as_str()) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error 401: invalid_client. The OAuth client was not found.",
        );
    }
    if param(&params, "redirect_uri") != Some(sh.redirect_uri.as_str()) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error 400: redirect_uri_mismatch. The redirect URI in the request does not match \
             the ones registered for the application.",
        );
    }
    let Ok(target) = Url::parse(&sh.redirect_uri) else {
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
        let description = match sh.flavour {
            Flavour::Microsoft => "AADSTS65004: User declined to consent to access the app.",
            _ => "The resource owner or authorization server denied the request.",
        };
        return authorize_error(target, "access_denied", description, Some(state));
    }

    let supported = sh.supported_scopes();
    let mut scopes: Vec<String> = Vec::new();
    for s in requested {
        if supported.contains(&s) && !scopes.iter().any(|g| g == s) {
            scopes.push(s.to_owned());
        }
    }
    let code = match sh.flavour {
        // Google's codes carry a `/`: the redirect must percent-encode it.
        Flavour::Google => format!("4/0A{}", st.fresh(B64_ALPHABET, 70)),
        Flavour::Microsoft => format!("1.AQ{}", st.fresh(B64_ALPHABET, 120)),
        Flavour::GitLab => st.fresh(HEX, 64),
    };
    let issued = IssuedCode {
        client_id: sh.client_id.clone(),
        redirect_uri: sh.redirect_uri.clone(),
        scopes,
        nonce: param(&params, "nonce").map(str::to_owned),
        challenge,
        person: st.person.clone(),
        issued: Instant::now(),
    };
    let scope_text = sh.scope_text(&issued.scopes);
    st.codes.insert(code.clone(), issued);
    let session_state = guid_from(&code);
    drop(st);

    let mut target = target;
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("code", &code).append_pair("state", state);
        // Harmless extras the relying party must ignore.
        match sh.flavour {
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
    if sh.flavour == Flavour::Microsoft {
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

fn pkce_ok(challenge: &str, method: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed
        && match method {
            "S256" => B64.encode(Sha256::digest(verifier.as_bytes())) == challenge,
            _ => verifier == challenge,
        }
}

async fn token(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // Form body only: the query string is not read, as at the real endpoints.
    let form = is_form(&headers);
    let params: Vec<(String, String)> = if form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let behaviour = {
        let mut st = sh.lock();
        st.bump("token");
        st.last_token_params = params.clone();
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
        Ok((id, _)) if id != sh.client_id => {
            return unauthorized("The OAuth client was not found.");
        }
        Ok((_, secret)) if secret != sh.client_secret => {
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
    let issued = sh.lock().codes.remove(code);
    let Some(issued) = issued else {
        return invalid_grant("The authorization code is invalid, expired or already used.");
    };
    if issued.issued.elapsed() > CODE_LIFETIME {
        return invalid_grant("The authorization code has expired.");
    }
    if issued.client_id != sh.client_id {
        return invalid_grant("The code was issued to another client.");
    }
    if param(&params, "redirect_uri") != Some(issued.redirect_uri.as_str()) {
        return invalid_grant("redirect_uri does not match the authorization request.");
    }
    if let Some((challenge, method)) = &issued.challenge {
        let Some(verifier) = param(&params, "code_verifier") else {
            return invalid_grant("Missing code_verifier.");
        };
        if !pkce_ok(challenge, method, verifier) {
            return invalid_grant("The code_verifier does not match the code_challenge.");
        }
    }

    let (access_token, refresh_token, key) = {
        let mut st = sh.lock();
        let access_token = match sh.flavour {
            Flavour::Google => format!("ya29.a0{}", st.fresh(B64_ALPHABET, 150)),
            Flavour::Microsoft => format!("EwB4A8l6{}", st.fresh(B64_ALPHABET, 180)),
            Flavour::GitLab => st.fresh(HEX, 64),
        };
        let refresh_token = match sh.flavour {
            Flavour::Google => format!("1//0g{}", st.fresh(B64_ALPHABET, 90)),
            Flavour::Microsoft => format!("0.AQ{}", st.fresh(B64_ALPHABET, 180)),
            Flavour::GitLab => st.fresh(HEX, 64),
        };
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
    let claims = id_token_claims(&sh, &issued, &access_token, behaviour);
    let id_token = sign_id_token(&sh, &key, &claims, behaviour);

    let mut answer = Map::new();
    answer.insert("access_token".to_owned(), json!(access_token));
    answer.insert("token_type".to_owned(), json!("Bearer"));
    answer.insert("expires_in".to_owned(), json!(TOKEN_LIFETIME_SECS));
    answer.insert("scope".to_owned(), json!(sh.scope_text(&issued.scopes)));
    answer.insert("id_token".to_owned(), json!(id_token));
    answer.insert("refresh_token".to_owned(), json!(refresh_token));
    match sh.flavour {
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

/// The person claims granted by `scopes`, shared by the id_token and userinfo.
fn person_claims(sh: &Shared, person: &Person, scopes: &[String], out: &mut Map<String, Value>) {
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    if has("email") {
        put("email", person.email.as_ref().map(|v| json!(v)));
        // Entra never asserts email_verified.
        if sh.flavour != Flavour::Microsoft {
            put("email_verified", person.email_verified.map(|v| json!(v)));
        }
    }
    if has("profile") {
        put("name", person.name.as_ref().map(|v| json!(v)));
        put("given_name", person.given_name.as_ref().map(|v| json!(v)));
        put("family_name", person.family_name.as_ref().map(|v| json!(v)));
        put("picture", person.picture.as_ref().map(|v| json!(v)));
        put("locale", person.locale.as_ref().map(|v| json!(v)));
        put(
            "preferred_username",
            person.preferred_username.as_ref().map(|v| json!(v)),
        );
        if sh.flavour == Flavour::GitLab {
            // GitLab's extras: the username again, and the profile page.
            put(
                "nickname",
                person.preferred_username.as_ref().map(|v| json!(v)),
            );
            put(
                "profile",
                person
                    .preferred_username
                    .as_ref()
                    .map(|u| json!(format!("{}/{u}", sh.base_url))),
            );
        }
    }
}

fn id_token_claims(
    sh: &Shared,
    issued: &IssuedCode,
    access_token: &str,
    behaviour: Behaviour,
) -> Value {
    let person = &issued.person;
    let now = now_secs();
    let iat = if behaviour == Behaviour::Expired {
        now - 7200
    } else {
        now
    };
    let mut c = Map::new();
    let iss = match behaviour {
        Behaviour::WrongIssuer => "https://evil.example".to_owned(),
        _ => sh.token_issuer(person),
    };
    let aud = match behaviour {
        Behaviour::WrongAudience => "someone-else".to_owned(),
        _ => sh.client_id.clone(),
    };
    c.insert("iss".to_owned(), json!(iss));
    c.insert("aud".to_owned(), json!(aud));
    c.insert("azp".to_owned(), json!(sh.client_id));
    c.insert("sub".to_owned(), json!(person.sub));
    c.insert("iat".to_owned(), json!(iat));
    c.insert("exp".to_owned(), json!(iat + ID_TOKEN_LIFETIME_SECS));
    // OIDC Core §3.1.3.6: the left half of SHA-256 of the access token.
    let digest = Sha256::digest(access_token.as_bytes());
    c.insert("at_hash".to_owned(), json!(B64.encode(&digest[..16])));
    match (behaviour, &issued.nonce) {
        (Behaviour::NoNonce, _) | (_, None) => {}
        (Behaviour::WrongNonce, Some(_)) => {
            c.insert("nonce".to_owned(), json!("not-the-nonce-you-sent"));
        }
        (_, Some(n)) => {
            c.insert("nonce".to_owned(), json!(n));
        }
    }
    match sh.flavour {
        Flavour::Microsoft => {
            let tid = person
                .tid
                .clone()
                .unwrap_or_else(|| MS_SAMPLE_TID.to_owned());
            c.insert("nbf".to_owned(), json!(iat));
            c.insert("tid".to_owned(), json!(tid));
            c.insert("oid".to_owned(), json!(guid_from(&person.sub)));
            c.insert("ver".to_owned(), json!("2.0"));
        }
        Flavour::GitLab => {
            c.insert("auth_time".to_owned(), json!(iat));
            c.insert(
                "sub_legacy".to_owned(),
                json!(B64.encode(Sha256::digest(&person.sub))),
            );
        }
        Flavour::Google => {}
    }
    person_claims(sh, person, &issued.scopes, &mut c);
    Value::Object(c)
}

fn sign_id_token(sh: &Shared, key: &RsaKey, claims: &Value, behaviour: Behaviour) -> String {
    match behaviour {
        Behaviour::BadSignature => {
            let token = key.sign(claims);
            let (message, sig) = token.rsplit_once('.').expect("three-part JWT");
            let mut sig = B64.decode(sig).expect("base64url signature");
            for b in sig.iter_mut().take(8) {
                *b ^= 0x5a;
            }
            format!("{message}.{}", B64.encode(sig))
        }
        Behaviour::AlgNone => {
            // jsonwebtoken cannot express `none`: assembled by hand.
            let header = json!({ "alg": "none", "typ": "JWT", "kid": key.kid });
            format!(
                "{}.{}.",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            )
        }
        Behaviour::Hs256WithClientSecret => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.clone());
            let secret = EncodingKey::from_secret(sh.client_secret.as_bytes());
            jsonwebtoken::encode(&header, claims, &secret).expect("sign with HS256")
        }
        Behaviour::UnknownKid => RsaKey::generate(sh.flavour).sign(claims),
        _ => key.sign(claims),
    }
}

// ---------------------------------------------------------------------------------------------
// GET|POST userinfo

async fn userinfo(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (behaviour, grant) = {
        let mut st = sh.lock();
        st.bump("userinfo");
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
    person_claims(&sh, &grant.person, &grant.scopes, &mut out);
    (StatusCode::OK, Json(Value::Object(out))).into_response()
}

//! The OAuth 2 networks with a module each here (VK ID, Yandex, Mail.ru, GitHub, Facebook, X)
//! plus one made-up "Custom" network that socialgate knows only through an admin's descriptor
//! file: what they share.
//!
//! Each fake is one axum server on 127.0.0.1:0 serving the real network's paths for its
//! authorize, token and profile endpoints. The authorize endpoint is the same for all, set by
//! the network's [`Spec`]; the token and profile endpoints are the network module's own, with
//! its quirks: GitHub's HTTP 200 token errors, Mail.ru's HTTP 200 profile errors, Facebook's
//! `{"error":{...}}` objects and `appsecret_proof`, Yandex's `Authorization: OAuth` scheme,
//! VK ID's `device_id`, X's mandatory HTTP Basic.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Value, json};
use url::Url;

use super::wire::{self, Incoming, Query, given, header_str, param, redirect, redirect_with};
use super::{ALNUM, Fake, Recorder, bind};
use super::{custom, facebook, github, mailru, vkid, x, yandex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    VkId,
    Yandex,
    MailRu,
    GitHub,
    Facebook,
    X,
    /// A network socialgate has no code for: described to it by a descriptor file.
    Custom,
}

impl Network {
    /// The network module's description of itself.
    pub fn spec(self) -> &'static Spec {
        match self {
            Network::VkId => &vkid::SPEC,
            Network::Yandex => &yandex::SPEC,
            Network::MailRu => &mailru::SPEC,
            Network::GitHub => &github::SPEC,
            Network::Facebook => &facebook::SPEC,
            Network::X => &x::SPEC,
            Network::Custom => &custom::SPEC,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// The person refuses at the consent page.
    Deny,
    TokenHttp500,
    UserinfoHttp500,
    /// The profile endpoint answers the network's own invalid-token error.
    UserinfoError,
    /// GitHub: the primary address in /user/emails is not verified.
    EmailsPrimaryUnverified,
    /// Facebook: the app's "Require App Secret" switch is off.
    RequireNoProof,
}

/// Who logs in; each fake renders it in its network's own shape.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    /// "female" | "male" | None.
    pub gender: Option<String>,
    /// ISO "YYYY-MM-DD".
    pub birthdate: Option<String>,
    pub locale: Option<String>,
}

impl Person {
    /// The network's fixed sample person (see its module for the values).
    pub fn sample(network: Network) -> Person {
        (network.spec().sample)()
    }

    /// A person with these names and nothing else known.
    pub fn named(id: &str, login: &str, first: &str, last: &str) -> Person {
        Person {
            id: id.to_owned(),
            login: login.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email: None,
            picture: None,
            gender: None,
            birthdate: None,
            locale: None,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

pub fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// "YYYY-MM-DD" → "DD.MM.YYYY".
pub fn iso_to_dmy(iso: &str) -> Option<String> {
    let mut parts = iso.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{d}.{m}.{y}"))
}

/// A numeric-looking id as a JSON number, for the networks whose ids are numbers.
pub fn id_number(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n))
}

// ---------------------------------------------------------------------------------------------
// What differs between the networks

type Handler = fn(&Shared, &[(String, String)], &HeaderMap) -> Response;

/// A network as its module describes it: its app, its authorize endpoint's rules, its token
/// and profile endpoints.
pub struct Spec {
    pub authorize_path: &'static str,
    pub token_path: &'static str,
    pub userinfo_path: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub title: &'static str,
    pub response_type_required: bool,
    pub state_required: bool,
    /// GitHub falls back to the registered callback when redirect_uri is absent.
    pub redirect_uri_optional: bool,
    pub pkce_required: bool,
    pub pkce_methods: &'static [&'static str],
    /// The first one joins scopes in answers.
    pub scope_separators: &'static [char],
    /// None: `scope` is required.
    pub default_scope: Option<&'static str>,
    /// Some: anything else is refused with `invalid_scope`.
    pub known_scopes: Option<&'static [&'static str]>,
    /// Granted whether requested or not.
    pub implicit_scope: Option<&'static str>,
    pub deny_description: &'static str,
    pub deny_extra: &'static [(&'static str, &'static str)],
    /// VK ID binds the code to a `device_id` it sends along with it.
    pub device_id: bool,
    /// Token endpoints take POST only, except Facebook's.
    pub token_takes_get: bool,
    /// The methods the profile endpoint takes.
    pub userinfo_get: bool,
    pub userinfo_post: bool,
    pub sample: fn() -> Person,
    /// A new code and a new access token, in the network's look.
    pub code: fn(&mut Recorder) -> String,
    pub access_token: fn(&mut Recorder) -> String,
    pub token: Handler,
    pub userinfo: Handler,
    /// The network's documented answer to an unknown access token (never echoing it).
    pub invalid_token: fn(&Shared) -> Response,
    /// A refusal before anything else at the profile endpoints (GitHub's User-Agent check).
    pub userinfo_guard: fn(&HeaderMap) -> Option<Response>,
    /// Endpoints beyond the three.
    pub extra_routes: fn(Router<Arc<Shared>>) -> Router<Arc<Shared>>,
}

impl Spec {
    /// What most networks do; each module's `SPEC` changes what its network does otherwise.
    pub const fn base(
        sample: fn() -> Person,
        access_token: fn(&mut Recorder) -> String,
        token: Handler,
        userinfo: Handler,
        invalid_token: fn(&Shared) -> Response,
    ) -> Spec {
        Spec {
            authorize_path: "/authorize",
            token_path: "/token",
            userinfo_path: "/userinfo",
            client_id: "",
            client_secret: "",
            title: "",
            response_type_required: true,
            state_required: false,
            redirect_uri_optional: false,
            pkce_required: false,
            pkce_methods: &["S256"],
            scope_separators: &[' '],
            default_scope: Some(""),
            known_scopes: None,
            implicit_scope: None,
            deny_description: "The user denied access",
            deny_extra: &[],
            device_id: false,
            token_takes_get: false,
            userinfo_get: true,
            userinfo_post: false,
            sample,
            code: |rec| rec.fresh(ALNUM, 30),
            access_token,
            token,
            userinfo,
            invalid_token,
            userinfo_guard: |_| None,
            extra_routes: |routes| routes,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State

/// What an authorization code (and then its access token) stands for.
#[derive(Clone, Debug)]
pub struct Grant {
    pub person: Person,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// (method, challenge).
    pub challenge: Option<(String, String)>,
    /// VK ID binds the code to the device it issued along with it.
    pub device_id: Option<String>,
}

impl Grant {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The verifier matches the challenge; without a challenge there must be no verifier.
    pub fn pkce_ok(&self, verifier: Option<&str>) -> bool {
        match (&self.challenge, verifier) {
            (None, None) => true,
            (Some((method, challenge)), Some(v)) => wire::pkce_matches(method, challenge, v),
            _ => false,
        }
    }
}

pub struct NetState {
    /// Facebook tells a used code from an unknown one.
    pub spent_codes: HashSet<String>,
    pub last_token_authorization: Option<String>,
}

/// The network, and the only redirect_uri registered in its app.
pub struct NetConfig {
    pub network: Network,
    pub spec: &'static Spec,
    pub redirect_uri: String,
}

upstream!(NetState: NetConfig, Behaviour, Person, Grant, Grant);

impl Shared {
    pub fn spec(&self) -> &'static Spec {
        self.config.spec
    }

    /// Stores `grant` under a fresh access token with the network's look.
    pub fn issue_token(&self, grant: Grant) -> String {
        let mut st = self.lock();
        let token = (self.spec().access_token)(&mut st.rec);
        st.tokens.insert(token.clone(), grant);
        token
    }

    pub fn fresh(&self, alphabet: &[u8], len: usize) -> String {
        self.lock().rec.fresh(alphabet, len)
    }

    pub fn error_page(&self, status: StatusCode, text: &str) -> Response {
        let title = self.spec().title;
        wire::html_page(status, title, &format!("<h1>{status}</h1><p>{text}</p>"))
    }
}

/// A running fake network: requests are counted as "authorize", "token", "userinfo" (and
/// GitHub's "emails"), the parameters of the first three recorded.
pub type FakeNetwork = Fake<NetState>;

impl FakeNetwork {
    /// Starts `network`'s fake on 127.0.0.1:0 with `redirect_uri` as the app's only one.
    pub async fn start(network: Network, redirect_uri: &str) -> FakeNetwork {
        let spec = network.spec();
        let mut token_route = post(token);
        if spec.token_takes_get {
            token_route = token_route.get(token);
        }
        let mut userinfo_route = MethodRouter::new();
        if spec.userinfo_get {
            userinfo_route = userinfo_route.get(userinfo);
        }
        if spec.userinfo_post {
            userinfo_route = userinfo_route.post(userinfo);
        }
        let routes = Router::new()
            .route(spec.authorize_path, get(authorize))
            .route(spec.token_path, token_route)
            .route(spec.userinfo_path, userinfo_route);
        let routes = (spec.extra_routes)(routes);
        let config = NetConfig {
            network,
            spec,
            redirect_uri: redirect_uri.to_owned(),
        };
        let own = NetState {
            spent_codes: HashSet::new(),
            last_token_authorization: None,
        };
        let person = Person::sample(network);
        Fake::serve(bind().await, config, Behaviour::Normal, person, own, routes)
    }

    pub fn network(&self) -> Network {
        self.config().network
    }

    pub fn authorize_url(&self) -> String {
        format!("{}{}", self.base_url, self.config().spec.authorize_path)
    }

    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url, self.config().spec.token_path)
    }

    /// The profile endpoint.
    pub fn userinfo_url(&self) -> String {
        format!("{}{}", self.base_url, self.config().spec.userinfo_path)
    }

    pub fn client_id(&self) -> &str {
        self.config().spec.client_id
    }

    pub fn client_secret(&self) -> &str {
        self.config().spec.client_secret
    }

    pub fn last_token_authorization(&self) -> Option<String> {
        self.shared().lock().last_token_authorization.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// GET authorize (all networks)

async fn authorize(State(sh): State<Arc<Shared>>, Query(params): Query) -> Response {
    let spec = sh.spec();
    let mut st = sh.lock();
    st.rec.record("authorize", &params);

    // Client and redirect_uri problems are a page: never redirect to an unverified address.
    if param(&params, "client_id") != Some(spec.client_id) {
        return sh.error_page(
            StatusCode::BAD_REQUEST,
            "Invalid client_id: no such application.",
        );
    }
    let redirect_uri = match param(&params, "redirect_uri") {
        Some(r) if r == sh.config.redirect_uri => r,
        None if spec.redirect_uri_optional => sh.config.redirect_uri.as_str(),
        _ => {
            return sh.error_page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri does not match the one registered for this application.",
            );
        }
    };
    let Ok(target) = Url::parse(redirect_uri) else {
        return sh.error_page(StatusCode::BAD_REQUEST, "Invalid redirect_uri.");
    };
    let state = param(&params, "state");
    let fail = |error: &str, description: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        pairs.extend_from_slice(extra);
        redirect_with(&target, &pairs, state)
    };

    match param(&params, "response_type") {
        Some("code") => {}
        None if !spec.response_type_required => {}
        None => return fail("invalid_request", "response_type is required", &[]),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "response_type must be code",
                &[],
            );
        }
    }
    if spec.state_required && state.is_none_or(str::is_empty) {
        return fail("invalid_request", "state is required", &[]);
    }

    let requested = match (given(&params, "scope"), spec.default_scope) {
        (Some(s), _) => s,
        (None, Some(default)) => default,
        (None, None) => return fail("invalid_request", "scope is required", &[]),
    };
    let mut scopes: Vec<String> = spec.implicit_scope.map(str::to_owned).into_iter().collect();
    for s in requested
        .split(|c| spec.scope_separators.contains(&c))
        .filter(|s| !s.is_empty())
    {
        if spec.known_scopes.is_some_and(|known| !known.contains(&s)) {
            return fail("invalid_scope", &format!("Invalid scope: {s}"), &[]);
        }
        if !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_owned());
        }
    }

    let method = given(&params, "code_challenge_method");
    let challenge = match given(&params, "code_challenge") {
        None if spec.pkce_required => {
            return fail("invalid_request", "code_challenge is required", &[]);
        }
        None => None,
        Some(_) if spec.pkce_required && method.is_none() => {
            return fail("invalid_request", "code_challenge_method is required", &[]);
        }
        Some(c) => {
            // RFC 7636: no method means plain.
            let m = method.unwrap_or("plain");
            if !spec.pkce_methods.contains(&m) {
                return fail(
                    "invalid_request",
                    "code_challenge_method is not supported",
                    &[],
                );
            }
            Some((m.to_owned(), c.to_owned()))
        }
    };

    if st.behaviour == Behaviour::Deny {
        return fail("access_denied", spec.deny_description, spec.deny_extra);
    }

    let code = (spec.code)(&mut st.rec);
    let device_id = spec
        .device_id
        .then(|| st.rec.fresh(super::TOKEN_ALPHABET, 40));
    let grant = Grant {
        person: st.person.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        challenge,
        device_id: device_id.clone(),
    };
    st.codes.insert(code.clone(), grant);

    let mut url = target.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        if let Some(d) = &device_id {
            q.append_pair("device_id", d)
                .append_pair("expires_in", "600")
                .append_pair("type", "code_v2");
        }
    }
    redirect(&url)
}

// ---------------------------------------------------------------------------------------------
// Token and profile endpoints: the behaviours, then the network's own

async fn token(State(sh): State<Arc<Shared>>, Incoming { params, headers }: Incoming) -> Response {
    let behaviour = {
        let mut st = sh.lock();
        st.last_token_authorization =
            header_str(&headers, header::AUTHORIZATION).map(str::to_owned);
        st.rec.record("token", &params);
        st.behaviour
    };
    if behaviour == Behaviour::TokenHttp500 {
        return sh.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        );
    }
    (sh.spec().token)(&sh, &params, &headers)
}

async fn userinfo(
    State(sh): State<Arc<Shared>>,
    Incoming { params, headers }: Incoming,
) -> Response {
    let behaviour = sh.seen("userinfo", Some(&params));
    if let Some(refusal) = (sh.spec().userinfo_guard)(&headers) {
        return refusal;
    }
    if let Some(failure) = failing_profile(&sh, behaviour) {
        return failure;
    }
    (sh.spec().userinfo)(&sh, &params, &headers)
}

/// What the profile endpoints answer under the behaviours that break them.
pub fn failing_profile(sh: &Shared, behaviour: Behaviour) -> Option<Response> {
    match behaviour {
        Behaviour::UserinfoHttp500 => Some(sh.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        )),
        Behaviour::UserinfoError => Some((sh.spec().invalid_token)(sh)),
        _ => None,
    }
}

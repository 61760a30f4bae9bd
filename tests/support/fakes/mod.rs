//! Fake upstream networks, one module per network as in the gateway's `src/provider/`, on one
//! small core (this file): an axum server on 127.0.0.1:0 ([`Fake::serve`]), its state behind a
//! lock that survives a panicking handler ([`Shared`]), the codes and access tokens it issued,
//! and a [`Recorder`] counting the requests each endpoint saw and keeping the last parameters.
//!
//! - `wire`: reading requests and writing answers, PKCE, made-up strings.
//! - `ok`, `vk`: OK.ru and classic VK, with what they share in `classic`.
//! - `oauth2`: the authorize endpoint and state the other OAuth 2 networks share, each network
//!   module (`vkid`, `yandex`, `mailru`, `github`, `facebook`, `x`, `custom`) describing its
//!   app and quirks in a `Spec` and answering its own token and profile endpoints.
//! - `oidc`: the OpenID Connect networks (Google, Microsoft Entra ID, GitLab).
//!
//! Every fake checks what the real network checks (client id and secret, the exact
//! redirect_uri, signatures, PKCE, one-time codes, token validity) and fails the way the real
//! one documents. The authorize endpoints play the person consenting: they answer with a 302
//! straight away.

/// Declares a fake: `upstream!(Own: Config, Behaviour, Person, Code, Grant)` implements
/// [`Upstream`] for the fake's own state `Own` and names its [`Shared`] state `Shared`.
macro_rules! upstream {
    ($own:ident: $config:ty, $behaviour:ty, $person:ty, $code:ty, $grant:ty) => {
        impl $crate::support::fakes::Upstream for $own {
            type Config = $config;
            type Behaviour = $behaviour;
            type Person = $person;
            type Code = $code;
            type Grant = $grant;
        }

        pub type Shared = $crate::support::fakes::Shared<$own>;
    };
}

pub mod wire;

pub mod classic;
pub mod ok;
pub mod vk;

pub mod oauth2;

pub mod custom;
pub mod facebook;
pub mod github;
pub mod mailru;
pub mod vkid;
pub mod x;
pub mod yandex;

pub mod oidc;

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use self::wire::Params;
use axum::Router;

/// A fake network, named by its own state (what it keeps besides its codes and tokens): the
/// types it is made of.
pub trait Upstream: Send + 'static {
    /// The app as registered at the network.
    type Config: Send + Sync + 'static;
    /// What the fake does wrong (or, for `Normal`, right) from now on.
    type Behaviour: Clone + Send + 'static;
    /// Who "logs in" at the authorize endpoint.
    type Person: Clone + Send + 'static;
    /// What an authorization code stands for.
    type Code: Clone + Send + 'static;
    /// What an access token stands for.
    type Grant: Clone + Send + 'static;
}

/// What every fake keeps: its behaviour, who logs in, what it has seen, the codes and access
/// tokens it issued; `own` is the rest, and its fields can be reached as this state's own.
pub struct State<U: Upstream> {
    pub behaviour: U::Behaviour,
    pub person: U::Person,
    pub rec: Recorder,
    pub codes: HashMap<String, U::Code>,
    pub tokens: HashMap<String, U::Grant>,
    pub own: U,
}

impl<U: Upstream> Deref for State<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.own
    }
}

impl<U: Upstream> DerefMut for State<U> {
    fn deref_mut(&mut self) -> &mut U {
        &mut self.own
    }
}

/// What a fake's handlers share: the app's configuration, and the state behind a lock that a
/// panicking handler does not poison for the next step of the test.
pub struct Shared<U: Upstream> {
    pub config: U::Config,
    state: Mutex<State<U>>,
}

impl<U: Upstream> Shared<U> {
    pub fn lock(&self) -> MutexGuard<'_, State<U>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The behaviour now, after counting (and recording) a request to `endpoint`.
    pub fn seen(&self, endpoint: &'static str, params: Option<&Params>) -> U::Behaviour {
        let mut st = self.lock();
        match params {
            Some(p) => st.rec.record(endpoint, p),
            None => st.rec.bump(endpoint),
        }
        st.behaviour.clone()
    }

    /// The code presented: gone as soon as it is (one-time, even if the rest is wrong).
    pub fn take_code(&self, code: &str) -> Option<U::Code> {
        self.lock().codes.remove(code)
    }

    /// The grant behind an access token, if it is one this fake issued.
    pub fn grant_for(&self, token: Option<&str>) -> Option<U::Grant> {
        token.and_then(|t| self.lock().tokens.get(t).cloned())
    }
}

/// A running fake network (it stays up until the test's runtime ends).
pub struct Fake<U: Upstream> {
    pub base_url: String,
    shared: Arc<Shared<U>>,
}

impl<U: Upstream> Fake<U> {
    /// Serves `routes` on `listener` (from [`bind`]), `person` logging in.
    pub fn serve(
        listener: tokio::net::TcpListener,
        config: U::Config,
        behaviour: U::Behaviour,
        person: U::Person,
        own: U,
        routes: Router<Arc<Shared<U>>>,
    ) -> Self {
        let base_url = base_url(&listener);
        let state = State {
            behaviour,
            person,
            rec: Recorder::default(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            own,
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
        });
        let app = routes.with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { base_url, shared }
    }

    pub fn shared(&self) -> &Shared<U> {
        &self.shared
    }

    pub fn config(&self) -> &U::Config {
        &self.shared.config
    }

    pub fn set_behaviour(&self, b: U::Behaviour) {
        self.shared.lock().behaviour = b;
    }

    /// Who logs in at the next authorize.
    pub fn set_person(&self, p: U::Person) {
        self.shared.lock().person = p;
    }

    /// Requests seen by `endpoint` ("authorize", "token", ...; 0 for anything else).
    pub fn calls(&self, endpoint: &str) -> usize {
        self.shared.lock().rec.calls(endpoint)
    }

    /// Parameters (query, then form body) of the last request to `endpoint`, if any.
    pub fn last_params(&self, endpoint: &str) -> Option<Params> {
        self.shared.lock().rec.last(endpoint)
    }

    /// The same, empty before the first request.
    pub fn last_request(&self, endpoint: &str) -> Params {
        self.last_params(endpoint).unwrap_or_default()
    }

    /// One parameter of the last request to `endpoint` (None if absent or no request yet).
    pub fn last_param(&self, endpoint: &str, name: &str) -> Option<String> {
        let params = self.last_params(endpoint)?;
        wire::param(&params, name).map(str::to_owned)
    }
}

/// A listener on 127.0.0.1:0, so a fake can know its own address before it serves.
pub async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a fake network on 127.0.0.1:0")
}

pub fn base_url(listener: &tokio::net::TcpListener) -> String {
    let addr = listener
        .local_addr()
        .expect("a fake network's local address");
    format!("http://{addr}")
}

/// What a fake has seen: requests per endpoint and the last one's parameters; and a counter
/// that makes the strings it makes up unique.
#[derive(Default)]
pub struct Recorder {
    calls: HashMap<&'static str, usize>,
    last: HashMap<&'static str, Params>,
    counter: u64,
}

impl Recorder {
    pub fn bump(&mut self, endpoint: &'static str) {
        *self.calls.entry(endpoint).or_insert(0) += 1;
    }

    /// Counts a request to `endpoint` and keeps its parameters.
    pub fn record(&mut self, endpoint: &'static str, params: &Params) {
        self.bump(endpoint);
        self.last.insert(endpoint, params.clone());
    }

    pub fn calls(&self, endpoint: &str) -> usize {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    pub fn last(&self, endpoint: &str) -> Option<Params> {
        self.last.get(endpoint).cloned()
    }

    /// The next value of the counter (1 first).
    pub fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A fresh random-looking string: the counter, then `len` characters of `alphabet`.
    pub fn fresh(&mut self, alphabet: &[u8], len: usize) -> String {
        let n = self.next();
        wire::random_string(n, alphabet, len)
    }
}

pub const HEX: &[u8] = b"0123456789abcdef";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// base64url's alphabet, which most tokens are drawn from.
pub const TOKEN_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

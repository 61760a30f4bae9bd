//! The authorization request a site sends to `/authorize`, checked in the order that keeps
//! redirects safe: client, then redirect URI (errors before this point are pages), then
//! everything else (errors after it go back to the site). Each part is a function of its
//! own inputs, so it is tested without a server.

use serde::{Deserialize, Serialize};

use super::error::{Error, PageError, SiteErrorCode, SiteTarget};
use super::types::{CodeChallenge, Nonce, RedirectUri, State};
use crate::config::{ClientConfig, ClientId, Config};
use crate::provider::ProviderName;

/// The scopes the gateway gives meaning to; descriptors' `scope_map` keys add more.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Longest `state` / `nonce` / `scope` kept: enough for any client library, small for the store.
const MAX_PARAM: usize = 1024;

/// `/authorize` parameters as received (query string or form body).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub provider: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A request that passed every check: what the login carries to the end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub scopes: Vec<String>,
    pub state: Option<State>,
    pub nonce: Option<Nonce>,
    pub code_challenge: Option<CodeChallenge>,
}

/// What the site asked about reusing an existing login.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `prompt=none`: answer without showing anything, or `login_required`.
    pub none: bool,
    /// `prompt=login` / `select_account`, or a `max_age` of 0: log in at the network again.
    pub login: bool,
    /// `max_age`: the network login must be at most this many seconds old.
    pub max_age: Option<u64>,
}

impl Prompt {
    /// Whether a session whose network login happened at `auth_time` may be reused.
    pub fn accepts(&self, auth_time: u64, now: u64) -> bool {
        !self.login
            && self
                .max_age
                .is_none_or(|max| now.saturating_sub(auth_time) <= max)
    }
}

/// A request that passed validation, with what only `/authorize` needs.
pub struct Validated<'c> {
    pub request: AuthorizationRequest,
    pub client: &'c ClientConfig,
    /// The network the site named (`provider=`), if any.
    pub provider: Option<ProviderName>,
    pub prompt: Prompt,
}

impl AuthorizationRequest {
    /// Where errors about this request go: the site's verified redirect URI.
    pub fn target<'a>(&'a self, issuer: &'a crate::config::Issuer) -> SiteTarget<'a> {
        SiteTarget {
            redirect_uri: &self.redirect_uri,
            state: self.state.as_ref(),
            issuer,
        }
    }

    /// The query string that repeats this request, for the login page's provider links.
    pub fn to_query(&self, provider: &ProviderName, prompt: &Prompt) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", &self.scopes.join(" "));
        for (k, v) in [
            ("state", self.state.as_ref().map(State::as_str)),
            ("nonce", self.nonce.as_ref().map(Nonce::as_str)),
            (
                "code_challenge",
                self.code_challenge.as_ref().map(CodeChallenge::as_str),
            ),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if self.code_challenge.is_some() {
            q.append_pair("code_challenge_method", "S256");
        }
        // A forced login stays forced when the person picks a network.
        if prompt.login {
            q.append_pair("prompt", "login");
        }
        if let Some(max_age) = prompt.max_age {
            q.append_pair("max_age", &max_age.to_string());
        }
        q.append_pair("provider", provider.as_str());
        q.finish()
    }
}

/// Why a request was refused after its redirect URI was verified: the site hears it.
type Refusal = (SiteErrorCode, String);

fn refuse<T>(code: SiteErrorCode, description: impl Into<String>) -> Result<T, Refusal> {
    Err((code, description.into()))
}

/// Validates `/authorize`.
pub fn validate(config: &Config, p: AuthorizeParams) -> Result<Validated<'_>, Error> {
    let (client, redirect_uri) = client_and_redirect_uri(config, p.client_id, p.redirect_uri)?;
    // From here on, errors go back to the (verified) redirect URI, with the state echoed
    // (cut to the length the gateway keeps, should it be the thing refused).
    let state = p.state.filter(|s| !s.is_empty());
    let echoed = state
        .as_ref()
        .map(|s| State::new(s.chars().take(MAX_PARAM).collect::<String>()));
    let target = SiteTarget {
        redirect_uri: &redirect_uri,
        state: echoed.as_ref(),
        issuer: &config.server.issuer,
    };
    let fail = |(code, description): Refusal| target.error(code, description);
    let checked = (|| {
        response_kind(
            &p.request,
            &p.request_uri,
            &p.response_type,
            &p.response_mode,
        )?;
        let scopes = scopes(p.scope.as_deref(), |s| config.scope_is_known(s))?;
        let state = bounded("state", state)?.map(State::new);
        let nonce = bounded("nonce", p.nonce.filter(|n| !n.is_empty()))?.map(Nonce::new);
        let code_challenge = pkce(
            p.code_challenge,
            p.code_challenge_method.as_deref(),
            client.client_secret.is_none(),
        )?;
        let prompt = prompt(p.prompt.as_deref(), p.max_age.as_deref())?;
        let provider = named_provider(client, p.provider.as_deref())?;
        Ok((scopes, state, nonce, code_challenge, prompt, provider))
    })();
    let (scopes, state, nonce, code_challenge, prompt, provider) = checked.map_err(fail)?;
    Ok(Validated {
        request: AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri,
            scopes,
            state,
            nonce,
            code_challenge,
        },
        client,
        provider,
        prompt,
    })
}

/// The client, and a redirect URI it registered: matched exactly, query included; no
/// prefix or pattern matching, ever.
fn client_and_redirect_uri(
    config: &Config,
    client_id: Option<String>,
    redirect_uri: Option<String>,
) -> Result<(&ClientConfig, RedirectUri), PageError> {
    let client_id = client_id.ok_or(PageError::MissingParameter("client_id"))?;
    let client = config.client(&client_id).ok_or(PageError::UnknownClient)?;
    let redirect_uri = redirect_uri.ok_or(PageError::MissingParameter("redirect_uri"))?;
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(PageError::UnregisteredRedirectUri);
    }
    Ok((client, RedirectUri::new(redirect_uri)))
}

/// Only the code flow, answered in the query; no request objects.
fn response_kind(
    request: &Option<String>,
    request_uri: &Option<String>,
    response_type: &Option<String>,
    response_mode: &Option<String>,
) -> Result<(), Refusal> {
    if request.is_some() {
        return refuse(
            SiteErrorCode::RequestNotSupported,
            "request objects are not supported",
        );
    }
    if request_uri.is_some() {
        return refuse(
            SiteErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        );
    }
    match response_type.as_deref() {
        Some("code") => {}
        None => return refuse(SiteErrorCode::InvalidRequest, "response_type is missing"),
        Some(_) => {
            return refuse(
                SiteErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            );
        }
    }
    if response_mode.as_deref().is_some_and(|m| m != "query") {
        return refuse(
            SiteErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        );
    }
    Ok(())
}

/// The scopes kept: known ones, once each. Unknown scopes are ignored (OIDC Core 3.1.2.1):
/// they are neither kept nor echoed. `openid` is required.
fn scopes(
    raw: Option<&str>,
    provider_scope: impl Fn(&str) -> bool,
) -> Result<Vec<String>, Refusal> {
    let raw = raw.unwrap_or("");
    if raw.len() > MAX_PARAM {
        return refuse(SiteErrorCode::InvalidRequest, "scope is too long");
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in raw.split(' ') {
        let known = SCOPES.contains(&s) || provider_scope(s);
        if known && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        return refuse(SiteErrorCode::InvalidScope, "the scope must include openid");
    }
    Ok(scopes)
}

/// A value the gateway stores and echoes, within the length it keeps.
fn bounded(name: &str, value: Option<String>) -> Result<Option<String>, Refusal> {
    match value {
        Some(v) if v.len() > MAX_PARAM => {
            refuse(SiteErrorCode::InvalidRequest, format!("{name} is too long"))
        }
        other => Ok(other),
    }
}

/// PKCE: S256 only (plain is a downgrade), and required of public clients.
fn pkce(
    challenge: Option<String>,
    method: Option<&str>,
    public_client: bool,
) -> Result<Option<CodeChallenge>, Refusal> {
    let challenge = match (challenge, method) {
        (None, None) => None,
        (None, Some(_)) => {
            return refuse(
                SiteErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            );
        }
        (Some(c), Some("S256")) => match CodeChallenge::parse_s256(&c) {
            Some(c) => Some(c),
            None => return refuse(SiteErrorCode::InvalidRequest, "code_challenge is malformed"),
        },
        (Some(_), _) => {
            return refuse(
                SiteErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not accepted)",
            );
        }
    };
    if public_client && challenge.is_none() {
        return refuse(
            SiteErrorCode::InvalidRequest,
            "PKCE (code_challenge with S256) is required for this public client",
        );
    }
    Ok(challenge)
}

/// `prompt` and `max_age`: what the site allows about reusing a login.
fn prompt(prompt: Option<&str>, max_age: Option<&str>) -> Result<Prompt, Refusal> {
    let prompts: Vec<&str> = prompt
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return refuse(
            SiteErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other prompt values",
        );
    }
    let max_age = match max_age.filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                return refuse(
                    SiteErrorCode::InvalidRequest,
                    "max_age must be a whole number of seconds",
                );
            }
        },
    };
    Ok(Prompt {
        none: prompts.contains(&"none"),
        login: prompts.contains(&"login")
            || prompts.contains(&"select_account")
            || max_age == Some(0),
        max_age,
    })
}

/// The network the site named, which must be one the client may use.
fn named_provider(
    client: &ClientConfig,
    name: Option<&str>,
) -> Result<Option<ProviderName>, Refusal> {
    let Some(name) = name.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match client.providers.iter().find(|n| n.as_str() == name) {
        Some(n) => Ok(Some(n.clone())),
        None => refuse(
            SiteErrorCode::InvalidRequest,
            format!("provider {name} is not available to this client"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn config() -> Config {
        let text = r#"
[server]
listen = "127.0.0.1:8080"
issuer = "http://127.0.0.1:8080"

[providers.demo]
kind = "demo"

[clients.shop]
client_secret = "shop-secret-0123456789"
redirect_uris = ["https://shop.example/cb?x=1"]

[clients.spa]
redirect_uris = ["https://spa.example/cb"]
"#;
        Config::parse(text, "test.toml", std::path::Path::new(".")).unwrap()
    }

    fn params(client_id: &str, redirect_uri: &str) -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(client_id.into()),
            redirect_uri: Some(redirect_uri.into()),
            scope: Some("openid".into()),
            ..AuthorizeParams::default()
        }
    }

    #[test]
    fn errors_before_the_redirect_uri_is_verified_are_pages() {
        let c = config();
        let page = |p| match validate(&c, p) {
            Err(Error::Page(e)) => e.to_string(),
            Err(other) => panic!("not a page: {other}"),
            Ok(_) => panic!("accepted"),
        };
        let missing = AuthorizeParams::default();
        assert_eq!(page(missing), "missing parameter `client_id`");
        assert_eq!(
            page(params("nobody", "https://shop.example/cb?x=1")),
            "unknown client_id"
        );
        // Exact match only: no prefix, no other query.
        for uri in ["https://shop.example/cb", "https://shop.example/cb?x=1&y=2"] {
            assert_eq!(
                page(params("shop", uri)),
                "the redirect_uri is not registered for this client"
            );
        }
    }

    #[test]
    fn errors_after_it_go_to_the_site_with_its_state() {
        let c = config();
        let mut p = params("shop", "https://shop.example/cb?x=1");
        p.response_type = Some("token".into());
        p.state = Some("st".into());
        match validate(&c, p) {
            Err(Error::Site(e)) => {
                assert_eq!(e.code, SiteErrorCode::UnsupportedResponseType);
                assert_eq!(e.redirect_uri.as_str(), "https://shop.example/cb?x=1");
                assert_eq!(e.state.as_ref().map(State::as_str), Some("st"));
                assert_eq!(e.issuer, "http://127.0.0.1:8080");
            }
            _ => panic!("expected a site error"),
        }
    }

    #[test]
    fn scopes_keep_known_ones_once_and_need_openid() {
        let known = |s: &str| s == "groups";
        assert_eq!(
            scopes(Some("email openid bogus email groups"), known).unwrap(),
            ["email", "openid", "groups"]
        );
        assert_eq!(
            scopes(Some("profile"), known).unwrap_err(),
            (
                SiteErrorCode::InvalidScope,
                "the scope must include openid".into()
            )
        );
        assert_eq!(
            scopes(Some(&"x".repeat(MAX_PARAM + 1)), known)
                .unwrap_err()
                .1,
            "scope is too long"
        );
    }

    #[test]
    fn pkce_is_s256_only_and_required_of_public_clients() {
        let ok = pkce(Some(CHALLENGE.into()), Some("S256"), true).unwrap();
        assert_eq!(ok.unwrap().as_str(), CHALLENGE);
        assert_eq!(pkce(None, None, false).unwrap(), None);
        let why = |r: Result<Option<CodeChallenge>, Refusal>| r.unwrap_err().1;
        assert_eq!(
            why(pkce(Some(CHALLENGE.into()), Some("plain"), false)),
            "code_challenge_method must be S256 (plain is not accepted)"
        );
        assert_eq!(
            why(pkce(Some("short".into()), Some("S256"), false)),
            "code_challenge is malformed"
        );
        assert_eq!(
            why(pkce(None, Some("S256"), false)),
            "code_challenge_method without code_challenge"
        );
        assert_eq!(
            why(pkce(None, None, true)),
            "PKCE (code_challenge with S256) is required for this public client"
        );
    }

    #[test]
    fn prompt_and_max_age() {
        assert_eq!(prompt(None, None).unwrap(), Prompt::default());
        let forced = prompt(Some("select_account"), None).unwrap();
        assert!(forced.login && !forced.none);
        assert!(prompt(Some("login"), Some("0")).unwrap().login);
        assert!(
            prompt(None, Some("0")).unwrap().login,
            "max_age=0 forces a login"
        );
        assert_eq!(prompt(None, Some("60")).unwrap().max_age, Some(60));
        assert_eq!(
            prompt(Some("none login"), None).unwrap_err().1,
            "prompt=none cannot be combined with other prompt values"
        );
        assert_eq!(
            prompt(None, Some("soon")).unwrap_err().1,
            "max_age must be a whole number of seconds"
        );
        let p = prompt(None, Some("60")).unwrap();
        assert!(p.accepts(1_000, 1_060));
        assert!(!p.accepts(1_000, 1_061));
    }

    #[test]
    fn a_public_client_without_pkce_is_refused_and_a_valid_request_passes() {
        let c = config();
        let spa = params("spa", "https://spa.example/cb");
        assert!(matches!(validate(&c, spa), Err(Error::Site(_))));
        let mut shop = params("shop", "https://shop.example/cb?x=1");
        shop.provider = Some("demo".into());
        shop.scope = Some("openid openid email".into());
        let v = validate(&c, shop).unwrap();
        assert_eq!(v.request.scopes, ["openid", "email"]);
        assert_eq!(v.provider.as_ref().map(ProviderName::as_str), Some("demo"));
        let mut other = params("shop", "https://shop.example/cb?x=1");
        other.provider = Some("vk".into());
        match validate(&c, other) {
            Err(Error::Site(e)) => {
                assert_eq!(e.description, "provider vk is not available to this client")
            }
            _ => panic!("expected a site error"),
        }
    }

    #[test]
    fn request_objects_other_response_modes_and_oversized_values_are_refused() {
        let c = config();
        let refused = |change: fn(&mut AuthorizeParams)| {
            let mut p = params("shop", "https://shop.example/cb?x=1");
            change(&mut p);
            match validate(&c, p) {
                Err(Error::Site(e)) => (e.code, e.description),
                _ => panic!("expected a site error"),
            }
        };
        // A request_uri would have the gateway fetch any URL a site names.
        assert_eq!(
            refused(|p| p.request_uri = Some("https://evil.example/req".into())),
            (
                SiteErrorCode::RequestUriNotSupported,
                "request_uri is not supported".into()
            )
        );
        assert_eq!(
            refused(|p| p.request = Some("eyJhbGciOiJub25lIn0.e30.".into())).0,
            SiteErrorCode::RequestNotSupported
        );
        // Codes travel in the query only, never in a fragment or a posted form.
        for mode in ["fragment", "form_post", "web_message"] {
            let mut p = params("shop", "https://shop.example/cb?x=1");
            p.response_mode = Some(mode.into());
            assert!(
                matches!(validate(&c, p), Err(Error::Site(e)) if e.description == "only response_mode=query is supported"),
                "{mode}"
            );
        }
        assert_eq!(
            refused(|p| p.state = Some("s".repeat(MAX_PARAM + 1))).1,
            "state is too long"
        );
        assert_eq!(
            refused(|p| p.nonce = Some("n".repeat(MAX_PARAM + 1))).1,
            "nonce is too long"
        );
    }
}

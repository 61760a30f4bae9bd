//! The authorization request a site sends to `/authorize`, checked in the order that keeps
//! redirects safe: client, then redirect URI (errors before this point are pages), then
//! everything else (errors after it go back to the site).

use serde::{Deserialize, Serialize};

use crate::config::{ClientConfig, ClientId, Config};
use crate::error::{Error, PageError, SiteError, SiteErrorCode};
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
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
}

/// What the site asked about reusing an existing login.
#[derive(Clone, Copy, Debug, Default)]
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
    /// An error for the site, sent to its verified redirect URI.
    pub fn error(&self, issuer: &str, code: SiteErrorCode, description: String) -> Error {
        SiteError {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            issuer: issuer.to_string(),
            code,
            description,
        }
        .into()
    }

    /// The query string that repeats this request, for the login page's provider links.
    pub fn to_query(&self, provider: &ProviderName, prompt: &Prompt) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scopes.join(" "));
        for (k, v) in [
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
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

/// Validates `/authorize`.
pub fn validate(config: &Config, p: AuthorizeParams) -> Result<Validated<'_>, Error> {
    let client_id = p
        .client_id
        .as_deref()
        .ok_or(PageError::MissingParameter("client_id"))?;
    let client = config.client(client_id).ok_or(PageError::UnknownClient)?;
    let redirect_uri = p
        .redirect_uri
        .ok_or(PageError::MissingParameter("redirect_uri"))?;
    // Exact string match, query included: no prefix or pattern matching, ever.
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(PageError::UnregisteredRedirectUri.into());
    }

    // From here on, errors go back to the (verified) redirect URI.
    let state = p.state.filter(|s| !s.is_empty());
    let fail = |code: SiteErrorCode, description: &str| -> Error {
        SiteError {
            redirect_uri: redirect_uri.clone(),
            state: state.as_ref().map(|s| s.chars().take(MAX_PARAM).collect()),
            issuer: config.server.issuer.as_str().to_string(),
            code,
            description: description.to_string(),
        }
        .into()
    };
    if p.request.is_some() {
        return Err(fail(
            SiteErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if p.request_uri.is_some() {
        return Err(fail(
            SiteErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => {
            return Err(fail(
                SiteErrorCode::InvalidRequest,
                "response_type is missing",
            ));
        }
        Some(_) => {
            return Err(fail(
                SiteErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(fail(
            SiteErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    let raw_scope = p.scope.as_deref().unwrap_or("");
    if raw_scope.len() > MAX_PARAM {
        return Err(fail(SiteErrorCode::InvalidRequest, "scope is too long"));
    }
    // Unknown scopes are ignored (OIDC Core 3.1.2.1): they are neither kept nor echoed.
    let mut scopes: Vec<String> = Vec::new();
    for s in raw_scope.split(' ') {
        let known = SCOPES.contains(&s) || config.scope_is_known(s);
        if known && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(fail(
            SiteErrorCode::InvalidScope,
            "the scope must include openid",
        ));
    }
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(fail(SiteErrorCode::InvalidRequest, "state is too long"));
    }
    let nonce = p.nonce.filter(|n| !n.is_empty());
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
        return Err(fail(SiteErrorCode::InvalidRequest, "nonce is too long"));
    }
    let code_challenge = match (p.code_challenge, p.code_challenge_method.as_deref()) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                SiteErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(c), Some("S256")) => {
            // RFC 7636: base64url of a SHA-256 digest is exactly 43 characters.
            let valid = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(fail(
                    SiteErrorCode::InvalidRequest,
                    "code_challenge is malformed",
                ));
            }
            Some(c)
        }
        (Some(_), _) => {
            return Err(fail(
                SiteErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
    };
    if client.client_secret.is_none() && code_challenge.is_none() {
        return Err(fail(
            SiteErrorCode::InvalidRequest,
            "PKCE (code_challenge with S256) is required for this public client",
        ));
    }
    let prompts: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(fail(
            SiteErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other prompt values",
        ));
    }
    let max_age = match p.max_age.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            fail(
                SiteErrorCode::InvalidRequest,
                "max_age must be a whole number of seconds",
            )
        })?),
    };
    let prompt = Prompt {
        none: prompts.contains(&"none"),
        login: prompts.contains(&"login")
            || prompts.contains(&"select_account")
            || max_age == Some(0),
        max_age,
    };
    let provider = match p.provider.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(
            client
                .providers
                .iter()
                .find(|n| n.as_str() == name)
                .cloned()
                .ok_or_else(|| {
                    fail(
                        SiteErrorCode::InvalidRequest,
                        &format!("provider {name} is not available to this client"),
                    )
                })?,
        ),
    };
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

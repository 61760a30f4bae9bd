//! Everything that can go wrong in a login, a token request or an API call, said without
//! HTTP. Each variant says *who* must hear about it — the person (a page), the site at its
//! verified redirect URI, a client at the token endpoint, a bearer of a token — and the web
//! layer decides, once per surface, how that looks on the wire.

use crate::config::Issuer;
use crate::keys::KeyError;
use crate::store::StoreError;

use super::types::{RedirectUri, State};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be trusted to carry a redirect target: the person is told.
    #[error("{0}")]
    Page(#[from] PageError),
    /// Sent back to the site's (already verified) redirect URI.
    #[error("{} ({})", .0.code.as_str(), .0.description)]
    Site(Box<SiteError>),
    /// RFC 6749 §5.2: the client's request was refused.
    #[error("{} ({})", .0.as_str(), .1)]
    Token(TokenErrorCode, String),
    /// RFC 6750 §3.1: the presented token is not (or no longer) valid.
    #[error("invalid_token ({0})")]
    InvalidToken(String),
    /// No token presented at all: a bare challenge (RFC 6750 §3.1).
    #[error("no bearer token")]
    NoToken,
    /// RFC 6750 §3.1: a valid token, but not for this (its client may not do it).
    #[error("insufficient_scope ({0})")]
    InsufficientScope(String),
    /// Over a rate limit (`[limits]`): retry after this long.
    #[error("too many requests; retry in {}s", .0.as_secs())]
    RateLimited(std::time::Duration),
    /// The store (or the signing keys in it) cannot be reached: retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn token(code: TokenErrorCode, description: impl Into<String>) -> Self {
        Error::Token(code, description.into())
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => Error::Store(e),
            KeyError::NotLoaded => Error::Store(StoreError::Unavailable(e.to_string())),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Errors shown to the person as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("the request's parameters cannot be read")]
    MalformedRequest,
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    #[error("unknown client_id")]
    UnknownClient,
    #[error("the redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
    #[error("the login link is invalid or has expired")]
    BadState,
    #[error("unknown provider")]
    UnknownProvider,
    #[error("the login was started in another browser")]
    OtherBrowser,
    #[error("the logout request's id_token_hint is invalid")]
    BadLogoutHint,
    #[error("the post_logout_redirect_uri is not registered for the client")]
    UnregisteredPostLogoutUri,
}

/// Where an error for the site goes: its verified redirect URI, with its `state`.
#[derive(Clone, Debug)]
pub struct SiteTarget<'a> {
    pub redirect_uri: &'a RedirectUri,
    pub state: Option<&'a State>,
    pub issuer: &'a Issuer,
}

impl SiteTarget<'_> {
    /// The one place a site error is made: every field the redirect needs, from a URI
    /// that was checked against the client's registration.
    pub fn error(&self, code: SiteErrorCode, description: impl Into<String>) -> Error {
        Error::Site(Box::new(SiteError {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.cloned(),
            issuer: self.issuer.as_str().to_string(),
            code,
            description: description.into(),
        }))
    }
}

/// An error returned to the site at its redirect URI.
#[derive(Debug)]
pub struct SiteError {
    pub redirect_uri: RedirectUri,
    pub state: Option<State>,
    /// RFC 9207's `iss`, so the site knows which server answered.
    pub issuer: String,
    pub code: SiteErrorCode,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteErrorCode {
    InvalidRequest,
    InvalidScope,
    UnsupportedResponseType,
    AccessDenied,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
}

impl SiteErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteErrorCode::InvalidRequest => "invalid_request",
            SiteErrorCode::InvalidScope => "invalid_scope",
            SiteErrorCode::UnsupportedResponseType => "unsupported_response_type",
            SiteErrorCode::AccessDenied => "access_denied",
            SiteErrorCode::LoginRequired => "login_required",
            SiteErrorCode::RequestNotSupported => "request_not_supported",
            SiteErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            SiteErrorCode::ServerError => "server_error",
            SiteErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
    /// An app launch whose parameters failed a check (socialgate's own code, answered 401).
    InvalidLaunch,
    ServerError,
    TemporarilyUnavailable,
}

impl TokenErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::InvalidRequest => "invalid_request",
            TokenErrorCode::InvalidClient => "invalid_client",
            TokenErrorCode::InvalidGrant => "invalid_grant",
            TokenErrorCode::InvalidScope => "invalid_scope",
            TokenErrorCode::UnauthorizedClient => "unauthorized_client",
            TokenErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenErrorCode::InvalidLaunch => "invalid_launch",
            TokenErrorCode::ServerError => "server_error",
            TokenErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

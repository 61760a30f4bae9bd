//! Everything that can go wrong in a login, a token request or an API call, said without
//! HTTP. Each variant says *who* must hear about it — the person (a page), the site at its
//! verified redirect URI, a client at the token endpoint, a bearer of a token — and the web
//! layer decides, once per surface, how that looks on the wire.

use crate::config::{ClientConfig, Issuer};
use crate::keys::KeyError;
use crate::store::StoreError;

use super::types::{RedirectUri, State};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be trusted to carry a redirect target: the person is told.
    #[error("{0}")]
    Page(#[from] PageError),
    /// As `Page`, in a request whose site is known and trusted: the page links back to it.
    #[error("{0}")]
    PageWithSite(PageError, SiteHome),
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

impl PageError {
    /// This error, leading the person back to `site` when there is one.
    pub fn with_site(self, site: Option<SiteHome>) -> Error {
        match site {
            Some(site) => Error::PageWithSite(self, site),
            None => Error::Page(self),
        }
    }
}

/// A registered site a page can send the person back to: its name, and the origin of a
/// redirect URI it registered. Both come from the config, never from the request, so a
/// link to it is never an open redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteHome {
    pub name: String,
    /// `scheme://host[:port]/`.
    pub url: String,
}

impl SiteHome {
    /// The site at the origin of `redirect_uri`, if `client` registered it (http or https).
    pub fn at(client: &ClientConfig, redirect_uri: &str) -> Option<SiteHome> {
        if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return None;
        }
        let url = url::Url::parse(redirect_uri).ok()?;
        if !matches!(url.scheme(), "https" | "http") {
            return None;
        }
        Some(SiteHome {
            name: client.name.clone(),
            url: format!("{}/", url.origin().ascii_serialization()),
        })
    }

    /// The site at the origin of the first redirect URI `client` registered.
    pub fn of(client: &ClientConfig) -> Option<SiteHome> {
        client
            .redirect_uris
            .first()
            .and_then(|uri| SiteHome::at(client, uri))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_site_home_is_the_origin_of_a_redirect_uri_the_client_registered() {
        let text = r#"
[server]
listen = "127.0.0.1:8080"
issuer = "http://127.0.0.1:8080"

[providers.demo]
kind = "demo"

[clients.shop]
name = "Shop"
client_secret = "shop-secret-0123456789"
redirect_uris = ["https://shop.example:8443/oauth/cb?x=1", "https://blog.example/wp?a=b"]

[clients.app]
redirect_uris = ["http://127.0.0.1:9/callback"]
"#;
        let config = Config::parse(text, "test.toml", std::path::Path::new(".")).unwrap();
        let shop = config.client("shop").unwrap();
        let home = |url: &str| {
            Some(SiteHome {
                name: "Shop".into(),
                url: url.into(),
            })
        };
        assert_eq!(SiteHome::of(shop), home("https://shop.example:8443/"));
        assert_eq!(
            SiteHome::at(shop, "https://blog.example/wp?a=b"),
            home("https://blog.example/")
        );
        // Only what the client registered, never what a request says.
        assert_eq!(SiteHome::at(shop, "https://evil.example/"), None);
        assert_eq!(SiteHome::at(shop, "https://shop.example:8443/"), None);
        // A client without a name is known by its id.
        let app = config.client("app").unwrap();
        assert_eq!(
            SiteHome::of(app),
            Some(SiteHome {
                name: "app".into(),
                url: "http://127.0.0.1:9/".into(),
            })
        );
    }
}

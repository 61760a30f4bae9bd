//! Extractors: the request parsing every handler shares — client credentials, bearer
//! tokens, the page language — done once, here.

use axum::Json;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64_STD;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;

use super::AppState;
use super::errors::{ApiError, TokenEndpointError};
use super::pages::Lang;
use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::oidc::clients::{AuthMethod, ClientCredentials};
use crate::oidc::error::{Error, TokenErrorCode};
use crate::oidc::exchange::TokenRequest;
use crate::oidc::limits::{self, Source};
use crate::oidc::types::{Code, CodeVerifier, RefreshToken};

/// A client-authenticated form (`/token`, `/revoke`, the client APIs): the client's
/// credentials — HTTP Basic with RFC 6749's form-decoding, `client_secret_post`, or a
/// public client's bare `client_id` — and the rest of the form.
pub struct ClientForm<T> {
    pub credentials: ClientCredentials,
    pub form: T,
    /// Where the request came from, for the limits on failed attempts.
    pub source: Source,
}

impl<T> ClientForm<T> {
    /// The registered client the credentials prove, within `[limits]`. A failure after an
    /// attempt with Basic answers with a Basic challenge.
    pub async fn client<'g>(
        &self,
        gw: &'g Gateway,
    ) -> Result<&'g ClientConfig, TokenEndpointError> {
        limits::authenticate(gw, &self.credentials, self.source)
            .await
            .map_err(|error| TokenEndpointError {
                error,
                basic_challenge: self.credentials.method == AuthMethod::Basic,
            })
    }
}

/// The gateway a request is served by: the one current when it arrived (pinned by
/// `web::pin_gateway`), the same for every extractor of the request even if a reload swaps
/// in another meanwhile.
pub struct Gw(pub Arc<Gateway>);

impl Gw {
    pub fn of(parts: &Parts, state: &AppState) -> Arc<Gateway> {
        parts
            .extensions
            .get::<Arc<Gateway>>()
            .cloned()
            .unwrap_or_else(|| state.load_full())
    }
}

impl FromRequestParts<AppState> for Gw {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Gw(Gw::of(parts, state)))
    }
}

/// The source address of a request (see `ClientAddresses::source`). Without the
/// connection's address (a router served by something other than `web::server`), the
/// unspecified address: every such request counts as one source.
#[derive(Clone, Copy, Debug)]
pub struct ClientSource(pub Source);

impl ClientSource {
    fn of(parts: &Parts, gw: &Gateway) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let addresses = &gw.config.limits.addresses;
        let forwarded = parts
            .headers
            .get_all(addresses.header.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok());
        ClientSource(Source::new(addresses.source(peer, forwarded)))
    }
}

impl FromRequestParts<AppState> for ClientSource {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientSource::of(parts, &Gw::of(parts, state)))
    }
}

#[derive(Deserialize)]
pub(super) struct WithCredentials<T> {
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(flatten)]
    pub(super) rest: T,
}

impl<T> FromRequest<AppState> for ClientForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = TokenEndpointError;

    async fn from_request(req: Request, gw: &AppState) -> Result<Self, Self::Rejection> {
        let basic = authorization(&req);
        let (parts, body) = req.into_parts();
        let source = ClientSource::of(&parts, &Gw::of(&parts, gw)).0;
        let req = Request::from_parts(parts, body);
        let Form(body) = Form::<WithCredentials<T>>::from_request(req, gw)
            .await
            .map_err(|e| unreadable("must be application/x-www-form-urlencoded", e))?;
        ClientForm::from_body(basic.as_deref(), body, source)
    }
}

impl<T> ClientForm<T> {
    pub(super) fn from_body(
        basic: Option<&str>,
        body: WithCredentials<T>,
        source: Source,
    ) -> Result<Self, TokenEndpointError> {
        let credentials = credentials(basic, body.client_id, body.client_secret)?;
        Ok(ClientForm {
            credentials,
            form: body.rest,
            source,
        })
    }
}

/// A body that cannot be read: `invalid_request`, saying why.
pub(super) fn unreadable(what: &str, why: impl std::fmt::Display) -> Error {
    Error::token(
        TokenErrorCode::InvalidRequest,
        format!("the body {what}: {why}"),
    )
}

fn authorization(req: &Request) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A client-authenticated JSON API's request: as `ClientForm`, but the body may also be
/// JSON (`Content-Type: application/json`), credentials in the JSON or the Basic header.
pub struct ClientApi<T>(pub ClientForm<T>);

impl<T> FromRequest<AppState> for ClientApi<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = TokenEndpointError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if !json {
            return ClientForm::from_request(req, state).await.map(ClientApi);
        }
        let basic = authorization(&req);
        let (parts, body) = req.into_parts();
        let source = ClientSource::of(&parts, &Gw::of(&parts, state)).0;
        let req = Request::from_parts(parts, body);
        let Json(body) = Json::<WithCredentials<T>>::from_request(req, state)
            .await
            .map_err(|e| unreadable("is not the JSON expected", e.body_text()))?;
        ClientForm::from_body(basic.as_deref(), body, source).map(ClientApi)
    }
}

/// One authentication method: Basic when the header is there (the form may repeat the
/// same `client_id`, not add a secret), else the form's.
fn credentials(
    basic: Option<&str>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<ClientCredentials, TokenEndpointError> {
    let refused = |basic_challenge: bool, code: TokenErrorCode, why: &str| TokenEndpointError {
        error: Error::token(code, why),
        basic_challenge,
    };
    let Some(header) = basic else {
        let id = client_id.ok_or_else(|| {
            refused(
                false,
                TokenErrorCode::InvalidClient,
                "client authentication failed",
            )
        })?;
        return Ok(ClientCredentials::posted(
            id,
            client_secret.map(SecretString::from),
        ));
    };
    let (id, secret, as_sent) = parse_basic(header).ok_or_else(|| {
        refused(
            true,
            TokenErrorCode::InvalidClient,
            "malformed Basic credentials",
        )
    })?;
    if client_secret.is_some() {
        return Err(refused(
            false,
            TokenErrorCode::InvalidRequest,
            "use one client authentication method, not two",
        ));
    }
    if client_id.is_some_and(|posted| posted != id) {
        return Err(refused(
            true,
            TokenErrorCode::InvalidClient,
            "client authentication failed",
        ));
    }
    Ok(ClientCredentials {
        client_id: id,
        secret: Some(SecretString::from(secret)),
        secret_as_sent: Some(SecretString::from(as_sent)),
        method: AuthMethod::Basic,
    })
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64, so a secret with
/// `+`, `%` or `:` survives. Returns the decoded id and secret, plus the secret as sent, for
/// clients that skip the encoding.
fn parse_basic(header: &str) -> Option<(String, String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = B64_STD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?, secret.to_string()))
}

/// `Authorization: Bearer …` (RFC 6750 §2.1); without one, a bare challenge.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| BearerToken(t.trim().to_string()))
            .ok_or(ApiError(Error::NoToken))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_accept_language(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        ))
    }
}

/// A form's fields in the order sent, a name given twice kept twice (for checks that must
/// see exactly what was signed).
pub struct Pairs(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("form fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// `/token`'s form, as sent (the client's credentials are read apart).
#[derive(Default, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

impl TryFrom<TokenForm> for TokenRequest {
    type Error = Error;

    fn try_from(form: TokenForm) -> Result<Self, Error> {
        let missing =
            |what: &str| Error::token(TokenErrorCode::InvalidRequest, format!("{what} is missing"));
        let present = |v: Option<String>| v.filter(|v| !v.is_empty());
        match form.grant_type.as_deref() {
            Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
                code: Code::new(present(form.code).ok_or_else(|| missing("code"))?),
                redirect_uri: form.redirect_uri,
                code_verifier: form.code_verifier.map(CodeVerifier::new),
            }),
            Some("refresh_token") => Ok(TokenRequest::RefreshToken {
                refresh_token: RefreshToken::new(
                    present(form.refresh_token).ok_or_else(|| missing("refresh_token"))?,
                ),
                scope: form.scope,
            }),
            None => Err(missing("grant_type")),
            Some(_) => Err(Error::token(
                TokenErrorCode::UnsupportedGrantType,
                "only authorization_code and refresh_token are supported",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(grant_type: &str) -> TokenForm {
        TokenForm {
            grant_type: Some(grant_type.into()),
            ..TokenForm::default()
        }
    }

    fn refused(form: TokenForm) -> (TokenErrorCode, String) {
        match TokenRequest::try_from(form) {
            Err(Error::Token(code, description)) => (code, description),
            other => panic!("not a token error: {other:?}"),
        }
    }

    #[test]
    fn grants_are_parsed_at_the_edge() {
        assert_eq!(
            refused(TokenForm::default()),
            (
                TokenErrorCode::InvalidRequest,
                "grant_type is missing".into()
            )
        );
        assert_eq!(
            refused(form("password")).0,
            TokenErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            refused(form("authorization_code")),
            (TokenErrorCode::InvalidRequest, "code is missing".into())
        );
        assert_eq!(
            refused(form("refresh_token")),
            (
                TokenErrorCode::InvalidRequest,
                "refresh_token is missing".into()
            )
        );
        let mut with_code = form("authorization_code");
        with_code.code = Some("c".into());
        assert!(matches!(
            TokenRequest::try_from(with_code),
            Ok(TokenRequest::AuthorizationCode { .. })
        ));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // id "shop", secret "a+b%c:d" encoded per RFC 6749 §2.3.1.
        let header = format!("Basic {}", B64_STD.encode("shop:a%2Bb%25c%3Ad"));
        assert_eq!(
            parse_basic(&header),
            Some((
                "shop".to_string(),
                "a+b%c:d".to_string(),
                "a%2Bb%25c%3Ad".to_string()
            ))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
    }

    #[test]
    fn pairs_keep_order_and_repeated_names() {
        let body = "b=2&a=1&client_id=shop&a=3";
        let form: WithCredentials<Pairs> = serde_urlencoded::from_str(body).unwrap();
        assert_eq!(form.client_id.as_deref(), Some("shop"));
        let names: Vec<(&str, &str)> = form
            .rest
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(names, [("b", "2"), ("a", "1"), ("a", "3")]);
    }

    #[test]
    fn one_method_only_and_the_challenge_follows_basic() {
        let header = format!("Basic {}", B64_STD.encode("shop:secret"));
        let two = credentials(Some(&header), None, Some("secret".into())).unwrap_err();
        assert!(matches!(
            two.error,
            Error::Token(TokenErrorCode::InvalidRequest, _)
        ));
        let other_id = credentials(Some(&header), Some("forum".into()), None).unwrap_err();
        assert!(other_id.basic_challenge);
        let none = credentials(None, None, None).unwrap_err();
        assert!(!none.basic_challenge);
        let posted = credentials(None, Some("spa".into()), None).unwrap();
        assert_eq!(posted.method, AuthMethod::Post);
        assert!(posted.secret.is_none());
        let basic = credentials(Some(&header), Some("shop".into()), None).unwrap();
        assert_eq!(
            (basic.client_id.as_str(), basic.method),
            ("shop", AuthMethod::Basic)
        );
    }
}

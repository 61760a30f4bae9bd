//! Entry points for the fuzz targets in `fuzz/`: what a handler does with a request before
//! the domain takes over (the form decoded as axum's `Form` decodes it, the client's
//! credentials read, the grant parsed) and the answer its error surface renders, without a
//! server. Not an API: hidden from the docs, used by nothing else.

use std::net::{IpAddr, Ipv4Addr};

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::errors::{BrowserError, TokenEndpointError};
use super::extract::{ClientForm, Pairs, TokenForm, WithCredentials, unreadable};
use super::widget::WidgetForm;
use crate::config::{ClientConfig, Config};
use crate::gateway::Gateway;
use crate::oidc::authorize::{self, AuthorizeParams, Validated};
use crate::oidc::clients::ClientCredentials;
use crate::oidc::error::PageError;
use crate::oidc::exchange::TokenRequest;
use crate::oidc::limits::Source;
use crate::platform::widget;
use crate::provider::WidgetPost;

/// An error answer, reduced to what a fuzz target checks.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Location`, for a redirect back to the site.
    pub location: Option<String>,
    pub www_authenticate: Option<String>,
}

impl Answer {
    fn of(response: Response) -> Self {
        let text = |name| {
            response
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Answer {
            status: response.status().as_u16(),
            location: text(header::LOCATION),
            www_authenticate: text(header::WWW_AUTHENTICATE),
        }
    }
}

/// The unspecified address: a request without a connection's.
fn anywhere() -> Source {
    Source::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// axum's `Form` and `Query`: the pairs of an urlencoded string, into `T`.
fn form<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(bytes)
}

/// `/authorize`'s query (or form body) validated against `config`, or the error answer the
/// browser would get. On success, the query each provider link of the chooser carries.
pub fn authorize<'c>(
    config: &'c Config,
    query: &[u8],
) -> Result<(Validated<'c>, Vec<String>), Answer> {
    let refused = |e: crate::oidc::error::Error| Answer::of(BrowserError(e).into_response());
    let params: AuthorizeParams =
        form(query).map_err(|_| refused(PageError::MalformedRequest.into()))?;
    let validated = authorize::validate(config, params).map_err(refused)?;
    let links = validated
        .client
        .providers
        .iter()
        .map(|p| validated.request.to_query(p, &validated.prompt))
        .collect();
    Ok((validated, links))
}

fn refused(e: TokenEndpointError) -> Answer {
    Answer::of(e.into_response())
}

/// A client-authenticated form read as `ClientForm<T>` reads it (the form's fields beside
/// the credentials as `T`), or the error answer the client would get.
fn client_form<T: serde::de::DeserializeOwned>(
    authorization: Option<&str>,
    body: &[u8],
) -> Result<ClientForm<T>, Answer> {
    let body: WithCredentials<T> = form(body)
        .map_err(|e| refused(unreadable("must be application/x-www-form-urlencoded", e).into()))?;
    ClientForm::from_body(authorization, body, anywhere()).map_err(refused)
}

/// The client's credentials in `/token`'s body and `Authorization` header.
pub fn credentials(authorization: Option<&str>, body: &[u8]) -> Result<ClientCredentials, Answer> {
    // The other client-authenticated forms (`/launch`, the widget's) keep every field.
    let _ = client_form::<Pairs>(authorization, body);
    client_form::<TokenForm>(authorization, body).map(|f| f.credentials)
}

/// `/token`'s body and `Authorization` header read as the endpoint reads them: the client's
/// credentials, then the grant; or the error answer the client would get.
pub fn token_request(
    authorization: Option<&str>,
    body: &[u8],
) -> Result<(ClientCredentials, TokenRequest), Answer> {
    let request = client_form::<TokenForm>(authorization, body)?;
    let grant = TokenRequest::try_from(request.form).map_err(|e| refused(e.into()))?;
    Ok((request.credentials, grant))
}

/// `/api/{provider}/widget`'s body (a form, or JSON when `json`) read as the endpoint reads
/// it, once `client` is authenticated: the signed widget URL, or the error answer.
pub fn widget_post(
    gw: &Gateway,
    client: &ClientConfig,
    provider: &str,
    body: &[u8],
    json: bool,
) -> Result<String, Answer> {
    let body: WithCredentials<WidgetForm> = if json {
        serde_json::from_slice(body)
            .map_err(|e| refused(unreadable("is not the JSON expected", e).into()))?
    } else {
        form(body).map_err(|e| {
            refused(unreadable("must be application/x-www-form-urlencoded", e).into())
        })?
    };
    let post = WidgetPost::try_from(body.rest).map_err(|e| refused(e.into()))?;
    widget::post_url(gw, client, provider, &post).map_err(|e| refused(e.into()))
}

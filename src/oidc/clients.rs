//! Client authentication at the token endpoint and every client-authenticated API: the
//! credentials a site presented, checked against its registration in constant time.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::{Error, TokenErrorCode};
use crate::config::{ClientConfig, Config};
use crate::gateway::Gateway;
use crate::provider::ConfiguredProvider;

/// How the client presented its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`: the answer to a failure carries a Basic challenge.
    Basic,
    /// `client_secret_post`, or `none` (a public client sends only its id).
    Post,
}

/// A client's claim to be `client_id`, as parsed from the request.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<SecretString>,
    /// A Basic secret exactly as sent, for clients that skip RFC 6749's form-encoding.
    pub secret_as_sent: Option<SecretString>,
    pub method: AuthMethod,
}

impl ClientCredentials {
    /// `client_secret_post` (or `none`, without a secret).
    pub fn posted(client_id: impl Into<String>, secret: Option<SecretString>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            secret,
            secret_as_sent: None,
            method: AuthMethod::Post,
        }
    }

    /// The registered client these credentials prove, or `invalid_client`.
    pub fn authenticate<'c>(&self, config: &'c Config) -> Result<&'c ClientConfig, Error> {
        let invalid = || {
            Error::token(
                TokenErrorCode::InvalidClient,
                "client authentication failed",
            )
        };
        let client = config.client(&self.client_id).ok_or_else(invalid)?;
        match (&client.client_secret, &self.secret) {
            (Some(expected), Some(given)) => {
                let expected = expected.expose_secret().as_bytes();
                let matches = |s: &SecretString| -> bool {
                    expected.ct_eq(s.expose_secret().as_bytes()).into()
                };
                if matches(given) || self.secret_as_sent.as_ref().is_some_and(matches) {
                    Ok(client)
                } else {
                    Err(invalid())
                }
            }
            // A public client identifies itself by client_id; PKCE proves the rest.
            (None, None) => Ok(client),
            _ => Err(invalid()),
        }
    }
}

/// The provider `provider`, if `client` may use it (an unknown one answers the same, so a
/// client learns nothing of providers it is not given).
pub fn provider_for<'g>(
    gw: &'g Gateway,
    client: &ClientConfig,
    provider: &str,
) -> Result<&'g ConfiguredProvider, Error> {
    gw.providers
        .get(provider)
        .filter(|_| client.providers.iter().any(|p| p.as_str() == provider))
        .ok_or_else(|| {
            Error::token(
                TokenErrorCode::UnauthorizedClient,
                format!("provider {provider} is not available to this client"),
            )
        })
}

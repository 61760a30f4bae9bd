//! The OpenID Connect provider's logic, knowing nothing of HTTP: validating authorization
//! requests, the login through a network, one-time codes, token minting, refresh, logout
//! and its back-channel. `crate::web` turns requests into calls here and the results (and
//! `Error`s) into responses.

pub mod access;
pub mod authorize;
pub mod backchannel;
pub mod clients;
pub mod code;
pub mod error;
pub mod exchange;
pub mod launch;
pub mod limits;
pub mod login;
pub mod logout;
pub mod mint;
pub mod refresh;
pub mod sso;
pub mod types;
pub mod upstream;

pub use error::Error;

use serde_json::{Value, json};

use crate::config::{Issuer, SigningAlg};

/// The discovery document (OpenID Connect Discovery 1.0): what this provider supports.
pub fn discovery(issuer: &Issuer) -> Value {
    json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": issuer.url("/authorize"),
        "token_endpoint": issuer.url("/token"),
        "userinfo_endpoint": issuer.url("/userinfo"),
        "jwks_uri": issuer.url("/jwks"),
        "end_session_endpoint": issuer.url("/logout"),
        "revocation_endpoint": issuer.url("/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": SigningAlg::ALL.map(SigningAlg::as_str),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "prompt_values_supported": ["none", "login", "select_account"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
            "provider", "provider_user_id", "name", "given_name", "family_name",
            "picture", "locale", "gender", "birthdate", "email", "email_verified"
        ],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

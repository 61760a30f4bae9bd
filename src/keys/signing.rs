//! One RSA signing key: its JWK, signing a JWT with a media type (id_token, access token,
//! logout token), and checking a token it signed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// RFC 9068's media type for JWT access tokens, so an id_token is never taken for one.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// OIDC Back-Channel Logout's media type for logout tokens.
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

/// The RSA key tokens are signed with, and its public half as a JWK.
pub struct SigningKey {
    kid: String,
    /// Parsed (and checked) once: parsing it for every signature, as `jsonwebtoken::encode`
    /// does, and building fresh blinding each time cost more than the signature itself.
    pair: KeyPair,
    rng: SystemRandom,
    decoding: DecodingKey,
    n: String,
    e: String,
}

impl SigningKey {
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let parsed = pem::parse(text).map_err(|e| format!("not a PEM file: {e}"))?;
        let pair = KeyPair::from_pkcs8(parsed.contents())
            .map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
        let public = pair.public_key();
        let n = B64.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64.encode(public.exponent().big_endian_without_leading_zero());
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).map_err(|e| format!("bad public key: {e}"))?;
        // RFC 7638 thumbprint: stable for the key, different for the next one.
        let thumbprint = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Ok(SigningKey {
            kid: B64.encode(thumbprint),
            pair,
            rng: SystemRandom::new(),
            decoding,
            n,
            e,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, for the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": self.kid, "n": self.n, "e": self.e,
        })
    }

    /// Signs `claims` as an RS256 JWT of media type `typ` (RFC 7515 compact form).
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, SignError> {
        let header = serde_json::json!({ "typ": typ, "alg": "RS256", "kid": self.kid });
        let header = serde_json::to_vec(&header).map_err(|e| SignError(e.to_string()))?;
        let claims = serde_json::to_vec(claims).map_err(|e| SignError(e.to_string()))?;
        let mut jwt = B64.encode(header);
        jwt.push('.');
        B64.encode_string(claims, &mut jwt);
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|e| SignError(e.to_string()))?;
        jwt.push('.');
        B64.encode_string(signature, &mut jwt);
        Ok(jwt)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign a token: {0}")]
pub struct SignError(pub(super) String);

/// What a token presented back to the gateway must be.
pub struct Expect<'a> {
    pub typ: &'a str,
    pub issuer: &'a str,
    /// An id_token_hint at logout may have expired; an access token may not.
    pub allow_expired: bool,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("not a token of the expected type")]
    WrongType,
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid")]
    Invalid,
}

impl SigningKey {
    /// Checks a token this key signed: signature, type, issuer and, unless allowed, expiry.
    pub fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<T, VerifyError> {
        check(token, &self.decoding, Algorithm::RS256, expect)
    }
}

/// What every key checks of a token presented back: the signature by `key` with `alg` only
/// (a header naming another `alg` is refused), the issuer and, unless allowed, expiry.
pub(super) fn check<T: for<'de> Deserialize<'de>>(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
    expect: &Expect<'_>,
) -> Result<T, VerifyError> {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[expect.issuer]);
    validation.validate_aud = false;
    validation.validate_exp = !expect.allow_expired;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    jsonwebtoken::decode::<T>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => VerifyError::Expired,
            _ => VerifyError::Invalid,
        })
}

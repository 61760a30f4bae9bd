//! A key of the ring, of either algorithm: what the ring signs with, publishes and checks
//! tokens by, without its callers asking which kind it holds.

use serde::{Deserialize, Serialize};

use super::ec::EcKey;
use super::signing::{Expect, SignError, SigningKey, VerifyError};
use crate::config::SigningAlg;

pub enum TokenKey {
    Rs256(SigningKey),
    Es256(EcKey),
}

impl TokenKey {
    /// A stored key of `alg`, PKCS#8 PEM.
    pub fn from_pem(alg: SigningAlg, pem: &str) -> Result<Self, String> {
        match alg {
            SigningAlg::Rs256 => SigningKey::from_pem(pem).map(TokenKey::Rs256),
            SigningAlg::Es256 => EcKey::from_pem(pem).map(TokenKey::Es256),
        }
    }

    pub fn alg(&self) -> SigningAlg {
        match self {
            TokenKey::Rs256(_) => SigningAlg::Rs256,
            TokenKey::Es256(_) => SigningAlg::Es256,
        }
    }

    pub fn kid(&self) -> &str {
        match self {
            TokenKey::Rs256(k) => k.kid(),
            TokenKey::Es256(k) => k.kid(),
        }
    }

    /// The public key as a JWK, for the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        match self {
            TokenKey::Rs256(k) => k.jwk(),
            TokenKey::Es256(k) => k.jwk(),
        }
    }

    /// Signs `claims` as a JWT of media type `typ` with this key's algorithm.
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, SignError> {
        match self {
            TokenKey::Rs256(k) => k.sign(claims, typ),
            TokenKey::Es256(k) => k.sign(claims, typ),
        }
    }

    /// Checks a token this key signed, with this key's algorithm only.
    pub fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<T, VerifyError> {
        match self {
            TokenKey::Rs256(k) => k.verify(token, expect),
            TokenKey::Es256(k) => k.verify(token, expect),
        }
    }
}

//! One ECDSA P-256 signing key (ES256), the RSA key's counterpart for clients that ask for
//! ES256: its JWK, signing a JWT with a media type, and checking a token it signed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::signing::{Expect, SignError, VerifyError, check};

/// The P-256 key ES256 tokens are signed with, and its public half as a JWK.
pub struct EcKey {
    kid: String,
    /// Parsed once, like the RSA key. The FIXED form: JWS wants `r || s` (RFC 7518 3.4),
    /// not the ASN.1 DER that ECDSA APIs give by default.
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    decoding: DecodingKey,
    x: String,
    y: String,
}

impl EcKey {
    /// A new key, as the PKCS#8 PEM the store keeps.
    pub fn generate_pem() -> Result<String, String> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| format!("cannot generate a P-256 key: {e}"))?;
        let der = pair
            .to_pkcs8v1()
            .map_err(|e| format!("cannot encode a P-256 key: {e}"))?;
        Ok(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            der.as_ref().to_vec(),
        )))
    }

    pub fn from_pem(text: &str) -> Result<Self, String> {
        let parsed = pem::parse(text).map_err(|e| format!("not a PEM file: {e}"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, parsed.contents())
            .map_err(|e| format!("not a PKCS#8 P-256 private key: {e}"))?;
        // The public key comes uncompressed: 0x04, then x and y of 32 bytes each.
        let (x, y) = match pair.public_key().as_ref() {
            [4, xy @ ..] if xy.len() == 64 => xy.split_at(32),
            _ => return Err("not an uncompressed P-256 public key".into()),
        };
        let (x, y) = (B64.encode(x), B64.encode(y));
        let decoding =
            DecodingKey::from_ec_components(&x, &y).map_err(|e| format!("bad public key: {e}"))?;
        // RFC 7638 thumbprint: the required members in lexicographic order.
        let thumbprint = Sha256::digest(format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
        ));
        Ok(EcKey {
            kid: B64.encode(thumbprint),
            pair,
            rng: SystemRandom::new(),
            decoding,
            x,
            y,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, for the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
            "kid": self.kid, "x": self.x, "y": self.y,
        })
    }

    /// Signs `claims` as an ES256 JWT of media type `typ` (RFC 7515 compact form).
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, SignError> {
        let header = serde_json::json!({ "typ": typ, "alg": "ES256", "kid": self.kid });
        let header = serde_json::to_vec(&header).map_err(|e| SignError(e.to_string()))?;
        let claims = serde_json::to_vec(claims).map_err(|e| SignError(e.to_string()))?;
        let mut jwt = B64.encode(header);
        jwt.push('.');
        B64.encode_string(claims, &mut jwt);
        let signature = self
            .pair
            .sign(&self.rng, jwt.as_bytes())
            .map_err(|e| SignError(e.to_string()))?;
        jwt.push('.');
        B64.encode_string(signature, &mut jwt);
        Ok(jwt)
    }

    /// Checks a token this key signed: signature, issuer and, unless allowed, expiry.
    pub fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<T, VerifyError> {
        check(token, &self.decoding, Algorithm::ES256, expect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_fixed_length_r_s_and_verify_with_the_published_coordinates() {
        let key = EcKey::from_pem(&EcKey::generate_pem().unwrap()).unwrap();
        let claims =
            serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 4_000_000_000u64});
        let token = key.sign(&claims, "JWT").unwrap();
        let signature = B64.decode(token.rsplit('.').next().unwrap()).unwrap();
        assert_eq!(signature.len(), 64, "r || s, not DER");
        let expect = Expect {
            typ: "JWT",
            issuer: "https://gw",
            allow_expired: false,
        };
        let back: serde_json::Value = key.verify(&token, &expect).unwrap();
        assert_eq!(back["sub"], "ok:1");
        // A site verifies with the JWK alone.
        let jwk = key.jwk();
        let public =
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &public, &validation).is_ok());
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_of_the_jwk() {
        let key = EcKey::from_pem(&EcKey::generate_pem().unwrap()).unwrap();
        let jwk = key.jwk();
        // The required members only, sorted by name: serde_json's map is ordered so.
        let required: serde_json::Map<String, serde_json::Value> = ["crv", "kty", "x", "y"]
            .into_iter()
            .map(|k| (k.to_string(), jwk[k].clone()))
            .collect();
        let canonical = serde_json::to_string(&required).unwrap();
        assert!(
            canonical.starts_with(r#"{"crv":"P-256","kty":"EC","x":""#),
            "{canonical}"
        );
        assert_eq!(jwk["kid"], B64.encode(Sha256::digest(canonical)));
        assert_eq!(key.kid(), jwk["kid"]);
        // 32-byte coordinates.
        assert_eq!(B64.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
        assert_eq!(B64.decode(jwk["y"].as_str().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn an_rsa_key_is_not_taken_for_an_ec_one() {
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = aws_lc_rs::encoding::AsDer::as_der(&rsa).unwrap();
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        assert!(
            EcKey::from_pem(&pem)
                .err()
                .is_some_and(|e| e.starts_with("not a PKCS#8 P-256 private key"))
        );
    }
}

//! Signing keys and the JWTs the gateway issues: RS256 id_tokens and access tokens, the
//! JWKS that publishes the key, and verification of access tokens at `/userinfo`.

use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const KEY_FILE: &str = "signing-key.pem";
/// RFC 9068's media type for JWT access tokens, so an id_token is never taken for one.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot generate an RSA key")]
    Generate,
}

/// The RSA key tokens are signed with, and its public half as a JWK.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

impl SigningKey {
    /// Loads `data_dir/signing-key.pem`, or generates and saves it (owner-only) on first start,
    /// so tokens stay verifiable across restarts.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let file_err = |message: String| KeyError::File {
            path: path.clone(),
            message,
        };
        if !path.exists() {
            create_private_dir(data_dir).map_err(|e| KeyError::File {
                path: data_dir.to_path_buf(),
                message: format!("cannot create the data directory: {e}"),
            })?;
            let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
            let der = pair.as_der().map_err(|_| KeyError::Generate)?;
            let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
            write_private(&path, pem.as_bytes())
                .map_err(|e| file_err(format!("cannot write the signing key: {e}")))?;
            tracing::info!(path = %path.display(), "generated a new RSA signing key");
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| file_err(format!("cannot read the signing key: {e}")))?;
        Self::from_pem(&text).map_err(file_err)
    }

    pub fn from_pem(text: &str) -> Result<Self, String> {
        let parsed = pem::parse(text).map_err(|e| format!("not a PEM file: {e}"))?;
        let pair = KeyPair::from_pkcs8(parsed.contents())
            .map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
        let public = pair.public_key();
        let n = B64.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64.encode(public.exponent().big_endian_without_leading_zero());
        let encoding = EncodingKey::from_rsa_pem(text.as_bytes())
            .map_err(|e| format!("unusable RSA key: {e}"))?;
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).map_err(|e| format!("bad public key: {e}"))?;
        // RFC 7638 thumbprint: stable for the key, different for the next one.
        let thumbprint = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Ok(SigningKey {
            kid: B64.encode(thumbprint),
            encoding,
            decoding,
            n,
            e,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document (`/jwks`).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": self.kid, "n": self.n, "e": self.e,
        }]})
    }

    pub fn sign_id_token<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(claims, "JWT")
    }

    pub fn sign_access_token<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(claims, ACCESS_TOKEN_TYP)
    }

    fn sign<T: Serialize>(
        &self,
        claims: &T,
        typ: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Checks an access token this gateway issued: signature, issuer, expiry and type.
    pub fn verify_access_token<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<T, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "malformed token".to_string())?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err("not an access token".into());
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired".into(),
                _ => "the token is invalid".into(),
            })
    }
}

/// `at_hash` (OIDC Core 3.1.3.6): left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    B64.encode(&digest[..16])
}

/// A random URL-safe token with 256 bits of entropy (state, codes, ids).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG does not fail");
    B64.encode(bytes)
}

/// SHA-256 of a secret as hex: what the store keeps instead of a usable code.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_persisted_owner_only_and_reloaded_with_same_kid() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = SigningKey::load_or_create(&data).unwrap();
        let second = SigningKey::load_or_create(&data).unwrap();
        assert_eq!(first.kid(), second.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn access_token_verifies_and_id_token_is_refused_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(dir.path()).unwrap();
        let claims =
            serde_json::json!({"iss": "https://gw", "sub": "ok:1", "exp": 4_000_000_000u64});
        let at = key.sign_access_token(&claims).unwrap();
        let back: serde_json::Value = key.verify_access_token(&at, "https://gw").unwrap();
        assert_eq!(back["sub"], "ok:1");
        let id = key.sign_id_token(&claims).unwrap();
        assert_eq!(
            key.verify_access_token::<serde_json::Value>(&id, "https://gw")
                .unwrap_err(),
            "not an access token"
        );
        assert_eq!(
            key.verify_access_token::<serde_json::Value>(&at, "https://other")
                .unwrap_err(),
            "the token is invalid"
        );
    }
}

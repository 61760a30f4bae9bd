//! What the OpenID Connect fake signs: its RSA keys, the id_token's claims, and the corrupted
//! id_tokens of the behaviours that test a relying party's checks.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::super::wire::now_secs;
use super::flavour::{Flavour, Person};
use super::{Behaviour, IssuedCode, OidcConfig, guid_from};

const ID_TOKEN_LIFETIME_SECS: u64 = 3600;

pub struct RsaKey {
    pub kid: String,
    encoding: EncodingKey,
    n: String,
    e: String,
}

impl RsaKey {
    pub fn generate(flavour: Flavour) -> RsaKey {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let der = pair.as_der().expect("RSA key as PKCS#8");
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA encoding key");
        let public = pair.public_key();
        let n = B64.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64.encode(public.exponent().big_endian_without_leading_zero());
        // RFC 7638 thumbprint, shaped like each provider's kids (Google: 40 hex digits).
        let thumb = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        let kid = match flavour {
            Flavour::Google => thumb[..20].iter().map(|b| format!("{b:02x}")).collect(),
            Flavour::Microsoft => B64.encode(&thumb[..20]),
            Flavour::GitLab => B64.encode(thumb),
        };
        RsaKey {
            kid,
            encoding,
            n,
            e,
        }
    }

    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": self.kid, "n": self.n, "e": self.e,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign an id_token")
    }
}

/// The person claims granted by `scopes`, shared by the id_token and userinfo.
pub fn person_claims(
    cfg: &OidcConfig,
    person: &Person,
    scopes: &[String],
    out: &mut Map<String, Value>,
) {
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    if has("email") {
        put("email", person.email.as_ref().map(|v| json!(v)));
        // Entra never asserts email_verified.
        if cfg.flavour != Flavour::Microsoft {
            put("email_verified", person.email_verified.map(|v| json!(v)));
        }
    }
    if has("profile") {
        put("name", person.name.as_ref().map(|v| json!(v)));
        put("given_name", person.given_name.as_ref().map(|v| json!(v)));
        put("family_name", person.family_name.as_ref().map(|v| json!(v)));
        put("picture", person.picture.as_ref().map(|v| json!(v)));
        put("locale", person.locale.as_ref().map(|v| json!(v)));
        put(
            "preferred_username",
            person.preferred_username.as_ref().map(|v| json!(v)),
        );
        if cfg.flavour == Flavour::GitLab {
            // GitLab's extras: the username again, and the profile page.
            put(
                "nickname",
                person.preferred_username.as_ref().map(|v| json!(v)),
            );
            put(
                "profile",
                person
                    .preferred_username
                    .as_ref()
                    .map(|u| json!(format!("{}/{u}", cfg.base_url))),
            );
        }
    }
}

pub fn id_token_claims(
    cfg: &OidcConfig,
    issued: &IssuedCode,
    access_token: &str,
    behaviour: Behaviour,
) -> Value {
    let person = &issued.person;
    let now = now_secs();
    let iat = if behaviour == Behaviour::Expired {
        now - 7200
    } else {
        now
    };
    let mut c = Map::new();
    let iss = match behaviour {
        Behaviour::WrongIssuer => "https://evil.example".to_owned(),
        _ => cfg.flavour.token_issuer(&cfg.base_url, person),
    };
    let aud = match behaviour {
        Behaviour::WrongAudience => "someone-else".to_owned(),
        _ => cfg.client_id.to_owned(),
    };
    c.insert("iss".to_owned(), json!(iss));
    c.insert("aud".to_owned(), json!(aud));
    c.insert("azp".to_owned(), json!(cfg.client_id));
    c.insert("sub".to_owned(), json!(person.sub));
    c.insert("iat".to_owned(), json!(iat));
    c.insert("exp".to_owned(), json!(iat + ID_TOKEN_LIFETIME_SECS));
    // OIDC Core §3.1.3.6: the left half of SHA-256 of the access token.
    let digest = Sha256::digest(access_token.as_bytes());
    c.insert("at_hash".to_owned(), json!(B64.encode(&digest[..16])));
    match (behaviour, &issued.nonce) {
        (Behaviour::NoNonce, _) | (_, None) => {}
        (Behaviour::WrongNonce, Some(_)) => {
            c.insert("nonce".to_owned(), json!("not-the-nonce-you-sent"));
        }
        (_, Some(n)) => {
            c.insert("nonce".to_owned(), json!(n));
        }
    }
    match cfg.flavour {
        Flavour::Microsoft => {
            c.insert("nbf".to_owned(), json!(iat));
            c.insert("tid".to_owned(), json!(person.tenant()));
            c.insert("oid".to_owned(), json!(guid_from(&person.sub)));
            c.insert("ver".to_owned(), json!("2.0"));
        }
        Flavour::GitLab => {
            c.insert("auth_time".to_owned(), json!(iat));
            c.insert(
                "sub_legacy".to_owned(),
                json!(B64.encode(Sha256::digest(&person.sub))),
            );
        }
        Flavour::Google => {}
    }
    person_claims(cfg, person, &issued.scopes, &mut c);
    Value::Object(c)
}

pub fn sign_id_token(
    cfg: &OidcConfig,
    key: &RsaKey,
    claims: &Value,
    behaviour: Behaviour,
) -> String {
    match behaviour {
        Behaviour::BadSignature => {
            let token = key.sign(claims);
            let (message, sig) = token.rsplit_once('.').expect("three-part JWT");
            let mut sig = B64.decode(sig).expect("base64url signature");
            for b in sig.iter_mut().take(8) {
                *b ^= 0x5a;
            }
            format!("{message}.{}", B64.encode(sig))
        }
        Behaviour::AlgNone => {
            // jsonwebtoken cannot express `none`: assembled by hand.
            let header = json!({ "alg": "none", "typ": "JWT", "kid": key.kid });
            format!(
                "{}.{}.",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            )
        }
        Behaviour::Hs256WithClientSecret => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.clone());
            let secret = EncodingKey::from_secret(cfg.client_secret.as_bytes());
            jsonwebtoken::encode(&header, claims, &secret).expect("sign with HS256")
        }
        Behaviour::UnknownKid => RsaKey::generate(cfg.flavour).sign(claims),
        _ => key.sign(claims),
    }
}

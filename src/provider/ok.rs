//! OK.ru (Odnoklassniki): the request signature `sig` (here, public, for every feature that
//! signs OK calls), and a login that reads the person through the signed
//! `users.getCurrentUser` on the REST endpoint, where errors arrive as HTTP 200 with
//! `error_code`.

use std::sync::Arc;

use async_trait::async_trait;
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};

use super::descriptor::ClaimMap;
use super::generic::{self, Call, Network, Quirks};
use super::kind::{Kind, KindOption, KindOptions, KindTable, Opening, OptionError};
use super::oauth2::UpstreamToken;
use super::{Provider, ProviderConfig, UpstreamError};

/// `session_secret_key = md5(access_token + application_secret_key)`, lowercase hex.
pub fn session_secret_key(access_token: &str, secret_key: &str) -> String {
    md5_hex(&[access_token.as_bytes(), secret_key.as_bytes()])
}

/// OK's `sig`: md5 over the parameters sorted by name and joined as `name=value` with no
/// separator (raw UTF-8 values), followed by the secret. `sig` and `access_token` are never
/// part of it. The secret is the session secret key in a user's session, else the app's
/// secret key.
pub fn sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, secret: &str) -> String {
    let mut params: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, _)| *k != "sig" && *k != "access_token" && *k != "session_key")
        .collect();
    params.sort_unstable();
    let mut hasher = Md5::new();
    for (k, v) in params {
        hasher.update(k.as_bytes());
        hasher.update(b"=");
        hasher.update(v.as_bytes());
    }
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for p in parts {
        hasher.update(p);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// OK's kind: the `public_key` option, and the signed profile call.
pub struct OkKind;

const PUBLIC_KEY: KindOption = KindOption {
    name: "public_key",
    aliases: &[],
    elsewhere: |_, _| "public_key is only used by OK providers".into(),
};

impl Kind for OkKind {
    fn options(&self) -> &'static [KindOption] {
        &[PUBLIC_KEY]
    }

    fn configure(&self, table: &KindTable<'_>) -> Result<KindOptions, OptionError> {
        let public_key = table.get(PUBLIC_KEY.name).ok_or_else(|| {
            table.error(
                table.key,
                "missing `public_key` (OK's application key, \"Публичный ключ\")",
            )
        })?;
        Ok(KindOptions::from([(
            PUBLIC_KEY.name,
            public_key.value.clone(),
        )]))
    }

    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        let quirks = Odnoklassniki {
            public_key: config.option(PUBLIC_KEY.name)?.to_string(),
            secret_key: config.secret()?.clone(),
        };
        generic::open(config, at, quirks)
    }
}

/// What OK does beyond the descriptor: its profile call is the signed REST method
/// `users.getCurrentUser`.
struct Odnoklassniki {
    public_key: String,
    secret_key: SecretString,
}

/// The profile fields to ask for: exactly those the claim map reads.
fn fields(c: &ClaimMap) -> String {
    let fields: Vec<&str> = c.paths().map(|(_, path)| path).collect();
    fields.join(",")
}

#[async_trait]
impl Quirks for Odnoklassniki {
    /// A signed REST call in the person's session.
    async fn profile(
        &self,
        net: &Network,
        token: &UpstreamToken,
    ) -> Result<serde_json::Value, UpstreamError> {
        const METHOD: &str = "users.getCurrentUser";
        let access_token = token.access_token.secret();
        let fields = fields(&net.claims);
        let mut params = vec![
            ("application_key", self.public_key.as_str()),
            ("fields", fields.as_str()),
            ("format", "json"),
            ("method", METHOD),
        ];
        let secret = session_secret_key(access_token, self.secret_key.expose_secret());
        let sig = sign(params.iter().copied(), &secret);
        params.push(("sig", &sig));
        params.push(("access_token", access_token));
        // POST keeps the token out of URLs (and out of any proxy's access log).
        let request = net.http.post(net.userinfo.clone()).form(&params);
        net.call(request, Call::Method(METHOD)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_published_example() {
        let secret = session_secret_key(
            "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7",
            "ABC123DEF456GHI789JKL123",
        );
        assert_eq!(secret, "b1a2b89707a94624c43afae67d59274c");
        let sig = sign(
            [
                ("method", "events.get"),
                ("application_key", "ABCDEFGHIGKLMNOPK"),
                ("format", "json"),
            ],
            &secret,
        );
        assert_eq!(sig, "232c8eb921951c4dba9b72606f9ddb4c");
    }

    #[test]
    fn signature_matches_get_current_user_example_and_ignores_token_and_sig() {
        let token = "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR";
        let secret = session_secret_key(token, "0F1E2D3C4B5A69788796A5B4");
        assert_eq!(secret, "7c9268eec7eac7d9710a8f5381b63ebc");
        let sig = sign(
            [
                ("application_key", "CBAFJIICABABABABA"),
                ("fields", "uid,name,email,pic190x190"),
                ("format", "json"),
                ("method", "users.getCurrentUser"),
                ("access_token", token),
                ("sig", "anything"),
            ],
            &secret,
        );
        assert_eq!(sig, "b283ab160a5bfd87f3cef1ceec114b75");
    }

    #[test]
    fn signature_uses_raw_utf8_values() {
        let secret = session_secret_key(
            "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR",
            "0F1E2D3C4B5A69788796A5B4",
        );
        let sig = sign(
            [
                ("type", "USER"),
                ("method", "mediatopic.post"),
                ("format", "json"),
                (
                    "attachment",
                    r#"{"media":[{"type":"text","text":"Привет, мир"}]}"#,
                ),
                ("application_key", "CBAFJIICABABABABA"),
            ],
            &secret,
        );
        assert_eq!(sig, "1ac9865ec5525d3eec875173b38f4c5e");
    }
}

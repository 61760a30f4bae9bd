//! Facebook: every Graph API call from a server carries `appsecret_proof`, the HMAC-SHA256
//! of the access token keyed with the app secret, so a stolen token is useless elsewhere.

use std::sync::Arc;

use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};

use super::generic::{self, Quirks};
use super::kind::{Kind, Opening};
use super::{Provider, ProviderConfig};

pub struct FacebookKind;

impl Kind for FacebookKind {
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        let app_secret = config.secret()?.clone();
        generic::open(config, at, Facebook { app_secret })
    }
}

struct Facebook {
    app_secret: SecretString,
}

/// `appsecret_proof = hex(HMAC-SHA256(key = app_secret, message = access_token))`.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    hmac::sign(&key, access_token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Quirks for Facebook {
    fn profile_params(&self, access_token: &str) -> Vec<(&'static str, String)> {
        let proof = appsecret_proof(self.app_secret.expose_secret(), access_token);
        vec![("appsecret_proof", proof)]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn appsecret_proof_is_hmac_sha256_hex() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            super::appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

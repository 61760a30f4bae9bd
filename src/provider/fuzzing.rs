//! Entry points for the fuzz targets in `fuzz/`: every reader of a network's answers (token
//! answers, OK's and VK's HTTP-200 errors, profiles into an `Identity`, VK's `users.get`,
//! GitHub's emails, an OpenID Connect network's discovery document, JWKS, id_token and
//! userinfo) fed one body, with no network. Not an API: hidden from the docs, used by
//! nothing else.

use reqwest::StatusCode;
use url::Url;

use super::claims::map_claims;
use super::generic::{Call, Network};
use super::oidc::Oidc;
use super::{Identity, ProviderConfig, UpstreamError, UpstreamTokens, github, http, vk};

/// What the readers made of a body: the people they read, and their refusals.
#[derive(Debug, Default)]
pub struct Read {
    pub identities: Vec<Identity>,
    pub errors: Vec<UpstreamError>,
}

impl Read {
    fn keep<T>(&mut self, result: Result<T, UpstreamError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }
}

/// The configured networks, opened as a login opens them.
pub struct Networks {
    generic: Vec<Network>,
    oidc: Vec<(Oidc, ProviderConfig)>,
}

/// An issuer with Microsoft's tenant placeholder, beside each network's own.
const TENANT_ISSUER: &str = "https://login.example.com/{tenantid}/v2.0";

impl Networks {
    pub fn new<'a>(
        providers: impl IntoIterator<Item = &'a ProviderConfig>,
    ) -> Result<Self, String> {
        let http = http::client(std::time::Duration::from_secs(1)).map_err(|e| e.to_string())?;
        let callback =
            Url::parse("https://gateway.example/callback/x").map_err(|e| e.to_string())?;
        let mut networks = Networks {
            generic: Vec::new(),
            oidc: Vec::new(),
        };
        for p in providers {
            match p.descriptor.protocol.name() {
                "demo" => {}
                "oidc" => {
                    let issuer = p.option("issuer")?;
                    let oidc = Oidc::new(p, issuer, callback.clone(), http.clone());
                    networks.oidc.push((oidc, p.clone()));
                }
                _ => networks
                    .generic
                    .push(Network::new(p, callback.clone(), http.clone())?),
            }
        }
        Ok(networks)
    }

    /// Every reader, on `body`. Answers are read once (their reading is the same for
    /// every network but for the names in errors); profiles by every network's claim map.
    pub fn read(&self, body: &[u8]) -> Read {
        let mut read = Read::default();
        if let Some(net) = self.generic.first() {
            for profile in read_answers(net, body, &mut read) {
                for net in &self.generic {
                    if let Some(identity) = read.keep(net.identity(&profile)) {
                        read.identities.push(identity);
                    }
                }
            }
        }
        for (oidc, config) in &self.oidc {
            read_oidc(oidc, config, body, &mut read);
        }
        read
    }
}

/// `body` as a token answer and as an API answer; the profiles found in it.
fn read_answers(net: &Network, body: &[u8], read: &mut Read) -> Vec<serde_json::Value> {
    for status in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        if let Some(token) = read.keep(net.flow.exchange_answered(status, body)) {
            let _ = UpstreamTokens::from_answer(&token);
            let _ = vk::token_user_id(&token);
        }
    }
    let calls = [
        (StatusCode::OK, Call::Method("users.get")),
        (StatusCode::OK, Call::Endpoint("profile")),
        (StatusCode::UNAUTHORIZED, Call::Endpoint("profile")),
    ];
    let mut profiles = Vec::new();
    for (status, call) in calls {
        let Some(value) = read.keep(net.answer(status, body, call)) else {
            continue;
        };
        let email = serde_json::Value::from("person@example.com");
        if let Ok(profile) = vk::users_get_profile(&value, "1", Some(&email)) {
            profiles.push(profile);
        }
        if let Ok(emails) = serde_json::from_value::<Vec<github::Email>>(value.clone()) {
            let _ = github::chosen_email(&emails, Some("person@example.com"));
        }
        profiles.push(value);
    }
    profiles
}

fn read_oidc(oidc: &Oidc, config: &ProviderConfig, body: &[u8], read: &mut Read) {
    let _ = read.keep(oidc.read_discovery(StatusCode::OK, body));
    let _ = read.keep(oidc.read_userinfo(StatusCode::OK, body, "sub"));
    let jwks = read.keep(oidc.read_jwks(StatusCode::OK, body));
    if let Ok(id_token) = std::str::from_utf8(body) {
        if let Some(header) = read.keep(oidc.id_token_header(id_token)) {
            for jwk in jwks.iter().flat_map(|set| &set.keys) {
                let _ = read.keep(oidc.decode_id_token(id_token, jwk, header.alg));
            }
        }
    }
    // The checks after the signature, on the body as the claims it vouched for.
    let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice(body) else {
        return;
    };
    let own = config.option("issuer").unwrap_or_default();
    for issuer in [own, TENANT_ISSUER] {
        if let Some(claims) = read.keep(oidc.check_claims(issuer, claims.clone(), "nonce")) {
            let profile = serde_json::Value::Object(claims);
            let identity = map_claims(
                &config.name,
                &config.display_name,
                &config.descriptor.claims,
                &profile,
            );
            if let Some(identity) = read.keep(identity) {
                read.identities.push(identity);
            }
        }
    }
}

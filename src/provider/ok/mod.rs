//! OK.ru (Odnoklassniki): a login that reads the person through the signed
//! `users.getCurrentUser` on the REST endpoint (errors arrive as HTTP 200 with `error_code`),
//! and the verification of an app's launch inside OK. Every OK signature is in `signature`.
//! Group tokens (chat bots) are kept alive by `groups`.

mod attachment;
pub mod groups;
mod launch;
pub mod signature;
mod widget;

pub use signature::{session_secret_key, sign};

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::descriptor::ClaimMap;
use super::generic::{self, Call, Network, Quirks, api_params};
use super::kind::{Kind, KindOption, KindOptions, KindTable, Opening, OptionError};
use super::oauth2::UpstreamToken;
use super::settings::is_secure_endpoint;
use super::{Launch, LaunchError, Provider, ProviderConfig, PublishWidget, UpstreamError};
use serde_json::{Map, Value};
use url::Url;

/// OK's kind: the `public_key` and `widget_url` options, the signed profile call, app
/// launches and the publish widget.
pub struct OkKind;

const PUBLIC_KEY: KindOption = KindOption {
    name: "public_key",
    aliases: &[],
    elsewhere: |_, _| "public_key is only used by OK providers".into(),
};

const WIDGET_URL: KindOption = KindOption {
    name: "widget_url",
    aliases: &[],
    elsewhere: |_, _| "widget_url is only used by OK providers".into(),
};

impl Kind for OkKind {
    fn options(&self) -> &'static [KindOption] {
        &[PUBLIC_KEY, WIDGET_URL]
    }

    fn configure(&self, table: &KindTable<'_>) -> Result<KindOptions, OptionError> {
        let public_key = table.get(PUBLIC_KEY.name).ok_or_else(|| {
            table.error(
                table.key,
                "missing `public_key` (OK's application key, \"Публичный ключ\")",
            )
        })?;
        let widget_url = match table.get(WIDGET_URL.name) {
            None => widget::DEFAULT_URL.to_string(),
            Some(given) => {
                let secure = Url::parse(&given.value).is_ok_and(|u| is_secure_endpoint(&u));
                if !secure {
                    return Err(table.error(
                        &given.key,
                        format!(
                            "{:?} must be an https URL (http only for loopback addresses)",
                            given.value
                        ),
                    ));
                }
                given.value.clone()
            }
        };
        Ok(KindOptions::from([
            (PUBLIC_KEY.name, public_key.value.clone()),
            (WIDGET_URL.name, widget_url),
        ]))
    }

    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        let widget_url = config.option(WIDGET_URL.name)?;
        let quirks = Odnoklassniki {
            app_id: config.client_id.clone(),
            public_key: config.option(PUBLIC_KEY.name)?.to_string(),
            secret_key: config.secret()?.clone(),
            widget_url: Url::parse(widget_url).map_err(|e| format!("widget_url: {e}"))?,
        };
        generic::open(config, at, quirks)
    }
}

/// What OK does beyond the descriptor: its profile call is the signed REST method
/// `users.getCurrentUser`.
struct Odnoklassniki {
    /// OK's application id: the publish widget's `st.app`.
    app_id: String,
    public_key: String,
    secret_key: SecretString,
    /// Where the publish widget lives.
    widget_url: Url,
}

/// Parameters the gateway sets on every call; a site's own values for them are dropped.
const RESERVED: [&str; 6] = [
    "application_key",
    "format",
    "method",
    "sig",
    "access_token",
    "session_key",
];

/// `users.getCurrentUser`, the profile call of a login and of a launch.
const GET_CURRENT_USER: &str = "users.getCurrentUser";

impl Odnoklassniki {
    /// `users.getCurrentUser` in a session — a login's (`access_token`) or a launched app's
    /// (`session_key`) — signed with that session's secret key, asking for exactly the
    /// fields the claim map reads. POSTed: the token stays out of URLs and access logs.
    fn current_user(
        &self,
        net: &Network,
        session: (&str, &str),
        session_secret: &str,
    ) -> reqwest::RequestBuilder {
        let fields = fields(&net.claims);
        let mut params = vec![
            ("application_key", self.public_key.as_str()),
            ("fields", fields.as_str()),
            ("format", "json"),
            ("method", GET_CURRENT_USER),
        ];
        let sig = sign(params.iter().copied(), session_secret);
        params.push(("sig", &sig));
        params.push(session);
        net.http.post(net.userinfo.clone()).form(&params)
    }
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
        let token = token.access_token.secret();
        let secret = session_secret_key(token, self.secret_key.expose_secret());
        let request = self.current_user(net, ("access_token", token), &secret);
        net.call(request, Call::Method(GET_CURRENT_USER)).await
    }

    async fn verify_launch(
        &self,
        net: &Network,
        params: &[(String, String)],
    ) -> Result<Launch, LaunchError> {
        launch::verify(self, net, params).await
    }

    fn publish_widget(&self) -> Option<&dyn PublishWidget> {
        Some(self)
    }

    fn has_api(&self) -> bool {
        true
    }

    /// A REST method in the person's session, signed with its session secret key; the
    /// answer as OK gave it, its `error_code` objects included.
    async fn call_api(
        &self,
        net: &Network,
        access_token: &str,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, UpstreamError> {
        let values = api_params(params, &RESERVED);
        let mut signed: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        signed.extend([
            ("application_key", self.public_key.as_str()),
            ("format", "json"),
            ("method", method),
        ]);
        let secret = session_secret_key(access_token, self.secret_key.expose_secret());
        let sig = sign(signed.iter().copied(), &secret);
        signed.push(("sig", &sig));
        signed.push(("access_token", access_token));
        net.relay(net.http.post(net.userinfo.clone()).form(&signed))
            .await
    }
}

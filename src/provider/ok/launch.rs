//! An app launched inside OK (an iframe or mobile app): OK opens the app's URL with signed
//! parameters, and the site forwards them here. Checked in an order that names the first
//! thing wrong: the app's key, the parameters' `sig`, the person's consent, `auth_sig`, and
//! last (the only call upstream) that OK still knows the launch's session.

use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::signature::{auth_sig, launch_sig};
use super::{GET_CURRENT_USER, Odnoklassniki};
use crate::provider::generic::{Call, Network};
use crate::provider::{Launch, LaunchError, http};

/// Launch parameters the site may see: how and where the app was opened. Session keys and
/// signatures are never among them.
const CONTEXT: &[&str] = &[
    "refplace",
    "custom_args",
    "mob",
    "mob_platform",
    "referer",
    "first_start",
    "container",
    "api_server",
    "web_server",
    "apiconnection",
    "ip_geo_location",
    "header_widget",
    "payment_promo_active",
];

/// OK's answer codes for a session it no longer knows.
const SESSION_EXPIRED: [u64; 2] = [102, 103];

fn invalid(why: impl Into<String>) -> LaunchError {
    LaunchError::Invalid(why.into())
}

fn same(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

pub(super) async fn verify(
    ok: &Odnoklassniki,
    net: &Network,
    params: &[(String, String)],
) -> Result<Launch, LaunchError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let required = |name: &str| get(name).ok_or_else(|| invalid(format!("`{name}` is missing")));
    // One value per name: a signature covers one, and a second could be the one believed.
    let mut seen = std::collections::HashSet::new();
    if let Some((name, _)) = params.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(invalid(format!("`{name}` is given twice")));
    }
    let secret = ok.secret_key.expose_secret();
    if required("application_key")? != ok.public_key {
        return Err(invalid("application_key is not this app's public key"));
    }
    let pairs = params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if !same(required("sig")?, &launch_sig(pairs, secret)) {
        return Err(invalid("sig does not match the launch parameters"));
    }
    if get("authorized") != Some("1") {
        return Err(invalid(
            "the person has not authorized the app (authorized is not 1)",
        ));
    }
    let user_id = required("logged_user_id")?;
    let session_key = required("session_key")?;
    if !same(
        required("auth_sig")?,
        &auth_sig(user_id, session_key, secret),
    ) {
        return Err(invalid(
            "auth_sig does not match logged_user_id and session_key",
        ));
    }
    let profile = current_user(ok, net, session_key, required("session_secret_key")?).await?;
    let identity = net.identity(&profile)?;
    if identity.provider_user_id != user_id {
        return Err(invalid(
            "OK's session belongs to another person than logged_user_id",
        ));
    }
    let context: Map<String, Value> = CONTEXT
        .iter()
        .filter_map(|k| get(k).map(|v| (k.to_string(), Value::from(v))))
        .collect();
    Ok(Launch { identity, context })
}

/// `users.getCurrentUser` in the launch's session: signed with its session secret key, so a
/// launch whose session OK has ended (or never had) is refused.
async fn current_user(
    ok: &Odnoklassniki,
    net: &Network,
    session_key: &str,
    session_secret_key: &str,
) -> Result<Value, LaunchError> {
    let request = ok.current_user(net, ("session_key", session_key), session_secret_key);
    let (status, body) = http::send(net.network(), request).await?;
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("error_code").and_then(Value::as_u64));
    if code.is_some_and(|c| SESSION_EXPIRED.contains(&c)) {
        return Err(invalid("OK reports the launch's session as expired"));
    }
    Ok(net.answer(status, &body, Call::Method(GET_CURRENT_USER))?)
}

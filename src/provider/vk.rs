//! VK, classic OAuth: the email arrives in the token response (not from `users.get`),
//! `users.get` needs the API version `v`, and API errors arrive as HTTP 200 `{"error":{…}}`.

use std::sync::Arc;

use async_trait::async_trait;

use super::generic::{self, Call, Network, Quirks, api_params};
use super::kind::{Kind, Opening};
use super::oauth2::UpstreamToken;
use super::{Provider, ProviderConfig, UpstreamError};
use serde_json::{Map, Value};

const DEFAULT_API_VERSION: &str = "5.199";

pub struct VkKind;

impl Kind for VkKind {
    fn open(&self, config: &ProviderConfig, at: &Opening<'_>) -> Result<Arc<dyn Provider>, String> {
        let api_version = config
            .descriptor
            .api_version
            .clone()
            .unwrap_or_else(|| DEFAULT_API_VERSION.into());
        generic::open(config, at, Vk { api_version })
    }
}

struct Vk {
    api_version: String,
}

/// The account id a token answer names, as VK writes it (number or string).
pub(super) fn token_user_id(token: &UpstreamToken) -> Option<String> {
    match token.extra.get("user_id") {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The person in `users.get`'s answer, who must be the token's `user_id`, with the token
/// answer's `email` added.
pub(super) fn users_get_profile(
    answer: &serde_json::Value,
    user_id: &str,
    email: Option<&serde_json::Value>,
) -> Result<serde_json::Value, &'static str> {
    let mut profile = answer
        .get("response")
        .and_then(|r| r.get(0))
        .filter(|u| u.is_object())
        .cloned()
        .ok_or("users.get returned no user")?;
    let profile_id = profile.get("id").map(|v| v.to_string());
    if profile_id.as_deref() != Some(user_id) {
        return Err("users.get answered for another user");
    }
    if let (Some(email), Some(obj)) = (email, profile.as_object_mut()) {
        obj.insert("email".into(), email.clone());
    }
    Ok(profile)
}

#[async_trait]
impl Quirks for Vk {
    fn authorize_params(&self) -> Vec<(&'static str, String)> {
        vec![("v", self.api_version.clone())]
    }

    /// `users.get` for the person the token belongs to, with the token's email added.
    async fn profile(
        &self,
        net: &Network,
        token: &UpstreamToken,
    ) -> Result<serde_json::Value, UpstreamError> {
        let user_id =
            token_user_id(token).ok_or_else(|| net.malformed("the token answer has no user_id"))?;
        let c = &net.claims;
        let fields: Vec<&str> = [&c.picture, &c.gender, &c.birthdate]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let fields = fields.join(",");
        let params = [
            ("user_ids", user_id.as_str()),
            ("fields", fields.as_str()),
            ("access_token", token.access_token.secret()),
            ("v", self.api_version.as_str()),
        ];
        let request = net.http.post(net.userinfo.clone()).form(&params);
        let value = net.call(request, Call::Method("users.get")).await?;
        users_get_profile(&value, &user_id, token.extra.get("email")).map_err(|e| net.malformed(e))
    }

    fn has_api(&self) -> bool {
        true
    }

    /// A method at VK's API (`…/method/{name}`, beside `users.get`), with the token and `v`;
    /// the answer as VK gave it, its `error` objects included.
    async fn call_api(
        &self,
        net: &Network,
        access_token: &str,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, UpstreamError> {
        let mut url = net.userinfo.clone();
        url.path_segments_mut()
            .map_err(|_| net.malformed("its API address has no path"))?
            .pop()
            .push(method);
        let mut form = api_params(params, &["access_token", "v"]);
        form.push(("access_token".into(), access_token.into()));
        form.push(("v".into(), self.api_version.clone()));
        net.relay(net.http.post(url).form(&form)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_get_must_answer_for_the_tokens_owner() {
        let answer = json!({"response": [{"id": 1, "first_name": "Pavel"}]});
        let email = json!("durov@example.com");
        let profile = users_get_profile(&answer, "1", Some(&email)).unwrap();
        assert_eq!(profile["email"], "durov@example.com");
        assert_eq!(profile["first_name"], "Pavel");
        // A token for person 2 never yields person 1's profile.
        assert_eq!(
            users_get_profile(&answer, "2", Some(&email)).unwrap_err(),
            "users.get answered for another user"
        );
        for empty in [json!({"response": []}), json!({"response": [7]}), json!([])] {
            assert_eq!(
                users_get_profile(&empty, "1", None).unwrap_err(),
                "users.get returned no user"
            );
        }
    }
}

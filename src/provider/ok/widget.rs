//! OK's publish widget (`WidgetMediatopicPost`): the signed URL a site opens so a person can
//! post to their feed or a group's, and the check of the result OK sends back. Signed with
//! the app's secret key, or the person's session secret in the access-token variant, so the
//! site never holds either.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use url::Url;

use super::Odnoklassniki;
use super::attachment;
use super::signature::{session_secret_key, widget_result_signature, widget_signature};
use crate::provider::{PublishWidget, WidgetPost};

/// Where the widget lives unless the provider entry names another `widget_url`.
pub const DEFAULT_URL: &str = "https://connect.ok.ru/dk";

impl Odnoklassniki {
    /// The secret a widget request is signed with.
    fn widget_secret(&self, access_token: Option<&SecretString>) -> String {
        let app_secret = self.secret_key.expose_secret();
        match access_token {
            Some(token) => session_secret_key(token.expose_secret(), app_secret),
            None => app_secret.to_string(),
        }
    }
}

impl PublishWidget for Odnoklassniki {
    fn post_url(&self, post: &WidgetPost) -> Result<Url, String> {
        attachment::check(&post.attachment).map_err(|e| format!("attachment: {e}"))?;
        // Compact JSON, signed as it goes into the URL (before URL-encoding).
        let attachment = post.attachment.to_string();
        let secret = self.widget_secret(post.access_token.as_ref());
        let signature = widget_signature(&attachment, post.return_url.as_deref(), &secret);
        let mut url = self.widget_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("st.cmd", "WidgetMediatopicPost")
                .append_pair("st.app", &self.app_id)
                .append_pair("st.attachment", &attachment)
                .append_pair("st.signature", &signature);
            if let Some(back) = &post.return_url {
                q.append_pair("st.return", back);
            }
            if let Some(group) = &post.group_id {
                q.append_pair("st.groupId", group);
            }
            if let Some(token) = &post.access_token {
                q.append_pair("st.access_token", token.expose_secret());
            }
            for (name, on) in &post.switches {
                q.append_pair(&format!("st.{name}"), if *on { "on" } else { "off" });
            }
        }
        Ok(url)
    }

    fn check_result(
        &self,
        id: &str,
        signature: &str,
        access_token: Option<&SecretString>,
    ) -> Result<(), String> {
        let expected = widget_result_signature(id, &self.widget_secret(access_token));
        if !bool::from(signature.as_bytes().ct_eq(expected.as_bytes())) {
            return Err("the signature does not match the id".into());
        }
        // OK answers id 0 when the app is not approved for the widget.
        if id == "0" {
            return Err("id 0: OK has not approved this app for the publish widget".into());
        }
        Ok(())
    }
}

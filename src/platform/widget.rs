//! A network's publish widget for a site (OK's `WidgetMediatopicPost`): the signed URL the
//! site opens, and the check of the result the network sends back to the site.

use crate::config::ClientConfig;
use crate::gateway::Gateway;
use crate::oidc::clients::provider_for;
use crate::oidc::error::{Error, TokenErrorCode};
use crate::provider::{PublishWidget, WidgetPost};
use secrecy::SecretString;

/// The publish widget of `provider`, which `client` must be allowed to use.
fn widget_of<'g>(
    gw: &'g Gateway,
    client: &ClientConfig,
    provider: &str,
) -> Result<&'g dyn PublishWidget, Error> {
    let configured = provider_for(gw, client, provider)?;
    configured.protocol.publish_widget().ok_or_else(|| {
        Error::token(
            TokenErrorCode::InvalidRequest,
            format!("{} has no publish widget", configured.display_name),
        )
    })
}

/// The signed widget URL for `post`. Its return URL must be one the client registered: the
/// widget sends the person there.
pub fn post_url(
    gw: &Gateway,
    client: &ClientConfig,
    provider: &str,
    post: &WidgetPost,
) -> Result<String, Error> {
    let widget = widget_of(gw, client, provider)?;
    if let Some(back) = &post.return_url {
        if !client.redirect_uris.contains(back) {
            return Err(Error::token(
                TokenErrorCode::InvalidRequest,
                "return_url is not one of the client's redirect_uris",
            ));
        }
    }
    let url = widget
        .post_url(post)
        .map_err(|why| Error::token(TokenErrorCode::InvalidRequest, why))?;
    Ok(url.to_string())
}

/// Whether a widget result (`id`, `signature`) the site received is genuine; `Err` inside
/// says why not.
pub fn check_result(
    gw: &Gateway,
    client: &ClientConfig,
    provider: &str,
    id: &str,
    signature: &str,
    access_token: Option<&SecretString>,
) -> Result<Result<(), String>, Error> {
    let widget = widget_of(gw, client, provider)?;
    Ok(widget.check_result(id, signature, access_token))
}

//! The publish widget's endpoints (`/api/{provider}/widget`, `/api/{provider}/widget/verify`):
//! a site sends the post it wants (JSON, or a form with the attachment as JSON text) and
//! gets the signed URL to open; then it asks whether the result it received is genuine.

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::errors::{TokenEndpointError, no_store};
use super::extract::ClientApi;
use super::extract::Gw;
use crate::oidc::error::{Error, TokenErrorCode};
use crate::platform::widget;
use crate::provider::WidgetPost;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/{provider}/widget", post(post_url))
        .route("/api/{provider}/widget/verify", post(verify))
}

/// The attachment as a JSON object, or (from a form) as JSON text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Attachment {
    Object(serde_json::Map<String, Value>),
    Text(String),
}

/// An on/off switch: a JSON boolean, or `on`/`off` (`true`/`false`, `1`/`0`) in a form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Switch {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
pub(super) struct WidgetForm {
    attachment: Option<Attachment>,
    return_url: Option<String>,
    group_id: Option<String>,
    popup: Option<Switch>,
    silent: Option<Switch>,
    utext: Option<Switch>,
    nohead: Option<Switch>,
    access_token: Option<String>,
}

fn invalid(why: impl Into<String>) -> Error {
    Error::token(TokenErrorCode::InvalidRequest, why)
}

impl TryFrom<WidgetForm> for WidgetPost {
    type Error = Error;

    fn try_from(form: WidgetForm) -> Result<Self, Error> {
        let attachment = match form
            .attachment
            .ok_or_else(|| invalid("attachment is missing"))?
        {
            Attachment::Object(map) => Value::Object(map),
            Attachment::Text(text) => serde_json::from_str(&text)
                .map_err(|e| invalid(format!("attachment is not JSON: {e}")))?,
        };
        let mut switches = Vec::new();
        for (name, switch) in [
            ("popup", form.popup),
            ("silent", form.silent),
            ("utext", form.utext),
            ("nohead", form.nohead),
        ] {
            let on = match switch {
                None => continue,
                Some(Switch::Bool(b)) => b,
                Some(Switch::Text(t)) => match t.as_str() {
                    "on" | "true" | "1" => true,
                    "off" | "false" | "0" => false,
                    _ => return Err(invalid(format!("{name} must be on or off"))),
                },
            };
            switches.push((name, on));
        }
        let present = |v: Option<String>| v.filter(|v| !v.is_empty());
        Ok(WidgetPost {
            attachment,
            return_url: present(form.return_url),
            group_id: present(form.group_id),
            switches,
            access_token: present(form.access_token).map(SecretString::from),
        })
    }
}

/// `POST /api/{provider}/widget`: `{"url": "…"}`, the signed widget URL to open.
async fn post_url(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    ClientApi(request): ClientApi<WidgetForm>,
) -> Result<Response, TokenEndpointError> {
    let client = request.client(&gw).await?;
    let post = WidgetPost::try_from(request.form)?;
    let url = widget::post_url(&gw, client, &provider, &post)?;
    Ok((no_store(), Json(json!({ "url": url }))).into_response())
}

#[derive(Deserialize)]
struct ResultForm {
    id: Option<String>,
    signature: Option<String>,
    access_token: Option<String>,
}

/// `POST /api/{provider}/widget/verify`: `{"genuine": true}`, or `false` with the reason.
async fn verify(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    ClientApi(request): ClientApi<ResultForm>,
) -> Result<Response, TokenEndpointError> {
    let client = request.client(&gw).await?;
    let form = request.form;
    let id = form.id.ok_or_else(|| invalid("id is missing"))?;
    let signature = form
        .signature
        .ok_or_else(|| invalid("signature is missing"))?;
    let token = form.access_token.map(SecretString::from);
    let answer =
        match widget::check_result(&gw, client, &provider, &id, &signature, token.as_ref())? {
            Ok(()) => json!({ "genuine": true }),
            Err(reason) => json!({ "genuine": false, "reason": reason }),
        };
    Ok((no_store(), Json(answer)).into_response())
}

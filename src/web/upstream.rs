//! The upstream token broker's endpoints: `GET /api/upstream/token` and
//! `POST /api/upstream/{provider}/call`, both with the person's access token from the
//! gateway as the bearer.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::errors::{ApiError, no_store};
use super::extract::BearerToken;
use super::extract::Gw;
use crate::oidc::error::{Error, TokenErrorCode};
use crate::platform::upstream;
use crate::primitives::now;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/upstream/token", get(token))
        .route("/api/upstream/{provider}/call", post(call))
}

async fn token(Gw(gw): Gw, BearerToken(bearer): BearerToken) -> Result<Response, ApiError> {
    let kept = upstream::token(&gw, &bearer).await?;
    let mut answer = json!({
        "provider": kept.provider.as_str(),
        "access_token": kept.tokens.access_token.expose_secret(),
    });
    if let Some(at) = kept.tokens.expires_at {
        answer["expires_in"] = at.saturating_sub(now()).into();
    }
    Ok((no_store(), Json(answer)).into_response())
}

#[derive(Deserialize)]
struct CallBody {
    method: String,
    #[serde(default)]
    params: Map<String, Value>,
}

async fn call(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    BearerToken(bearer): BearerToken,
    body: Result<Json<CallBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        Error::token(
            TokenErrorCode::InvalidRequest,
            format!(
                "the body must be JSON like {{\"method\": …, \"params\": {{…}}}}: {}",
                e.body_text()
            ),
        )
    })?;
    let answer = upstream::call(&gw, &bearer, &provider, &body.method, &body.params).await?;
    Ok((no_store(), Json(answer)).into_response())
}

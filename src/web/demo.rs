//! The demo network's pages (the form where a person types any name) and the built-in demo
//! site's callback, routed only here: the rest of the web layer does not know the demo.

use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::errors::BrowserError;
use super::extract::Gw;
use super::pages::{self, Lang};
use crate::demo_site;
use crate::gateway::Gateway;
use crate::oidc::error::PageError;
use crate::provider::ConfiguredProvider;
use crate::provider::demo::{self, DemoError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/{provider}", get(demo_form).post(demo_submit))
        .route(demo_site::CALLBACK_PATH, get(demo_site_callback))
}

#[derive(Deserialize)]
struct DemoSiteCallback {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The built-in demo site's redirect URI: shows what a site would receive.
async fn demo_site_callback(
    Gw(gw): Gw,
    lang: Lang,
    Query(q): Query<DemoSiteCallback>,
) -> Result<Response, BrowserError> {
    let Some(client) = demo_site::client(&gw) else {
        return Err(PageError::UnknownClient.into());
    };
    let shown = demo_site::show(&gw, q.code, q.error, q.error_description).await?;
    Ok(pages::demo_site_page(
        lang,
        client.client_id.as_str(),
        &shown,
    ))
}

#[derive(Deserialize)]
struct DemoQuery {
    state: Option<String>,
}

#[derive(Deserialize)]
struct DemoForm {
    state: String,
    name: String,
    #[serde(default)]
    email: String,
}

fn demo_provider<'g>(gw: &'g Gateway, name: &str) -> Result<&'g ConfiguredProvider, BrowserError> {
    gw.providers
        .get(name)
        .filter(|p| p.is_demo)
        .ok_or_else(|| PageError::UnknownProvider.into())
}

async fn demo_form(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    lang: Lang,
    Query(q): Query<DemoQuery>,
) -> Result<Response, BrowserError> {
    let p = demo_provider(&gw, &provider)?;
    let state = q.state.ok_or(PageError::BadState)?;
    Ok(pages::demo_page(
        lang,
        &format!("/demo/{}", p.name),
        &state,
        false,
    ))
}

async fn demo_submit(
    Gw(gw): Gw,
    Path(provider): Path<String>,
    lang: Lang,
    Form(form): Form<DemoForm>,
) -> Result<Response, BrowserError> {
    let p = demo_provider(&gw, &provider)?;
    let completed = demo::complete(
        gw.store.as_ref(),
        &gw.config.server.issuer,
        &p.name,
        &form.state,
        &form.name,
        &form.email,
    )
    .await;
    match completed {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        // The form again, saying what to fix.
        Err(DemoError::BlankName) => Ok(pages::demo_page(
            lang,
            &format!("/demo/{}", p.name),
            &form.state,
            true,
        )),
        Err(DemoError::Store(e)) => Err(e.into()),
    }
}

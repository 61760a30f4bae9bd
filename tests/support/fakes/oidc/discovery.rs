//! The OpenID Connect fake's discovery documents (at the flavour's paths, Entra's per tenant)
//! and its JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::flavour::{Flavour, MULTI_TENANT};
use super::{Behaviour, Shared, html_page};

pub async fn discovery(State(sh): State<Arc<Shared>>) -> Response {
    discovery_document(&sh, None)
}

pub async fn discovery_tenant(
    State(sh): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    discovery_document(&sh, Some(&tenant))
}

fn discovery_document(sh: &Shared, tenant: Option<&str>) -> Response {
    let (behaviour, tid) = {
        let mut st = sh.lock();
        st.rec.bump("discovery");
        (st.behaviour, st.person.tenant())
    };
    if behaviour == Behaviour::DiscoveryHttp500 {
        return html_page(StatusCode::INTERNAL_SERVER_ERROR, "500. That’s an error.");
    }
    let cfg = &sh.config;
    let base = &cfg.base_url;
    let (issuer, segment) = match (cfg.flavour, tenant) {
        (Flavour::Microsoft, Some(t)) if MULTI_TENANT.contains(&t) => {
            // Literally `{tenantid}`: the relying party substitutes the token's `tid`.
            (format!("{base}/{{tenantid}}/v2.0"), t.to_owned())
        }
        // A named tenant resolves to its GUID, in the issuer and the endpoints alike.
        (Flavour::Microsoft, _) => (format!("{base}/{tid}/v2.0"), tid),
        _ => (base.clone(), String::new()),
    };
    let ep = cfg.flavour.endpoints(base, &segment);
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": ep.authorization,
        "token_endpoint": ep.token,
        "userinfo_endpoint": ep.userinfo,
        "jwks_uri": ep.jwks,
        "response_types_supported": ["code"],
        "subject_types_supported": [if cfg.flavour == Flavour::Microsoft { "pairwise" } else { "public" }],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": cfg.flavour.supported_scopes(),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "claims_supported": cfg.flavour.claims_supported(),
        "grant_types_supported": ["authorization_code", "refresh_token"],
    });
    if cfg.flavour == Flavour::Microsoft {
        // Harmless Entra extras.
        doc["tenant_region_scope"] = json!(null);
        doc["cloud_instance_name"] = json!("microsoftonline.com");
        doc["response_modes_supported"] = json!(["query", "fragment", "form_post"]);
    }
    (StatusCode::OK, Json(doc)).into_response()
}

pub async fn jwks(State(sh): State<Arc<Shared>>) -> Response {
    let key = {
        let mut st = sh.lock();
        st.rec.bump("jwks");
        st.key.clone()
    };
    (
        StatusCode::OK,
        // As the real ones: cacheable, so a relying party must refetch on an unknown kid.
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(json!({ "keys": [key.jwk()] })),
    )
        .into_response()
}

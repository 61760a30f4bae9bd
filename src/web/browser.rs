//! What the gateway keeps in a person's browser: the browser session (tower-sessions: the SSO
//! session id and the logout form's one-time token), and the cookie that binds a login to
//! the browser that started it (read with the `cookie` crate's parser).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::cookie::{Cookie, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use super::AppState;
use super::errors::BrowserError;
use super::extract::Gw;
use super::session_store::BrowserSessions;
use crate::gateway::Gateway;
use crate::oidc::types::{BrowserId, Sid};
use crate::store::StoreError;

/// The browser session's key holding the SSO session id.
const SID: &str = "sid";
/// The browser session's key holding the logout confirmation form's one-time token.
const LOGOUT_CSRF: &str = "logout_csrf";

/// The SSO session cookie: HttpOnly, SameSite=Lax (it must come along on the network's
/// redirect back), Secure and `__Host-` on https; it idles out with the session.
pub fn session_layer(gw: &Gateway) -> SessionManagerLayer<BrowserSessions> {
    let https = gw.config.server.issuer.is_https();
    let idle = time::Duration::try_from(gw.config.session.idle_timeout)
        .unwrap_or(time::Duration::hours(8));
    SessionManagerLayer::new(BrowserSessions::new(gw.store.clone()))
        .with_name(if https {
            "__Host-socialgate_session"
        } else {
            "socialgate_session"
        })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every visit restarts the idle timer, not only changes.
        .with_always_save(true)
}

/// tower-sessions answers a browser session it could not save after the handler (the store
/// unreachable at that moment, as during a Redis failover) with a bare, empty 500. Every
/// other store failure is a 503 the person can retry, and so is this one.
pub async fn unsaved_session_is_unavailable(response: Response) -> Response {
    use axum::body::HttpBody;
    let bare = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.headers().is_empty()
        && response.body().size_hint().exact() == Some(0);
    if !bare {
        return response;
    }
    BrowserError::from(StoreError::Unavailable(
        "the browser session could not be saved".into(),
    ))
    .into_response()
}

/// The person's browser: its session, and the id binding logins to it if it holds one.
pub struct Browser {
    session: Session,
    binding: Option<BrowserId>,
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = (axum::http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        let gw = &Gw::of(parts, state);
        // The first well-formed one: a second cookie of the same name (planted by a sibling
        // host on plain http) does not displace it.
        let name = binding_cookie_name(gw);
        let binding = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| Cookie::split_parse(v).flatten())
            .filter(|c| c.name() == name)
            .find_map(|c| BrowserId::parse(c.value()));
        Ok(Browser { session, binding })
    }
}

fn session_error(e: tower_sessions::session::Error) -> BrowserError {
    StoreError::Unavailable(e.to_string()).into()
}

impl Browser {
    /// The SSO session this browser is logged in with, if any.
    pub async fn sid(&self) -> Result<Option<Sid>, BrowserError> {
        let sid: Option<String> = self.session.get(SID).await.map_err(session_error)?;
        Ok(sid.map(Sid::new))
    }

    /// Points the browser at SSO session `sid` under a new cookie value: every network
    /// login renews it, so a cookie planted or copied before the login (session fixation)
    /// is worthless after it.
    pub async fn log_in(&self, sid: &Sid) -> Result<(), BrowserError> {
        self.session.cycle_id().await.map_err(session_error)?;
        self.session
            .insert(SID, sid.as_str())
            .await
            .map_err(session_error)?;
        self.save().await
    }

    /// Saves the browser session now, so a store failure becomes our 503 page; the session
    /// layer, saving after the handler, could only replace the response with a blank 500.
    pub async fn save(&self) -> Result<(), BrowserError> {
        self.session.save().await.map_err(session_error)
    }

    /// Forgets everything the session held (logout).
    pub async fn end(&self) -> Result<(), BrowserError> {
        self.session.flush().await.map_err(session_error)
    }

    /// Remembers the one-time token of the logout form just shown.
    pub async fn expect_logout_confirmation(&self, csrf: &str) -> Result<(), BrowserError> {
        self.session
            .insert(LOGOUT_CSRF, csrf)
            .await
            .map_err(session_error)
    }

    /// Whether this request is the person's click on the gateway's own logout form: a POST
    /// carrying the one-time token this browser's session holds, which is used up then.
    pub async fn confirms_logout(
        &self,
        method: &Method,
        given: Option<&str>,
    ) -> Result<bool, BrowserError> {
        let Some(given) = given.filter(|_| *method == Method::POST) else {
            return Ok(false);
        };
        let expected: Option<String> = self
            .session
            .remove(LOGOUT_CSRF)
            .await
            .map_err(session_error)?;
        Ok(expected.is_some_and(|e| e.as_bytes().ct_eq(given.as_bytes()).into()))
    }

    /// The id binding logins to this browser, if it holds a well-formed one.
    pub fn binding(&self) -> Option<&BrowserId> {
        self.binding.as_ref()
    }

    /// Gives the browser its binding id, on `response`. Lax, so it comes along on the
    /// network's top-level redirect back to the callback; `__Host-` pins it to this exact
    /// origin on https. Written as one header, in the attribute order it has always had.
    pub fn bind(&self, gw: &Gateway, id: &BrowserId, response: &mut Response) {
        let secure = if gw.config.server.issuer.is_https() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
            binding_cookie_name(gw),
            id.as_str()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

fn binding_cookie_name(gw: &Gateway) -> &'static str {
    if gw.config.server.issuer.is_https() {
        "__Host-socialgate_browser"
    } else {
        "socialgate_browser"
    }
}

/// The issuer's own origin, for a gateway tried out on this machine (a loopback issuer).
#[derive(Clone)]
pub struct LoopbackIssuer {
    /// `host:port`, the port written out.
    authority: String,
    scheme: String,
    origin: String,
}

impl LoopbackIssuer {
    /// `None` unless the issuer is a loopback address: behind a real host name a proxy may
    /// forward another `Host`, and redirecting on it would loop.
    pub fn of(gw: &Gateway) -> Option<Self> {
        let url = url::Url::parse(gw.config.server.issuer.as_str()).ok()?;
        if !crate::provider::settings::is_loopback(&url) {
            return None;
        }
        let authority = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
        Some(LoopbackIssuer {
            authority,
            scheme: url.scheme().to_string(),
            origin: gw.config.server.issuer.as_str().to_string(),
        })
    }
}

/// A page asked for under another name of this machine (`localhost` for `127.0.0.1`) goes to
/// the issuer's own origin before any cookie is set: cookies belong to one host name, and a
/// login begun under another would fail at its last step ("started in another browser").
pub async fn stay_on_issuer(
    axum::extract::State(issuer): axum::extract::State<LoopbackIssuer>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    // `Host` may leave out the default port: compare as URLs do.
    let authority = host
        .and_then(|h| url::Url::parse(&format!("{}://{h}", issuer.scheme)).ok())
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)));
    match (host, authority) {
        (Some(_), Some(authority)) if !authority.eq_ignore_ascii_case(&issuer.authority) => {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::temporary(&format!("{}{path}", issuer.origin)).into_response()
        }
        _ => next.run(request).await,
    }
}

/// `pages`, sent to the issuer's origin first when they are asked for under another name of
/// this machine (see `stay_on_issuer`).
pub fn on_issuer_host(gw: &Gateway, pages: axum::Router<AppState>) -> axum::Router<AppState> {
    match LoopbackIssuer::of(gw) {
        Some(issuer) => pages.layer(axum::middleware::from_fn_with_state(issuer, stay_on_issuer)),
        None => pages,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    use super::unsaved_session_is_unavailable;

    #[tokio::test]
    async fn a_failed_session_save_is_a_503_and_other_answers_pass_through() {
        let mut bare = Response::default();
        *bare.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let mapped = unsaved_session_is_unavailable(bare).await;
        assert_eq!(mapped.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(mapped.headers().contains_key("content-type"));

        let page = (StatusCode::INTERNAL_SERVER_ERROR, "an error page").into_response();
        let kept = unsaved_session_is_unavailable(page).await;
        assert_eq!(kept.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let ok = unsaved_session_is_unavailable(Response::default()).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
}

//! Simulated people and sites: what a browser and a site's OIDC client do, checked as they
//! check it (state, the code's redirect, the id_token's signature, issuer, audience and nonce).
//! Every step's failure is an error naming the step, so a broken gateway cannot look fast.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64STD, URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::fake_ok;
use super::gateway::{FORUM, FORUM_REDIRECT, FORUM_SECRET, SHOP_REDIRECT, SHOP_SECRET};

/// A site registered at the gateway.
#[derive(Clone, Copy)]
pub struct Site {
    pub client_id: &'static str,
    pub secret: &'static str,
    pub redirect_uri: &'static str,
}

pub const FORUM_SITE: Site = Site {
    client_id: FORUM,
    secret: FORUM_SECRET,
    redirect_uri: FORUM_REDIRECT,
};

pub fn forum(client_id: &'static str) -> Site {
    Site {
        client_id,
        secret: FORUM_SECRET,
        redirect_uri: FORUM_REDIRECT,
    }
}

pub fn shop(client_id: &'static str) -> Site {
    Site {
        client_id,
        secret: SHOP_SECRET,
        redirect_uri: SHOP_REDIRECT,
    }
}

/// What every simulated person shares: the HTTP client (keep-alive connections to the
/// gateway), the gateway's JWKS as a site caches it, unique-value counters.
pub struct World {
    pub http: reqwest::Client,
    pub issuer: String,
    keys: RwLock<HashMap<String, (DecodingKey, Algorithm)>>,
    counter: AtomicU64,
}

/// One person's browser: the gateway's cookies.
#[derive(Default, Clone)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or("");
            let Some((name, v)) = pair.split_once('=') else {
                continue;
            };
            let gone = v.is_empty() || value.to_ascii_lowercase().contains("max-age=0");
            self.cookies.retain(|(k, _)| k != name);
            if !gone {
                self.cookies.push((name.to_owned(), v.to_owned()));
            }
        }
    }
}

/// What a site holds after a login.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// How many of the answer's tokens are signed JWTs.
    pub signatures: u32,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    id_token: String,
    refresh_token: Option<String>,
}

impl World {
    pub fn new(issuer: &str) -> World {
        World {
            http: client(),
            issuer: issuer.to_owned(),
            keys: RwLock::default(),
            counter: AtomicU64::new(1),
        }
    }

    fn unique(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::digest(format!("{}:{n}", std::process::id()));
        B64.encode(&digest[..24])
    }

    pub fn next_number(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// `GET url` with the browser's cookies; the redirect's target.
    async fn redirect(&self, browser: &mut Browser, url: &str, step: &str) -> anyhow::Result<Url> {
        let mut request = self.http.get(url);
        if !browser.cookies.is_empty() {
            request = request.header(COOKIE, browser.header());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{step}: no answer"))?;
        browser.take(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if status == StatusCode::FOUND || status == StatusCode::SEE_OTHER => {
                Url::parse(&location).with_context(|| format!("{step}: bad Location"))
            }
            _ => {
                let body = response.text().await.unwrap_or_default();
                bail!("{step}: expected a redirect, got {status}: {body:.300}")
            }
        }
    }

    /// `/authorize` for `site`: (redirect target, state, nonce, PKCE verifier).
    async fn authorize(
        &self,
        browser: &mut Browser,
        site: Site,
        scope: &str,
    ) -> anyhow::Result<(Url, String, String, String)> {
        let (state, nonce, verifier) = (self.unique(), self.unique(), self.unique());
        let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = Url::parse(&format!("{}/authorize", self.issuer))?;
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", site.client_id),
            ("redirect_uri", site.redirect_uri),
            ("scope", scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("provider", "ok"),
        ]);
        let target = self.redirect(browser, url.as_str(), "/authorize").await?;
        Ok((target, state, nonce, verifier))
    }

    /// The person logs in at OK (as person `uid`) and comes back: ends with a gateway session.
    async fn through_ok(
        &self,
        browser: &mut Browser,
        at_ok: &Url,
        uid: u64,
    ) -> anyhow::Result<Url> {
        let upstream_state = param(at_ok, "state").context("the redirect to OK has no state")?;
        let code = fake_ok::code_for(uid, self.next_number());
        let mut callback = Url::parse(&format!("{}/callback/ok", self.issuer))?;
        callback
            .query_pairs_mut()
            .extend_pairs([("code", code.as_str()), ("state", upstream_state.as_str())]);
        self.redirect(browser, callback.as_str(), "/callback/ok")
            .await
    }

    /// The complete brokered login of a new person `uid` at `site`.
    pub async fn login(
        &self,
        browser: &mut Browser,
        site: Site,
        uid: u64,
        scope: &str,
    ) -> anyhow::Result<Tokens> {
        let (at_ok, state, nonce, verifier) = self.authorize(browser, site, scope).await?;
        ensure!(
            at_ok.path().ends_with("/oauth/authorize"),
            "/authorize did not send the person to OK: {at_ok}"
        );
        let back = self.through_ok(browser, &at_ok, uid).await?;
        self.finish(site, &back, &state, &nonce, &verifier).await
    }

    /// Steps 1–2 of a login only: the person has a gateway session, the site no tokens.
    pub async fn session_only(
        &self,
        browser: &mut Browser,
        site: Site,
        uid: u64,
    ) -> anyhow::Result<()> {
        let (at_ok, ..) = self.authorize(browser, site, "openid").await?;
        let back = self.through_ok(browser, &at_ok, uid).await?;
        ensure!(
            param(&back, "code").is_some(),
            "no code after the network login: {back}"
        );
        Ok(())
    }

    /// A login at a second site with the person's gateway session: no network involved.
    pub async fn sso_login(&self, browser: &mut Browser) -> anyhow::Result<Tokens> {
        let site = FORUM_SITE;
        let (back, state, nonce, verifier) = self
            .authorize(browser, site, "openid profile email")
            .await?;
        self.finish(site, &back, &state, &nonce, &verifier).await
    }

    /// The site's side: the code at its redirect URI → `/token` → id_token checked →
    /// `/userinfo`.
    async fn finish(
        &self,
        site: Site,
        back: &Url,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> anyhow::Result<Tokens> {
        ensure!(
            back.as_str().starts_with(site.redirect_uri),
            "the login ended elsewhere than the site: {back}"
        );
        ensure!(
            param(back, "state").as_deref() == Some(state),
            "state mismatch: {back}"
        );
        let code = param(back, "code").with_context(|| format!("no code: {back}"))?;
        let answer = self
            .token(
                site,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", site.redirect_uri),
                    ("code_verifier", verifier),
                ],
            )
            .await?;
        let tokens = self.check(site, answer, Some(nonce)).await?;
        self.userinfo(&tokens.access_token).await?;
        Ok(tokens)
    }

    pub async fn refresh(&self, site: Site, refresh_token: &str) -> anyhow::Result<Tokens> {
        let answer = self
            .token(
                site,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await?;
        self.check(site, answer, None).await
    }

    async fn token(&self, site: Site, form: &[(&str, &str)]) -> anyhow::Result<TokenAnswer> {
        let basic = B64STD.encode(format!("{}:{}", site.client_id, site.secret));
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .header(AUTHORIZATION, format!("Basic {basic}"))
            .form(form)
            .send()
            .await
            .context("/token: no answer")?;
        let status = response.status();
        let body = response.bytes().await.context("/token: no body")?;
        ensure!(
            status == StatusCode::OK,
            "/token: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).context("/token: not a token answer")
    }

    /// The id_token as the site checks it: signature with the JWKS key its `kid` names,
    /// issuer, audience, expiry, nonce.
    async fn check(
        &self,
        site: Site,
        answer: TokenAnswer,
        nonce: Option<&str>,
    ) -> anyhow::Result<Tokens> {
        let header = jsonwebtoken::decode_header(&answer.id_token).context("id_token header")?;
        let kid = header.kid.context("id_token without kid")?;
        if !self.keys.read().unwrap().contains_key(&kid) {
            self.fetch_jwks().await?;
        }
        let keys = self.keys.read().unwrap();
        let (key, alg) = keys.get(&kid).context("id_token kid not in the JWKS")?;
        ensure!(
            header.alg == *alg,
            "id_token alg {:?} is not its key's",
            header.alg
        );
        let mut validation = Validation::new(*alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[site.client_id]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(&answer.id_token, key, &validation)
            .context("the id_token does not verify")?
            .claims;
        if let Some(nonce) = nonce {
            ensure!(claims["nonce"] == nonce, "id_token nonce mismatch");
        }
        let signatures = [&answer.id_token, &answer.access_token]
            .iter()
            .filter(|t| t.split('.').count() == 3)
            .count() as u32;
        Ok(Tokens {
            access_token: answer.access_token,
            refresh_token: answer.refresh_token,
            signatures,
        })
    }

    async fn userinfo(&self, access_token: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .get(format!("{}/userinfo", self.issuer))
            .bearer_auth(access_token)
            .send()
            .await
            .context("/userinfo: no answer")?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.context("/userinfo: not JSON")?;
        ensure!(status == StatusCode::OK, "/userinfo: {status}: {body}");
        ensure!(
            body["sub"].as_str().is_some_and(|s| s.starts_with("ok:")),
            "/userinfo: no sub"
        );
        Ok(())
    }

    pub async fn fetch_jwks(&self) -> anyhow::Result<()> {
        let jwks: serde_json::Value = self.get_json("/jwks").await?;
        let mut keys = self.keys.write().unwrap();
        for jwk in jwks["keys"].as_array().context("JWKS without keys")? {
            let kid = jwk["kid"].as_str().context("JWK without kid")?.to_owned();
            let parsed = match jwk["kty"].as_str() {
                Some("RSA") => (
                    DecodingKey::from_rsa_components(
                        jwk["n"].as_str().context("n")?,
                        jwk["e"].as_str().context("e")?,
                    )?,
                    Algorithm::RS256,
                ),
                Some("EC") => (
                    DecodingKey::from_ec_components(
                        jwk["x"].as_str().context("x")?,
                        jwk["y"].as_str().context("y")?,
                    )?,
                    Algorithm::ES256,
                ),
                other => bail!("JWK of unknown type {other:?}"),
            };
            keys.insert(kid, parsed);
        }
        Ok(())
    }

    /// `GET path` on the gateway, expecting 200 and JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.issuer))
            .send()
            .await
            .with_context(|| format!("{path}: no answer"))?;
        let status = response.status();
        ensure!(status == StatusCode::OK, "{path}: {status}");
        response
            .json()
            .await
            .with_context(|| format!("{path}: not JSON"))
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Keep-alive connections, no redirects followed (each person's are followed by hand, with
/// their own cookies).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()
        .expect("an HTTP client")
}

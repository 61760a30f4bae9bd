//! The WordPress "OpenID Connect Generic Client" plugin (3.10.x), replayed request by request
//! as its code makes them: no discovery, no PKCE, no nonce; the authorize URL formatted with
//! `rawurlencode`; a token request POSTed with the `scope` and a `Host` header; userinfo by POST
//! with only the Bearer header; the claims read from the id_token's payload without checking
//! it (the gateway's own checks are all the protection such a site has).

mod support;

use serde_json::Value;
use support::*;

/// PHP's `rawurlencode`: everything but `A-Za-z0-9-_.~` percent-encoded.
fn rawurlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The plugin's state: `md5( mt_rand() . microtime( true ) )`, 32 hex characters.
const STATE: &str = "0cc175b9c0f1b6a831c399e269772661";
const SCOPE: &str = "openid email profile";

/// What the plugin's settings hold: the endpoints typed in by hand.
struct Plugin {
    login: String,
    token: String,
    userinfo: String,
}

impl Plugin {
    fn new(gw: &TestGateway) -> Self {
        Plugin {
            login: format!("{}/authorize", gw.issuer),
            token: format!("{}/token", gw.issuer),
            userinfo: format!("{}/userinfo", gw.issuer),
        }
    }

    /// `get_authentication_url()`: its own format string, its own encoding.
    fn authentication_url(&self, provider_login: &str) -> String {
        format!(
            "{}?response_type=code&scope={}&client_id={}&state={STATE}&redirect_uri={}{provider_login}",
            self.login,
            rawurlencode(SCOPE),
            rawurlencode(SHOP),
            rawurlencode(WP_REDIRECT),
        )
    }

    /// `request_authentication_token()`: `wp_remote_post` with the body array and a `Host`
    /// header naming the token endpoint's host.
    async fn request_authentication_token(&self, code: &str) -> (u16, Value) {
        let host = url::Url::parse(&self.token).unwrap();
        let response = jarless()
            .post(&self.token)
            .header("host", host.host_str().unwrap())
            .form(&[
                ("code", code),
                ("client_id", SHOP),
                ("client_secret", SHOP_SECRET),
                ("redirect_uri", WP_REDIRECT),
                ("grant_type", "authorization_code"),
                ("scope", SCOPE),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// `request_userinfo()`: `wp_remote_post` with no body, the Bearer header and `Host`.
    async fn request_userinfo(&self, access_token: &str) -> (u16, Value) {
        let url = url::Url::parse(&self.userinfo).unwrap();
        let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let response = jarless()
            .post(&self.userinfo)
            .header("authorization", format!("Bearer {access_token}"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

/// `validate_token_response()`: an `id_token`, and `token_type` equal to `Bearer` in any case.
fn plugin_accepts(token_response: &Value) -> bool {
    token_response.get("id_token").is_some()
        && token_response["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("Bearer"))
}

#[tokio::test]
async fn the_wordpress_plugins_own_requests_log_a_person_in() {
    let gw = TestGateway::start().await;
    let plugin = Plugin::new(&gw);
    // The site's login button, with the network chosen on the gateway's page.
    let chooser = gw
        .browser
        .get(plugin.authentication_url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chooser.status(),
        200,
        "the gateway shows its network chooser"
    );
    let page = chooser.text().await.unwrap();
    assert!(page.contains("Log in with OK"), "{page}");

    let site = gw
        .follow(&plugin.authentication_url("&provider=ok"))
        .await
        .site();
    // The redirect keeps the plugin's own query and adds ours with `&`.
    assert!(
        site.as_str().starts_with(&format!("{WP_REDIRECT}&code=")),
        "{site}"
    );
    assert_eq!(param(&site, "state").as_deref(), Some(STATE));
    let code = param(&site, "code").unwrap();

    let (status, tokens) = plugin.request_authentication_token(&code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(plugin_accepts(&tokens), "{tokens}");
    // `get_id_token_claim()` reads the payload as it is; it requires `sub`.
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "ok:575123456789");
    assert_eq!(claims["email"], "ivan@example.ru");
    assert_eq!(claims["name"], "Иван Петров");
    assert!(claims.get("nonce").is_none());

    let (status, userinfo) = plugin
        .request_userinfo(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{userinfo}");
    assert_eq!(userinfo["sub"], claims["sub"]);
    assert_eq!(userinfo["email"], "ivan@example.ru");

    // The plugin retries nothing: a code it sends twice is refused the second time.
    let (status, again) = plugin.request_authentication_token(&code).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
    assert!(!plugin_accepts(&again));
}

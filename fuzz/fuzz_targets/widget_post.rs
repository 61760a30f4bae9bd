//! OK's publish widget (`POST /api/ok/widget`): a site's post as a form, or as JSON when the
//! input starts with `{`, read as the endpoint reads it once the site is authenticated: the
//! attachment checked against OK's rules, then signed. A refusal is an RFC 6749 error; what
//! is signed sends the person only to OK's widget and back to a registered URI.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socialgate::web::fuzzing;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let running = socialgate_fuzz::gateway();
    let gw = &running.gateway;
    let shop = gw.config.client("shop").expect("gateway.toml has the shop");
    let json = data.first() == Some(&b'{');
    match fuzzing::widget_post(gw, shop, "ok", data, json) {
        Ok(url) => {
            let url = Url::parse(&url).expect("a URL");
            assert_eq!(url.origin().ascii_serialization(), "https://connect.ok.ru");
            assert_eq!(url.path(), "/dk");
            let value = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v);
            assert_eq!(value("st.cmd").as_deref(), Some("WidgetMediatopicPost"));
            assert!(value("st.signature").is_some_and(|s| s.len() == 32));
            if let Some(back) = value("st.return") {
                assert!(shop.redirect_uris.iter().any(|u| *u == back), "{back}");
            }
        }
        Err(answer) => assert_eq!(answer.status, 400, "{answer:?}"),
    }
});

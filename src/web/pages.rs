//! The HTML pages people see: the provider chooser, error pages, logout, and the demo
//! network's form. Server-rendered (askama, auto-escaped), no JavaScript, Russian or English.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::demo_site::Shown;
use crate::oidc::error::SiteHome;
use crate::provider::ConfiguredProvider;
use crate::provider::descriptor::DEFAULT_BUTTON;

/// The page language, from `Accept-Language`: Russian when preferred over English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let mut best = (Lang::En, -1.0f32);
        for item in header.unwrap_or("").split(',') {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "ru" || tag.starts_with("ru-") {
                Lang::Ru
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }
}

pub struct Texts {
    title: &'static str,
    continue_to: &'static str,
    /// Quotation marks around a site's name.
    quotes: (&'static str, &'static str),
    with: &'static str,
    demo_warning: &'static str,
    demo_title: &'static str,
    demo_name: &'static str,
    demo_email: &'static str,
    demo_submit: &'static str,
    demo_blank_name: &'static str,
    logout_title: &'static str,
    logout_question: &'static str,
    logout_button: &'static str,
    logged_out_title: &'static str,
    logged_out: &'static str,
    demo_site_title: &'static str,
    demo_site_logged_in: &'static str,
    demo_site_claims: &'static str,
    demo_site_failed: &'static str,
    demo_site_again: &'static str,
    demo_site_logout: &'static str,
    home_tagline: &'static str,
    home_discovery: &'static str,
    home_try: &'static str,
    /// Before a site's quoted name, on the link back to it.
    back_to: &'static str,
    home_link: &'static str,
}

static EN: Texts = Texts {
    title: "Log in",
    continue_to: "to continue to",
    quotes: ("“", "”"),
    with: "Log in with",
    demo_warning: "Demo login for trying socialgate out: anyone can type any name. Never enable it on a real site.",
    demo_title: "Demo network",
    demo_name: "Name",
    demo_email: "Email (optional)",
    demo_submit: "Log in",
    demo_blank_name: "Type a name: a blank one would be everybody's account.",
    logout_title: "Log out",
    logout_question: "Log out of every site you entered through this login?",
    logout_button: "Log out",
    logged_out_title: "Logged out",
    logged_out: "You are logged out. Sites you entered through this login have been told to end your session.",
    demo_site_title: "Demo site",
    demo_site_logged_in: "Logged in",
    demo_site_claims: "The demo site received these claims in a verified id_token:",
    demo_site_failed: "Login failed",
    demo_site_again: "Log in again",
    demo_site_logout: "Log out",
    home_tagline: "The OpenID Connect gateway that lets sites log people in with their social network accounts.",
    home_discovery: "Discovery document for sites:",
    home_try: "Try the demo login",
    back_to: "Back to",
    home_link: "Go to the home page",
};

static RU: Texts = Texts {
    title: "Вход",
    continue_to: "для продолжения на сайте",
    quotes: ("«", "»"),
    with: "Войти через",
    demo_warning: "Демо-вход только для пробы socialgate: любой может ввести любое имя. Не включайте его на настоящем сайте.",
    demo_title: "Демо-сеть",
    demo_name: "Имя",
    demo_email: "Email (необязательно)",
    demo_submit: "Войти",
    demo_blank_name: "Введите имя: пустое имя было бы общим аккаунтом для всех.",
    logout_title: "Выход",
    logout_question: "Выйти со всех сайтов, на которые вы вошли через этот вход?",
    logout_button: "Выйти",
    logged_out_title: "Выход выполнен",
    logged_out: "Вы вышли. Сайты, на которые вы вошли через этот вход, получили уведомление о завершении сеанса.",
    demo_site_title: "Демо-сайт",
    demo_site_logged_in: "Вход выполнен",
    demo_site_claims: "Демо-сайт получил эти данные в проверенном id_token:",
    demo_site_failed: "Вход не выполнен",
    demo_site_again: "Войти ещё раз",
    demo_site_logout: "Выйти",
    home_tagline: "Шлюз OpenID Connect, через который сайты дают войти с аккаунтом социальной сети.",
    home_discovery: "Документ discovery для сайтов:",
    home_try: "Попробовать демо-вход",
    back_to: "Вернуться на сайт",
    home_link: "На главную страницу",
};

/// A provider button on the login page.
pub struct ProviderButton {
    pub label: String,
    /// Background and text: `#hex` colours, checked when the descriptor was loaded.
    pub color: String,
    pub text_color: String,
    pub href: String,
    pub demo: bool,
}

impl ProviderButton {
    pub fn new(provider: &ConfiguredProvider, lang: Lang, href: String) -> Self {
        ProviderButton {
            label: provider.label(lang == Lang::Ru).to_string(),
            color: provider
                .button_color
                .clone()
                .unwrap_or_else(|| DEFAULT_BUTTON.0.into()),
            text_color: provider
                .button_text_color
                .clone()
                .unwrap_or_else(|| DEFAULT_BUTTON.1.into()),
            href,
            demo: provider.is_demo,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    lang: &'a str,
    t: &'a Texts,
    client_name: &'a str,
    providers: &'a [ProviderButton],
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'a str,
    /// The language of the second part.
    other_lang: &'a str,
    /// The words in the browser's language, then in the other.
    first: &'a Words,
    second: &'a Words,
    /// The way out: (href, label).
    link: Option<(&'a str, String)>,
}

/// One language's words on an error page.
pub struct Words {
    pub title: &'static str,
    pub message: String,
    /// What the person can do now.
    pub advice: &'static str,
}

/// Where an error page leads the person.
pub enum WayOut<'a> {
    /// Back to a registered site (validated; see `SiteHome`).
    Site(&'a SiteHome),
    /// The gateway's home page.
    Home,
    /// Nowhere the gateway can vouch for: the advice says what to do.
    Advice,
}

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage<'a> {
    lang: &'a str,
    t: &'a Texts,
    action: &'a str,
    state: &'a str,
    /// The name sent was blank.
    blank_name: bool,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    lang: &'a str,
    t: &'a Texts,
    confirm: bool,
    fields: &'a [(&'a str, String)],
    /// Logged out: where to go next, (href, label).
    next: Option<(&'a str, String)>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    lang: &'a str,
    t: &'a Texts,
    discovery: &'a str,
    demo_start: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "demo_site.html")]
struct DemoSitePage<'a> {
    lang: &'a str,
    t: &'a Texts,
    /// Claims when logged in; else the error and its description.
    claims: &'a [(String, String)],
    failed: Option<(&'a str, &'a str)>,
    /// Sent with its logout, so the logged-out page leads back to it.
    client_id: &'a str,
}

pub fn home_page(lang: Lang, discovery: &str, demo_start: Option<&str>) -> Response {
    let page = HomePage {
        lang: lang.code(),
        t: lang.texts(),
        discovery,
        demo_start,
    };
    html(StatusCode::OK, page.render())
}

pub fn demo_site_page(lang: Lang, client_id: &str, shown: &Shown) -> Response {
    let (claims, failed, status) = match shown {
        Shown::LoggedIn(claims) => (claims.as_slice(), None, StatusCode::OK),
        Shown::Failed { error, description } => (
            &[][..],
            Some((error.as_str(), description.as_str())),
            StatusCode::BAD_REQUEST,
        ),
    };
    let page = DemoSitePage {
        lang: lang.code(),
        t: lang.texts(),
        claims,
        failed,
        client_id,
    };
    html(status, page.render())
}

fn html(status: StatusCode, rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn login_page(lang: Lang, client_name: &str, providers: &[ProviderButton]) -> Response {
    let page = LoginPage {
        lang: lang.code(),
        t: lang.texts(),
        client_name,
        providers,
    };
    html(StatusCode::OK, page.render())
}

/// The demo network's form; `blank_name`: shown again because the name sent was blank.
pub fn demo_page(lang: Lang, action: &str, state: &str, blank_name: bool) -> Response {
    let page = DemoPage {
        lang: lang.code(),
        t: lang.texts(),
        action,
        state,
        blank_name,
    };
    let status = if blank_name {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(status, page.render())
}

/// Asks before logging out (the request did not prove it came from a site the person
/// uses); the form POSTs the same parameters back, `confirm` holding the one-time token.
pub fn logout_confirm_page(lang: Lang, fields: &[(&str, String)]) -> Response {
    let page = LogoutPage {
        lang: lang.code(),
        t: lang.texts(),
        confirm: true,
        fields,
        next: None,
    };
    html(StatusCode::OK, page.render())
}

/// Logged out, and no page of the site to go to: back to the site the request named, else
/// the gateway's home page.
pub fn logged_out_page(lang: Lang, site: Option<&SiteHome>) -> Response {
    let way = match site {
        Some(site) => WayOut::Site(site),
        None => WayOut::Home,
    };
    let page = LogoutPage {
        lang: lang.code(),
        t: lang.texts(),
        confirm: false,
        fields: &[],
        next: link(lang, &way),
    };
    html(StatusCode::OK, page.render())
}

/// The link an error or logged-out page ends with: (href, label in `lang`).
fn link<'a>(lang: Lang, way: &WayOut<'a>) -> Option<(&'a str, String)> {
    let t = lang.texts();
    match way {
        WayOut::Site(site) => Some((
            site.url.as_str(),
            format!("{} {}{}{}", t.back_to, t.quotes.0, site.name, t.quotes.1),
        )),
        WayOut::Home => Some(("/", t.home_link.to_string())),
        WayOut::Advice => None,
    }
}

tokio::task_local! {
    /// The language the request's browser prefers, for pages made far from its handler
    /// (error pages, rendered from an error wherever it arose).
    static PAGE_LANG: Lang;
}

/// Runs a request's handling with its browser's language known to the pages it makes.
pub async fn in_language<F: std::future::Future>(lang: Lang, handling: F) -> F::Output {
    PAGE_LANG.scope(lang, handling).await
}

/// An error page in both languages, the browser's first (Russian when it is not known),
/// ending with the way out in the browser's language.
pub fn error_page(status: StatusCode, en: &Words, ru: &Words, way: WayOut) -> Response {
    let lang = PAGE_LANG.try_with(|l| *l).unwrap_or(Lang::Ru);
    let (first, second, other) = match lang {
        Lang::En => (en, ru, Lang::Ru),
        Lang::Ru => (ru, en, Lang::En),
    };
    let page = ErrorPage {
        lang: lang.code(),
        other_lang: other.code(),
        first,
        second,
        link: link(lang, &way),
    };
    html(status, page.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_accept_language_preference() {
        assert_eq!(
            Lang::from_accept_language(Some("ru-RU,ru;q=0.9,en;q=0.8")),
            Lang::Ru
        );
        assert_eq!(
            Lang::from_accept_language(Some("en-US,en;q=0.9,ru;q=0.5")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("de, ru;q=0.3")), Lang::Ru);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
    }
}

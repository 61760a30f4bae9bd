//! Claim normalization: a network's profile JSON, read through its descriptor's claim map,
//! becomes an `Identity` with OIDC claim names and formats.

use super::descriptor::{ClaimMap, DateFormat, EmailVerified};
use super::{Identity, ProviderName, UpstreamError};

/// Reads a profile JSON object into an `Identity`. Values may be strings or numbers
/// upstream; empty strings count as absent.
pub fn map_claims(
    provider: &ProviderName,
    network: &str,
    claims: &ClaimMap,
    profile: &serde_json::Value,
) -> Result<Identity, UpstreamError> {
    let field = |path: &Option<String>| path.as_deref().and_then(|p| render(profile, p));
    let provider_user_id =
        render(profile, &claims.provider_user_id).ok_or_else(|| UpstreamError::Malformed {
            network: network.to_string(),
            detail: format!("the profile has no `{}`", claims.provider_user_id),
        })?;
    let email = field(&claims.email).filter(|e| looks_like_email(e));
    let email_verified = email.is_some()
        && match &claims.email_verified {
            EmailVerified::Always(v) => *v,
            EmailVerified::Field(path) => is_true(profile, path),
        };
    let gender = field(&claims.gender).and_then(|g| {
        if claims.gender_values.is_empty() {
            Some(g)
        } else {
            claims.gender_values.get(&g).cloned()
        }
    });
    let identity = Identity {
        provider: provider.clone(),
        provider_user_id,
        name: field(&claims.name),
        given_name: field(&claims.given_name),
        family_name: field(&claims.family_name),
        picture: field(&claims.picture).filter(|p| p.starts_with("https://")),
        // BCP 47 (`ru-RU`), as OIDC writes it; some networks send `ru_RU`.
        locale: field(&claims.locale).map(|l| l.replace('_', "-")),
        gender,
        birthdate: field(&claims.birthdate)
            .and_then(|b| normalize_birthdate(&b, claims.birthdate_format)),
        email,
        email_verified,
    };
    Ok(with_full_name(identity))
}

/// A dotted path (`user.id`) into a JSON object, as a string.
pub fn lookup(value: &serde_json::Value, path: &str) -> Option<String> {
    let v = path.split('.').try_fold(value, |v, key| v.get(key))?;
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `true` as JSON, or the string `"true"` some networks send.
fn is_true(value: &serde_json::Value, path: &str) -> bool {
    match path.split('.').try_fold(value, |v, key| v.get(key)) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    }
}

/// A path, or a template with `{path}` pieces; `None` when any piece is absent.
fn render(value: &serde_json::Value, template: &str) -> Option<String> {
    if !template.contains('{') {
        return lookup(value, template);
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let piece = lookup(value, &rest[start + 1..end])?;
        // A value must not lead a template URL elsewhere (`..`, `?`, `#`); a `/` within a
        // path is fine (Yandex avatar ids hold one).
        if piece.contains(['?', '#', '\\', '@', '%'])
            || piece.contains("..")
            || piece.contains(char::is_whitespace)
        {
            return None;
        }
        out.push_str(&piece);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether a claim map value is well formed: a path, or a template with balanced braces.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' if depth == 0 => depth = 1,
            '}' if depth == 1 => depth = 0,
            '{' | '}' => return Err(format!("{template:?} has unbalanced braces")),
            _ => {}
        }
    }
    if depth != 0 || template.contains("{}") || template.is_empty() {
        return Err(format!("{template:?} is not a path or a template"));
    }
    Ok(())
}

fn looks_like_email(e: &str) -> bool {
    e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
}

/// A birthdate in OIDC's `YYYY-MM-DD`, `0000-MM-DD` when the year is hidden.
pub fn normalize_birthdate(b: &str, format: DateFormat) -> Option<String> {
    let (y, m, d) = match format {
        DateFormat::Iso => {
            let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
            match b.split('-').collect::<Vec<_>>().as_slice() {
                [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
                    (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
                }
                [m, d] if digits(m, 2) && digits(d, 2) => (0, m.parse().ok()?, d.parse().ok()?),
                _ => return None,
            }
        }
        DateFormat::DayMonthYear => {
            let parts: Vec<u32> = b
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            match parts.as_slice() {
                [d, m] => (0, *m, *d),
                [d, m, y] if (1000..=9999).contains(y) => (*y, *m, *d),
                _ => return None,
            }
        }
    };
    ((y == 0 || (1000..=9999).contains(&y)) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Fills in `name` from given and family names when the network gives only those.
fn with_full_name(mut identity: Identity) -> Identity {
    if identity.name.is_none() {
        let parts: Vec<&str> = [&identity.given_name, &identity.family_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !parts.is_empty() {
            identity.name = Some(parts.join(" "));
        }
    }
    identity
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn birthdates_become_oidc_dates() {
        use DateFormat::*;
        assert_eq!(
            normalize_birthdate("1990-05-17", Iso).as_deref(),
            Some("1990-05-17")
        );
        assert_eq!(
            normalize_birthdate("05-17", Iso).as_deref(),
            Some("0000-05-17")
        );
        assert_eq!(
            normalize_birthdate("0000-05-17", Iso).as_deref(),
            Some("0000-05-17")
        );
        assert_eq!(normalize_birthdate("17.05", Iso), None);
        assert_eq!(normalize_birthdate("1990-13-01", Iso), None);
        assert_eq!(
            normalize_birthdate("7.11.1993", DayMonthYear).as_deref(),
            Some("1993-11-07")
        );
        assert_eq!(
            normalize_birthdate("07.11", DayMonthYear).as_deref(),
            Some("0000-11-07")
        );
        assert_eq!(normalize_birthdate("31.13.1990", DayMonthYear), None);
        assert_eq!(normalize_birthdate("x", DayMonthYear), None);
    }

    #[test]
    fn templates_fill_paths_and_refuse_to_change_the_url() {
        let v =
            json!({"a": {"id": "131652443/abc"}, "b": "x1", "n": 7, "up": "../../x", "q": "a?b"});
        assert_eq!(
            render(&v, "https://img.example/{b}/{n}/200").as_deref(),
            Some("https://img.example/x1/7/200")
        );
        assert_eq!(
            render(&v, "https://img.example/{a.id}/200").as_deref(),
            Some("https://img.example/131652443/abc/200")
        );
        assert_eq!(render(&v, "https://img.example/{missing}/200"), None);
        assert_eq!(render(&v, "https://img.example/{up}"), None);
        assert_eq!(render(&v, "https://img.example/{q}"), None);
        assert!(check_template("https://x/{a}/{b}").is_ok());
        assert!(check_template("https://x/{a").is_err());
        assert!(check_template("https://x/{}").is_err());
        assert!(check_template("a}").is_err());
    }

    #[test]
    fn email_verified_only_when_vouched_for() {
        let map = |v: EmailVerified| ClaimMap {
            email_verified: v,
            ..toml::from_str("provider_user_id = \"id\"\nemail = \"mail\"").unwrap()
        };
        let p = ProviderName::parse("x").unwrap();
        let id = |m: &ClaimMap, v: serde_json::Value| map_claims(&p, "X", m, &v).unwrap();
        let field = map(EmailVerified::Field("ok".into()));
        assert!(id(&field, json!({"id": 1, "mail": "a@b.ru", "ok": true})).email_verified);
        assert!(!id(&field, json!({"id": 1, "mail": "a@b.ru", "ok": "yes"})).email_verified);
        assert!(!id(&field, json!({"id": 1, "mail": "a@b.ru"})).email_verified);
        let always = map(EmailVerified::Always(true));
        assert!(id(&always, json!({"id": 1, "mail": "a@b.ru"})).email_verified);
        // No address, nothing verified; junk is no address.
        let none = id(&always, json!({"id": 1, "mail": "not-an-address"}));
        assert_eq!((none.email, none.email_verified), (None, false));
    }
}

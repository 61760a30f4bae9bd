//! Every OK signature, in one place: the REST `sig`, the session secret key, and the
//! signatures of an app launch inside OK. All are lowercase hex MD5 over raw UTF-8 values.

use md5::{Digest, Md5};

/// `session_secret_key = md5(access_token + application_secret_key)`, lowercase hex.
pub fn session_secret_key(access_token: &str, secret_key: &str) -> String {
    md5_hex(&[access_token.as_bytes(), secret_key.as_bytes()])
}

/// OK's `sig`: md5 over the parameters sorted by name and joined as `name=value` with no
/// separator (raw UTF-8 values), followed by the secret. `sig` and `access_token` (or
/// `session_key`) are never part of it. The secret is the session secret key in a user's
/// session, else the app's secret key.
pub fn sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, secret: &str) -> String {
    let signed = params
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "sig" | "access_token" | "session_key"));
    sorted_md5(signed, secret)
}

/// md5 of the parameters sorted by name, joined as `name=value`, then `secret`.
fn sorted_md5<'a>(params: impl Iterator<Item = (&'a str, &'a str)>, secret: &str) -> String {
    let mut params: Vec<(&str, &str)> = params.collect();
    params.sort_unstable();
    let mut hasher = Md5::new();
    for (k, v) in params {
        hasher.update(k.as_bytes());
        hasher.update(b"=");
        hasher.update(v.as_bytes());
    }
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for p in parts {
        hasher.update(p);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `sig` OK puts on an app's launch parameters: md5 over every parameter but `sig`
/// (`session_key` included), sorted by name and joined as `name=value`, then the app's
/// secret key.
pub fn launch_sig<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    secret_key: &str,
) -> String {
    sorted_md5(params.into_iter().filter(|(k, _)| *k != "sig"), secret_key)
}

/// `auth_sig = md5(logged_user_id + session_key + application_secret_key)`: proves who the
/// launching person is.
pub fn auth_sig(logged_user_id: &str, session_key: &str, secret_key: &str) -> String {
    md5_hex(&[
        logged_user_id.as_bytes(),
        session_key.as_bytes(),
        secret_key.as_bytes(),
    ])
}

/// The publish widget's `st.signature`: md5 of `st.attachment=` + the attachment (as it
/// goes into the URL, before URL-encoding), then `st.return=` + the return URL when there is
/// one, then the secret (the session secret key when `st.access_token` is sent, else the
/// app's secret key).
pub fn widget_signature(attachment: &str, return_url: Option<&str>, secret: &str) -> String {
    let mut parts: Vec<&[u8]> = vec![b"st.attachment=", attachment.as_bytes()];
    if let Some(url) = return_url {
        parts.extend([b"st.return=".as_slice(), url.as_bytes()]);
    }
    parts.push(secret.as_bytes());
    md5_hex(&parts)
}

/// The signature of a widget result sent to `st.return`: `md5("id=" + id + secret)`.
pub fn widget_result_signature(id: &str, secret: &str) -> String {
    md5_hex(&[b"id=", id.as_bytes(), secret.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_published_example() {
        let secret = session_secret_key(
            "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7",
            "ABC123DEF456GHI789JKL123",
        );
        assert_eq!(secret, "b1a2b89707a94624c43afae67d59274c");
        let sig = sign(
            [
                ("method", "events.get"),
                ("application_key", "ABCDEFGHIGKLMNOPK"),
                ("format", "json"),
            ],
            &secret,
        );
        assert_eq!(sig, "232c8eb921951c4dba9b72606f9ddb4c");
    }

    #[test]
    fn signature_matches_get_current_user_example_and_ignores_token_and_sig() {
        let token = "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR";
        let secret = session_secret_key(token, "0F1E2D3C4B5A69788796A5B4");
        assert_eq!(secret, "7c9268eec7eac7d9710a8f5381b63ebc");
        let sig = sign(
            [
                ("application_key", "CBAFJIICABABABABA"),
                ("fields", "uid,name,email,pic190x190"),
                ("format", "json"),
                ("method", "users.getCurrentUser"),
                ("access_token", token),
                ("sig", "anything"),
            ],
            &secret,
        );
        assert_eq!(sig, "b283ab160a5bfd87f3cef1ceec114b75");
    }

    #[test]
    fn widget_signatures_match_the_worked_examples() {
        let secret = "0F1E2D3C4B5A69788796A5B4";
        let attachment = r#"{"media":[{"type":"text","text":"Привет"}]}"#;
        let back = Some("https://shop.example.ru/ok/posted");
        assert_eq!(
            widget_signature(attachment, back, secret),
            "25796da1c91d72dda62186389c97f9a7"
        );
        assert_eq!(
            widget_signature(attachment, None, secret),
            "48cc8a8f51a7a8fa5f4ff8c1ce695cde"
        );
        assert_eq!(
            widget_result_signature("67601141224721", secret),
            "eb9021c7dfca4a060e209090c2e643bd"
        );
    }

    #[test]
    fn auth_sig_matches_the_launch_example() {
        assert_eq!(
            auth_sig(
                "575123456789",
                "-s-AbCdEf123456",
                "0F1E2D3C4B5A69788796A5B4"
            ),
            "f11d11daf1268cb53f85ca020fca1d46"
        );
    }

    #[test]
    fn launch_sig_covers_session_key_but_not_sig() {
        let secret = "0F1E2D3C4B5A69788796A5B4";
        let params = [
            ("session_key", "-s-AbCdEf123456"),
            ("logged_user_id", "575123456789"),
            ("application_key", "CBAFJIICABABABABA"),
        ];
        // By hand: sorted, joined, then the secret.
        let joined = "application_key=CBAFJIICABABABABAlogged_user_id=575123456789\
                      session_key=-s-AbCdEf123456";
        let expected = md5_hex(&[joined.as_bytes(), secret.as_bytes()]);
        assert_eq!(launch_sig(params, secret), expected);
        let with_sig = params.into_iter().chain([("sig", "x")]);
        assert_eq!(launch_sig(with_sig, secret), expected);
        // Unlike a REST call's sig, session_key counts.
        assert_ne!(sign(params, secret), expected);
    }

    #[test]
    fn signature_uses_raw_utf8_values() {
        let secret = session_secret_key(
            "tkn.-Xq9WbZ8s3T1aQp0vKc7yLm4hD2eF6gR",
            "0F1E2D3C4B5A69788796A5B4",
        );
        let sig = sign(
            [
                ("type", "USER"),
                ("method", "mediatopic.post"),
                ("format", "json"),
                (
                    "attachment",
                    r#"{"media":[{"type":"text","text":"Привет, мир"}]}"#,
                ),
                ("application_key", "CBAFJIICABABABABA"),
            ],
            &secret,
        );
        assert_eq!(sig, "1ac9865ec5525d3eec875173b38f4c5e");
    }
}

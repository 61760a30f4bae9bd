//! The protocol's values, each with its own type so a state is never passed where a
//! nonce belongs, and the ones that work as credentials (codes, refresh tokens, PKCE
//! verifiers) never print in a log: their `Debug` is redacted.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A string newtype; `redacted` ones print `[redacted]` in `Debug`.
macro_rules! value_type {
    ($(#[$doc:meta])* $name:ident) => {
        value_type!(@define $(#[$doc])* $name);
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, redacted) => {
        value_type!(@define $(#[$doc])* $name);
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
    (@define $(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
    };
}

value_type!(
    /// A site's redirect URI, exactly as registered (query included).
    RedirectUri
);
value_type!(
    /// The site's `state`, echoed back to it unchanged.
    State
);
value_type!(
    /// The site's `nonce`, put into its id_token.
    Nonce
);
value_type!(
    /// An RFC 7636 S256 challenge: base64url of a SHA-256 digest.
    CodeChallenge
);
value_type!(
    /// The SSO session id: public (it is the `sid` claim), unlike the browser's cookie.
    Sid
);
value_type!(
    /// A one-time authorization code on its way to a site.
    Code,
    redacted
);
value_type!(
    /// A refresh token, `{family}.{secret}`.
    RefreshToken,
    redacted
);
value_type!(
    /// A site's PKCE verifier, sent with the code.
    CodeVerifier,
    redacted
);
value_type!(
    /// The random value the browser-binding cookie holds.
    BrowserId,
    redacted
);

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 43 base64url characters: 256 bits, as `random_token` and SHA-256 digests are written.
fn is_base64url_256(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl BrowserId {
    /// A browser id as this gateway mints them (`random_token`). Anything else in the cookie
    /// is ignored, as if there were no cookie.
    pub fn parse(value: &str) -> Option<Self> {
        is_base64url_256(value).then(|| Self(value.to_string()))
    }

    pub fn random() -> Self {
        Self(crate::primitives::random_token())
    }
}

impl CodeChallenge {
    /// RFC 7636: base64url of a SHA-256 digest is exactly 43 characters.
    pub fn parse_s256(value: &str) -> Option<Self> {
        is_base64url_256(value).then(|| Self(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_do_not_print_in_debug() {
        let code = Code::new("secret-code");
        assert_eq!(format!("{code:?}"), "Code([redacted])");
        assert_eq!(format!("{:?}", State::new("s")), "State(\"s\")");
    }

    #[test]
    fn browser_ids_and_challenges_are_43_base64url_characters() {
        let id = crate::primitives::random_token();
        assert!(BrowserId::parse(&id).is_some());
        assert!(BrowserId::parse(&id[1..]).is_none());
        assert!(BrowserId::parse(&format!("{}=", &id[1..])).is_none());
        assert!(CodeChallenge::parse_s256(&id).is_some());
    }
}

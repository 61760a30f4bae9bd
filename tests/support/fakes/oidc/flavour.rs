//! What differs between the OpenID Connect flavours: Google, Microsoft Entra ID (v2.0
//! endpoints) and GitLab. Their apps, sample people, paths, scopes and the look of their codes
//! and tokens.

use super::super::{HEX, Recorder, TOKEN_ALPHABET};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Google,
    Microsoft,
    GitLab,
}

/// The person who "logs in" at the fake's authorize endpoint.
#[derive(Clone, Debug)]
pub struct Person {
    pub sub: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub picture: Option<String>,
    pub locale: Option<String>,
    pub preferred_username: Option<String>,
    /// Microsoft only: the person's directory (tenant) GUID.
    pub tid: Option<String>,
}

/// The tenant GUID of [`Person::sample`] for Microsoft.
pub const MS_SAMPLE_TID: &str = "8f1c3b2a-5d4e-4f6a-9b7c-2e1d0a3f4b5c";

/// The Entra tenants whose discovery document carries the `{tenantid}` issuer template.
pub const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

impl Person {
    pub fn sample(flavour: Flavour) -> Person {
        let s = |v: &str| Some(v.to_owned());
        match flavour {
            Flavour::Google => Person {
                sub: "110248495921238986420".to_owned(),
                name: s("Ada Lovelace"),
                given_name: s("Ada"),
                family_name: s("Lovelace"),
                email: s("ada.lovelace@gmail.com"),
                email_verified: Some(true),
                picture: s("https://lh3.googleusercontent.com/a/ACg8ocJ3kq7Xsample=s96-c"),
                locale: s("en"),
                preferred_username: None,
                tid: None,
            },
            // Entra: a pairwise `sub`, no email_verified, no picture in the token.
            Flavour::Microsoft => Person {
                sub: "AAAAAAAAAAAAAAAAAAAAAKq0y3bXvDpSQ5cW1m2Kb9E".to_owned(),
                name: s("Alex Wilber"),
                given_name: s("Alex"),
                family_name: s("Wilber"),
                email: s("alex.wilber@contoso.com"),
                email_verified: None,
                picture: None,
                locale: None,
                preferred_username: s("alex.wilber@contoso.com"),
                tid: s(MS_SAMPLE_TID),
            },
            // GitLab: a numeric `sub`, a nickname, no given/family names.
            Flavour::GitLab => Person {
                sub: "4817263".to_owned(),
                name: s("Grace Hopper"),
                given_name: None,
                family_name: None,
                email: s("grace.hopper@example.org"),
                email_verified: Some(true),
                picture: s("https://gitlab.com/uploads/-/system/user/avatar/4817263/avatar.png"),
                locale: None,
                preferred_username: s("ghopper"),
                tid: None,
            },
        }
    }

    /// Entra's tenant of the person.
    pub fn tenant(&self) -> String {
        self.tid.clone().unwrap_or_else(|| MS_SAMPLE_TID.to_owned())
    }
}

pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub userinfo: String,
    pub jwks: String,
}

impl Flavour {
    /// The registered client: (client_id, client_secret).
    pub fn client(self) -> (&'static str, &'static str) {
        match self {
            Flavour::Google => (
                "408762915371-k3d9vq0s5hj2m1c8pa7tfu6lbr4xne0g.apps.googleusercontent.com",
                "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",
            ),
            // Entra secrets carry `~` and `.`: client_secret_basic must survive them.
            Flavour::Microsoft => (
                "6731de76-14a6-49ae-97bc-6eba6914391e",
                "Xq58Q~vR2.kT9wLm_3bNc7Yz-HdEa1sFgPu4oJi",
            ),
            Flavour::GitLab => (
                "c1d6b2e0f84a97352d1e6c0b8a4f3e29d7c5b1a0e9f8d7c6b5a4f3e2d1c0b9a8",
                "gloas-5e8a1f0c3b7d9e2a4c6f8b0d1e3a5c7e9f1b3d5a7c9e0f2a4b6c8d0e1f3a5b7c",
            ),
        }
    }

    /// Where the endpoints live below `b`; `tenant` is the path segment Entra's carry.
    pub fn endpoints(self, b: &str, tenant: &str) -> Endpoints {
        match self {
            Flavour::Google => Endpoints {
                authorization: format!("{b}/o/oauth2/v2/auth"),
                token: format!("{b}/token"),
                userinfo: format!("{b}/v1/userinfo"),
                jwks: format!("{b}/oauth2/v3/certs"),
            },
            Flavour::Microsoft => Endpoints {
                authorization: format!("{b}/{tenant}/oauth2/v2.0/authorize"),
                token: format!("{b}/{tenant}/oauth2/v2.0/token"),
                // Graph's userinfo is not per tenant.
                userinfo: format!("{b}/oidc/userinfo"),
                jwks: format!("{b}/{tenant}/discovery/v2.0/keys"),
            },
            Flavour::GitLab => Endpoints {
                authorization: format!("{b}/oauth/authorize"),
                token: format!("{b}/oauth/token"),
                userinfo: format!("{b}/oauth/userinfo"),
                jwks: format!("{b}/oauth/discovery/keys"),
            },
        }
    }

    /// The `iss` of id_tokens: Entra names the person's own tenant by GUID.
    pub fn token_issuer(self, base_url: &str, person: &Person) -> String {
        match self {
            Flavour::Microsoft => format!("{base_url}/{}/v2.0", person.tenant()),
            _ => base_url.to_owned(),
        }
    }

    /// The `prompt` values the network documents. Google's are only `none`, `consent` and
    /// `select_account`: it refuses `login` (Google Identity's authentication URI parameters);
    /// Entra ID and GitLab (doorkeeper-openid_connect) take OpenID Connect's four.
    pub fn prompts(self) -> &'static [&'static str] {
        match self {
            Flavour::Google => &["none", "consent", "select_account"],
            Flavour::Microsoft | Flavour::GitLab => &["none", "login", "consent", "select_account"],
        }
    }

    pub fn supported_scopes(self) -> &'static [&'static str] {
        match self {
            Flavour::Google => &["openid", "email", "profile"],
            Flavour::Microsoft => &["openid", "profile", "email", "offline_access"],
            Flavour::GitLab => &["openid", "profile", "email", "read_user", "read_api", "api"],
        }
    }

    /// The granted scopes as the flavour writes them in the token response.
    pub fn scope_text(self, scopes: &[String]) -> String {
        match self {
            // Google answers with URL forms for email and profile.
            Flavour::Google => scopes
                .iter()
                .map(|s| match s.as_str() {
                    "email" => "https://www.googleapis.com/auth/userinfo.email".to_owned(),
                    "profile" => "https://www.googleapis.com/auth/userinfo.profile".to_owned(),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            // Entra adds the Graph permission it grants by default.
            Flavour::Microsoft => {
                let mut s = scopes.join(" ");
                s.push_str(" https://graph.microsoft.com/User.Read");
                s
            }
            Flavour::GitLab => scopes.join(" "),
        }
    }

    /// The discovery document's `claims_supported`.
    pub fn claims_supported(self) -> &'static [&'static str] {
        match self {
            Flavour::Google => &[
                "aud",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "locale",
                "name",
                "picture",
                "sub",
                "nonce",
            ],
            Flavour::Microsoft => &[
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
                "tid",
                "oid",
                "ver",
            ],
            Flavour::GitLab => &[
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "sub_legacy",
                "name",
                "nickname",
                "preferred_username",
                "email",
                "email_verified",
                "website",
                "profile",
                "picture",
                "groups",
            ],
        }
    }

    pub fn code(self, rec: &mut Recorder) -> String {
        match self {
            // Google's codes carry a `/`: the redirect must percent-encode it.
            Flavour::Google => format!("4/0A{}", rec.fresh(TOKEN_ALPHABET, 70)),
            Flavour::Microsoft => format!("1.AQ{}", rec.fresh(TOKEN_ALPHABET, 120)),
            Flavour::GitLab => rec.fresh(HEX, 64),
        }
    }

    pub fn access_token(self, rec: &mut Recorder) -> String {
        match self {
            Flavour::Google => format!("ya29.a0{}", rec.fresh(TOKEN_ALPHABET, 150)),
            Flavour::Microsoft => format!("EwB4A8l6{}", rec.fresh(TOKEN_ALPHABET, 180)),
            Flavour::GitLab => rec.fresh(HEX, 64),
        }
    }

    pub fn refresh_token(self, rec: &mut Recorder) -> String {
        match self {
            Flavour::Google => format!("1//0g{}", rec.fresh(TOKEN_ALPHABET, 90)),
            Flavour::Microsoft => format!("0.AQ{}", rec.fresh(TOKEN_ALPHABET, 180)),
            Flavour::GitLab => rec.fresh(HEX, 64),
        }
    }
}

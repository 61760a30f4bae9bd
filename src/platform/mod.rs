//! Services for sites beyond logging people in, which only a gateway holding the networks'
//! secrets can give: the sites ask, the gateway signs (OK's publish widget) or calls the
//! network for the person (the upstream token broker), and no site ever holds a network's
//! secret. Like `crate::oidc`, it knows no HTTP.

pub mod upstream;
pub mod widget;

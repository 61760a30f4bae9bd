//! socialgate: a social-login identity gateway. Sites speak OpenID Connect to it; it speaks
//! each social network's own dialect (OK, VK, ...) upstream.

pub mod config;
pub mod demo_site;
pub mod gateway;
pub mod keys;
pub mod logging;
pub mod oidc;
pub mod platform;
pub mod primitives;
pub mod provider;
pub mod store;
pub mod web;

pub use config::Config;
pub use gateway::Gateway;

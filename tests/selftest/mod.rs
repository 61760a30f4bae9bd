//! The fakes' self-tests, one module per fake network as in `support/fakes/`.

mod networks;
mod oidc;
mod ok;
mod vk;

/// RFC 7636 appendix B: an independent check of the fakes' S256.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

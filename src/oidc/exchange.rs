//! The token endpoint's grants: a one-time code redeemed (with its redirect URI and PKCE
//! checked), or a refresh token rotated.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::code;
use super::error::{Error, TokenErrorCode};
use super::mint::Minter;
use super::mint::{Grant, TokenResponse};
use super::refresh;
use super::types::{Code, CodeChallenge, CodeVerifier, RefreshToken};
use crate::config::ClientConfig;
use crate::gateway::Gateway;

/// A token request the gateway knows how to answer.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: Code,
        redirect_uri: Option<String>,
        code_verifier: Option<CodeVerifier>,
    },
    RefreshToken {
        refresh_token: RefreshToken,
        /// A narrower scope than granted, if asked for (RFC 6749 §6).
        scope: Option<String>,
    },
}

/// The token endpoint, for an authenticated client.
pub async fn token(
    gw: &Gateway,
    client: &ClientConfig,
    request: TokenRequest,
) -> Result<TokenResponse, Error> {
    let (grant, response) = match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let response = redeem_code(
                gw,
                client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_ref(),
            )
            .await;
            ("authorization_code", response)
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => (
            "refresh_token",
            refresh::redeem(gw, client, &refresh_token, scope.as_deref()).await,
        ),
    };
    if response.is_ok() {
        metrics::counter!("socialgate_tokens_issued_total", "grant" => grant).increment(1);
    }
    response
}

fn invalid_grant(why: &str) -> Error {
    Error::token(TokenErrorCode::InvalidGrant, why)
}

/// The authorization_code grant.
async fn redeem_code(
    gw: &Gateway,
    client: &ClientConfig,
    code: &Code,
    redirect_uri: Option<&str>,
    code_verifier: Option<&CodeVerifier>,
) -> Result<TokenResponse, Error> {
    let minter = Minter::of(gw);
    // Nothing is used up when tokens cannot be signed (keys not loaded yet).
    minter.ready()?;
    // Taken, not read: a code works once, even under concurrent redemption.
    let grant = code::redeem(gw.store.as_ref(), code)
        .await?
        .ok_or_else(|| invalid_grant("the code is invalid, expired or already used"))?;
    let request = &grant.request;
    if request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if redirect_uri != Some(request.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    check_pkce(request.code_challenge.as_ref(), code_verifier)?;
    let offline = request.scopes.iter().any(|s| s == "offline_access");
    // The family first: the access token carries its tag, so revoking the refresh token
    // revokes this access token too.
    let started = if offline || client.refresh_tokens {
        // offline_access outlives the SSO session (OIDC Core §11); a client's
        // `refresh_tokens = true` gets tokens that end with it.
        let sid = (!offline).then(|| grant.sid.clone());
        let family = refresh::Family {
            client_id: client.client_id.clone(),
            identity: grant.identity.clone(),
            scopes: request.scopes.clone(),
            auth_time: grant.auth_time,
            sid,
        };
        Some(refresh::RefreshTokens::of(gw).issue(family).await?)
    } else {
        None
    };
    let mut response = minter.mint(&Grant {
        client_id: &client.client_id,
        identity: &grant.identity,
        scopes: &request.scopes,
        auth_time: grant.auth_time,
        sid: Some(&grant.sid),
        family: started.as_ref().map(|s| s.tag.as_str()),
        nonce: request.nonce.as_ref(),
        launch: None,
    })?;
    response.refresh_token = started.map(|s| s.token.into_string());
    Ok(response)
}

/// RFC 7636, S256: the verifier must hash to the login's challenge.
fn check_pkce(
    challenge: Option<&CodeChallenge>,
    verifier: Option<&CodeVerifier>,
) -> Result<(), Error> {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let computed = B64.encode(Sha256::digest(verifier.as_str().as_bytes()));
            let ok: bool = computed
                .as_bytes()
                .ct_eq(challenge.as_str().as_bytes())
                .into();
            if ok {
                Ok(())
            } else {
                Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
        (Some(_), None) => Err(invalid_grant("code_verifier is missing")),
        // RFC 9700 §2.1.1: a verifier for a login that had no challenge is a downgrade.
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_verifier_must_match_and_never_come_alone() {
        // RFC 7636 appendix B.
        let challenge = CodeChallenge::new("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let verifier = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert!(check_pkce(Some(&challenge), Some(&verifier)).is_ok());
        assert!(check_pkce(Some(&challenge), Some(&CodeVerifier::new("x"))).is_err());
        assert!(check_pkce(Some(&challenge), None).is_err());
        assert!(check_pkce(None, Some(&verifier)).is_err());
        assert!(check_pkce(None, None).is_ok());
    }
}

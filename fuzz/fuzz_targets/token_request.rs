//! `/token`'s form body, read as the endpoint reads it (`client_secret_post` or a public
//! client's bare `client_id`, then the grant): a parsed grant, or an RFC 6749 error; never a
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socialgate::oidc::clients::AuthMethod;
use socialgate::oidc::exchange::TokenRequest;
use socialgate::web::fuzzing;

fuzz_target!(|data: &[u8]| {
    match fuzzing::token_request(None, data) {
        Ok((credentials, grant)) => {
            assert_eq!(credentials.method, AuthMethod::Post);
            assert!(credentials.secret_as_sent.is_none());
            match grant {
                TokenRequest::AuthorizationCode { code, .. } => assert!(!code.as_str().is_empty()),
                TokenRequest::RefreshToken { refresh_token, .. } => {
                    assert!(!refresh_token.as_str().is_empty())
                }
            }
        }
        Err(answer) => {
            assert!(matches!(answer.status, 400 | 401), "{answer:?}");
            // No Basic attempt, no Basic challenge.
            assert_eq!(answer.www_authenticate, None);
        }
    }
});

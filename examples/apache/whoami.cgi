#!/bin/sh
# The site's page behind the login: shows what mod_auth_openidc hands the backend, the person's
# claims as OIDC_CLAIM_* environment variables and REMOTE_USER. Plain text, so no claim can
# inject markup.
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'REMOTE_USER = %s\n' "$REMOTE_USER"
for claim in sub provider provider_user_id name given_name family_name email email_verified; do
    printf '%s = %s\n' "$claim" "$(printenv "OIDC_CLAIM_$claim")"
done

"""A site logging a person in through socialgate with Authlib, unchanged.

Authlib's framework-neutral OAuth 2.0 / OpenID Connect client (the ``OAuth2Mixin`` and
``OpenIDMixin`` its Flask, Django and Starlette clients are built from, on its requests
``OAuth2Session``): discovery from the issuer, authorization code flow with PKCE (S256), state
and nonce kept in the site's session as its framework clients keep them, the code exchange, the
id_token checked by Authlib (signature against the discovered JWKS, iss, aud, exp, nonce,
at_hash) and userinfo. The script plays the person's browser itself (requests, no automatic
redirects, a cookie jar), stopping at the redirect URI.

Run by tests/client_libraries.rs. Environment:
  SG_ISSUER, SG_CLIENT_ID, SG_REDIRECT_URI   required
  SG_CLIENT_SECRET                           the client's secret (confidential client)
  SG_AUTH_METHOD                             client_secret_post (default) or client_secret_basic
  SG_PROVIDER                                the network to log in with (default ok)
  SG_TAMPER                                  state: change the callback's state;
                                             nonce: the site remembers another nonce
Prints one JSON object on stdout. Exit 0: logged in; exit 2: the library refused
({"refused": ...}); exit 1: anything else (stderr).
"""

import json
import os
import sys
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from authlib.integrations.base_client import (
    BaseApp,
    FrameworkIntegration,
    OAuth2Mixin,
    OAuthError,
    OpenIDMixin,
)
from authlib.integrations.requests_client import OAuth2Session


def env(name, default=None):
    value = os.environ.get(name)
    if not value:
        if default is None:
            raise SystemExit(f"{name} is not set")
        return default
    return value


class Site(OAuth2Mixin, OpenIDMixin, BaseApp):
    """What Authlib's framework clients are, without a web framework: the site's session is a
    dict, and its callback handler is ``authorize_access_token`` below."""

    client_cls = OAuth2Session

    def __init__(self, session, **kwargs):
        super().__init__(FrameworkIntegration("socialgate"), **kwargs)
        self.session = session

    def authorize_redirect(self, redirect_uri, **kwargs):
        """The login link; remembers state, nonce, code_verifier in the session."""
        rv = self.create_authorization_url(redirect_uri, **kwargs)
        self.framework.set_state_data(
            self.session, rv["state"], {"redirect_uri": redirect_uri, **rv}
        )
        return rv["url"]

    def authorize_access_token(self, callback_url):
        """The callback: Authlib's Flask client's handler, reading a URL instead of a request."""
        params = dict(parse_qsl(urlsplit(callback_url).query))
        if params.get("error"):
            raise OAuthError(error=params["error"], description=params.get("error_description"))
        state_data = self.framework.get_state_data(self.session, params.get("state"))
        self.framework.clear_state_data(self.session, params.get("state"))
        params = self._format_state_params(
            state_data, {"code": params.get("code"), "state": params.get("state")}
        )
        token = self.fetch_access_token(**params)
        if "id_token" in token and "nonce" in state_data:
            token["userinfo"] = self.parse_id_token(token, nonce=state_data["nonce"])
        return token


def browse(browser, start, stop):
    """Follows redirects from ``start`` until one leads to ``stop``; returns that URL."""
    url = start
    for _ in range(10):
        response = browser.get(url, allow_redirects=False)
        location = response.headers.get("location")
        if not (300 <= response.status_code < 400) or not location:
            raise RuntimeError(
                f"the browser stopped at {url} with {response.status_code}: {response.text[:500]}"
            )
        url = urljoin(url, location)
        if url.startswith(stop):
            return url
    raise RuntimeError(f"too many redirects from {start}")


def with_param(url, name, value):
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != name] + [(name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def main():
    issuer = env("SG_ISSUER")
    redirect_uri = env("SG_REDIRECT_URI")
    tamper = os.environ.get("SG_TAMPER")
    site = Site(
        session={},
        client_id=env("SG_CLIENT_ID"),
        client_secret=env("SG_CLIENT_SECRET"),
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": env("SG_AUTH_METHOD", "client_secret_post"),
        },
    )
    browser = requests.Session()
    login = site.authorize_redirect(redirect_uri, provider=env("SG_PROVIDER", "ok"))
    callback = browse(browser, login, redirect_uri)
    if tamper == "state":
        callback = with_param(callback, "state", "tampered-state")
    if tamper == "nonce":
        for saved in site.session.values():
            saved["data"]["nonce"] = "another-nonce"
    try:
        token = site.authorize_access_token(callback)
    except Exception as error:  # noqa: BLE001 - reported, and the test asserts which
        refused = {"name": type(error).__name__, "message": str(error)}
        if isinstance(error, OAuthError):
            refused["error"] = error.error
        print(json.dumps({"refused": refused}, ensure_ascii=False))
        sys.exit(2)
    userinfo = site.userinfo(token=token)
    print(
        json.dumps(
            {
                # What the site sent and got back (the code left out: it is spent).
                "authorize": dict(parse_qsl(urlsplit(login).query)),
                "callback": {
                    k: v for k, v in parse_qsl(urlsplit(callback).query) if k != "code"
                },
                "token_type": token["token_type"],
                "access_token": token["access_token"],
                "claims": dict(token["userinfo"]),
                "userinfo": dict(userinfo),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

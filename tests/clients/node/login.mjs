// A site logging a person in through socialgate with openid-client (v6), unchanged:
// discovery, authorization code flow with PKCE (S256), state and nonce; the library checks the
// callback (state, iss per RFC 9207), exchanges the code, verifies the id_token (signature
// against the JWKS, iss, aud, exp, nonce) and fetches userinfo. The script plays the person's
// browser itself: fetch with manual redirects and a cookie jar, stopping at the redirect URI.
//
// Run by tests/client_libraries.rs. Environment:
//   SG_ISSUER, SG_CLIENT_ID, SG_REDIRECT_URI   required
//   SG_CLIENT_SECRET                           a confidential client; unset: public (PKCE only)
//   SG_AUTH_METHOD                             client_secret_basic (default) or client_secret_post
//   SG_PROVIDER                                the network to log in with (default ok)
//   SG_TAMPER                                  state | iss: change that callback parameter;
//                                              nonce: the site remembers another nonce
//   SG_LOGOUT_REDIRECT                         also log out (RP-initiated) back to this URI
// Prints one JSON object on stdout. Exit 0: logged in; exit 2: the library refused
// ({"refused": …}); exit 1: anything else (stderr).
import * as client from 'openid-client'

const env = (name, fallback) => {
  const value = process.env[name]
  if (value === undefined || value === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`)
    return fallback
  }
  return value
}

const issuer = env('SG_ISSUER')
const clientId = env('SG_CLIENT_ID')
const redirectUri = env('SG_REDIRECT_URI')
const secret = env('SG_CLIENT_SECRET', null)
const authMethod = env('SG_AUTH_METHOD', 'client_secret_basic')
const provider = env('SG_PROVIDER', 'ok')
const tamper = env('SG_TAMPER', null)
const logoutRedirect = env('SG_LOGOUT_REDIRECT', null)

// The browser: a cookie jar (by name, as one host; the gateway and the fake networks all sit on
// 127.0.0.1, and cookies do not tell ports apart) and redirects followed one hop at a time.
const jar = new Map()
function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';')
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const gone = attributes.some((a) => {
      const [k, v] = a.split('=').map((s) => s.trim().toLowerCase())
      return (k === 'max-age' && Number(v) <= 0) ||
        (k === 'expires' && Date.parse(v) < Date.now())
    })
    if (gone) jar.delete(name)
    else jar.set(name, value)
  }
}

// Follows redirects from `start` until one leads to `stop` (returned as a URL); a page that is
// not a redirect is an error.
async function browse(start, stop) {
  let url = new URL(start)
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const response = await fetch(url, {
      redirect: 'manual',
      headers: cookie ? { cookie } : {},
    })
    remember(response)
    const location = response.headers.get('location')
    if (response.status < 300 || response.status >= 400 || !location) {
      const body = await response.text()
      throw new Error(`the browser stopped at ${url} with ${response.status}: ${body.slice(0, 500)}`)
    }
    await response.arrayBuffer().catch(() => {})
    url = new URL(location, url)
    if (url.href.startsWith(stop)) return url
  }
  throw new Error(`too many redirects from ${start}`)
}

const clientAuth = secret === null
  ? client.None()
  : authMethod === 'client_secret_post'
    ? client.ClientSecretPost(secret)
    : client.ClientSecretBasic(secret)

// The issuer is plain http on loopback in the tests; openid-client wants https unless told.
const config = await client.discovery(new URL(issuer), clientId, secret ?? undefined, clientAuth, {
  execute: [client.allowInsecureRequests],
})

const codeVerifier = client.randomPKCECodeVerifier()
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
const state = client.randomState()
const nonce = client.randomNonce()
const authorizeUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile email',
  code_challenge: codeChallenge,
  code_challenge_method: 'S256',
  state,
  nonce,
  provider,
})

const callback = await browse(authorizeUrl, redirectUri)
if (tamper === 'state') callback.searchParams.set('state', 'tampered-state')
if (tamper === 'iss') callback.searchParams.set('iss', 'https://evil.example.ru')

let tokens
try {
  tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: tamper === 'nonce' ? 'another-nonce' : nonce,
    idTokenExpected: true,
  })
} catch (error) {
  // openid-client wraps what oauth4webapi (its protocol core) found in a ClientError.
  const describe = (e) => ({ name: e.name, code: e.code ?? null, message: e.message })
  console.log(JSON.stringify({
    refused: { ...describe(error), cause: error.cause ? describe(error.cause) : null },
  }))
  process.exit(2)
}

const claims = tokens.claims()
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
const out = {
  // What the site sent and got back (the code left out: it is spent).
  authorize: Object.fromEntries(authorizeUrl.searchParams),
  callback: Object.fromEntries([...callback.searchParams].filter(([k]) => k !== 'code')),
  token_type: tokens.token_type,
  access_token: tokens.access_token,
  claims,
  userinfo,
}

if (logoutRedirect !== null) {
  const logoutState = client.randomState()
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: logoutRedirect,
    state: logoutState,
  })
  const landing = await browse(endSession, logoutRedirect)
  let afterLogout
  try {
    afterLogout = { userinfo: await client.fetchUserInfo(config, tokens.access_token, claims.sub) }
  } catch (error) {
    afterLogout = {
      error: {
        name: error.name,
        code: error.code ?? null,
        status: error.status ?? null,
        message: error.message,
      },
    }
  }
  out.logout = {
    landing: landing.href,
    state_back: landing.searchParams.get('state') === logoutState,
    after: afterLogout,
  }
}

console.log(JSON.stringify(out))

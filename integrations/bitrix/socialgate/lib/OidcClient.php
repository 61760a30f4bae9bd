<?php
/**
 * An OpenID Connect client for socialgate (or any OpenID Connect provider that signs its
 * id_tokens with RS256), in plain PHP 8.2 with the curl and openssl extensions and nothing
 * else: no framework, no Composer, no 1C-Bitrix. The Bitrix module's service class and the
 * example site both use it.
 *
 * A login is two calls:
 *
 *     $client = new OidcClient($issuer, $clientId, $clientSecret, $redirectUri);
 *     [$url, $pending] = $client->authorizationRequest(['provider' => 'ok']);
 *     $_SESSION['oidc'] = $pending;           // state, nonce, PKCE verifier
 *     header('Location: ' . $url);
 *
 *     // at the redirect URI:
 *     $pending = $_SESSION['oidc'] ?? null; unset($_SESSION['oidc']);   // once only
 *     $login = $client->handleCallback($_GET, $pending);
 *     $login['claims'];                        // the verified id_token's claims
 *
 * Every failure throws OidcError; its message may be logged, not shown to the person.
 */

declare(strict_types=1);

namespace Socialgate;

final class OidcError extends \RuntimeException
{
}

final class OidcClient
{
    /** Seconds of clock difference tolerated for `exp` and `iat`. */
    public const LEEWAY = 120;
    /** How long discovery and the JWKS are kept in the cache. */
    public const CACHE_TTL = 3600;

    private string $issuer;
    private ?array $discovery = null;
    private ?array $jwks = null;
    /** @var list<string> URLs fetched over HTTP, in order (for logs and tests). */
    private array $fetched = [];

    /**
     * @param string      $issuer       the provider's issuer URL, as its discovery document
     *                                  names it (no trailing slash for socialgate)
     * @param string|null $cacheDir     where discovery and the JWKS are cached between
     *                                  requests (a directory the web server may write);
     *                                  null: kept only for this object's lifetime
     * @param int         $timeout      seconds for each call to the provider
     */
    public function __construct(
        string $issuer,
        private string $clientId,
        private string $clientSecret,
        private string $redirectUri,
        private ?string $cacheDir = null,
        private int $timeout = 10,
    ) {
        $this->issuer = rtrim($issuer, '/');
        if ($this->issuer === '' || $clientId === '' || $redirectUri === '') {
            throw new OidcError('the issuer, client id and redirect URI must be set');
        }
    }

    public function issuer(): string
    {
        return $this->issuer;
    }

    /** URLs this object fetched over HTTP (cache hits are not listed). */
    public function fetched(): array
    {
        return $this->fetched;
    }

    // ---- discovery and keys ------------------------------------------------------------

    /** The discovery document: from this object, the cache, or `/.well-known/openid-configuration`. */
    public function discovery(): array
    {
        if ($this->discovery !== null) {
            return $this->discovery;
        }
        $doc = $this->cacheGet('discovery');
        if ($doc === null) {
            $doc = $this->getJson($this->issuer . '/.well-known/openid-configuration');
            // OpenID Connect Discovery §4.3: the document names exactly the issuer asked.
            if (($doc['issuer'] ?? null) !== $this->issuer) {
                throw new OidcError('the discovery document names another issuer: '
                    . json_encode($doc['issuer'] ?? null));
            }
            foreach (['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as $key) {
                if (!is_string($doc[$key] ?? null) || $doc[$key] === '') {
                    throw new OidcError("the discovery document has no $key");
                }
            }
            $this->cachePut('discovery', $doc);
        }
        return $this->discovery = $doc;
    }

    /** The JWKS, cached; `$fresh` fetches it again (an unknown `kid`: the keys rotated). */
    public function jwks(bool $fresh = false): array
    {
        if (!$fresh && $this->jwks !== null) {
            return $this->jwks;
        }
        $jwks = $fresh ? null : $this->cacheGet('jwks');
        if ($jwks === null) {
            $jwks = $this->getJson($this->discovery()['jwks_uri']);
            if (!is_array($jwks['keys'] ?? null)) {
                throw new OidcError('the JWKS has no keys');
            }
            $this->cachePut('jwks', $jwks);
        }
        return $this->jwks = $jwks;
    }

    // ---- the login ---------------------------------------------------------------------

    /**
     * The authorize URL and what to remember until the callback (in the person's session).
     *
     * @param array $extra extra parameters, e.g. ['provider' => 'ok'] to go straight to a
     *                     network, or ['prompt' => 'login']
     * @return array{0: string, 1: array{state: string, nonce: string, code_verifier: string, redirect_uri: string}}
     */
    public function authorizationRequest(
        array $extra = [],
        string $scope = 'openid profile email',
    ): array {
        $pending = [
            'state' => self::random(),
            'nonce' => self::random(),
            'code_verifier' => self::random(48),
            'redirect_uri' => $this->redirectUri,
        ];
        $params = [
            'response_type' => 'code',
            'client_id' => $this->clientId,
            'redirect_uri' => $this->redirectUri,
            'scope' => $scope,
            'state' => $pending['state'],
            'nonce' => $pending['nonce'],
            'code_challenge' => self::b64url(hash('sha256', $pending['code_verifier'], true)),
            'code_challenge_method' => 'S256',
        ] + $extra;
        $endpoint = $this->discovery()['authorization_endpoint'];
        $sep = str_contains($endpoint, '?') ? '&' : '?';
        return [$endpoint . $sep . http_build_query($params, '', '&', PHP_QUERY_RFC3986), $pending];
    }

    /**
     * The redirect URI's side: checks the answer against `$pending` (from
     * authorizationRequest, taken out of the session so it is used once), redeems the code
     * and verifies the id_token.
     *
     * @param array      $query   the redirect's query parameters ($_GET)
     * @param array|null $pending what authorizationRequest returned with the URL; null when
     *                            the session had none (an expired or foreign login)
     * @return array{claims: array, id_token: string, access_token: string, tokens: array}
     */
    public function handleCallback(array $query, ?array $pending): array
    {
        if ($pending === null || !isset($pending['state'], $pending['nonce'], $pending['code_verifier'])) {
            throw new OidcError('no login is pending in this session');
        }
        $state = $query['state'] ?? null;
        if (!is_string($state) || !hash_equals($pending['state'], $state)) {
            throw new OidcError('the state does not match this session\'s login');
        }
        // RFC 9207: the answer names who sent it, so a mix-up with another provider shows.
        $iss = $query['iss'] ?? null;
        if ($iss !== null || !empty($this->discovery()['authorization_response_iss_parameter_supported'])) {
            if ($iss !== $this->issuer) {
                throw new OidcError('the authorization response comes from another issuer: '
                    . json_encode($iss));
            }
        }
        if (isset($query['error'])) {
            $description = is_string($query['error_description'] ?? null) ? ': ' . $query['error_description'] : '';
            throw new OidcError('the provider refused the login: ' . (string) $query['error'] . $description);
        }
        $code = $query['code'] ?? null;
        if (!is_string($code) || $code === '') {
            throw new OidcError('the authorization response has no code');
        }
        $tokens = $this->exchangeCode($code, $pending['code_verifier'], $pending['redirect_uri'] ?? $this->redirectUri);
        $claims = $this->verifyIdToken($tokens['id_token'], $pending['nonce'], $tokens['access_token']);
        return [
            'claims' => $claims,
            'id_token' => $tokens['id_token'],
            'access_token' => $tokens['access_token'],
            'tokens' => $tokens,
        ];
    }

    /**
     * POSTs the code to the token endpoint with client_secret_basic: id and secret each
     * form-encoded first (RFC 6749 §2.3.1), so secrets with `+`, `%` or `:` work.
     */
    public function exchangeCode(string $code, string $codeVerifier, ?string $redirectUri = null): array
    {
        $form = [
            'grant_type' => 'authorization_code',
            'code' => $code,
            'redirect_uri' => $redirectUri ?? $this->redirectUri,
            'code_verifier' => $codeVerifier,
        ];
        [$status, $body] = $this->request('POST', $this->discovery()['token_endpoint'], [
            'Authorization: ' . $this->basicAuthorization(),
            'Content-Type: application/x-www-form-urlencoded',
            'Accept: application/json',
        ], http_build_query($form, '', '&'));
        $json = json_decode($body, true);
        if ($status !== 200 || !is_array($json)) {
            $error = is_array($json) ? ($json['error'] ?? '') . ' ' . ($json['error_description'] ?? '') : substr($body, 0, 200);
            throw new OidcError("the token endpoint answered $status: " . trim((string) $error));
        }
        if (strcasecmp((string) ($json['token_type'] ?? ''), 'Bearer') !== 0) {
            throw new OidcError('the token response\'s token_type is not Bearer');
        }
        foreach (['access_token', 'id_token'] as $key) {
            if (!is_string($json[$key] ?? null) || $json[$key] === '') {
                throw new OidcError("the token response has no $key");
            }
        }
        return $json;
    }

    /** client_secret_basic's header value: id and secret form-encoded, joined by `:`, base64. */
    public function basicAuthorization(): string
    {
        return 'Basic ' . base64_encode(self::formEncode($this->clientId) . ':' . self::formEncode($this->clientSecret));
    }

    /**
     * Verifies an id_token: RS256 signature by a JWKS key named by `kid` (the JWKS fetched
     * again once if the `kid` is unknown), `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`,
     * and `at_hash` when both it and the access token are there. Returns its claims.
     */
    public function verifyIdToken(string $jwt, ?string $nonce, ?string $accessToken = null): array
    {
        $parts = explode('.', $jwt);
        if (count($parts) !== 3) {
            throw new OidcError('the id_token is not a signed JWT');
        }
        $header = json_decode(self::b64urlDecode($parts[0]), true);
        $claims = json_decode(self::b64urlDecode($parts[1]), true);
        $signature = self::b64urlDecode($parts[2]);
        if (!is_array($header) || !is_array($claims)) {
            throw new OidcError('the id_token is not a JWT');
        }
        if (($header['alg'] ?? null) !== 'RS256') {
            throw new OidcError('the id_token is not signed with RS256: ' . json_encode($header['alg'] ?? null));
        }
        $kid = $header['kid'] ?? null;
        if ($kid !== null && !is_string($kid)) {
            throw new OidcError('the id_token\'s kid is not a string');
        }
        $key = $this->findKey($this->jwks(), $kid);
        if ($key === null) {
            // An unknown kid: the provider may have rotated its keys since we cached them.
            $key = $this->findKey($this->jwks(true), $kid);
        }
        if ($key === null) {
            throw new OidcError('no key in the JWKS for the id_token\'s kid ' . json_encode($kid));
        }
        $publicKey = openssl_pkey_get_public(self::rsaPem($key));
        if ($publicKey === false) {
            throw new OidcError('the JWKS key ' . json_encode($kid) . ' is not a usable RSA key');
        }
        if (openssl_verify($parts[0] . '.' . $parts[1], $signature, $publicKey, OPENSSL_ALGO_SHA256) !== 1) {
            throw new OidcError('the id_token\'s signature is not valid');
        }

        if (($claims['iss'] ?? null) !== $this->issuer) {
            throw new OidcError('the id_token comes from another issuer: ' . json_encode($claims['iss'] ?? null));
        }
        $aud = $claims['aud'] ?? null;
        $audiences = is_array($aud) ? $aud : [$aud];
        if (!in_array($this->clientId, $audiences, true)) {
            throw new OidcError('the id_token is not meant for this client');
        }
        if (count($audiences) > 1 && ($claims['azp'] ?? null) !== $this->clientId) {
            throw new OidcError('the id_token has several audiences and another azp');
        }
        $now = time();
        if (!is_int($claims['exp'] ?? null) || $claims['exp'] + self::LEEWAY < $now) {
            throw new OidcError('the id_token has expired');
        }
        if (!is_int($claims['iat'] ?? null) || $claims['iat'] - self::LEEWAY > $now) {
            throw new OidcError('the id_token\'s iat is missing or in the future');
        }
        if ($nonce !== null && (!is_string($claims['nonce'] ?? null) || !hash_equals($nonce, $claims['nonce']))) {
            throw new OidcError('the id_token\'s nonce does not match this session\'s login');
        }
        if (!is_string($claims['sub'] ?? null) || $claims['sub'] === '') {
            throw new OidcError('the id_token has no sub');
        }
        if ($accessToken !== null && isset($claims['at_hash'])) {
            $hash = hash('sha256', $accessToken, true);
            if (!hash_equals(self::b64url(substr($hash, 0, 16)), (string) $claims['at_hash'])) {
                throw new OidcError('the id_token\'s at_hash does not match the access token');
            }
        }
        return $claims;
    }

    /** The userinfo endpoint's claims; `$sub` (the id_token's) must match. */
    public function userinfo(string $accessToken, ?string $sub = null): array
    {
        $url = $this->discovery()['userinfo_endpoint'] ?? null;
        if (!is_string($url)) {
            throw new OidcError('the provider has no userinfo endpoint');
        }
        [$status, $body] = $this->request('GET', $url, [
            'Authorization: Bearer ' . $accessToken,
            'Accept: application/json',
        ]);
        $json = json_decode($body, true);
        if ($status !== 200 || !is_array($json)) {
            throw new OidcError("the userinfo endpoint answered $status");
        }
        if ($sub !== null && ($json['sub'] ?? null) !== $sub) {
            throw new OidcError('the userinfo answer is about another person');
        }
        return $json;
    }

    /**
     * Where to send the person to log out at the provider too (RP-initiated logout), or null
     * when the provider has no end_session_endpoint. `$postLogoutRedirectUri` must be
     * registered for the client (`post_logout_redirect_uris`).
     */
    public function endSessionUrl(
        ?string $idToken,
        ?string $postLogoutRedirectUri = null,
        ?string $state = null,
    ): ?string {
        $endpoint = $this->discovery()['end_session_endpoint'] ?? null;
        if (!is_string($endpoint) || $endpoint === '') {
            return null;
        }
        $params = array_filter([
            'id_token_hint' => $idToken,
            'client_id' => $this->clientId,
            'post_logout_redirect_uri' => $postLogoutRedirectUri,
            'state' => $state,
        ], fn ($v) => $v !== null && $v !== '');
        $sep = str_contains($endpoint, '?') ? '&' : '?';
        return $endpoint . $sep . http_build_query($params, '', '&', PHP_QUERY_RFC3986);
    }

    // ---- helpers -----------------------------------------------------------------------

    /** RFC 6749 Appendix B: application/x-www-form-urlencoded (space as `+`). */
    public static function formEncode(string $value): string
    {
        return urlencode($value);
    }

    public static function b64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    public static function b64urlDecode(string $text): string
    {
        if (!preg_match('/^[A-Za-z0-9_-]*$/', $text)) {
            throw new OidcError('not base64url');
        }
        $decoded = base64_decode(strtr($text, '-_', '+/'), true);
        if ($decoded === false) {
            throw new OidcError('not base64url');
        }
        return $decoded;
    }

    private static function random(int $bytes = 32): string
    {
        return self::b64url(random_bytes($bytes));
    }

    private function findKey(array $jwks, ?string $kid): ?array
    {
        $candidates = [];
        foreach ($jwks['keys'] ?? [] as $key) {
            if (!is_array($key) || ($key['kty'] ?? null) !== 'RSA') {
                continue;
            }
            if (isset($key['use']) && $key['use'] !== 'sig') {
                continue;
            }
            if (isset($key['alg']) && $key['alg'] !== 'RS256') {
                continue;
            }
            if ($kid !== null && ($key['kid'] ?? null) === $kid) {
                return $key;
            }
            $candidates[] = $key;
        }
        // No kid in the header: only a JWKS with a single key says which one.
        return $kid === null && count($candidates) === 1 ? $candidates[0] : null;
    }

    /** A JWK's RSA modulus and exponent as a PEM SubjectPublicKeyInfo, for openssl. */
    private static function rsaPem(array $jwk): string
    {
        if (!is_string($jwk['n'] ?? null) || !is_string($jwk['e'] ?? null)) {
            throw new OidcError('a JWKS key has no n or e');
        }
        $n = self::b64urlDecode($jwk['n']);
        $e = self::b64urlDecode($jwk['e']);
        $integer = static function (string $bytes): string {
            $bytes = ltrim($bytes, "\0");
            if ($bytes === '' || ord($bytes[0]) > 0x7f) {
                $bytes = "\0" . $bytes;
            }
            return self::der(0x02, $bytes);
        };
        $rsaKey = self::der(0x30, $integer($n) . $integer($e));
        // SEQUENCE { SEQUENCE { OID rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }
        $algorithm = self::der(0x30, "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00");
        $spki = self::der(0x30, $algorithm . self::der(0x03, "\0" . $rsaKey));
        return "-----BEGIN PUBLIC KEY-----\n"
            . chunk_split(base64_encode($spki), 64, "\n")
            . "-----END PUBLIC KEY-----\n";
    }

    private static function der(int $tag, string $content): string
    {
        $length = strlen($content);
        if ($length < 0x80) {
            $encoded = chr($length);
        } else {
            $bytes = ltrim(pack('N', $length), "\0");
            $encoded = chr(0x80 | strlen($bytes)) . $bytes;
        }
        return chr($tag) . $encoded . $content;
    }

    private function getJson(string $url): array
    {
        [$status, $body] = $this->request('GET', $url, ['Accept: application/json']);
        $json = json_decode($body, true);
        if ($status !== 200 || !is_array($json)) {
            throw new OidcError("$url answered $status");
        }
        return $json;
    }

    /** @return array{0: int, 1: string} status and body */
    private function request(string $method, string $url, array $headers, ?string $body = null): array
    {
        $this->fetched[] = $url;
        $curl = curl_init($url);
        curl_setopt_array($curl, [
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT => $this->timeout,
            CURLOPT_TIMEOUT => $this->timeout,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
            CURLOPT_USERAGENT => 'socialgate-php/1.0',
        ]);
        if ($method === 'POST') {
            curl_setopt($curl, CURLOPT_POST, true);
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body ?? '');
        }
        $response = curl_exec($curl);
        if ($response === false) {
            $error = curl_error($curl);
            curl_close($curl);
            throw new OidcError("cannot reach $url: $error");
        }
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return [$status, (string) $response];
    }

    private function cacheFile(string $what): ?string
    {
        if ($this->cacheDir === null) {
            return null;
        }
        return rtrim($this->cacheDir, '/') . '/socialgate-' . $what . '-' . sha1($this->issuer) . '.json';
    }

    private function cacheGet(string $what): ?array
    {
        $file = $this->cacheFile($what);
        if ($file === null || !is_file($file) || filemtime($file) < time() - self::CACHE_TTL) {
            return null;
        }
        $json = json_decode((string) @file_get_contents($file), true);
        return is_array($json) ? $json : null;
    }

    private function cachePut(string $what, array $value): void
    {
        $file = $this->cacheFile($what);
        if ($file === null) {
            return;
        }
        // Written aside and renamed, so a concurrent request never reads half a file.
        $tmp = $file . '.' . bin2hex(random_bytes(4));
        if (@file_put_contents($tmp, json_encode($value)) !== false) {
            @rename($tmp, $file);
        }
    }
}

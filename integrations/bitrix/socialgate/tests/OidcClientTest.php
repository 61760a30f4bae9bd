<?php
/**
 * OidcClient against a running socialgate (see bootstrap.php for the environment): whole
 * logins through the fake networks, and the answers it must refuse.
 */

declare(strict_types=1);

namespace Socialgate\Tests;

use PHPUnit\Framework\TestCase;
use Socialgate\OidcClient;
use Socialgate\OidcError;
use Socialgate\UserFields;

final class OidcClientTest extends TestCase
{
    private string $cacheDir;

    protected function setUp(): void
    {
        $this->cacheDir = sys_get_temp_dir() . '/socialgate-phpunit-' . bin2hex(random_bytes(6));
        mkdir($this->cacheDir);
    }

    protected function tearDown(): void
    {
        foreach (glob($this->cacheDir . '/*') ?: [] as $file) {
            unlink($file);
        }
        rmdir($this->cacheDir);
    }

    private static function env(string $name): string
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            throw new \RuntimeException("$name is not set: run these tests through `cargo test --test php` (see bootstrap.php)");
        }
        return $value;
    }

    private function client(?string $secret = null, ?string $clientId = null): OidcClient
    {
        return new OidcClient(
            self::env('SOCIALGATE_ISSUER'),
            $clientId ?? self::env('SOCIALGATE_CLIENT_ID'),
            $secret ?? self::env('SOCIALGATE_CLIENT_SECRET'),
            self::env('SOCIALGATE_REDIRECT_URI'),
            $this->cacheDir,
        );
    }

    /**
     * A browser goes from the authorize URL through the gateway and the fake network to the
     * redirect URI; returns the redirect's query, the pending login and the browser.
     */
    private function browse(OidcClient $client, string $provider, ?Browser $browser = null, ?string $redirectUri = null): array
    {
        [$url, $pending] = $client->authorizationRequest(['provider' => $provider]);
        $browser ??= new Browser();
        $landing = $browser->followTo($url, $redirectUri ?? self::env('SOCIALGATE_REDIRECT_URI'));
        return [Browser::query($landing), $pending, $browser, $landing];
    }

    private function refused(callable $call, string $message): OidcError
    {
        try {
            $call();
        } catch (OidcError $e) {
            $this->assertStringContainsString($message, $e->getMessage());
            return $e;
        }
        $this->fail("not refused; expected: $message");
    }

    private function tokenEndpoint(): string
    {
        return self::env('SOCIALGATE_ISSUER') . '/token';
    }

    public function testOkLoginEndsWithVerifiedClaimsAndBitrixFields(): void
    {
        $issuer = self::env('SOCIALGATE_ISSUER');
        $client = $this->client();
        [$url, $pending] = $client->authorizationRequest(['provider' => 'ok']);
        $this->assertStringStartsWith($issuer . '/authorize?', $url);
        $params = Browser::query($url);
        $this->assertSame('code', $params['response_type']);
        $this->assertSame(self::env('SOCIALGATE_CLIENT_ID'), $params['client_id']);
        $this->assertSame(self::env('SOCIALGATE_REDIRECT_URI'), $params['redirect_uri']);
        $this->assertSame('openid profile email', $params['scope']);
        $this->assertSame('ok', $params['provider']);
        $this->assertSame('S256', $params['code_challenge_method']);
        $this->assertSame(OidcClient::b64url(hash('sha256', $pending['code_verifier'], true)), $params['code_challenge']);
        $this->assertSame($pending['state'], $params['state']);
        $this->assertSame($pending['nonce'], $params['nonce']);
        $this->assertGreaterThanOrEqual(43, strlen($pending['state']));

        $browser = new Browser();
        $landing = $browser->followTo($url, self::env('SOCIALGATE_REDIRECT_URI'));
        $query = Browser::query($landing);
        $this->assertSame($pending['state'], $query['state']);
        $this->assertSame($issuer, $query['iss']);

        $login = $client->handleCallback($query, $pending);
        $claims = $login['claims'];
        $this->assertSame('ok:575123456789', $claims['sub']);
        $this->assertSame('Иван Петров', $claims['name']);
        $this->assertSame('Иван', $claims['given_name']);
        $this->assertSame('Петров', $claims['family_name']);
        $this->assertSame('https://i.mycdn.me/i?r=sample', $claims['picture']);
        $this->assertSame('ivan@example.ru', $claims['email']);
        $this->assertFalse($claims['email_verified']);
        $this->assertSame($issuer, $claims['iss']);
        $this->assertSame(self::env('SOCIALGATE_CLIENT_ID'), $claims['aud']);
        $this->assertSame($pending['nonce'], $claims['nonce']);
        $this->assertArrayHasKey('at_hash', $claims);
        $this->assertSame([
            $issuer . '/.well-known/openid-configuration',
            $issuer . '/token',
            $issuer . '/jwks',
        ], $client->fetched());

        $userinfo = $client->userinfo($login['access_token'], $claims['sub']);
        $this->assertSame('ok:575123456789', $userinfo['sub']);
        $this->assertSame('Иван Петров', $userinfo['name']);

        // OK does not vouch for the address: the Bitrix user gets none.
        $this->assertSame([
            'EXTERNAL_AUTH_ID' => 'socialgate',
            'XML_ID' => 'ok:575123456789',
            'LOGIN' => 'socialgate_ok_575123456789',
            'NAME' => 'Иван',
            'LAST_NAME' => 'Петров',
            'PERSONAL_PHOTO_URL' => 'https://i.mycdn.me/i?r=sample',
            'PERSONAL_GENDER' => 'M',
            'SITE_ID' => 's1',
        ], UserFields::fromClaims($claims, 's1'));

        // The code worked once.
        $this->refused(fn () => $client->exchangeCode($query['code'], $pending['code_verifier']), 'answered 400');
    }

    public function testVkLoginWithVerifiedEmailMapsTheEmail(): void
    {
        $client = $this->client();
        [$query, $pending] = $this->browse($client, 'vk');
        $claims = $client->handleCallback($query, $pending)['claims'];
        $this->assertSame('vk:1234567', $claims['sub']);
        $this->assertSame('Мария Иванова', $claims['name']);
        $this->assertSame('maria@example.ru', $claims['email']);
        $this->assertTrue($claims['email_verified']);
        $this->assertSame([
            'EXTERNAL_AUTH_ID' => 'socialgate',
            'XML_ID' => 'vk:1234567',
            'LOGIN' => 'socialgate_vk_1234567',
            'NAME' => 'Мария',
            'LAST_NAME' => 'Иванова',
            'EMAIL' => 'maria@example.ru',
            'PERSONAL_PHOTO_URL' => 'https://sun9-1.userapi.com/sample.jpg',
            'PERSONAL_GENDER' => 'F',
        ], UserFields::fromClaims($claims));
    }

    public function testTamperedStateIsRefusedBeforeTheCodeIsRedeemed(): void
    {
        $client = $this->client();
        [$query, $pending] = $this->browse($client, 'ok');
        $tampered = $query;
        $tampered['state'] = $query['state'] . 'x';
        $this->refused(fn () => $client->handleCallback($tampered, $pending), 'the state does not match');
        $missing = $query;
        unset($missing['state']);
        $this->refused(fn () => $client->handleCallback($missing, $pending), 'the state does not match');
        $this->refused(fn () => $client->handleCallback($query, null), 'no login is pending');
        $this->assertNotContains($this->tokenEndpoint(), $client->fetched());
        // The untouched answer still logs in: nothing above spent the code.
        $this->assertSame('ok:575123456789', $client->handleCallback($query, $pending)['claims']['sub']);
    }

    public function testAnswerFromAnotherIssuerIsRefused(): void
    {
        $client = $this->client();
        [$query, $pending] = $this->browse($client, 'ok');
        $other = $query;
        $other['iss'] = 'https://evil.example';
        $this->refused(fn () => $client->handleCallback($other, $pending), 'from another issuer: "https:\/\/evil.example"');
        // The gateway announces the iss parameter, so an answer without it is refused too.
        $without = $query;
        unset($without['iss']);
        $this->refused(fn () => $client->handleCallback($without, $pending), 'from another issuer: null');
        $this->assertNotContains($this->tokenEndpoint(), $client->fetched());
    }

    public function testForgedIdTokensAreRefused(): void
    {
        $client = $this->client();
        [$query, $pending] = $this->browse($client, 'ok');
        $login = $client->handleCallback($query, $pending);
        $jwt = $login['id_token'];
        [$h, $p, $s] = explode('.', $jwt);
        $header = json_decode(OidcClient::b64urlDecode($h), true);
        $claims = json_decode(OidcClient::b64urlDecode($p), true);
        $nonce = $pending['nonce'];
        $enc = fn (array $v) => OidcClient::b64url(json_encode($v));

        // The genuine token verifies (the control for the cases below).
        $this->assertSame('ok:575123456789', $client->verifyIdToken($jwt, $nonce, $login['access_token'])['sub']);

        // Another person's sub under the gateway's signature.
        $this->refused(
            fn () => $client->verifyIdToken("$h." . $enc(['sub' => 'ok:1'] + $claims) . ".$s", $nonce),
            'signature is not valid',
        );
        // Signed with a key of our own under the gateway's kid.
        $key = openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
        $input = "$h." . $enc($claims);
        openssl_sign($input, $signature, $key, OPENSSL_ALGO_SHA256);
        $this->refused(
            fn () => $client->verifyIdToken($input . '.' . OidcClient::b64url($signature), $nonce),
            'signature is not valid',
        );
        // Under a kid the gateway never published: the JWKS is fetched again, then refused.
        $before = count(array_keys($client->fetched(), self::env('SOCIALGATE_ISSUER') . '/jwks', true));
        $unknown = $enc(['kid' => 'forged'] + $header) . '.' . $enc($claims);
        openssl_sign($unknown, $signature, $key, OPENSSL_ALGO_SHA256);
        $this->refused(
            fn () => $client->verifyIdToken($unknown . '.' . OidcClient::b64url($signature), $nonce),
            'no key in the JWKS for the id_token\'s kid "forged"',
        );
        $this->assertSame($before + 1, count(array_keys($client->fetched(), self::env('SOCIALGATE_ISSUER') . '/jwks', true)));
        // Unsigned.
        $this->refused(
            fn () => $client->verifyIdToken($enc(['alg' => 'none'] + $header) . '.' . $enc($claims) . '.', $nonce),
            'not signed with RS256: "none"',
        );
        // Genuine, but for another login's nonce, another client, or another access token.
        $this->refused(fn () => $client->verifyIdToken($jwt, 'another-nonce'), 'nonce does not match');
        $this->refused(fn () => $this->client(null, 'forum')->verifyIdToken($jwt, $nonce), 'not meant for this client');
        $this->refused(fn () => $client->verifyIdToken($jwt, $nonce, 'another-access-token'), 'at_hash does not match');
    }

    public function testStaleCachedJwksIsFetchedAgainForAnUnknownKid(): void
    {
        $issuer = self::env('SOCIALGATE_ISSUER');
        // A cache from before a key rotation: one key, under a kid the gateway no longer uses.
        $old = openssl_pkey_get_details(openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]));
        $file = $this->cacheDir . '/socialgate-jwks-' . sha1($issuer) . '.json';
        file_put_contents($file, json_encode(['keys' => [[
            'kty' => 'RSA', 'use' => 'sig', 'alg' => 'RS256', 'kid' => 'rotated-away',
            'n' => OidcClient::b64url($old['rsa']['n']), 'e' => OidcClient::b64url($old['rsa']['e']),
        ]]]));

        $client = $this->client();
        [$query, $pending] = $this->browse($client, 'ok');
        $login = $client->handleCallback($query, $pending);
        $this->assertSame('ok:575123456789', $login['claims']['sub']);
        $this->assertSame([$issuer . '/.well-known/openid-configuration', $issuer . '/token', $issuer . '/jwks'], $client->fetched());
        $kid = json_decode(OidcClient::b64urlDecode(explode('.', $login['id_token'])[0]), true)['kid'];
        // The cache now holds the gateway's JWKS: its RSA key and its ES256 key, not the old one.
        $cached = json_decode(file_get_contents($file), true)['keys'];
        $this->assertSame(['RSA', 'EC'], array_column($cached, 'kty'));
        $this->assertSame($kid, $cached[0]['kid']);
        $this->assertNotContains('rotated-away', array_column($cached, 'kid'));

        // The next request's object finds discovery and keys in the cache.
        $next = $this->client();
        $this->assertSame('ok:575123456789', $next->verifyIdToken($login['id_token'], $pending['nonce'])['sub']);
        $this->assertSame([], $next->fetched());
    }

    public function testLogoutUrlEndsTheGatewaySession(): void
    {
        $issuer = self::env('SOCIALGATE_ISSUER');
        $back = self::env('SOCIALGATE_POST_LOGOUT_URI');
        $client = $this->client();
        [$query, $pending, $browser] = $this->browse($client, 'ok');
        $login = $client->handleCallback($query, $pending);
        $this->assertSame('ok:575123456789', $client->userinfo($login['access_token'])['sub']);

        $url = $client->endSessionUrl($login['id_token'], $back, 'bye');
        $this->assertStringStartsWith($issuer . '/logout?', $url);
        $this->assertSame([
            'id_token_hint' => $login['id_token'],
            'client_id' => self::env('SOCIALGATE_CLIENT_ID'),
            'post_logout_redirect_uri' => $back,
            'state' => 'bye',
        ], Browser::query($url));

        // The browser that logged in comes back at once: its own session, proven by the hint.
        $answer = $browser->get($url);
        $this->assertSame(303, $answer['status'], $answer['body']);
        $this->assertSame($back . '?state=bye', $answer['location']);
        // The session's tokens are dead, and the next login goes to the network again.
        $this->refused(fn () => $client->userinfo($login['access_token']), 'userinfo endpoint answered 401');
        [$again] = $this->browse($client, 'ok', $browser);
        $this->assertArrayHasKey('code', $again);
    }

    public function testSecretWithReservedCharactersWorksWithBasicAuth(): void
    {
        $client = new OidcClient(
            self::env('SOCIALGATE_ISSUER'),
            self::env('SOCIALGATE_ODD_CLIENT_ID'),
            self::env('SOCIALGATE_ODD_CLIENT_SECRET'),
            self::env('SOCIALGATE_ODD_REDIRECT_URI'),
        );
        $this->assertSame('forum+secret%with:odd/chars', self::env('SOCIALGATE_ODD_CLIENT_SECRET'));
        // Form-encoded before base64 (RFC 6749 §2.3.1). The gateway also takes a secret sent
        // unencoded, so the header itself is what shows the encoding.
        $this->assertSame(
            'Basic ' . base64_encode(self::env('SOCIALGATE_ODD_CLIENT_ID') . ':forum%2Bsecret%25with%3Aodd%2Fchars'),
            $client->basicAuthorization(),
        );
        $this->assertSame('a+b%2Bc%3Ad', OidcClient::formEncode('a b+c:d'));
        [$query, $pending] = $this->browse($client, 'ok', null, self::env('SOCIALGATE_ODD_REDIRECT_URI'));
        $this->assertSame('ok:575123456789', $client->handleCallback($query, $pending)['claims']['sub']);
    }

    public function testWrongSecretIsRefusedAtTheTokenEndpoint(): void
    {
        $client = $this->client('not-the-secret-0000');
        [$query, $pending] = $this->browse($client, 'ok');
        $this->refused(fn () => $client->handleCallback($query, $pending), 'the token endpoint answered 401: invalid_client');
    }

    public function testDiscoveryNamingAnotherIssuerIsRefused(): void
    {
        // The same gateway under another name: its document names 127.0.0.1, not localhost.
        $issuer = self::env('SOCIALGATE_ISSUER');
        $this->assertStringContainsString('://127.0.0.1:', $issuer);
        $client = new OidcClient(str_replace('://127.0.0.1:', '://localhost:', $issuer), 'x', 'y', 'https://site.example/cb');
        $this->refused(fn () => $client->discovery(), 'the discovery document names another issuer: "' . str_replace('/', '\\/', $issuer) . '"');
    }
}

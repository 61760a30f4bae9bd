<?php
/**
 * The example site's settings and shared helpers. Everything comes from the environment, so
 * the same files run in the tests and on a real server:
 *
 *   SOCIALGATE_ISSUER         the gateway, e.g. https://id.example.ru
 *   SOCIALGATE_CLIENT_ID      this site's [clients.ID] at the gateway
 *   SOCIALGATE_CLIENT_SECRET  its client_secret
 *   SOCIALGATE_SITE_URL       this site's own address, e.g. https://shop.example.ru; register
 *                             SITE_URL/callback.php in redirect_uris and SITE_URL/ in
 *                             post_logout_redirect_uris
 *   SOCIALGATE_PROVIDERS      the networks to offer as buttons, default "ok,vk"
 */

declare(strict_types=1);

namespace Socialgate\Example;

use Socialgate\OidcClient;

// The OpenID Connect client is the 1C-Bitrix module's class, required from the repository.
// Copying this example elsewhere: put OidcClient.php beside these files.
require is_file(__DIR__ . '/OidcClient.php')
    ? __DIR__ . '/OidcClient.php'
    : __DIR__ . '/../../integrations/bitrix/socialgate/lib/OidcClient.php';

function setting(string $name, ?string $default = null): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        if ($default !== null) {
            return $default;
        }
        http_response_code(500);
        exit("$name is not set\n");
    }
    return $value;
}

function site_url(): string
{
    return rtrim(setting('SOCIALGATE_SITE_URL'), '/');
}

function client(): OidcClient
{
    return new OidcClient(
        setting('SOCIALGATE_ISSUER'),
        setting('SOCIALGATE_CLIENT_ID'),
        setting('SOCIALGATE_CLIENT_SECRET'),
        site_url() . '/callback.php',
        sys_get_temp_dir(),   // discovery and JWKS cache
    );
}

/** The networks offered, as name => button label. */
function providers(): array
{
    $labels = ['ok' => 'OK', 'vk' => 'VK', 'vkid' => 'VK ID', 'yandex' => 'Yandex', 'mailru' => 'Mail.ru'];
    $offered = [];
    foreach (explode(',', setting('SOCIALGATE_PROVIDERS', 'ok,vk')) as $name) {
        $name = trim($name);
        if ($name !== '') {
            $offered[$name] = $labels[$name] ?? $name;
        }
    }
    return $offered;
}

function start_session(): void
{
    session_name('example_site');
    session_set_cookie_params([
        'httponly' => true,
        'samesite' => 'Lax',   // Lax: the cookie must come back on the gateway's redirect
        'secure' => str_starts_with(site_url(), 'https://'),
    ]);
    session_start();
}

function h(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

function page(string $title, string $body): void
{
    header('Content-Type: text/html; charset=utf-8');
    echo "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" . h($title)
        . "</title></head>\n<body>\n" . $body . "</body></html>\n";
}

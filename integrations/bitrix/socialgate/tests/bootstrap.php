<?php
/**
 * The tests talk to a running socialgate in front of its networks (in CI: tests/php.rs starts
 * one with fake OK and VK and runs phpunit). They read where it is from the environment:
 *
 *   SOCIALGATE_ISSUER, SOCIALGATE_CLIENT_ID, SOCIALGATE_CLIENT_SECRET, SOCIALGATE_REDIRECT_URI
 *     a confidential client offering `ok` and `vk`
 *   SOCIALGATE_POST_LOGOUT_URI   registered in that client's post_logout_redirect_uris
 *   SOCIALGATE_ODD_CLIENT_ID, SOCIALGATE_ODD_CLIENT_SECRET, SOCIALGATE_ODD_REDIRECT_URI
 *     a second client offering `ok`, whose secret holds `+`, `%` and `:`
 *
 * The person at the fake OK is uid 575123456789 "Иван Петров" (e-mail not verified); at the
 * fake VK id 1234567 "Мария Иванова", whose e-mail the gateway is configured to call verified.
 */

declare(strict_types=1);

error_reporting(E_ALL);
set_error_handler(static function (int $no, string $message, string $file, int $line): bool {
    throw new ErrorException($message, 0, $no, $file, $line);
});

require __DIR__ . '/../lib/OidcClient.php';
require __DIR__ . '/../lib/UserFields.php';
require __DIR__ . '/Browser.php';

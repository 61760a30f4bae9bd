<?php
// The redirect URI: check the answer against this session's login, redeem the code, verify
// the id_token (signature against the gateway's JWKS, iss, aud, exp, nonce, at_hash) and
// show who logged in.
declare(strict_types=1);

namespace Socialgate\Example;

use Socialgate\OidcError;

require __DIR__ . '/config.php';
start_session();

// The pending login is used once, whatever happens next.
$pending = $_SESSION['oidc_pending'] ?? null;
unset($_SESSION['oidc_pending']);

try {
    $login = client()->handleCallback($_GET, is_array($pending) ? $pending : null);
} catch (OidcError $e) {
    error_log('socialgate login failed: ' . $e->getMessage());
    http_response_code(400);
    page('Login failed', "<h1>Login failed</h1>\n<p><a href=\"index.php\">Try again</a></p>\n");
    exit;
}

$claims = $login['claims'];
// A new session id for the logged-in person (no session fixation).
session_regenerate_id(true);
$_SESSION['user'] = [
    'sub' => $claims['sub'],
    'name' => $claims['name'] ?? $claims['sub'],
    // Only an address the network vouched for identifies anyone.
    'email' => ($claims['email_verified'] ?? false) === true ? ($claims['email'] ?? null) : null,
];
$_SESSION['id_token'] = $login['id_token'];

$user = $_SESSION['user'];
page('Example site', '<h1>Logged in as ' . h($user['name']) . "</h1>\n"
    . '<p>Account: <code>' . h($user['sub']) . "</code></p>\n"
    . ($user['email'] !== null ? '<p>E-mail: ' . h($user['email']) . "</p>\n" : '')
    . '<p><a href="index.php">Home</a> · <a href="logout.php">Log out</a></p>' . "\n");

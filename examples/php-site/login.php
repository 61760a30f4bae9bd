<?php
// A login button's target: remember state, nonce and the PKCE verifier in the session, then
// go straight to the chosen network through the gateway (/authorize?provider=…).
declare(strict_types=1);

namespace Socialgate\Example;

require __DIR__ . '/config.php';
start_session();

$provider = (string) ($_GET['provider'] ?? '');
if (!array_key_exists($provider, providers())) {
    http_response_code(400);
    page('Login failed', "<h1>Unknown network</h1>\n");
    exit;
}
[$url, $pending] = client()->authorizationRequest(['provider' => $provider]);
$_SESSION['oidc_pending'] = $pending;
header('Location: ' . $url, true, 302);

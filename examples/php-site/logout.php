<?php
// Log out here and at the gateway (RP-initiated logout): the gateway ends its session, tells
// the other sites (back-channel logout) and sends the person back to SITE_URL/.
declare(strict_types=1);

namespace Socialgate\Example;

require __DIR__ . '/config.php';
start_session();

$idToken = $_SESSION['id_token'] ?? null;
$_SESSION = [];
session_destroy();

$url = $idToken !== null ? client()->endSessionUrl($idToken, site_url() . '/') : null;
header('Location: ' . ($url ?? 'index.php'), true, 302);

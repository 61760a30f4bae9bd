<?php
// The home page: who is logged in, or one login button per network.
declare(strict_types=1);

namespace Socialgate\Example;

require __DIR__ . '/config.php';
start_session();

$user = $_SESSION['user'] ?? null;
if ($user !== null) {
    page('Example site', '<h1>Logged in as ' . h($user['name']) . "</h1>\n"
        . '<p><a href="logout.php">Log out</a></p>' . "\n");
    exit;
}
$buttons = '';
foreach (providers() as $name => $label) {
    $buttons .= '<p><a class="button" href="login.php?provider=' . urlencode($name) . '">Log in with '
        . h($label) . "</a></p>\n";
}
page('Example site', "<h1>Not logged in</h1>\n" . $buttons);

<?php
/**
 * Loaded by 1C-Bitrix whenever the module is used (Loader::includeModule('socialgate'), or an
 * event handler of this module being called). Only the class map: nothing runs here.
 */

use Bitrix\Main\Loader;

Loader::registerAutoLoadClasses('socialgate', [
    // Plain PHP, no Bitrix inside: the OpenID Connect client and the claims mapping.
    'Socialgate\\OidcClient' => 'lib/OidcClient.php',
    'Socialgate\\OidcError' => 'lib/OidcClient.php',
    'Socialgate\\UserFields' => 'lib/UserFields.php',
    // The glue: socialservices' service class and the event handlers.
    'CSocServSocialgate' => 'lib/SocServSocialgate.php',
    'Socialgate\\EventHandlers' => 'lib/EventHandlers.php',
]);

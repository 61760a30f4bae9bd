<?php
/**
 * The module's event handlers (registered by install/index.php).
 */

namespace Socialgate;

use Bitrix\Main\Loader;

final class EventHandlers
{
    /** The id_token of the person logging out, kept between the two logout events. */
    private static ?string $idToken = null;

    /** socialservices builds its list of services: add "socialgate". */
    public static function onAuthServicesBuildList(): array
    {
        return [
            'ID' => \CSocServSocialgate::ID,
            'CLASS' => \CSocServSocialgate::class,
            'NAME' => 'socialgate',
            'ICON' => 'openid',
        ];
    }

    /** Before Bitrix ends its session: remember the id_token of a socialgate login. */
    public static function onBeforeUserLogout($params): void
    {
        self::$idToken = \CSocServSocialgate::takeIdToken();
    }

    /**
     * After Bitrix's own logout: send the person on to the gateway's end-session endpoint
     * (RP-initiated logout), which ends the gateway's session and the other sites' sessions,
     * then comes back to the configured post-logout URI.
     */
    public static function onAfterUserLogout($params): void
    {
        if (self::$idToken === null || (is_array($params) && isset($params['SUCCESS']) && $params['SUCCESS'] === false)) {
            return;
        }
        if (!Loader::includeModule('socialservices')) {
            return;
        }
        $url = \CSocServSocialgate::endSessionUrl(self::$idToken);
        self::$idToken = null;
        if ($url !== null) {
            LocalRedirect($url, true);
        }
    }
}

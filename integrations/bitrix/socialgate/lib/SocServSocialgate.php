<?php
/**
 * The "socialgate" service of 1C-Bitrix's socialservices module: its settings (in the
 * socialservices settings, like every other service, and on this module's own settings page),
 * one login button per network, the redirect URI's side, and the user it logs in.
 *
 * Thin on purpose: the OpenID Connect work is Socialgate\OidcClient's, the claims → user
 * fields mapping is Socialgate\UserFields's; both are plain PHP and tested against the gateway.
 */

use Bitrix\Main\Localization\Loc;
use Socialgate\OidcClient;
use Socialgate\OidcError;
use Socialgate\UserFields;

Loc::loadMessages(__FILE__);

class CSocServSocialgate extends CSocServAuth
{
    public const ID = 'socialgate';
    /** The redirect URI, relative to the site (install/tools/oauth/socialgate.php). */
    public const CALLBACK_PATH = '/bitrix/tools/oauth/socialgate.php';
    /** Options of the socialservices module that hold the settings. */
    public const OPTIONS = [
        'issuer' => 'socialgate_issuer',
        'client_id' => 'socialgate_client_id',
        'client_secret' => 'socialgate_client_secret',
        'providers' => 'socialgate_providers',
        'post_logout_uri' => 'socialgate_post_logout_uri',
    ];
    /** Button labels of the networks socialgate knows; others show their name. */
    public const NETWORKS = [
        'ok' => 'Одноклассники',
        'vk' => 'ВКонтакте',
        'vkid' => 'VK ID',
        'yandex' => 'Яндекс',
        'mailru' => 'Mail.ru',
        'google' => 'Google',
        'github' => 'GitHub',
        'gitlab' => 'GitLab',
        'microsoft' => 'Microsoft',
        'facebook' => 'Facebook',
        'x' => 'X',
    ];
    /** Logins started and not finished yet, at most this many per session (one per button). */
    private const PENDING_MAX = 10;
    private const SESSION_PENDING = 'SOCIALGATE_PENDING';
    private const SESSION_ID_TOKEN = 'SOCIALGATE_ID_TOKEN';

    public function GetSettings()
    {
        return [
            [self::OPTIONS['issuer'], Loc::getMessage('SOCIALGATE_OPT_ISSUER'), '', ['text', 50]],
            [self::OPTIONS['client_id'], Loc::getMessage('SOCIALGATE_OPT_CLIENT_ID'), '', ['text', 40]],
            [self::OPTIONS['client_secret'], Loc::getMessage('SOCIALGATE_OPT_CLIENT_SECRET'), '', ['text', 40]],
            [self::OPTIONS['providers'], Loc::getMessage('SOCIALGATE_OPT_PROVIDERS'), 'ok,vk', ['text', 40]],
            [self::OPTIONS['post_logout_uri'], Loc::getMessage('SOCIALGATE_OPT_POST_LOGOUT_URI'), '', ['text', 50]],
            ['note' => Loc::getMessage('SOCIALGATE_OPT_NOTE', [
                '#REDIRECT_URI#' => htmlspecialcharsbx(self::redirectUri()),
                '#POST_LOGOUT_URI#' => htmlspecialcharsbx(self::postLogoutUri()),
            ])],
        ];
    }

    public function CheckSettings()
    {
        return self::setting('issuer') !== '' && self::setting('client_id') !== ''
            && self::setting('client_secret') !== '';
    }

    /**
     * One button per configured network. Each goes straight to the gateway's
     * /authorize?provider=… (no chooser page) in a popup, as socialservices' own buttons do;
     * the state, nonce and PKCE verifier of each wait in the session, keyed by state.
     */
    public function GetFormHtml($arParams)
    {
        try {
            $client = self::client();
            $html = '';
            foreach (self::providers() as $provider) {
                [$url, $pending] = $client->authorizationRequest(['provider' => $provider]);
                $pending['backurl'] = self::backUrl($arParams);
                self::rememberPending($pending);
                $label = Loc::getMessage('SOCIALGATE_BUTTON', ['#NETWORK#' => self::NETWORKS[$provider] ?? $provider]);
                $html .= '<a href="' . htmlspecialcharsbx($url) . '" onclick="BX.util.popup(\''
                    . htmlspecialcharsbx(CUtil::JSEscape($url)) . '\', 680, 600); return false;"'
                    . ' class="bx-ss-button socialgate-button socialgate-' . htmlspecialcharsbx($provider) . '">'
                    . htmlspecialcharsbx($label) . '</a><span class="bx-spacer"></span>';
            }
            return $html;
        } catch (OidcError $e) {
            // The gateway is unreachable or misconfigured: no buttons, a line in the log.
            AddMessage2Log('socialgate: ' . $e->getMessage(), 'socialgate');
            return '';
        }
    }

    /** The redirect URI's side (install/tools/oauth/socialgate.php). */
    public function Authorize()
    {
        $GLOBALS['APPLICATION']->RestartBuffer();
        $state = $_GET['state'] ?? null;
        $pending = is_string($state) ? self::takePending($state) : null;
        $result = defined('SOCSERV_AUTHORISATION_ERROR') ? SOCSERV_AUTHORISATION_ERROR : 1;
        try {
            $login = self::client()->handleCallback($_GET, $pending);
            $fields = UserFields::fromClaims($login['claims'], defined('SITE_ID') ? SITE_ID : '');
            if (isset($fields['PERSONAL_PHOTO_URL'])) {
                if (self::CheckPhotoURI($fields['PERSONAL_PHOTO_URL'])
                    && ($photo = CFile::MakeFileArray($fields['PERSONAL_PHOTO_URL']))) {
                    $fields['PERSONAL_PHOTO'] = $photo;
                }
                unset($fields['PERSONAL_PHOTO_URL']);
            }
            $result = $this->AuthorizeUser($fields);
            if ($result === true) {
                $_SESSION[self::SESSION_ID_TOKEN] = $login['id_token'];
            }
        } catch (OidcError $e) {
            AddMessage2Log('socialgate: login refused: ' . $e->getMessage(), 'socialgate');
        }

        $url = self::safeBackUrl($pending['backurl'] ?? '/');
        if ($result !== true) {
            $url .= (str_contains($url, '?') ? '&' : '?') . 'auth_service_id=' . self::ID
                . '&auth_service_error=' . (int) $result;
        }
        $js = CUtil::JSEscape($url);
        echo "<script>\nif (window.opener) { window.opener.location = '$js'; window.close(); }\n"
            . "else { window.location = '$js'; }\n</script>\n";
        die();
    }

    // ---- used by the logout handlers (Socialgate\EventHandlers) ------------------------

    /** The id_token of this session's socialgate login, taken out of the session. */
    public static function takeIdToken(): ?string
    {
        $token = $_SESSION[self::SESSION_ID_TOKEN] ?? null;
        unset($_SESSION[self::SESSION_ID_TOKEN]);
        return is_string($token) ? $token : null;
    }

    /** The gateway's end-session URL for this id_token, or null when not configured. */
    public static function endSessionUrl(string $idToken): ?string
    {
        try {
            return self::client()->endSessionUrl($idToken, self::postLogoutUri());
        } catch (OidcError $e) {
            AddMessage2Log('socialgate: no logout at the gateway: ' . $e->getMessage(), 'socialgate');
            return null;
        }
    }

    // ---- settings and session ----------------------------------------------------------

    public static function redirectUri(): string
    {
        return CHTTP::URN2URI(self::CALLBACK_PATH);
    }

    public static function postLogoutUri(): string
    {
        $uri = self::setting('post_logout_uri');
        return $uri !== '' ? $uri : CHTTP::URN2URI('/');
    }

    private static function setting(string $name): string
    {
        return trim((string) self::GetOption(self::OPTIONS[$name]));
    }

    private static function client(): OidcClient
    {
        $cacheDir = $_SERVER['DOCUMENT_ROOT'] . BX_PERSONAL_ROOT . '/cache/socialgate';
        if (!is_dir($cacheDir)) {
            @mkdir($cacheDir, defined('BX_DIR_PERMISSIONS') ? BX_DIR_PERMISSIONS : 0755, true);
        }
        return new OidcClient(
            self::setting('issuer'),
            self::setting('client_id'),
            self::setting('client_secret'),
            self::redirectUri(),
            is_dir($cacheDir) ? $cacheDir : null,
        );
    }

    /** @return list<string> */
    private static function providers(): array
    {
        $names = preg_split('/[\s,;]+/', strtolower(self::setting('providers')), -1, PREG_SPLIT_NO_EMPTY);
        return array_values(array_filter($names, fn ($n) => preg_match('/^[a-z0-9_-]+$/', $n) === 1));
    }

    private static function rememberPending(array $pending): void
    {
        $all = $_SESSION[self::SESSION_PENDING] ?? [];
        $all[$pending['state']] = $pending;
        $_SESSION[self::SESSION_PENDING] = array_slice($all, -self::PENDING_MAX, null, true);
    }

    /** The pending login of this state, once. */
    private static function takePending(string $state): ?array
    {
        $pending = $_SESSION[self::SESSION_PENDING][$state] ?? null;
        unset($_SESSION[self::SESSION_PENDING][$state]);
        return is_array($pending) ? $pending : null;
    }

    /** Where the person was when they pressed the button (socialservices passes BACKURL). */
    private static function backUrl($arParams): string
    {
        $back = is_array($arParams) && is_string($arParams['BACKURL'] ?? null) && $arParams['BACKURL'] !== ''
            ? $arParams['BACKURL']
            : $GLOBALS['APPLICATION']->GetCurPageParam('', ['logout', 'auth_service_error', 'auth_service_id', 'backurl']);
        return self::safeBackUrl($back);
    }

    /** A path on this site only: never an open redirect. */
    private static function safeBackUrl(string $url): string
    {
        return (str_starts_with($url, '/') && !str_starts_with($url, '//') && !str_contains($url, '\\')) ? $url : '/';
    }
}

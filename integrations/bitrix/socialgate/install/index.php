<?php
/**
 * The module's installer: Settings → Modules (Marketplace → Installed solutions) → socialgate
 * → Install. Registers the socialservices service and the logout handler, and copies the
 * redirect URI page to /bitrix/tools/oauth/socialgate.php.
 */

use Bitrix\Main\EventManager;
use Bitrix\Main\Localization\Loc;
use Bitrix\Main\ModuleManager;

Loc::loadMessages(__FILE__);

class socialgate extends CModule
{
    public $MODULE_ID = 'socialgate';
    public $MODULE_VERSION;
    public $MODULE_VERSION_DATE;
    public $MODULE_NAME;
    public $MODULE_DESCRIPTION;
    public $PARTNER_NAME;
    public $PARTNER_URI;

    /** Event handlers: [module, event, class, method]. */
    private const HANDLERS = [
        ['socialservices', 'OnAuthServicesBuildList', 'Socialgate\\EventHandlers', 'onAuthServicesBuildList'],
        ['main', 'OnBeforeUserLogout', 'Socialgate\\EventHandlers', 'onBeforeUserLogout'],
        ['main', 'OnAfterUserLogout', 'Socialgate\\EventHandlers', 'onAfterUserLogout'],
    ];

    public function __construct()
    {
        $arModuleVersion = [];
        include __DIR__ . '/version.php';
        $this->MODULE_VERSION = $arModuleVersion['VERSION'];
        $this->MODULE_VERSION_DATE = $arModuleVersion['VERSION_DATE'];
        $this->MODULE_NAME = Loc::getMessage('SOCIALGATE_MODULE_NAME');
        $this->MODULE_DESCRIPTION = Loc::getMessage('SOCIALGATE_MODULE_DESCRIPTION');
        $this->PARTNER_NAME = 'socialgate';
        $this->PARTNER_URI = '';
    }

    public function DoInstall()
    {
        global $APPLICATION;
        if (!ModuleManager::isModuleInstalled('socialservices')) {
            $APPLICATION->ThrowException(Loc::getMessage('SOCIALGATE_NEEDS_SOCIALSERVICES'));
            return false;
        }
        if (PHP_VERSION_ID < 80200 || !function_exists('curl_init') || !function_exists('openssl_verify')) {
            $APPLICATION->ThrowException(Loc::getMessage('SOCIALGATE_NEEDS_PHP'));
            return false;
        }
        ModuleManager::registerModule($this->MODULE_ID);
        $events = EventManager::getInstance();
        foreach (self::HANDLERS as [$module, $event, $class, $method]) {
            $events->registerEventHandler($module, $event, $this->MODULE_ID, $class, $method);
        }
        CopyDirFiles(__DIR__ . '/tools', $_SERVER['DOCUMENT_ROOT'] . '/bitrix/tools', true, true);
        return true;
    }

    public function DoUninstall()
    {
        $events = EventManager::getInstance();
        foreach (self::HANDLERS as [$module, $event, $class, $method]) {
            $events->unRegisterEventHandler($module, $event, $this->MODULE_ID, $class, $method);
        }
        DeleteDirFiles(__DIR__ . '/tools', $_SERVER['DOCUMENT_ROOT'] . '/bitrix/tools');
        ModuleManager::unRegisterModule($this->MODULE_ID);
        return true;
    }
}

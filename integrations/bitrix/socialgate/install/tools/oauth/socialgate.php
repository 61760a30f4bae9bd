<?php
/*
 * socialgate's redirect URI: copied to /bitrix/tools/oauth/socialgate.php when the module is
 * installed, like socialservices' own callback pages. Register
 *     https://SITE/bitrix/tools/oauth/socialgate.php
 * in the site's redirect_uris at the gateway. The gateway sends the person here with `code`,
 * `state` and `iss`; CSocServSocialgate::Authorize() does the rest.
 */
define('NOT_CHECK_PERMISSIONS', true);

require_once $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/prolog_before.php';

if (CModule::IncludeModule('socialservices') && CModule::IncludeModule('socialgate')) {
    $oAuthManager = new CSocServAuthManager();
    $oAuthManager->Authorize('socialgate');
}

require_once $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/epilog_after.php';

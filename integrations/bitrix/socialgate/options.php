<?php
/**
 * The module's settings page: Settings → Product settings → Module settings → socialgate
 * (/bitrix/admin/settings.php?mid=socialgate). It edits the same values as the "socialgate" tab
 * of socialservices' settings (they are socialservices options, read with
 * CSocServAuth::GetOption), and shows the URIs to register at the gateway.
 */

use Bitrix\Main\Config\Option;
use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;

defined('B_PROLOG_INCLUDED') && B_PROLOG_INCLUDED === true || die();

/** @var CMain $APPLICATION */
/** @var CUser $USER */
if (!$USER->IsAdmin() || !Loader::includeModule('socialservices') || !Loader::includeModule('socialgate')) {
    return;
}
Loc::loadMessages(__FILE__);

$moduleId = 'socialgate';
$fields = [
    'issuer' => ['SOCIALGATE_OPT_ISSUER', 'https://id.example.ru'],
    'client_id' => ['SOCIALGATE_OPT_CLIENT_ID', 'shop'],
    'client_secret' => ['SOCIALGATE_OPT_CLIENT_SECRET', ''],
    'providers' => ['SOCIALGATE_OPT_PROVIDERS', 'ok,vk'],
    'post_logout_uri' => ['SOCIALGATE_OPT_POST_LOGOUT_URI', CSocServSocialgate::postLogoutUri()],
];

if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_POST['save']) && check_bitrix_sessid()) {
    foreach ($fields as $name => $_) {
        $option = CSocServSocialgate::OPTIONS[$name];
        $value = trim((string) ($_POST[$option] ?? ''));
        // The secret is never shown again: an empty field keeps the one saved.
        if ($name === 'client_secret' && $value === '') {
            continue;
        }
        Option::set('socialservices', $option, $value);
    }
    LocalRedirect($APPLICATION->GetCurPage() . '?mid=' . urlencode($moduleId) . '&lang=' . LANGUAGE_ID);
}

$tabControl = new CAdminTabControl('socialgate_tabs', [[
    'DIV' => 'socialgate_main',
    'TAB' => Loc::getMessage('SOCIALGATE_TAB'),
    'TITLE' => Loc::getMessage('SOCIALGATE_TAB_TITLE'),
]]);
?>
<form method="post" action="<?= $APPLICATION->GetCurPage() ?>?mid=<?= urlencode($moduleId) ?>&amp;lang=<?= LANGUAGE_ID ?>">
<?= bitrix_sessid_post() ?>
<?php $tabControl->Begin(); $tabControl->BeginNextTab(); ?>
<?php foreach ($fields as $name => [$label, $placeholder]):
    $option = CSocServSocialgate::OPTIONS[$name];
    $value = $name === 'client_secret' ? '' : (string) Option::get('socialservices', $option, $name === 'providers' ? 'ok,vk' : '');
    ?>
    <tr>
        <td width="40%"><label for="<?= $option ?>"><?= Loc::getMessage($label) ?>:</label></td>
        <td width="60%">
            <input type="<?= $name === 'client_secret' ? 'password' : 'text' ?>" size="50"
                   id="<?= $option ?>" name="<?= $option ?>" value="<?= htmlspecialcharsbx($value) ?>"
                   placeholder="<?= htmlspecialcharsbx($name === 'client_secret'
                       ? (Option::get('socialservices', $option, '') !== '' ? Loc::getMessage('SOCIALGATE_SECRET_KEPT') : '')
                       : $placeholder) ?>">
        </td>
    </tr>
<?php endforeach; ?>
    <tr>
        <td colspan="2">
            <?= BeginNote() ?>
            <?= Loc::getMessage('SOCIALGATE_OPT_NOTE', [
                '#REDIRECT_URI#' => htmlspecialcharsbx(CSocServSocialgate::redirectUri()),
                '#POST_LOGOUT_URI#' => htmlspecialcharsbx(CSocServSocialgate::postLogoutUri()),
            ]) ?>
            <?= EndNote() ?>
        </td>
    </tr>
<?php $tabControl->Buttons(); ?>
    <input type="submit" name="save" value="<?= Loc::getMessage('SOCIALGATE_SAVE') ?>" class="adm-btn-save">
<?php $tabControl->End(); ?>
</form>

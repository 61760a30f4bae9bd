<?php
$MESS['SOCIALGATE_MODULE_NAME'] = 'socialgate: вход через соцсети (OpenID Connect)';
$MESS['SOCIALGATE_MODULE_DESCRIPTION'] = 'Сервис «socialgate» для модуля «Социальные сервисы»: вход через Одноклассники, ВКонтакте и другие сети через шлюз socialgate по OpenID Connect.';
$MESS['SOCIALGATE_NEEDS_SOCIALSERVICES'] = 'Сначала установите модуль «Социальные сервисы» (socialservices).';
$MESS['SOCIALGATE_NEEDS_PHP'] = 'Нужен PHP 8.2 или новее с расширениями curl и openssl.';

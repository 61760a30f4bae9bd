<?php
$MESS['SOCIALGATE_TAB'] = 'socialgate';
$MESS['SOCIALGATE_TAB_TITLE'] = 'Подключение к шлюзу socialgate';
$MESS['SOCIALGATE_SAVE'] = 'Сохранить';
$MESS['SOCIALGATE_SECRET_KEPT'] = 'сохранён; оставьте пустым, чтобы не менять';
$MESS['SOCIALGATE_OPT_ISSUER'] = 'Адрес шлюза (issuer)';
$MESS['SOCIALGATE_OPT_CLIENT_ID'] = 'Идентификатор сайта (client_id)';
$MESS['SOCIALGATE_OPT_CLIENT_SECRET'] = 'Секретный ключ сайта (client_secret)';
$MESS['SOCIALGATE_OPT_PROVIDERS'] = 'Кнопки соцсетей (через запятую: ok,vk,yandex…)';
$MESS['SOCIALGATE_OPT_POST_LOGOUT_URI'] = 'Куда вернуться после выхода (пусто — главная страница)';
$MESS['SOCIALGATE_OPT_NOTE'] = 'В настройках сайта на шлюзе socialgate ([clients.ID] в config.toml) укажите в <b>redirect_uris</b> адрес<br><b>#REDIRECT_URI#</b><br>и в <b>post_logout_redirect_uris</b> адрес<br><b>#POST_LOGOUT_URI#</b><br>Затем включите сервис «socialgate» в настройках модуля «Социальные сервисы».';

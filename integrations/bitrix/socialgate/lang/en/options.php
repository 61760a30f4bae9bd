<?php
$MESS['SOCIALGATE_TAB'] = 'socialgate';
$MESS['SOCIALGATE_TAB_TITLE'] = 'Connection to the socialgate gateway';
$MESS['SOCIALGATE_SAVE'] = 'Save';
$MESS['SOCIALGATE_SECRET_KEPT'] = 'saved; leave empty to keep it';
$MESS['SOCIALGATE_OPT_ISSUER'] = 'Gateway address (issuer)';
$MESS['SOCIALGATE_OPT_CLIENT_ID'] = 'Site id (client_id)';
$MESS['SOCIALGATE_OPT_CLIENT_SECRET'] = 'Site secret (client_secret)';
$MESS['SOCIALGATE_OPT_PROVIDERS'] = 'Network buttons (comma-separated: ok,vk,yandex…)';
$MESS['SOCIALGATE_OPT_POST_LOGOUT_URI'] = 'Where to return after logout (empty: the home page)';
$MESS['SOCIALGATE_OPT_NOTE'] = 'At the socialgate gateway, in this site\'s client ([clients.ID] in config.toml), register in <b>redirect_uris</b><br><b>#REDIRECT_URI#</b><br>and in <b>post_logout_redirect_uris</b><br><b>#POST_LOGOUT_URI#</b><br>Then turn the "socialgate" service on in the Social Services module\'s settings.';

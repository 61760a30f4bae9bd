<?php
$MESS['SOCIALGATE_MODULE_NAME'] = 'socialgate: social login (OpenID Connect)';
$MESS['SOCIALGATE_MODULE_DESCRIPTION'] = 'A "socialgate" service for the Social Services module: log in with OK, VK and other networks through the socialgate gateway over OpenID Connect.';
$MESS['SOCIALGATE_NEEDS_SOCIALSERVICES'] = 'Install the Social Services module (socialservices) first.';
$MESS['SOCIALGATE_NEEDS_PHP'] = 'PHP 8.2 or later with the curl and openssl extensions is required.';

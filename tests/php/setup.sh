#!/usr/bin/env bash
# Installs what tests/php.rs needs, when missing: PHP's command line with curl (openssl is
# built in), mbstring and xml (PHPUnit's), and PHPUnit, all from Debian's archive. Idempotent:
# does nothing when `php` with curl and `phpunit` are there. Called by tests/run.sh.
set -euo pipefail

have_php() {
    command -v php >/dev/null 2>&1 && command -v phpunit >/dev/null 2>&1 \
        && php -r 'exit(extension_loaded("curl") && extension_loaded("openssl") && extension_loaded("mbstring") && extension_loaded("dom") ? 0 : 1);'
}

if have_php; then
    exit 0
fi
echo "tests/php/setup.sh: installing php-cli, php-curl and phpunit (the PHP tests need them)" >&2
bash "$(dirname "$0")/../apt-install.sh" php-cli php-curl php-mbstring php-xml phpunit
have_php || { echo "error: PHP or PHPUnit still missing after apt-get install" >&2; exit 1; }

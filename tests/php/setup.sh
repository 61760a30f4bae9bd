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
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    sudo="cannot"
fi
if [ "$sudo" = cannot ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: cannot install PHP here; install php-cli, php-curl, php-mbstring, php-xml and" \
        "phpunit yourself (PHP 8.2 or later, PHPUnit 9) and run this again" >&2
    exit 1
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    php-cli php-curl php-mbstring php-xml phpunit >/dev/null
have_php || { echo "error: PHP or PHPUnit still missing after apt-get install" >&2; exit 1; }

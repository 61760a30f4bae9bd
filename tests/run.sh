#!/usr/bin/env bash
# The project's test command: `bash tests/run.sh [cargo test arguments…]`.
# The Redis store tests start redis-servers of their own — single servers, replicas, cluster
# nodes, and Sentinels as `redis-server --sentinel` (no redis-sentinel or redis-cli needed) —
# so install it first if missing. SOCIALGATE_TEST_REDIS_SERVER=valkey-server runs them on
# Valkey instead (installed by whoever sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SOCIALGATE_TEST_REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    echo "tests/run.sh: redis-server is missing; installing it (the Redis store tests need it)" >&2
    bash tests/apt-install.sh redis-server
fi

# The client libraries tests/client_libraries.rs logs in with (openid-client, Authlib).
bash tests/clients/setup.sh
# PHP and PHPUnit for tests/php.rs (the 1C-Bitrix module's client, the PHP example site).
bash tests/php/setup.sh
# Apache httpd and mod_auth_openidc for tests/apache.rs (the examples/apache/ configuration).
bash tests/apache/setup.sh
# Chromium, playwright-core and axe-core for tests/browser.rs (the pages in a real browser).
bash tests/browser/setup.sh

exec cargo test --locked "$@"

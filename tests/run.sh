#!/usr/bin/env bash
# The project's test command: `bash tests/run.sh [cargo test arguments…]`.
# The Redis store tests start redis-servers of their own, so install it first if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "tests/run.sh: redis-server is missing; installing it (the Redis store tests need it)" >&2
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        sudo="cannot"
    fi
    if [ "$sudo" = cannot ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: cannot install redis-server here; install it yourself" \
            "(e.g. 'apt-get install redis-server' or 'brew install redis') and run this again" >&2
        exit 1
    fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
fi

# The client libraries tests/client_libraries.rs logs in with (openid-client, Authlib).
bash tests/clients/setup.sh
# PHP and PHPUnit for tests/php.rs (the 1C-Bitrix module's client, the PHP example site).
bash tests/php/setup.sh

exec cargo test --locked "$@"

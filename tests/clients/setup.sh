#!/usr/bin/env bash
# Installs the client libraries tests/client_libraries.rs logs in with: openid-client (npm ci in
# tests/clients/node) and Authlib (a venv in $CARGO_TARGET_DIR/tmp/clients-venv, the default
# target/tmp/clients-venv). Idempotent: does nothing when the installed versions match the
# lockfile and requirements.txt. Installs node/npm and python3-venv with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")"
clients="$(pwd)"
repo="$(cd ../.. && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
venv="$target/tmp/clients-venv"

apt_install() {
    bash "$repo/tests/apt-install.sh" "$@"
}

stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Node: openid-client, exactly as package-lock.json says.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/clients/setup.sh: node or npm is missing; installing nodejs and npm" >&2
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "error: openid-client 6 needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi
want="$(stamp node/package.json node/package-lock.json; node --version)"
if [ "$(cat node/node_modules/.socialgate-installed 2>/dev/null)" != "$want" ]; then
    (cd node && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > node/node_modules/.socialgate-installed
fi

# Python: Authlib in a venv of its own, exactly as requirements.txt says.
want="$(stamp python/requirements.txt; python3 --version)"
if [ "$(cat "$venv/.socialgate-installed" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        echo "tests/clients/setup.sh: python3 -m venv failed; installing python3-venv" >&2
        rm -rf "$venv"
        apt_install python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
        --require-virtualenv -r python/requirements.txt
    echo "$want" > "$venv/.socialgate-installed"
fi
echo "tests/clients/setup.sh: openid-client $(node -p 'require("./node/node_modules/openid-client/package.json").version'), Authlib $("$venv/bin/python" -c 'import authlib; print(authlib.__version__)') ($venv)" >&2

#!/usr/bin/env bash
# Installs what tests/browser.rs drives: Debian's Chromium (/usr/bin/chromium) and, exactly
# as package-lock.json says, playwright-core and axe-core (npm ci here). Idempotent: does
# nothing when Chromium is there and node_modules matches the lockfile. playwright-core is
# only the driver: it never downloads a browser of its own. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd ../.. && pwd)"

apt_install() {
    bash "$repo/tests/apt-install.sh" "$@"
}

if [ ! -x /usr/bin/chromium ]; then
    echo "tests/browser/setup.sh: /usr/bin/chromium is missing; installing chromium" >&2
    apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/browser/setup.sh: node or npm is missing; installing nodejs and npm" >&2
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "error: playwright-core needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi

stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }
want="$(stamp package.json package-lock.json; node --version)"
if [ "$(cat node_modules/.socialgate-installed 2>/dev/null)" != "$want" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.socialgate-installed
fi
echo "tests/browser/setup.sh: playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version'), axe-core $(node -p 'require("./node_modules/axe-core/package.json").version'), $(/usr/bin/chromium --version 2>/dev/null)" >&2

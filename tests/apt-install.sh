#!/usr/bin/env bash
# `bash tests/apt-install.sh PACKAGE…`: installs Debian packages the tests need, as root or
# through sudo (CI runs as root). Where that is impossible, says what to install by hand.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    sudo="cannot"
fi
if [ "$sudo" = cannot ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: cannot install $* here (no apt-get, or not root and no sudo); install it" \
        "yourself and run this again" >&2
    exit 1
fi
# Another install (a second test run, unattended upgrades) may hold dpkg's lock: wait for it.
lock=(-o DPkg::Lock::Timeout=600)
$sudo apt-get "${lock[@]}" update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq --no-install-recommends "$@" >/dev/null

#!/usr/bin/env bash
# Installs what tests/apache.rs needs, when missing: Apache httpd and Debian's mod_auth_openidc
# (libapache2-mod-auth-openidc). Idempotent: does nothing when both are there. The test runs
# Apache with a configuration of its own, so Debian's default site need not run (in containers
# policy-rc.d keeps it from starting; elsewhere it may, on port 80, which the test does not use).
# Called by tests/run.sh.
set -euo pipefail

have_apache() {
    [ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_auth_openidc.so ]
}

if have_apache; then
    exit 0
fi
echo "tests/apache/setup.sh: installing apache2 and libapache2-mod-auth-openidc (the Apache test needs them)" >&2
bash "$(dirname "$0")/../apt-install.sh" apache2 libapache2-mod-auth-openidc
have_apache || { echo "error: Apache or mod_auth_openidc still missing after apt-get install" >&2; exit 1; }

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# "make run": a self-contained server root under build/run, httpd in the
# foreground with mod_goapi loaded.  Ctrl-C (SIGINT) stops it.
# Environment: GOAPI_PORT (default 8080; "127.0.0.1:8080" also works),
#              GOAPI_MODULE (the built mod_goapi.so),
#              GOAPI_RUN_USER (children's user when started as root).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
root="${GOAPI_RUN_ROOT:-$top/build/run}"
httpd=$(command -v apache2 || echo /usr/sbin/apache2)

mkdir -p "$root/conf" "$root/logs" "$root/run" "$root/modules"
cp "$top/conf/run.conf" "$root/conf/httpd.conf"
cp "$top/conf/goapi.conf" "$root/conf/goapi.conf"
cp "$top/conf/mpm.conf" "$root/conf/mpm.conf"
cp "${GOAPI_MODULE:-$top/build/mod_goapi.so}" "$root/modules/mod_goapi.so"
chmod -R a+rX "$root"

export GOAPI_PORT="${GOAPI_PORT:-8080}"
export GOAPI_RUN_ROOT="$root"
export GOAPI_HTTPD_MODULES="${GOAPI_HTTPD_MODULES:-/usr/lib/apache2/modules}"
# Children drop to this user when httpd starts as root.
export GOAPI_RUN_USER="${GOAPI_RUN_USER:-www-data}"

# The idempotency store is opened by the children, as that user: it must be
# able to reach it.  A checkout under /root is not reachable; then the store
# goes to /var/tmp/goapi-run instead.
export GOAPI_STORE="$root/run/goapi-idempotency.mdb"
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null \
   && ! runuser -u "$GOAPI_RUN_USER" -- test -x "$root/run" 2>/dev/null; then
    mkdir -p /var/tmp/goapi-run
    chmod 755 /var/tmp/goapi-run
    GOAPI_STORE=/var/tmp/goapi-run/goapi-idempotency.mdb
    echo "mod_goapi: $GOAPI_RUN_USER cannot reach $root; idempotency store in $GOAPI_STORE"
fi

"$httpd" -f "$root/conf/httpd.conf" -t
echo "mod_goapi: serving on port $GOAPI_PORT (Ctrl-C stops)"
exec "$httpd" -f "$root/conf/httpd.conf" -DFOREGROUND

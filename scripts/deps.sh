#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# Install the Debian packages that building, running and testing mod_goapi
# need, when some are missing.  Runs "apt-get update" at most once per boot.
# Usage: scripts/deps.sh [extra-package ...]
set -eu

PACKAGES="apache2 apache2-dev libapr1-dev libaprutil1-dev libcmocka-dev liblmdb-dev
          libhiredis-dev redis-server redis-sentinel
          gcc libc6-dev make perl python3 curl clang openssl gdb
          prometheus python3-prometheus-client"

missing=""
for p in $PACKAGES "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "mod_goapi needs these Debian packages:$missing" >&2
    echo "install them as root: apt-get install$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Once per boot: several make targets call this script in one CI run.
stamp=/run/goapi-apt-updated
if [ ! -e "$stamp" ]; then
    apt-get update -q
    touch "$stamp" 2>/dev/null || true
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

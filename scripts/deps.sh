#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# Install the Debian packages that building, running and testing mod_goapi
# need, when some are missing.  Runs "apt-get update" at most once per boot
# (and once more when it adds the backports suite).
# Usage: scripts/deps.sh [extra-package ...]
#        scripts/deps.sh --backports package ...
# --backports installs from the running release's backports suite of the
# Debian archive the machine already uses: it adds that suite (pinned at
# priority 100, so nothing else is ever upgraded from it) when missing.
set -eu

PACKAGES="apache2 apache2-dev libapr1-dev libaprutil1-dev libcmocka-dev liblmdb-dev
          libhiredis-dev redis-server redis-sentinel
          postgresql libaprutil1-dbd-pgsql
          gcc libc6-dev make perl python3 curl clang openssl gdb
          prometheus python3-prometheus-client"

backports=""
if [ "${1:-}" = "--backports" ]; then
    shift
    backports=1
    PACKAGES=""
fi

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

if [ -n "$backports" ]; then
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ -z "$codename" ]; then
        echo "deps.sh: no VERSION_CODENAME in /etc/os-release; cannot name a backports suite" >&2
        exit 1
    fi
    suite="$codename-backports"
    if ! apt-cache policy 2>/dev/null | grep -q "a=$suite\|n=$suite"; then
        # The archive the machine already uses for its release's packages.
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
              awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }')
        if [ -z "$uri" ]; then
            uri=$(awk -v c="$codename" '
                /^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) found = u }
                /^$/ { if (found) { print found; exit } }
                END { if (found) print found }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
        fi
        if [ -z "$uri" ]; then
            echo "deps.sh: no Debian archive for $codename among the apt sources" >&2
            exit 1
        fi
        key=/usr/share/keyrings/debian-archive-keyring.gpg
        printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
            "$uri" "$suite" "$key" > /etc/apt/sources.list.d/goapi-backports.sources
        printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$suite" \
            > /etc/apt/preferences.d/goapi-backports
        echo "added $suite from $uri (pin priority 100)"
        rm -f "$stamp"
    fi
    if [ ! -e "$stamp" ]; then
        apt-get update -q
        touch "$stamp" 2>/dev/null || true
    fi
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends -t "$suite" $missing
    exit 0
fi

if [ ! -e "$stamp" ]; then
    apt-get update -q
    touch "$stamp" 2>/dev/null || true
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# Make sure the image the Dockerfile starts FROM exists: pull it, or, when
# no registry can be reached, build the same Debian release with
# debootstrap from the Debian mirror this machine uses and import it under
# the same tag, so that the Dockerfile stays the standard one.
# Usage: docker/base-image.sh [tag]   (default debian:bookworm-slim)
set -eu

tag="${1:-debian:bookworm-slim}"
suite="${tag#*:}"
suite="${suite%-slim}"

if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
if timeout 60 docker pull "$tag" >/dev/null 2>&1; then
    echo "base image: pulled $tag"
    exit 0
fi

# The mirror apt uses here (deb822 or one-line sources), else Debian's.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\)\/\{0,1\}$/\1/p' \
             /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^deb[[:space:]]\+\(http[^[:space:]]*\)[[:space:]].*/\1/p' \
                 /etc/apt/sources.list 2>/dev/null | head -n 1)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

echo "base image: no registry; building $tag with debootstrap from $mirror"
root=$(mktemp -d /var/tmp/goapi-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"               # it becomes the image's /
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
# what the official slim image leaves out: package lists and caches
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
       "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import \
    --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$tag" >/dev/null
echo "base image: imported $tag"

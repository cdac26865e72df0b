# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# A Redis from Debian for "make docker-test" (the shared idempotency ledger
# of two mod_goapi containers).  docker/k8s.yaml uses the same settings.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
USER redis
# the ledger must never be evicted; append-only so that a restart keeps it
ENTRYPOINT ["redis-server", "--appendonly", "yes", "--maxmemory-policy", "noeviction", \
            "--dir", "/var/lib/redis", "--protected-mode", "no"]

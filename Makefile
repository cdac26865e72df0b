# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
# mod_goapi — build, run, test, install.
#
#   make            build build/mod_goapi.so with apxs
#   make run        serve on port $(GOAPI_PORT) in the foreground (Ctrl-C stops)
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make faults     the long fault runs (children killed under load, memory
#                   under hostile clients, Redis failovers); ends with
#                   "N passed, N failed"
#   make install    install the module with apxs (and conf/ for a2enmod on Debian)
#   make sanitize   the whole suite with ASan+UBSan
#   make lint       cppcheck, clang-tidy (.clang-tidy), the log tags
#                   (scripts/check-lognos.py) and no test assertion inside a
#                   try that catches it (scripts/check-tests.py); fails on
#                   any finding
#   make valgrind   the unit tests under valgrind: 0 errors, 0 definitely lost
#   make bench      requests/s, latency, memory and instructions against a
#                   baseline measured in the same run (build/bench.txt)
#   make deb        the Debian packages (dpkg-buildpackage in a clean copy,
#                   then lintian) into build/deb/
#   make docker-test  the image of docker/ built and proven with a real dockerd
#   make fuzz       libFuzzer targets of the parsers and codecs, FUZZ_SECONDS each
#   make clean

APXS      ?= apxs
CC        ?= cc
PYTHON    ?= /usr/bin/python3
GOAPI_PORT ?= 8080

BUILD     := build
WARN      := -Wall -Wextra -Werror
CSTD      := -std=gnu99
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
# The idempotency ledger: LMDB (src/goapi_store_lmdb.c), Redis (src/goapi_store_redis.c)
# and SQL through apr_dbd (src/goapi_store_dbd.c; its pgsql driver is loaded at run time).
STORE_LIBS := -llmdb -lhiredis -laprutil-1

PURE_SRC  := $(sort $(wildcard src/goapi_*.c))
GLUE_SRC  := $(sort $(wildcard src/mod_goapi_*.c))
HEADERS   := $(wildcard src/*.h include/*.h)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
PURE_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(PURE_SRC))

# APR flags are only looked up when a target needs them (not for "make deps").
APR_CONFIG = $(shell $(APXS) -q APR_CONFIG 2>/dev/null || echo apr-1-config)
APR_CFLAGS = $(shell $(APR_CONFIG) --cflags --cppflags --includes)
APR_LIBS   = $(shell $(APR_CONFIG) --link-ld --libs)
# APR-util: buckets and brigades (src/goapi_brigade.c).
APU_CONFIG = $(shell $(APXS) -q APU_CONFIG 2>/dev/null || echo apu-1-config)
APU_LIBS   = $(shell $(APU_CONFIG) --link-ld --libs)

.PHONY: all deps test-deps run test faults unit integration install sanitize clang-check clean clean-build bench docker-test fuzz lint valgrind deb

all: deps $(BUILD)/mod_goapi.so

deps:
	@scripts/deps.sh

# apxs compiles through libtool, which leaves its objects beside the sources;
# the module is then copied to build/.
$(BUILD)/mod_goapi.so: mod_goapi.c $(PURE_SRC) $(GLUE_SRC) $(HEADERS)
	@mkdir -p $(BUILD)
	$(APXS) -S CC="$(CC)" -c -o mod_goapi.la \
	    $(addprefix -Wc$(comma),$(WARN) $(CSTD) $(EXTRA_CFLAGS)) \
	    -I src -I include mod_goapi.c $(GLUE_SRC) $(PURE_SRC) $(STORE_LIBS)
	cp .libs/mod_goapi.so $@

comma := ,

# Pure units as a static library, for the unit tests.
$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CSTD) -g -O1 -fPIC $(EXTRA_CFLAGS) $(APR_CFLAGS) -Isrc -Iinclude -c $< -o $@

$(BUILD)/libgoapi.a: $(PURE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgoapi.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CSTD) -g -O1 $(EXTRA_CFLAGS) $(APR_CFLAGS) -Isrc -Iinclude $< \
	    $(BUILD)/libgoapi.a -lcmocka $(STORE_LIBS) $(APU_LIBS) $(APR_LIBS) -lpthread $(EXTRA_LDFLAGS) -o $@

# Every source must also be warning-free under clang (a syntax-only pass).
clang-check:
	@command -v clang >/dev/null || { echo "clang-check: clang missing"; exit 1; }
	@for f in mod_goapi.c $(GLUE_SRC) $(PURE_SRC); do \
	    clang $(WARN) $(CSTD) -fsyntax-only -I src -I include $$($(APXS) -q CPPFLAGS) \
	        -I$$($(APXS) -q INCLUDEDIR) $(APR_CFLAGS) $$f || exit 1; \
	done
	@# the public header is for C++ modules too
	@clang++ -x c++ -Wall -Wextra -Werror -fsyntax-only $(APR_CFLAGS) include/mod_goapi_public.h
	@echo "clang-check: $(words mod_goapi.c $(GLUE_SRC) $(PURE_SRC)) files clean, and the public header as C++"

# Static analysis of the module, the unit tests and the helper modules: cppcheck
# (reviewed false positives in .cppcheck-suppressions), then clang-tidy with the
# checks of .clang-tidy; fails on any finding.  cppcheck reads APR's and httpd's
# headers but not the system's, so it is given the AF_UNIX apr_network_io.h needs.
CPPCHECK   ?= cppcheck
CLANG_TIDY ?= clang-tidy
LINT_SRC   = mod_goapi.c $(GLUE_SRC) $(PURE_SRC) $(UNIT_SRC) \
             tests/modules/mod_goapi_hooktest.c bench/mod_goapi_benchok.c
CPPCHECK_FLAGS = --enable=warning,portability,performance --error-exitcode=1 \
    --inline-suppr --std=c99 --quiet --library=posix \
    --suppress=missingIncludeSystem --suppressions-list=.cppcheck-suppressions \
    -Isrc -Iinclude -I$(shell $(APXS) -q INCLUDEDIR) $(shell $(APR_CONFIG) --cppflags --includes) \
    -DAF_UNIX=1
TIDY_FLAGS = $(WARN) $(CSTD) -Isrc -Iinclude $(shell $(APXS) -q CPPFLAGS) \
    -I$(shell $(APXS) -q INCLUDEDIR) $(APR_CFLAGS)

lint:
	@scripts/deps.sh cppcheck clang-tidy
	@$(CPPCHECK) $(CPPCHECK_FLAGS) $(LINT_SRC) || { echo "lint: cppcheck found problems"; exit 1; }
	@bad=0; for f in $(LINT_SRC); do \
	    out=$$($(CLANG_TIDY) --quiet $$f -- $(TIDY_FLAGS) 2>&1) || bad=$$((bad + 1)); \
	    printf '%s\n' "$$out" | grep -v -e '^$$' -e '^[0-9]* warnings\? generated\.$$'; \
	done; \
	if [ $$bad -ne 0 ]; then echo "lint: clang-tidy found problems in $$bad files"; exit 1; fi
	@$(PYTHON) scripts/check-lognos.py
	@$(PYTHON) scripts/check-headers.py
	@$(PYTHON) scripts/check-tests.py --self-test
	@$(PYTHON) scripts/check-tests.py
	@if grep -rn --include='*.c' 'apr_thread_exit *(' mod_goapi.c src tests bench | grep -v 'not apr_thread_exit()'; then \
	    echo "lint: a thread ends by returning, never with apr_thread_exit() (see src/goapi_defs.h)"; \
	    exit 1; fi
	@echo "lint: cppcheck clean, clang-tidy clean ($(words $(LINT_SRC)) files), log tags unique, license headers, no swallowed assertions, no apr_thread_exit()"

# The unit tests under memcheck; fails on any error or definitely lost block.
# Forked children (test_goapi_store) stay under valgrind and are checked too,
# each with its own log; programs they exec (system()) are not.
VALGRIND       ?= valgrind
VALGRIND_FLAGS := --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
                  --trace-children=no
VALGRIND_DIR   = $(BUILD)/valgrind

valgrind: deps $(UNIT_BIN)
	@scripts/deps.sh valgrind
	@mkdir -p $(VALGRIND_DIR) && rm -f $(VALGRIND_DIR)/*.log $(VALGRIND_DIR)/*.out
	@bad=0; for t in $(UNIT_BIN); do \
	    n=$$(basename $$t); \
	    $(VALGRIND) $(VALGRIND_FLAGS) --log-file=$(VALGRIND_DIR)/$$n.%p.log $$t \
	        >$(VALGRIND_DIR)/$$n.out 2>&1; rc=$$?; \
	    if [ $$rc -ne 0 ] || grep -q '^\[  FAILED  \]' $(VALGRIND_DIR)/$$n.out; then \
	        bad=$$((bad + 1)); echo "!! valgrind: $$n failed (exit $$rc)"; \
	        cat $(VALGRIND_DIR)/$$n.out $(VALGRIND_DIR)/$$n.*.log; \
	    fi; \
	done; \
	errors=$$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) error.*/\1/p' $(VALGRIND_DIR)/*.log \
	    | tr -d , | awk '{ s += $$1 } END { print s + 0 }'); \
	lost=$$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' $(VALGRIND_DIR)/*.log \
	    | tr -d , | awk '{ s += $$1 } END { print s + 0 }'); \
	echo "valgrind: $(words $(UNIT_BIN)) binaries, $$errors errors, $$lost definitely lost"; \
	[ $$bad -eq 0 ] && [ $$errors -eq 0 ] && [ $$lost -eq 0 ]

# A module that uses mod_goapi's shutdown hook API, for the integration tests.
$(BUILD)/tests/mod_goapi_hooktest.so: tests/modules/mod_goapi_hooktest.c include/mod_goapi_public.h
	@mkdir -p $(dir $@)
	cd tests/modules && $(APXS) -S CC="$(CC)" -c -o mod_goapi_hooktest.la \
	    $(addprefix -Wc$(comma),$(WARN) $(CSTD) $(EXTRA_CFLAGS)) -I ../../include \
	    mod_goapi_hooktest.c >/dev/null
	cp tests/modules/.libs/mod_goapi_hooktest.so $@

# The routes' differential test runs against Go 1.22 (Debian's
# golang-1.22-go, from bookworm-backports); without it that test is skipped.
test-deps: deps
	@scripts/deps.sh --backports golang-1.22-go || \
	    echo "golang-1.22-go could not be installed: test_gomux will be skipped"

test: test-deps $(BUILD)/mod_goapi.so $(BUILD)/tests/mod_goapi_hooktest.so $(UNIT_BIN) clang-check
	@PYTHON=$(PYTHON) GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so \
	    tests/run.sh $(UNIT_BIN)

# The integration modules that say SUITE = "faults": longer runs that keep
# "make test" short (children killed under load, memory under hostile
# clients, the Redis ledger's failovers with real redis-server and
# redis-sentinel processes killed, stopped and blackholed); .ci/run runs
# both.
faults: test-deps $(BUILD)/mod_goapi.so $(BUILD)/tests/mod_goapi_hooktest.so
	@GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so $(PYTHON) tests/integration/run.py --suite faults

unit: deps $(UNIT_BIN)
	@tests/run.sh --unit-only $(UNIT_BIN)

integration: test-deps $(BUILD)/mod_goapi.so $(BUILD)/tests/mod_goapi_hooktest.so
	@GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so $(PYTHON) tests/integration/run.py

# The suite with AddressSanitizer and UndefinedBehaviorSanitizer in the module
# and the unit tests; httpd itself is not instrumented, so the ASan runtime is
# preloaded into it by the integration harness.
sanitize: test-deps
	$(MAKE) clean-build
	$(MAKE) CC=gcc BUILD=$(BUILD)/sanitize \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	    GOAPI_SANITIZE=1 test

# The baseline module of the benchmark.
$(BUILD)/bench/mod_goapi_benchok.so: bench/mod_goapi_benchok.c
	@mkdir -p $(dir $@)
	cd bench && $(APXS) -S CC="$(CC)" -c -o mod_goapi_benchok.la \
	    $(addprefix -Wc$(comma),$(WARN) $(CSTD)) mod_goapi_benchok.c >/dev/null
	cp bench/.libs/mod_goapi_benchok.so $@

# The benchmark's Go peer, with Debian's Go 1.22 toolchain (standard library
# only: nothing is downloaded), as the differential routes test uses.
GO := /usr/lib/go-1.22/bin/go
$(BUILD)/bench/goserver: bench/goserver/main.go bench/goserver/go.mod
	@scripts/deps.sh --backports golang-1.22-go
	@mkdir -p $(dir $@)
	cd bench/goserver && GOCACHE=$(CURDIR)/$(BUILD)/gocache GOPROXY=off GOFLAGS=-mod=mod \
	    GOTOOLCHAIN=local $(GO) build -trimpath -o $(CURDIR)/$@ .

# Not part of "make test": it measures, it does not assert.
bench: all $(BUILD)/bench/mod_goapi_benchok.so $(BUILD)/bench/goserver
	@scripts/deps.sh wrk valgrind
	@GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so $(PYTHON) bench/bench.py

# The Debian packages, built the Debian way (debian/) from a clean copy of
# the files git knows (tracked, or new and not ignored), never from this
# tree's objects; lintian must find no error and no warning.
DEB_DIR := $(BUILD)/deb
deb:
	@scripts/deps.sh build-essential debhelper dpkg-dev fakeroot lintian
	@tmp=$$(mktemp -d /tmp/goapi-deb.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	mkdir "$$tmp/src" && \
	git ls-files -z --cached --others --exclude-standard | \
	    xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	    tar --null -T - -cf - | tar -C "$$tmp/src" -xf - && \
	(cd "$$tmp/src" && dpkg-buildpackage -us -uc -b) >"$$tmp/build.log" 2>&1 || \
	    { tail -n 40 "$$tmp/build.log"; echo "deb: dpkg-buildpackage failed"; exit 1; }; \
	mkdir -p $(DEB_DIR) && rm -f $(DEB_DIR)/*.deb && cp "$$tmp"/*.deb $(DEB_DIR)/ && \
	ls -l $(DEB_DIR)/*.deb && \
	lintian --fail-on error,warning $(DEB_DIR)/*.deb && \
	echo "deb: $$(ls $(DEB_DIR)/*.deb | wc -l) packages in $(DEB_DIR), lintian clean"

# Root only: installs Docker and debootstrap, may start dockerd.
docker-test:
	@scripts/deps.sh docker.io debootstrap
	@$(PYTHON) docker/test.py
	@$(PYTHON) docker/test_deb.py

# libFuzzer targets for the pure parsers and codecs (tests/fuzz/): each built
# with clang and the sanitizers from the pure sources it needs (instrumented,
# so not libgoapi.a), then run for FUZZ_SECONDS on a copy of its seed corpus
# (build/fuzz/corpus/<target>); fails on any crash, leak or UB.
FUZZ_SECONDS ?= 60
FUZZ_SEED    ?= 1
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := id path parse idem check_url uuid ledger trace redis_url
FUZZ_BIN     := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_SRC_id        := src/goapi_id.c
FUZZ_SRC_path      := src/goapi_path.c src/goapi_router.c
FUZZ_SRC_parse     := src/goapi_parse.c
FUZZ_SRC_idem      := src/goapi_idem.c src/goapi_sha256.c src/goapi_parse.c
FUZZ_SRC_check_url := src/goapi_health.c src/goapi_json.c src/goapi_probe.c
FUZZ_SRC_uuid      := src/goapi_uuid.c
FUZZ_SRC_ledger    := src/goapi_store.c src/goapi_store_file.c src/goapi_store_lmdb.c \
                      src/goapi_lmdb_file.c \
                      src/goapi_idem.c src/goapi_sha256.c src/goapi_parse.c
FUZZ_SRC_trace     := src/goapi_trace.c
FUZZ_SRC_redis_url := src/goapi_redis_url.c src/goapi_redact.c src/goapi_path.c
FUZZ_LIBS_ledger   := -llmdb

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(PURE_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(CSTD) $(FUZZ_FLAGS) $(APR_CFLAGS) -Isrc -Iinclude $< $(FUZZ_SRC_$*) \
	    $(FUZZ_LIBS_$*) $(APR_LIBS) -ldl -o $@

fuzz:
	@scripts/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SEED) $(BUILD)/fuzz $(FUZZ_TARGETS)

run: all
	@GOAPI_PORT=$(GOAPI_PORT) GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so \
	    scripts/run.sh

# DESTDIR installs into a staging root (packaging, tests).
DESTDIR ?=
install: all
	mkdir -p $(DESTDIR)$$($(APXS) -q LIBEXECDIR) $(DESTDIR)$$($(APXS) -q INCLUDEDIR)
	$(APXS) -S LIBEXECDIR=$(DESTDIR)$$($(APXS) -q LIBEXECDIR) -i -n goapi $(BUILD)/mod_goapi.so
	install -m 644 include/mod_goapi_public.h $(DESTDIR)$$($(APXS) -q INCLUDEDIR)/
	mkdir -p $(DESTDIR)/usr/share/doc/mod_goapi
	install -m 644 LICENSE README.md conf/goapi-ledger.sql $(DESTDIR)/usr/share/doc/mod_goapi/
	@if [ -d /etc/apache2/mods-available ]; then \
	    mkdir -p $(DESTDIR)/etc/apache2/mods-available && \
	    install -m 644 conf/goapi.load conf/goapi.conf $(DESTDIR)/etc/apache2/mods-available/ && \
	    echo "installed; enable with: a2enmod goapi"; \
	fi

clean-build:
	rm -rf .libs src/.libs *.la *.lo *.slo *.o src/*.la src/*.lo src/*.slo src/*.o \
	    tests/modules/.libs tests/modules/*.la tests/modules/*.lo tests/modules/*.slo \
	    tests/modules/*.o bench/.libs bench/*.la bench/*.lo bench/*.slo bench/*.o

clean: clean-build
	rm -rf $(BUILD)

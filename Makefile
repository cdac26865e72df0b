# mod_goapi — build, run, test, install.
#
#   make            build build/mod_goapi.so with apxs
#   make run        serve on port $(GOAPI_PORT) in the foreground (Ctrl-C stops)
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make install    install the module with apxs (and conf/ for a2enmod on Debian)
#   make sanitize   the whole suite with ASan+UBSan
#   make bench      requests/s, latency, memory and instructions against a
#                   baseline measured in the same run (build/bench.txt)
#   make docker-test  the image of docker/ built and proven with a real dockerd
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
# The idempotency ledger (src/goapi_store_lmdb.c).
STORE_LIBS := -llmdb

PURE_SRC  := $(sort $(wildcard src/goapi_*.c))
GLUE_SRC  := $(sort $(wildcard src/mod_goapi_*.c))
HEADERS   := $(wildcard src/*.h)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
PURE_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(PURE_SRC))

# APR flags are only looked up when a target needs them (not for "make deps").
APR_CONFIG = $(shell $(APXS) -q APR_CONFIG 2>/dev/null || echo apr-1-config)
APR_CFLAGS = $(shell $(APR_CONFIG) --cflags --cppflags --includes)
APR_LIBS   = $(shell $(APR_CONFIG) --link-ld --libs)

.PHONY: all deps run test unit integration install sanitize clang-check clean clean-build bench docker-test

all: deps $(BUILD)/mod_goapi.so

deps:
	@scripts/deps.sh

# apxs compiles through libtool, which leaves its objects beside the sources;
# the module is then copied to build/.
$(BUILD)/mod_goapi.so: mod_goapi.c $(PURE_SRC) $(GLUE_SRC) $(HEADERS)
	@mkdir -p $(BUILD)
	$(APXS) -S CC="$(CC)" -c -o mod_goapi.la \
	    $(addprefix -Wc$(comma),$(WARN) $(CSTD) $(EXTRA_CFLAGS)) \
	    -I src mod_goapi.c $(GLUE_SRC) $(PURE_SRC) $(STORE_LIBS)
	cp .libs/mod_goapi.so $@

comma := ,

# Pure units as a static library, for the unit tests.
$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CSTD) -g -O1 -fPIC $(EXTRA_CFLAGS) $(APR_CFLAGS) -Isrc -c $< -o $@

$(BUILD)/libgoapi.a: $(PURE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgoapi.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CSTD) -g -O1 $(EXTRA_CFLAGS) $(APR_CFLAGS) -Isrc $< \
	    $(BUILD)/libgoapi.a -lcmocka $(STORE_LIBS) $(APR_LIBS) -lpthread $(EXTRA_LDFLAGS) -o $@

# Every source must also be warning-free under clang (a syntax-only pass).
clang-check:
	@command -v clang >/dev/null || { echo "clang-check: clang missing"; exit 1; }
	@for f in mod_goapi.c $(GLUE_SRC) $(PURE_SRC); do \
	    clang $(WARN) $(CSTD) -fsyntax-only -I src $$($(APXS) -q CPPFLAGS) \
	        -I$$($(APXS) -q INCLUDEDIR) $(APR_CFLAGS) $$f || exit 1; \
	done
	@echo "clang-check: $(words mod_goapi.c $(GLUE_SRC) $(PURE_SRC)) files clean"

# A module that uses mod_goapi's shutdown hook API, for the integration tests.
$(BUILD)/tests/mod_goapi_hooktest.so: tests/modules/mod_goapi_hooktest.c src/goapi_shutdown.h
	@mkdir -p $(dir $@)
	cd tests/modules && $(APXS) -S CC="$(CC)" -c -o mod_goapi_hooktest.la \
	    $(addprefix -Wc$(comma),$(WARN) $(CSTD) $(EXTRA_CFLAGS)) -I ../../src \
	    mod_goapi_hooktest.c >/dev/null
	cp tests/modules/.libs/mod_goapi_hooktest.so $@

test: deps $(BUILD)/mod_goapi.so $(BUILD)/tests/mod_goapi_hooktest.so $(UNIT_BIN) clang-check
	@PYTHON=$(PYTHON) GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so \
	    tests/run.sh $(UNIT_BIN)

unit: deps $(UNIT_BIN)
	@tests/run.sh --unit-only $(UNIT_BIN)

integration: deps $(BUILD)/mod_goapi.so $(BUILD)/tests/mod_goapi_hooktest.so
	@GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so $(PYTHON) tests/integration/run.py

# The suite with AddressSanitizer and UndefinedBehaviorSanitizer in the module
# and the unit tests; httpd itself is not instrumented, so the ASan runtime is
# preloaded into it by the integration harness.
sanitize: deps
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

# Not part of "make test": it measures, it does not assert.
bench: all $(BUILD)/bench/mod_goapi_benchok.so
	@scripts/deps.sh wrk valgrind
	@GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so $(PYTHON) bench/bench.py

# Root only: installs Docker and debootstrap, may start dockerd.
docker-test:
	@scripts/deps.sh docker.io debootstrap
	@$(PYTHON) docker/test.py

run: all
	@GOAPI_PORT=$(GOAPI_PORT) GOAPI_MODULE=$(CURDIR)/$(BUILD)/mod_goapi.so \
	    scripts/run.sh

# DESTDIR installs into a staging root (packaging, tests).
DESTDIR ?=
install: all
	mkdir -p $(DESTDIR)$$($(APXS) -q LIBEXECDIR) $(DESTDIR)$$($(APXS) -q INCLUDEDIR)
	$(APXS) -S LIBEXECDIR=$(DESTDIR)$$($(APXS) -q LIBEXECDIR) -i -n goapi $(BUILD)/mod_goapi.so
	install -m 644 src/goapi_shutdown.h $(DESTDIR)$$($(APXS) -q INCLUDEDIR)/
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

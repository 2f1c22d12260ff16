# kith: build, run and test.
#
#   make            build build/kithd and build/kithctl
#   make run        install missing Debian packages, build, serve on http://localhost:8080
#   make check      install, build, then every test (unit, integration, format, deps)
#   make conformance  a Fedify peer (pinned npm, node 22) federates with a real kithd
#   make asan       build into build/asan with AddressSanitizer + UBSan and run the tests there
#   make bench      print performance figures beside this machine's limits
#   make format     clang-format every C file; format-check only checks

CC       ?= gcc
OPT      ?= -O2
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wwrite-strings -Wpointer-arith
CFLAGS   += -std=c11 $(OPT) -g $(WARN) -D_GNU_SOURCE -MMD -MP -I/usr/include/libxml2
LIBS      = -levent_openssl -levent_pthreads -levent -lssl -lcrypto -llmdb -lcjson -largon2 -lxml2 -lwslay \
            $(VIPS_LIBS) -lm -lpthread
# libvips decodes and re-encodes images (docs/decisions.md); only src/core/media.c sees its
# headers (glib's), as system headers.
VIPS_CFLAGS = $(shell pkg-config --cflags vips 2>/dev/null | sed 's/-I/-isystem /g')
VIPS_LIBS   = $(shell pkg-config --libs vips 2>/dev/null)
PYTHON    = /usr/bin/python3
BUILD    ?= build

# Debian packages the build, the tests and `make run` need.
DEB_PKGS  = gcc libc6-dev make pkg-config libevent-dev libssl-dev liblmdb-dev libcjson-dev \
            libargon2-dev libxml2-dev libcmocka-dev libvips-dev libwslay-dev python3 python3-pytest \
            python3-httpsig python3-websocket python3-cryptography \
            python3-blurhash python3-pil clang-format strace openssl lmdb-utils $(NPM_PKG)
# npm only fetches the pinned conformance packages (they bring their own node
# 22): Debian's npm when the machine has none (a node from elsewhere ships its own).
NPM_PKG   = $(if $(shell command -v npm 2>/dev/null),,npm)
BENCH_PKGS = wrk

LIB_SRC   = $(wildcard src/base/*.c) $(wildcard storage/*.c) $(wildcard src/core/*.c) \
            $(wildcard federation/*.c) $(wildcard src/api/*.c) $(wildcard web/*.c) \
            $(wildcard src/http/*.c)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC  = $(wildcard tests/unit/*/test_*.c)
UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC = $(wildcard tests/bench/*.c)
BENCH_BIN = $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all run check unit integration asan asan-build bench format format-check deps-check \
        deps clean

all: $(BUILD)/kithd $(BUILD)/kithctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/src/core/media.o: CFLAGS += $(VIPS_CFLAGS)

$(BUILD)/libkith.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/kithd: $(BUILD)/obj/src/main.o $(BUILD)/libkith.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/kithctl: $(BUILD)/obj/src/ctl.o $(BUILD)/libkith.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libkith.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libkith.a -lcmocka $(LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libkith.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libkith.a $(LIBS)

-include $(shell find $(BUILD)/obj $(BUILD)/tests $(BUILD)/bench -name '*.d' 2>/dev/null)

# ---- set-up ----

# Installs whatever Debian package is missing (as root, or through sudo).
deps:
	@missing=$$(for p in $(DEB_PKGS) $(EXTRA_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:" $$missing; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@if [ -f kith.conf ]; then exec $(BUILD)/kithd -c kith.conf; else exec $(BUILD)/kithd; fi

# ---- tests ----

check: deps
	@$(MAKE) --no-print-directory all unit integration conformance format-check deps-check

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all
	KITH_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# Independent implementations drive kith (npm packages pinned in conformance/).
conformance: all
	KITH_BUILD=$(abspath $(BUILD)) conformance/run

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" all unit integration

bench: EXTRA_PKGS = $(BENCH_PKGS)
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@tests/bench/run.sh $(BUILD)

# ---- style and structure ----

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run --Werror $(C_FILES) && echo "format-check: ok"

deps-check:
	@$(PYTHON) tests/deps-check.py

clean:
	rm -rf build

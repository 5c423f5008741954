# wisp - build, test, size, fuzz, bench, demo.
#
# A plain `make` (and lib, install, clean) only builds: it never runs apt,
# and without the packages it needs it stops with one line naming them.
# Every other target installs what it needs (tests/deps.sh, apt-get).
#
# Firmware builds can point at vendored copies:
#   make JSMN_INC=path/to/jsmn MBEDTLS_DIR=path/to/mbedtls-install
# (MBEDTLS_DIR must hold include/ and lib/; CMOCKA_DIR likewise for tests).

CC      ?= cc
AR      ?= ar
PREFIX  ?= /usr/local
BUILD   ?= build
PYTHON  ?= python3

JSMN_INC    ?= /usr/include
MBEDTLS_DIR ?=
ifneq ($(MBEDTLS_DIR),)
MBEDTLS_CFLAGS := -I$(MBEDTLS_DIR)/include
MBEDTLS_LIBS   := -L$(MBEDTLS_DIR)/lib -lmbedtls -lmbedx509 -lmbedcrypto
else
MBEDTLS_CFLAGS :=
MBEDTLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
endif
CMOCKA_DIR ?=
ifneq ($(CMOCKA_DIR),)
CMOCKA_CFLAGS := -I$(CMOCKA_DIR)/include
CMOCKA_LIBS   := -L$(CMOCKA_DIR)/lib -lcmocka
else
CMOCKA_CFLAGS :=
CMOCKA_LIBS   := -lcmocka
endif

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
CSTD    := -std=c99
OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS := $(CSTD) $(WARN) $(OPT) -Icore -Iport/posix -Iport/mbedtls -Iport/serial -Iport/proxy \
              $(MBEDTLS_CFLAGS) -I$(JSMN_INC) $(CFLAGS)

CORE_SRC  := $(sort $(wildcard core/*.c))
POSIX_SRC := $(sort $(wildcard port/posix/*.c))
TLS_SRC   := $(sort $(wildcard port/mbedtls/*.c))
SERIAL_SRC := $(sort $(wildcard port/serial/*.c))
PROXY_SRC := $(sort $(wildcard port/proxy/*.c))
LIB_SRC   := $(CORE_SRC) $(POSIX_SRC) $(TLS_SRC) $(SERIAL_SRC) $(PROXY_SRC)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all lib deps test unit e2e e2e-valgrind test-proxy valgrind asan variants check-core check-readme check-softfloat size fuzz fuzz-long fuzz-replay mutate lint \
        bench demo install clean test-mbedtls3 static test-static armhf test-armhf test-musl static-size test-lwip lwip-variants check-manifests test-minimal switches coverage

# The library and the CLI; test programs are built by the targets that run them.
all: lib $(BUILD)/wisp-chat $(BUILD)/wisp-minimal

lib: $(BUILD)/libwisp.a

# ---- dependencies ---------------------------------------------------------

# What `make test` needs (Debian names); `make deps` installs it.
DEB_PKGS := gcc make libjsmn-dev libmbedtls-dev libcmocka-dev python3 openssl valgrind clang libclang-rt-dev ca-certificates
DEPS_PKGS ?= $(DEB_PKGS)

# What the library and the CLI need: what a plain make checks for.  A build
# that names its own jsmn or mbedTLS does not need Debian's.
BUILD_PKGS := $(if $(filter cc gcc,$(CC)),gcc) $(if $(filter /usr/include,$(JSMN_INC)),libjsmn-dev) \
              $(if $(MBEDTLS_DIR),,libmbedtls-dev)

# Goals that only build.  Any other goal installs DEPS_PKGS first: compiling
# waits for `deps` (an order-only prerequisite of every object).
BUILD_ONLY_GOALS := all lib install clean $(BUILD)/libwisp.a $(BUILD)/wisp-chat $(BUILD)/wisp-minimal $(LIB_OBJ)
ifeq ($(filter-out $(BUILD_ONLY_GOALS),$(or $(MAKECMDGOALS),all)),)
DEPS_FIRST :=
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(strip $(shell sh tests/deps.sh --missing $(BUILD_PKGS)))
ifneq ($(MISSING_PKGS),)
$(error wisp: missing Debian packages: $(MISSING_PKGS) (apt-get install them, or run make deps))
endif
endif
else
DEPS_FIRST := deps
endif

deps:
	@sh tests/deps.sh $(DEPS_PKGS)

# Cross and musl builds get jsmn.h alone, never the host's /usr/include.
JSMN_ONLY_INC := $(BUILD)/jsmn-inc
COPY_JSMN = @mkdir -p $(JSMN_ONLY_INC) && cp $(JSMN_INC)/jsmn.h $(JSMN_ONLY_INC)/

# ---- library and CLI ------------------------------------------------------

# Binaries relink when a library built here (tests/mbedtls_build.sh,
# tests/cmocka_build.sh) was rebuilt: its stamp changes only then.
LIB_STAMPS  := $(wildcard $(MBEDTLS_DIR)/stamp)
TEST_STAMPS := $(LIB_STAMPS) $(wildcard $(CMOCKA_DIR)/stamp)

# The compiler and flags a build tree was made with: rewritten when they
# change, so a tree built with other flags (or another compiler or
# mbedTLS) is rebuilt rather than linked stale.
BUILD_FLAGS_FILE := $(BUILD)/.build-flags
BUILD_FLAGS_NOW  := $(CC) $(AR) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) $(MBEDTLS_LIBS) $(LDFLAGS)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
ifneq ($(file <$(BUILD_FLAGS_FILE)),$(BUILD_FLAGS_NOW))
$(shell mkdir -p $(BUILD))
$(file >$(BUILD_FLAGS_FILE),$(BUILD_FLAGS_NOW))
endif
endif

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h port/*/*.h) $(BUILD_FLAGS_FILE) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libwisp.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The CLI, one object per concern (examples/wisp-chat/: options, inputs,
# output, cancel, interactive, main); minimal.c there is its own program.
CLI_SRC := $(filter-out %/minimal.c,$(sort $(wildcard examples/wisp-chat/*.c)))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
$(CLI_OBJ): ALL_CFLAGS += -Iexamples
$(CLI_OBJ): $(wildcard examples/wisp-chat/*.h) examples/wisp_exit.h

$(BUILD)/wisp-chat: $(CLI_OBJ) $(BUILD)/libwisp.a $(BUILD_FLAGS_FILE) $(LIB_STAMPS)
	$(CC) $(ALL_CFLAGS) $(CLI_OBJ) -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS) -pthread $(LDFLAGS)

# A newcomer's first read, built so that it cannot rot (run by tests/e2e.py).
$(BUILD)/wisp-minimal: examples/wisp-chat/minimal.c $(BUILD)/libwisp.a $(BUILD_FLAGS_FILE) $(LIB_STAMPS)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS) $(LDFLAGS)

# Several requests on one client over TLS (run by tests/e2e.py).
$(BUILD)/keepalive_check: tests/keepalive_check.c $(BUILD)/libwisp.a $(BUILD_FLAGS_FILE) $(LIB_STAMPS)
	$(CC) $(ALL_CFLAGS) -Iexamples $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS) $(LDFLAGS)

# The tool-calling device of examples/tools (run by tests/e2e.py).
$(BUILD)/tools-device: examples/tools/device.c examples/wisp_exit.h $(BUILD)/libwisp.a $(BUILD_FLAGS_FILE) $(LIB_STAMPS)
	$(CC) $(ALL_CFLAGS) -Iexamples $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS) $(LDFLAGS)

# Reads every root of the system CA bundle (make test-static, test-armhf).
$(BUILD)/ca_bundle_check: tests/ca_bundle_check.c $(wildcard port/mbedtls/*.h) $(BUILD_FLAGS_FILE) $(LIB_STAMPS) | $(DEPS_FIRST)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(MBEDTLS_LIBS) $(LDFLAGS)

clean:
	rm -rf $(BUILD)

# ---- tests ------------------------------------------------------------------

UNIT_NAMES := $(patsubst tests/test_%.c,%,$(wildcard tests/test_*.c))
UNIT_BINS  := $(UNIT_NAMES:%=$(BUILD)/tests/test_%)
TEST_LIBS   = $(BUILD)/libwisp.a $(CMOCKA_LIBS) $(MBEDTLS_LIBS) -lpthread $(LDFLAGS)
E2E_LABEL  ?= e2e
export WISP_RESULTS ?= $(CURDIR)/build/test-results.txt

$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libwisp.a $(wildcard tests/*.h) $(BUILD_FLAGS_FILE) $(TEST_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests $< -o $@ $(TEST_LIBS)

unit: $(UNIT_BINS) | $(DEPS_FIRST)
	@sh tests/run_units.sh $(BUILD)/tests $(UNIT_NAMES)

# The unit suite under valgrind memcheck: no errors, no leaks.
valgrind: $(UNIT_BINS) | $(DEPS_FIRST)
	@VALGRIND=1 sh tests/run_units.sh $(BUILD)/tests $(UNIT_NAMES)

# The unit suite again with ASan + UBSan, in its own build tree.
asan: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang WISP_LABEL=asan \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" unit

# The unit suite built as bare-metal ARM builds it: -Os and short enums.
variants: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/short-enums WISP_LABEL=short-enums \
	    OPT="-Os -g -fshort-enums" unit
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/no-reasons WISP_LABEL=no-reasons \
	    OPT="-O2 -g -DWISP_CHECK_REASONS=0" unit
	@$(MAKE) --no-print-directory test-minimal
	@$(MAKE) --no-print-directory switches

# The unit suite in core/wisp_config_minimal.h: what it left out skips, by
# name (tests/needs.h).
test-minimal: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/minimal WISP_LABEL=minimal \
	    OPT='-O2 -g -DWISP_CONFIG_FILE=\"wisp_config_minimal.h\"' unit

# Each feature switch of wisp_config.h at 0 alone, the others on: the core
# builds clean, and tests/test_config.c finds it does what it says.  Then
# the model list with the largest WISP_MODEL_CAP under ASan.
switches: deps
	@fail=0; for s in $(SIZE_SWITCHES); do \
	    x=; [ $$s = PARTS ] && x=-DWISP_IMAGES=0; \
	    mkdir -p $(BUILD)/switches/$$s; \
	    $(CC) $(CSTD) $(WARN) -O1 -g -Icore -Itests $(CMOCKA_CFLAGS) -I$(JSMN_INC) -DWISP_$$s=0 $$x \
	        $(CORE_SRC) tests/test_config.c $(CMOCKA_LIBS) -o $(BUILD)/switches/$$s/test_config || \
	        { echo "FAIL switches: the core does not build with WISP_$$s 0"; \
	          echo "no-$$s config 0 1" >>$(WISP_RESULTS); fail=1; continue; }; \
	    WISP_LABEL=no-$$s sh tests/run_units.sh $(BUILD)/switches/$$s config || fail=1; \
	done; \
	mkdir -p $(BUILD)/switches/model-cap; \
	clang $(CSTD) $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -DWISP_MODEL_CAP=1024 -Icore -Itests $(CMOCKA_CFLAGS) -I$(JSMN_INC) $(CORE_SRC) tests/test_models.c \
	    $(CMOCKA_LIBS) -o $(BUILD)/switches/model-cap/test_models && \
	WISP_LABEL=model-cap-1024 sh tests/run_units.sh $(BUILD)/switches/model-cap models || fail=1; \
	exit $$fail

# End-to-end: build/wisp-chat against the local test server.
e2e: all $(BUILD)/keepalive_check $(BUILD)/tools-device | $(DEPS_FIRST)
	@WISP_CHAT=$${WISP_CHAT:-$(BUILD)/wisp-chat} $(PYTHON) tests/e2e.py >$(BUILD)/e2e.log 2>&1; rc=$$?; cat $(BUILD)/e2e.log; \
	tail -n 1 $(BUILD)/e2e.log | awk '/passed, .* failed/ {print "$(E2E_LABEL) all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# HTTPS through an HTTP proxy: build/wisp-chat through Debian's tinyproxy
# (with and without Basic credentials) and a scripted proxy (refusals,
# garbage, silence), NO_PROXY and --noproxy (tests/proxy_e2e.py).
PROXY_PKGS := tinyproxy python3 openssl
test-proxy: all | $(DEPS_FIRST)
	@sh tests/deps.sh $(PROXY_PKGS)
	@$(PYTHON) tests/proxy_e2e.py >$(BUILD)/proxy-e2e.log 2>&1; rc=$$?; cat $(BUILD)/proxy-e2e.log; \
	tail -n 1 $(BUILD)/proxy-e2e.log | awk '/passed, .* failed/ {print "proxy-e2e all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# The CLI end to end under valgrind memcheck (slow scenarios skipped).
e2e-valgrind: all $(BUILD)/keepalive_check $(BUILD)/tools-device | $(DEPS_FIRST)
	@$(PYTHON) tests/e2e.py --valgrind >$(BUILD)/e2e-valgrind.log 2>&1; rc=$$?; \
	grep -v '^ok ' $(BUILD)/e2e-valgrind.log; \
	tail -n 1 $(BUILD)/e2e-valgrind.log | awk '/passed, .* failed/ {print "e2e-valgrind all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# core/ must not reach for the heap, stdio or the OS: check every object.
FORBIDDEN := malloc calloc realloc free strdup printf fprintf sprintf snprintf puts fopen \
             exit abort socket connect send recv read write time clock_gettime
check-core: lib | $(DEPS_FIRST)
	@bad=0; for o in $(BUILD)/obj/core/*.o; do \
	    syms=$$(nm -u $$o | awk '{print $$2}' | grep -xE '$(shell echo $(FORBIDDEN) | tr ' ' '|')'); \
	    if [ -n "$$syms" ]; then echo "FAIL $$o uses: $$syms"; bad=1; fi; \
	done; \
	n=$$(ls $(BUILD)/obj/core/*.o | wc -l); \
	if [ $$bad = 0 ]; then echo "ok   check-core: $$n objects, no heap/stdio/OS symbols"; \
	    echo "check-core all $$n 0" >>$(WISP_RESULTS); else echo "check-core all 0 1" >>$(WISP_RESULTS); fi; \
	exit $$bad

# The README's C example must compile and link as printed.
check-readme: lib | $(DEPS_FIRST)
	@$(PYTHON) tests/readme_example.py README.md >$(BUILD)/readme_example.c
	@$(CC) $(ALL_CFLAGS) -Wno-unused-function $(BUILD)/readme_example.c -o $(BUILD)/readme_example \
	    $(BUILD)/libwisp.a $(MBEDTLS_LIBS) && echo "ok   check-readme: the README example builds" && \
	    echo "check-readme all 1 0" >>$(WISP_RESULTS)

# Everything the README promises; ends with "N passed, N failed".
test: deps
	@mkdir -p build && rm -f $(WISP_RESULTS)
	@fail=0; \
	$(MAKE) --no-print-directory all || fail=1; \
	$(MAKE) --no-print-directory check-core || fail=1; \
	$(MAKE) --no-print-directory check-readme || fail=1; \
	$(MAKE) --no-print-directory check-softfloat || fail=1; \
	$(MAKE) --no-print-directory size || fail=1; \
	$(MAKE) --no-print-directory unit || fail=1; \
	$(MAKE) --no-print-directory valgrind || fail=1; \
	$(MAKE) --no-print-directory asan || fail=1; \
	$(MAKE) --no-print-directory variants || fail=1; \
	$(MAKE) --no-print-directory e2e || fail=1; \
	$(MAKE) --no-print-directory e2e-valgrind || fail=1; \
	$(MAKE) --no-print-directory test-proxy || fail=1; \
	$(MAKE) --no-print-directory test-lwip || fail=1; \
	$(MAKE) --no-print-directory check-manifests || fail=1; \
	$(MAKE) --no-print-directory fuzz-replay || fail=1; \
	$(MAKE) --no-print-directory test-firmware || fail=1; \
	$(MAKE) --no-print-directory test-static || fail=1; \
	$(MAKE) --no-print-directory test-armhf || fail=1; \
	sh tests/summary.sh || fail=1; \
	exit $$fail

# ---- build manifests: ESP-IDF, Zephyr, PlatformIO, OpenWrt, wisp.mk ----------
#
# tests/manifest_check.py: every manifest names exactly the sources on disk;
# the CMake, Zephyr and OpenWrt ones are run with stand-ins for their SDKs.

MANIFEST_PKGS := cmake python3 make gcc libjsmn-dev libmbedtls-dev liblwip-dev

check-manifests: deps
	@sh tests/deps.sh $(MANIFEST_PKGS)
	@$(PYTHON) tests/manifest_check.py
	@$(PYTHON) tests/manifest_check.py --self-test

# ---- lwIP: port/lwip over lwIP's own TCP (Debian's liblwip, 2.1.3) ---------------
#
# tests/lwip/test_lwip.c brings lwIP up in-process with a loopback netif and
# serves every wire fixture from an lwIP socket in a second thread; it runs
# plain, under valgrind memcheck and under ASan + UBSan.  The port is also compiled with the resolver
# on (LWIP_DNS 1) and with select instead of poll, which Debian's build
# lacks: tests/lwip/opts_*/lwipopts.h put those options over Debian's.

LWIP_PKGS   := liblwip-dev libcmocka-dev clang libclang-rt-dev
LWIP_INC    ?= /usr/include/lwip
# Debian's lwIP headers want POSIX's ssize_t: _DEFAULT_SOURCE for them.
LWIP_CFLAGS := -D_DEFAULT_SOURCE -Iport/lwip -Itests
LWIP_TEST_SRC := tests/lwip/test_lwip.c port/lwip/wisp_lwip.c
LWIP_TEST_DEPS := $(LWIP_TEST_SRC) port/lwip/wisp_lwip.h tests/wire_fixtures.h tests/expect_format.h \
                  $(wildcard port/mbedtls/*.h)

$(BUILD)/lwip/test_lwip: $(LWIP_TEST_DEPS) $(BUILD)/libwisp.a $(BUILD_FLAGS_FILE) $(TEST_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) $(LWIP_CFLAGS) -I$(LWIP_INC) $(LWIP_TEST_SRC) -o $@ \
	    $(TEST_LIBS) -llwip

# Compile-only: the branches Debian's options leave out.
lwip-variants: | $(DEPS_FIRST)
	@mkdir -p $(BUILD)/lwip
	@for v in dns select; do \
	    $(CC) $(ALL_CFLAGS) $(LWIP_CFLAGS) -Itests/lwip/opts_$$v -I$(LWIP_INC) \
	        -c port/lwip/wisp_lwip.c -o $(BUILD)/lwip/wisp_lwip_$$v.o || exit 1; \
	done
	@nm -u $(BUILD)/lwip/wisp_lwip_dns.o | grep -q lwip_getaddrinfo && \
	    nm -u $(BUILD)/lwip/wisp_lwip_select.o | grep -q lwip_select && \
	    echo "ok   lwip-variants: the port builds with LWIP_DNS and with select" && \
	    echo "lwip-variants all 2 0" >>$(WISP_RESULTS)

test-lwip: deps
	@sh tests/deps.sh $(LWIP_PKGS)
	@fail=0; \
	$(MAKE) --no-print-directory $(BUILD)/lwip/test_lwip || fail=1; \
	WISP_LABEL=lwip sh tests/run_units.sh $(BUILD)/lwip lwip || fail=1; \
	VALGRIND=1 sh tests/run_units.sh $(BUILD)/lwip lwip || fail=1; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    $(BUILD)/asan/lwip/test_lwip || fail=1; \
	WISP_LABEL=lwip-asan sh tests/run_units.sh $(BUILD)/asan/lwip lwip || fail=1; \
	$(MAKE) --no-print-directory lwip-variants || fail=1; \
	exit $$fail

# ---- mbedTLS builds from Debian trixie's 3.6 source ------------------------------
#
# tests/mbedtls_build.sh keeps each build under build/mbedtls/NAME, keyed by
# its compiler, flags and configuration: each is compiled once.

MBEDTLS_PKGS := dpkg-dev
MBEDTLS3_DIR := $(abspath $(BUILD))/mbedtls/glibc-default

# The whole suite against 3.6 (mbedTLS's default configuration).
test-mbedtls3: deps
	@sh tests/deps.sh $(MBEDTLS_PKGS)
	@CC=$(CC) AR=$(AR) sh tests/mbedtls_build.sh $(MBEDTLS3_DIR) default -O2 -g
	@fail=0; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    WISP_LABEL=mbedtls3 all unit || fail=1; \
	VALGRIND=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    valgrind || fail=1; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    E2E_LABEL=mbedtls3-e2e e2e || fail=1; \
	exit $$fail

# ---- musl: the unit and end-to-end suites built with musl-gcc -------------------
#
# Debian's mbedTLS and cmocka are glibc builds: both are built for musl from
# Debian's source packages.  Only jsmn.h is copied from the host's headers;
# -I/usr/include would put glibc's headers in a musl build.

MUSL_CC      := musl-gcc
MUSL_PKGS    := musl-tools libjsmn-dev dpkg-dev cmake python3 openssl ca-certificates
MUSL_MBEDTLS := $(abspath $(BUILD))/mbedtls/musl-default
MUSL_CMOCKA  := $(abspath $(BUILD))/musl/cmocka

test-musl:
	@sh tests/deps.sh $(MUSL_PKGS)
	$(COPY_JSMN)
	@CC=$(MUSL_CC) AR=ar sh tests/mbedtls_build.sh $(MUSL_MBEDTLS) default -O2 -g
	@CC=$(MUSL_CC) sh tests/cmocka_build.sh $(MUSL_CMOCKA)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/musl/tree CC=$(MUSL_CC) JSMN_INC=$(JSMN_ONLY_INC) \
	    MBEDTLS_DIR=$(MUSL_MBEDTLS) CMOCKA_DIR=$(MUSL_CMOCKA) LDFLAGS=-static DEPS_PKGS= \
	    WISP_LABEL=musl E2E_LABEL=musl-e2e unit e2e

# ---- static: build/static/wisp-chat, for routers -------------------------------
#
# Stripped and statically linked against musl and mbedTLS 3.6 in the trimmed
# client configuration port/mbedtls/wisp_mbedtls_linux.h.  `make armhf` is
# the same for ARMv7 hard-float: Debian has no musl cross toolchain, so
# tests/musl_cross.sh builds musl from Debian's source with Debian's cross
# gcc.  Both run the end-to-end suite in make test (armhf under
# qemu-arm-static).

SMALL_OPT    := -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
SMALL_CONFIG := -DMBEDTLS_CONFIG_FILE=\"wisp_mbedtls_linux.h\"
SMALL_LD     := -static -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-Map=$$@.map
STATIC_DIR   := $(BUILD)/static
STATIC_MBEDTLS := $(abspath $(BUILD))/mbedtls/musl-linux

static:
	@sh tests/deps.sh $(MUSL_PKGS)
	$(COPY_JSMN)
	@CC=$(MUSL_CC) AR=ar sh tests/mbedtls_build.sh $(STATIC_MBEDTLS) wisp_mbedtls_linux.h $(SMALL_OPT)
	@$(MAKE) --no-print-directory BUILD=$(STATIC_DIR) CC=$(MUSL_CC) JSMN_INC=$(JSMN_ONLY_INC) \
	    MBEDTLS_DIR=$(STATIC_MBEDTLS) OPT="$(SMALL_OPT)" CFLAGS='$(SMALL_CONFIG)' \
	    LDFLAGS='$(SMALL_LD)' DEPS_PKGS= $(STATIC_DIR)/wisp-chat $(STATIC_DIR)/keepalive_check \
	    $(STATIC_DIR)/tools-device \
	    $(STATIC_DIR)/ca_bundle_check
	@$(PYTHON) tests/static_size.py $(STATIC_DIR)/wisp-chat

test-static: static
	@if $(STATIC_DIR)/ca_bundle_check; then echo "static ca-bundle 1 0" >>$(WISP_RESULTS); \
	else echo "static ca-bundle 0 1" >>$(WISP_RESULTS); exit 1; fi
	@$(MAKE) --no-print-directory BUILD=$(STATIC_DIR) CC=$(MUSL_CC) JSMN_INC=$(JSMN_ONLY_INC) \
	    MBEDTLS_DIR=$(STATIC_MBEDTLS) OPT="$(SMALL_OPT)" CFLAGS='$(SMALL_CONFIG)' \
	    LDFLAGS='$(SMALL_LD)' DEPS_PKGS= E2E_LABEL=static-e2e e2e

ARMHF_MUSL   := $(abspath $(BUILD))/musl-armhf
ARMHF_CC     := $(ARMHF_MUSL)/bin/musl-gcc
ARMHF_AR     := arm-linux-gnueabihf-ar
ARMHF_PKGS   := gcc-arm-linux-gnueabihf qemu-user-static libjsmn-dev dpkg-dev python3 openssl ca-certificates
ARMHF_DIR    := $(BUILD)/armhf
ARMHF_MBEDTLS := $(abspath $(BUILD))/mbedtls/armhf-musl-linux
ARMHF_MAKE   = $(MAKE) --no-print-directory BUILD=$(ARMHF_DIR) CC=$(ARMHF_CC) AR=$(ARMHF_AR) \
	    JSMN_INC=$(JSMN_ONLY_INC) MBEDTLS_DIR=$(ARMHF_MBEDTLS) OPT="$(SMALL_OPT)" CFLAGS='$(SMALL_CONFIG)' \
	    LDFLAGS='$(SMALL_LD)' DEPS_PKGS=

armhf:
	@sh tests/deps.sh $(ARMHF_PKGS)
	$(COPY_JSMN)
	@sh tests/musl_cross.sh $(ARMHF_MUSL)
	@CC=$(ARMHF_CC) AR=$(ARMHF_AR) sh tests/mbedtls_build.sh $(ARMHF_MBEDTLS) wisp_mbedtls_linux.h $(SMALL_OPT)
	+@$(ARMHF_MAKE) $(ARMHF_DIR)/wisp-chat $(ARMHF_DIR)/keepalive_check $(ARMHF_DIR)/ca_bundle_check \
	    $(ARMHF_DIR)/tools-device
	@$(PYTHON) tests/static_size.py $(ARMHF_DIR)/wisp-chat

test-armhf: armhf
	@if qemu-arm-static $(ARMHF_DIR)/ca_bundle_check; then echo "armhf ca-bundle 1 0" >>$(WISP_RESULTS); \
	else echo "armhf ca-bundle 0 1" >>$(WISP_RESULTS); exit 1; fi
	+@WISP_CHAT_PREFIX=qemu-arm-static $(ARMHF_MAKE) E2E_LABEL=armhf-e2e e2e

static-size: static armhf

# ---- size: flash per core file on Cortex-M4 ---------------------------------

ARM_CC   ?= arm-none-eabi-gcc
ARM_SIZE ?= arm-none-eabi-size
SIZE_FLAGS := -std=c99 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
              -Wall -Wextra -Wpedantic -Werror -Icore -I$(JSMN_ONLY_INC)

# Besides the table: a streamed text chat (tests/size_driver.c) linked over
# a stub transport, against the budget in tests/size_budget.txt.
SIZE_LINK := --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections
SIZE_CALL = ARM_CC='$(ARM_CC)' SIZE_FLAGS='$(SIZE_FLAGS)' SIZE_LINK='$(SIZE_LINK)' sh tests/size_call.sh
SIZE_SWITCHES := NONSTREAM HTML ERROR_SHAPES PARTS IMAGES TOOLS PARAMS RETRIES MODELS STATUS_NAMES CHECK_REASONS

size:
	@sh tests/deps.sh gcc-arm-none-eabi libjsmn-dev
	$(COPY_JSMN)
	@mkdir -p $(BUILD)/size
	@for f in $(CORE_SRC); do \
	    $(ARM_CC) $(SIZE_FLAGS) -c $$f -o $(BUILD)/size/$$(basename $$f .c).o || exit 1; \
	done
	@$(ARM_SIZE) -t $(patsubst core/%.c,$(BUILD)/size/%.o,$(CORE_SRC)) | \
	    awk 'NR==1 {printf "%-22s %7s %6s %6s\n", "file", "text", "data", "bss"; next} \
	         {n=$$6; sub(".*/", "", n); if (n=="(TOTALS)") n="total"; \
	          printf "%-22s %7d %6d %6d\n", n, $$1, $$2, $$3}'
	@sh tests/deps.sh libnewlib-arm-none-eabi python3
	@$(ARM_CC) $(SIZE_FLAGS) -DSIZE_EMPTY_MAIN -c tests/size_driver.c -o $(BUILD)/size/empty_main.o
	@$(ARM_CC) $(SIZE_FLAGS) $(SIZE_LINK) $(BUILD)/size/empty_main.o \
	    -Wl,-Map=$(BUILD)/size/empty.map -o $(BUILD)/size/empty.elf
	@$(SIZE_CALL) $(BUILD)/size/full
	@$(SIZE_CALL) $(BUILD)/size/minimal -DWISP_CONFIG_FILE='"wisp_config_minimal.h"'
	@fail=0; for c in full minimal; do \
	    $(PYTHON) tests/size_report.py "streamed call, $$c config" $(BUILD)/size/$$c/call.map \
	        $(BUILD)/size/empty.map $$(awk -v c=$$c '$$1 == c {print $$2}' tests/size_budget.txt) || fail=1; \
	    syms=$$(arm-none-eabi-nm $(BUILD)/size/$$c/call.elf | awk '{print $$NF}' | \
	        grep -xE '$(SOFTFLOAT_HELPERS)' | tr '\n' ' '); \
	    if [ -n "$$syms" ]; then echo "FAIL size: the $$c streamed call links $$syms"; fail=1; fi; \
	done; \
	echo "what each switch saves alone, the others on (wisp_config.h):"; \
	for s in $(SIZE_SWITCHES); do \
	    x=; [ $$s = PARTS ] && x=-DWISP_IMAGES=0; \
	    $(SIZE_CALL) $(BUILD)/size/no-$$s -DWISP_$$s=0 $$x || { fail=1; continue; }; \
	    $(PYTHON) tests/size_report.py --saves "WISP_$$s 0$${x:+ (and IMAGES 0)}" \
	        $(BUILD)/size/no-$$s/call.map $(BUILD)/size/full/call.map; \
	done; \
	if [ $$fail = 0 ]; then echo "size all 1 0" >>$(WISP_RESULTS); else echo "size all 0 1" >>$(WISP_RESULTS); exit 1; fi

# A streamed chat with every request parameter, linked for a Cortex-M4
# without FPU (newlib-nano, --gc-sections): no soft-float and no 64-bit
# division helper may come with it (README, "Parameters").
SOFTFLOAT_HELPERS := __aeabi_f[a-z0-9]*|__aeabi_d[a-z0-9]*|__aeabi_[iu]2[fd]|__aeabi_l2[fd]|__aeabi_ul2[fd]|__aeabi_u?ldivmod|__u?divmoddi4|__u?divdi3|__u?moddi3

check-softfloat:
	@sh tests/deps.sh gcc-arm-none-eabi libnewlib-arm-none-eabi libjsmn-dev
	$(COPY_JSMN)
	@mkdir -p $(BUILD)/softfloat
	@$(ARM_CC) $(SIZE_FLAGS) -mfloat-abi=soft tests/softfloat_check.c $(CORE_SRC) \
	    --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -o $(BUILD)/softfloat/check.elf
	@syms=$$(arm-none-eabi-nm $(BUILD)/softfloat/check.elf | awk '{print $$NF}' | \
	    grep -xE '$(SOFTFLOAT_HELPERS)' | tr '\n' ' '); \
	if [ -n "$$syms" ]; then echo "FAIL check-softfloat: a request on Cortex-M4 links $$syms"; \
	    echo "check-softfloat all 0 1" >>$(WISP_RESULTS); exit 1; fi; \
	echo "ok   check-softfloat: a request with every parameter links no soft-float or 64-bit division on Cortex-M4"; \
	echo "check-softfloat all 1 0" >>$(WISP_RESULTS)

# ---- fuzz: libFuzzer harnesses (clang, ASan + UBSan) --------------------------

FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Itests \
                -Icore -Iport/serial -I$(JSMN_INC)
REPLAY_FLAGS := -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Itests \
                -DWISP_FUZZ_MAIN -Icore -Iport/serial -I$(JSMN_INC)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(SERIAL_SRC) $(wildcard core/*.h port/serial/*.h) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $< $(CORE_SRC) $(SERIAL_SRC) -o $@

# The harnesses' shared headers (the JSON oracle, the replay main).
$(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%) $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%): $(wildcard tests/fuzz/*.h)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(SERIAL_SRC) $(wildcard core/*.h port/serial/*.h) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	clang $(REPLAY_FLAGS) $< $(CORE_SRC) $(SERIAL_SRC) -o $@

# Each harness for FUZZ_SECONDS, starting from (and adding to) its corpus.
fuzz: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	    echo "fuzz_$$n: $(FUZZ_SECONDS) s"; \
	    dict=""; [ -f tests/fuzz/fuzz_$$n.dict ] && dict="-dict=tests/fuzz/fuzz_$$n.dict"; \
	    $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $$dict \
	        -print_final_stats=1 $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	        >$(BUILD)/fuzz/$$n.log 2>&1 || { tail -n 60 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	    grep -E "stat::number_of_executed_units" $(BUILD)/fuzz/$$n.log; \
	done

# Long runs (not in make test or CI): every harness FUZZ_RUNS times,
# FUZZ_JOBS at once, niced, built without comparison tracing (see
# tests/fuzz/long.sh); the figures in the README come from here.
FUZZ_RUNS ?= 10000000
FUZZ_JOBS ?= 2
FUZZ_LONG_ORDER := $(filter $(FUZZ_NAMES),models json client sse serial request http) \
                   $(filter-out models json client sse serial request http,$(FUZZ_NAMES))
FUZZ_FAST_FLAGS := $(FUZZ_FLAGS) -fno-sanitize-coverage=trace-cmp
$(BUILD)/fuzz/fast_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(SERIAL_SRC) $(wildcard core/*.h port/serial/*.h tests/fuzz/*.h) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FAST_FLAGS) $< $(CORE_SRC) $(SERIAL_SRC) -o $@
fuzz-long: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fast_%)
	@nice -n 19 sh tests/fuzz/long.sh $(BUILD) $(FUZZ_RUNS) $(FUZZ_JOBS) $(FUZZ_LONG_ORDER)

# The kept corpus replayed without libFuzzer (part of make test).
fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
	@for n in $(FUZZ_NAMES); do \
	    files=$$(ls tests/fuzz/corpus/$$n/* 2>/dev/null); \
	    [ -z "$$files" ] && continue; \
	    $(BUILD)/fuzz/replay_$$n $$files >/dev/null || { echo "FAIL fuzz corpus $$n"; exit 1; }; \
	    echo "ok   fuzz corpus $$n: $$(echo $$files | wc -w) inputs"; \
	    echo "fuzz-replay $$n $$(echo $$files | wc -w) 0" >>$(WISP_RESULTS); \
	done

# ---- coverage ------------------------------------------------------------------

# Branch coverage of core/ from the unit suite and the end-to-end suite
# (the CLI built with counters), per file, then gcovr's summary.  Not in
# make test: it is a report, not a check.
COV_BUILD := $(BUILD)/coverage
coverage: deps
	@sh tests/deps.sh gcovr
	@rm -rf $(COV_BUILD) && mkdir -p $(COV_BUILD)
	@$(MAKE) --no-print-directory BUILD=$(COV_BUILD) WISP_LABEL=coverage WISP_RESULTS=$(COV_BUILD)/results.txt \
	    OPT="-O0 -g --coverage -DSTACK_BUDGET=8192" LDFLAGS="--coverage" unit || true
	@$(MAKE) --no-print-directory BUILD=$(COV_BUILD) WISP_RESULTS=$(COV_BUILD)/results.txt \
	    OPT="-O0 -g --coverage" LDFLAGS="--coverage" E2E_LABEL=coverage-e2e e2e >/dev/null 2>&1 || \
	    echo "coverage: some end-to-end tests failed at -O0 (see $(COV_BUILD)/e2e.log)"
	@gcovr -r . --object-directory $(COV_BUILD)/obj --filter 'core/' --exclude-unreachable-branches \
	    --branches --print-summary $(COV_BUILD) | grep -v '^-*$$'

# ---- lint: cppcheck and clang-tidy on core/ and port/ (tests/lint.sh) --------

# Any finding fails; the checks turned off, each with its reason, are in
# .clang-tidy and tests/lint/cppcheck.supp.  CI runs it (.ci/run).
LINT_PKGS := cppcheck clang-tidy liblwip-dev libjsmn-dev libmbedtls-dev
lint:
	@sh tests/deps.sh $(LINT_PKGS)
	@BUILD=$(BUILD) JSMN_INC=$(JSMN_INC) LWIP_INC=$(LWIP_INC) \
	    MBEDTLS_INC=$(if $(MBEDTLS_DIR),$(MBEDTLS_DIR)/include,/usr/include) sh tests/lint.sh

# ---- mutation ------------------------------------------------------------------

# Mutation testing of core/ against the unit suite (tests/mutate.py): one
# small change at a time, then the tests that link the changed file.  A
# report, not in make test.  make mutate MUTATE_FLAGS="--files core/wisp_url.c"
MUTATE_FLAGS ?= --sample 400 --seed 1 --weight core/wisp_request.c=3 --weight core/wisp_client.c=3 \
                --weight core/wisp_url.c=3 -j 2
mutate: deps
	@$(PYTHON) tests/mutate.py $(MUTATE_FLAGS)

# ---- bench ---------------------------------------------------------------------

# make bench: tests/bench/bench.mk (never part of make test).
include tests/bench/bench.mk

# ---- demo ------------------------------------------------------------------------

demo: all
	@sh tests/demo.sh

# ---- install ------------------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/wisp
	install -m 644 $(BUILD)/libwisp.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 core/wisp.h core/wisp_config.h port/posix/wisp_posix.h \
	    port/mbedtls/wisp_tls.h port/proxy/wisp_proxy.h $(DESTDIR)$(PREFIX)/include/wisp/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define WISP_VERSION "\(.*\)"/\1/p' core/wisp.h)|' \
	    wisp.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/wisp.pc

# ---- firmware: Cortex-M4 under QEMU (mps2-an386) --------------------------------
#
#   make firmware           the image, for the bundled test CA (or FW_CA=...)
#   make run-firmware FW_CA=FILE FW_SERVER_NAME=NAME FW_TARGET=127.0.0.1:PORT \
#        [FW_PROMPT=TEXT] [FW_BASE_PATH=/v1] [FW_MODEL=NAME]
#   make test-firmware      the image against the local TLS server (make test)
#   make firmware-size      the flash and RAM tables of the README
#
# FW_MFL=4k builds the second image: a 4 KB input record negotiated with
# max-fragment-length.  FW_RAM_BUDGET is what the linker holds RAM to.

FW_CC       ?= arm-none-eabi-gcc
FW_MFL      ?=
FW_CA       ?=
FW_SERVER_NAME ?= localhost
FW_TARGET   ?= 127.0.0.1:8443
FW_BASE_PATH ?= /v1
FW_MODEL    ?= gemini-2.5-flash
FW_PROMPT   ?= Say hello from a Cortex-M4 in one short sentence.
FW_PKGS     := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libjsmn-dev dpkg-dev openssl python3

ifeq ($(FW_MFL),4k)
FW_NAME       := wisp-fw-mfl4k
FW_RAM_BUDGET ?= 40960
FW_POOL       ?= 20480
FW_TLS_FLAGS  := -DMBEDTLS_SSL_IN_CONTENT_LEN=4096
FW_APP_FLAGS  := -DFW_MAX_FRAGMENT_LEN=4096
else
FW_NAME       := wisp-fw
FW_RAM_BUDGET ?= 65536
FW_POOL       ?= 32768
FW_TLS_FLAGS  :=
FW_APP_FLAGS  :=
endif
FW_STACK    ?= 6144
FW_TLS_EXTRA ?= # e.g. -DWISP_MBEDTLS_NO_SHA1_ROOTS: for mbedTLS and the image alike
FW_TLS_FLAGS += $(FW_TLS_EXTRA)
FW_DIR      := $(BUILD)/firmware
FW_OUT      := $(FW_DIR)/$(FW_NAME)
FW_MBEDTLS  := $(abspath $(BUILD))/mbedtls/cortex-m4$(if $(FW_MFL),-in$(FW_MFL))
FW_TEST_TLS := $(FW_DIR)/tls
FW_CA_FILE  := $(if $(FW_CA),$(FW_CA),$(FW_TEST_TLS)/ca.pem)
FW_PORT     := $(lastword $(subst :, ,$(FW_TARGET)))

FW_CFLAGS := -std=c99 -Os -g -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
             $(WARN) -Icore -Iport/serial -Iport/mbedtls -Iexamples -Iexamples/cortex-m4 \
             -I$(FW_MBEDTLS)/include -I$(JSMN_ONLY_INC) \
             -DMBEDTLS_CONFIG_FILE='"wisp_mbedtls_mcu.h"' -DWISP_MBEDTLS_POOL_STATS \
             $(FW_TLS_FLAGS) $(FW_APP_FLAGS) -DFW_TLS_POOL_SIZE=$(FW_POOL)u
FW_LDFLAGS := -mcpu=cortex-m4 -mthumb --specs=nano.specs -nostartfiles -Wl,--gc-sections \
              -T examples/cortex-m4/mps2_an386.ld -Wl,--defsym=__ram_budget=$(FW_RAM_BUDGET) \
              -Wl,--defsym=__stack_size=$(FW_STACK) -Wl,-Map=$(FW_OUT)/$(FW_NAME).map
FW_SRC := $(CORE_SRC) $(SERIAL_SRC) port/mbedtls/wisp_tls.c $(sort $(wildcard examples/cortex-m4/*.c))
FW_OBJ := $(FW_SRC:%.c=$(FW_OUT)/obj/%.o)
FW_ELF := $(FW_OUT)/$(FW_NAME).elf
FW_HDRS := $(wildcard core/*.h port/*/*.h examples/*.h examples/cortex-m4/*.h)

.PHONY: firmware run-firmware test-firmware firmware-size firmware-deps FORCE

firmware-deps:
	@sh tests/deps.sh $(FW_PKGS)
	$(COPY_JSMN)

# Asked every time: the script rebuilds only when its stamp (configuration,
# flags, compiler) differs, and rewrites the stamp only then.
$(FW_MBEDTLS)/stamp: FORCE | firmware-deps
	@CC=$(FW_CC) AR=arm-none-eabi-ar sh tests/mbedtls_build.sh $(FW_MBEDTLS) wisp_mbedtls_mcu.h \
	    -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections -DWISP_MBEDTLS_POOL_STATS $(FW_TLS_FLAGS)

# As for the host build: objects are rebuilt when the flags change.
FW_FLAGS_FILE := $(FW_OUT)/.build-flags
ifneq ($(filter firmware run-firmware test-firmware firmware-size $(FW_DIR)/%,$(MAKECMDGOALS)),)
ifneq ($(file <$(FW_FLAGS_FILE)),$(FW_CC) $(FW_CFLAGS) $(FW_LDFLAGS))
$(shell mkdir -p $(FW_OUT))
$(file >$(FW_FLAGS_FILE),$(FW_CC) $(FW_CFLAGS) $(FW_LDFLAGS))
endif
endif

$(FW_OUT)/obj/%.o: %.c $(FW_HDRS) $(FW_MBEDTLS)/stamp $(FW_FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(FW_CC) $(FW_CFLAGS) -c $< -o $@

# The image's inputs: rewritten only when they change.
$(FW_OUT)/fw_inputs.c: FORCE | firmware-deps
	@if [ -z "$(FW_CA)" ] && [ ! -f $(FW_TEST_TLS)/ca.pem ]; then \
	    $(PYTHON) tests/server.py --make-certs $(FW_TEST_TLS) >/dev/null; fi
	@$(PYTHON) examples/cortex-m4/gen_inputs.py --out $@ --ca "$(FW_CA_FILE)" \
	    --server-name "$(FW_SERVER_NAME)" --port "$(FW_PORT)" --base-path "$(FW_BASE_PATH)" \
	    --model "$(FW_MODEL)" --prompt "$(FW_PROMPT)"

$(FW_OUT)/fw_inputs.o: $(FW_OUT)/fw_inputs.c examples/cortex-m4/fw_inputs.h
	$(FW_CC) $(FW_CFLAGS) -c $< -o $@

$(FW_ELF): $(FW_OBJ) $(FW_OUT)/fw_inputs.o examples/cortex-m4/mps2_an386.ld $(FW_MBEDTLS)/stamp
	$(FW_CC) $(FW_LDFLAGS) $(FW_OBJ) $(FW_OUT)/fw_inputs.o -o $@ \
	    -L$(FW_MBEDTLS)/lib -lmbedtls -lmbedx509 -lmbedcrypto
	@arm-none-eabi-size $@

firmware: $(FW_ELF)

run-firmware: $(FW_ELF)
	@$(PYTHON) tests/run_firmware.py --elf $(FW_ELF) --map "$(FW_SERVER_NAME)=$(FW_TARGET)"

test-firmware: deps firmware-deps
	@$(PYTHON) tests/test_relay.py >$(BUILD)/relay.log 2>&1; rc=$$?; cat $(BUILD)/relay.log; \
	tail -n 1 $(BUILD)/relay.log | awk '/passed, .* failed/ {print "relay all", $$1, $$3}' >>$(WISP_RESULTS); \
	[ $$rc = 0 ] || exit $$rc
	@$(PYTHON) tests/firmware_e2e.py >$(BUILD)/firmware-e2e.log 2>&1; rc=$$?; cat $(BUILD)/firmware-e2e.log; \
	tail -n 1 $(BUILD)/firmware-e2e.log | awk '/passed, .* failed/ {print "firmware all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

firmware-size: $(FW_ELF)
	@$(PYTHON) tests/firmware_size.py $(FW_OUT)/$(FW_NAME).map $(FW_ELF)

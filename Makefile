# wisp - build, test, size, fuzz, bench, demo.
#
# Firmware builds can point at vendored copies:
#   make JSMN_INC=path/to/jsmn MBEDTLS_DIR=path/to/mbedtls-install
# (MBEDTLS_DIR must hold include/ and lib/).

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

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
CSTD    := -std=c99
OPT     ?= -O2 -g
CFLAGS  ?=
ALL_CFLAGS := $(CSTD) $(WARN) $(OPT) -Icore -Iport/posix -Iport/mbedtls \
              -I$(JSMN_INC) $(MBEDTLS_CFLAGS) $(CFLAGS)

CORE_SRC  := $(sort $(wildcard core/*.c))
POSIX_SRC := $(sort $(wildcard port/posix/*.c))
TLS_SRC   := $(sort $(wildcard port/mbedtls/*.c))
LIB_SRC   := $(CORE_SRC) $(POSIX_SRC) $(TLS_SRC)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all lib deps test unit e2e valgrind size fuzz bench demo install clean

all: lib $(BUILD)/wisp-chat

lib: $(BUILD)/libwisp.a

# ---- dependencies ---------------------------------------------------------

# Debian/Ubuntu packages; installed with apt-get (sudo when not root).
DEB_PKGS := gcc make libjsmn-dev libmbedtls-dev libcmocka-dev python3 openssl valgrind clang ca-certificates
DEPS_STAMP := $(BUILD)/.deps-ok

deps: $(DEPS_STAMP)

$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@sh tests/deps.sh $(DEB_PKGS)
	@touch $@

# ---- library and CLI ------------------------------------------------------

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h port/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libwisp.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/wisp-chat: examples/wisp_chat.c $(BUILD)/libwisp.a
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS)

clean:
	rm -rf $(BUILD)

# ---- tests ------------------------------------------------------------------

UNIT_NAMES := $(patsubst tests/test_%.c,%,$(wildcard tests/test_*.c))
UNIT_BINS  := $(UNIT_NAMES:%=$(BUILD)/tests/test_%)
TEST_LIBS  := $(BUILD)/libwisp.a -lcmocka $(MBEDTLS_LIBS) -lpthread
export WISP_RESULTS ?= $(CURDIR)/build/test-results.txt

$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libwisp.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $< -o $@ $(TEST_LIBS)

unit: $(UNIT_BINS)
	@sh tests/run_units.sh $(BUILD)/tests $(UNIT_NAMES)

# The unit suite under valgrind memcheck: no errors, no leaks.
valgrind: $(UNIT_BINS)
	@VALGRIND=1 sh tests/run_units.sh $(BUILD)/tests $(UNIT_NAMES)

# The unit suite again with ASan + UBSan, in its own build tree.
asan: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang WISP_LABEL=asan \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" unit

# End-to-end: build/wisp-chat against the local test server.
e2e: all
	@$(PYTHON) tests/e2e.py >$(BUILD)/e2e.log 2>&1; rc=$$?; cat $(BUILD)/e2e.log; \
	tail -n 1 $(BUILD)/e2e.log | awk '/passed, .* failed/ {print "e2e all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# Everything the README promises; ends with "N passed, N failed".
test: deps
	@mkdir -p build && rm -f $(WISP_RESULTS)
	@fail=0; \
	$(MAKE) --no-print-directory all || fail=1; \
	$(MAKE) --no-print-directory unit || fail=1; \
	$(MAKE) --no-print-directory valgrind || fail=1; \
	$(MAKE) --no-print-directory asan || fail=1; \
	$(MAKE) --no-print-directory e2e || fail=1; \
	sh tests/summary.sh || fail=1; \
	exit $$fail

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
DEB_PKGS := libjsmn-dev libmbedtls-dev libcmocka-dev python3 openssl valgrind
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

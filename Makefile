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
ALL_CFLAGS := $(CSTD) $(WARN) $(OPT) -Icore -Iport/posix -Iport/mbedtls -Iport/serial \
              $(MBEDTLS_CFLAGS) -I$(JSMN_INC) $(CFLAGS)

CORE_SRC  := $(sort $(wildcard core/*.c))
POSIX_SRC := $(sort $(wildcard port/posix/*.c))
TLS_SRC   := $(sort $(wildcard port/mbedtls/*.c))
SERIAL_SRC := $(sort $(wildcard port/serial/*.c))
LIB_SRC   := $(CORE_SRC) $(POSIX_SRC) $(TLS_SRC) $(SERIAL_SRC)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all lib deps test unit e2e e2e-valgrind valgrind asan variants check-core check-readme size fuzz fuzz-replay \
        bench demo install clean test-mbedtls3

all: lib $(BUILD)/wisp-chat $(BUILD)/keepalive_check

lib: $(BUILD)/libwisp.a

# ---- dependencies ---------------------------------------------------------

# Debian/Ubuntu packages; installed with apt-get (sudo when not root).
DEB_PKGS := gcc make libjsmn-dev libmbedtls-dev libcmocka-dev python3 openssl valgrind clang libclang-rt-dev ca-certificates
DEPS_STAMP := $(BUILD)/.deps-ok

deps: $(DEPS_STAMP)

# A firmware build that names its own jsmn or mbedTLS installs nothing.
ifeq ($(JSMN_INC)$(MBEDTLS_DIR),/usr/include)
$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@sh tests/deps.sh $(DEB_PKGS)
	@touch $@
else
$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@touch $@
endif

# ---- library and CLI ------------------------------------------------------

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h port/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libwisp.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/wisp-chat: examples/wisp_chat.c examples/wisp_exit.h $(BUILD)/libwisp.a
	$(CC) $(ALL_CFLAGS) -Iexamples $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS)

# Several requests on one client over TLS (run by tests/e2e.py).
$(BUILD)/keepalive_check: tests/keepalive_check.c $(BUILD)/libwisp.a
	$(CC) $(ALL_CFLAGS) -Iexamples $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS)

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

# The unit suite built as bare-metal ARM builds it: -Os and short enums.
variants: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/short-enums WISP_LABEL=short-enums \
	    OPT="-Os -g -fshort-enums" unit

# End-to-end: build/wisp-chat against the local test server.
e2e: all
	@$(PYTHON) tests/e2e.py >$(BUILD)/e2e.log 2>&1; rc=$$?; cat $(BUILD)/e2e.log; \
	tail -n 1 $(BUILD)/e2e.log | awk '/passed, .* failed/ {print "e2e all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# The CLI end to end under valgrind memcheck (slow scenarios skipped).
e2e-valgrind: all
	@$(PYTHON) tests/e2e.py --valgrind >$(BUILD)/e2e-valgrind.log 2>&1; rc=$$?; \
	grep -v '^ok ' $(BUILD)/e2e-valgrind.log; \
	tail -n 1 $(BUILD)/e2e-valgrind.log | awk '/passed, .* failed/ {print "e2e-valgrind all", $$1, $$3}' >>$(WISP_RESULTS); \
	exit $$rc

# core/ must not reach for the heap, stdio or the OS: check every object.
FORBIDDEN := malloc calloc realloc free strdup printf fprintf sprintf snprintf puts fopen \
             exit abort socket connect send recv read write time clock_gettime
check-core: lib
	@bad=0; for o in $(BUILD)/obj/core/*.o; do \
	    syms=$$(nm -u $$o | awk '{print $$2}' | grep -xE '$(shell echo $(FORBIDDEN) | tr ' ' '|')'); \
	    if [ -n "$$syms" ]; then echo "FAIL $$o uses: $$syms"; bad=1; fi; \
	done; \
	n=$$(ls $(BUILD)/obj/core/*.o | wc -l); \
	if [ $$bad = 0 ]; then echo "ok   check-core: $$n objects, no heap/stdio/OS symbols"; \
	    echo "check-core all $$n 0" >>$(WISP_RESULTS); else echo "check-core all 0 1" >>$(WISP_RESULTS); fi; \
	exit $$bad

# The README's C example must compile and link as printed.
check-readme: lib
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
	$(MAKE) --no-print-directory unit || fail=1; \
	$(MAKE) --no-print-directory valgrind || fail=1; \
	$(MAKE) --no-print-directory asan || fail=1; \
	$(MAKE) --no-print-directory variants || fail=1; \
	$(MAKE) --no-print-directory e2e || fail=1; \
	$(MAKE) --no-print-directory e2e-valgrind || fail=1; \
	$(MAKE) --no-print-directory fuzz-replay || fail=1; \
	$(MAKE) --no-print-directory test-firmware || fail=1; \
	sh tests/summary.sh || fail=1; \
	exit $$fail

# ---- mbedTLS 3.6: the same suite against Debian trixie's 3.6 source ------------

MBEDTLS3_DIR := $(CURDIR)/build/mbedtls-3.6
test-mbedtls3: deps
	@sh tests/mbedtls36.sh
	@fail=0; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    WISP_LABEL=mbedtls3 all unit || fail=1; \
	VALGRIND=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    valgrind || fail=1; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/mbedtls3 MBEDTLS_DIR=$(MBEDTLS3_DIR) \
	    WISP_CHAT=$(BUILD)/mbedtls3/wisp-chat e2e || fail=1; \
	exit $$fail

# ---- size: flash per core file on Cortex-M4 ---------------------------------

ARM_CC   ?= arm-none-eabi-gcc
ARM_SIZE ?= arm-none-eabi-size
SIZE_FLAGS := -std=c99 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
              -Wall -Wextra -Wpedantic -Werror -Icore -I$(BUILD)/size/inc

size:
	@sh tests/deps.sh gcc-arm-none-eabi libjsmn-dev
	@mkdir -p $(BUILD)/size/inc
	@cp $(JSMN_INC)/jsmn.h $(BUILD)/size/inc/   # only jsmn: not the host's libc headers
	@for f in $(CORE_SRC); do \
	    $(ARM_CC) $(SIZE_FLAGS) -c $$f -o $(BUILD)/size/$$(basename $$f .c).o || exit 1; \
	done
	@$(ARM_SIZE) -t $(patsubst core/%.c,$(BUILD)/size/%.o,$(CORE_SRC)) | \
	    awk 'NR==1 {printf "%-22s %7s %6s %6s\n", "file", "text", "data", "bss"; next} \
	         {n=$$6; sub(".*/", "", n); if (n=="(TOTALS)") n="total"; \
	          printf "%-22s %7d %6d %6d\n", n, $$1, $$2, $$3}'

# ---- fuzz: libFuzzer harnesses (clang, ASan + UBSan) --------------------------

FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Itests \
                -Icore -Iport/serial -I$(JSMN_INC)
REPLAY_FLAGS := -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Itests \
                -DWISP_FUZZ_MAIN -Icore -Iport/serial -I$(JSMN_INC)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(SERIAL_SRC) $(wildcard core/*.h port/serial/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $< $(CORE_SRC) $(SERIAL_SRC) -o $@

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(SERIAL_SRC) $(wildcard core/*.h port/serial/*.h) | $(DEPS_STAMP)
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

# The kept corpus replayed without libFuzzer (part of make test).
fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
	@for n in $(FUZZ_NAMES); do \
	    files=$$(ls tests/fuzz/corpus/$$n/* 2>/dev/null); \
	    [ -z "$$files" ] && continue; \
	    $(BUILD)/fuzz/replay_$$n $$files >/dev/null || { echo "FAIL fuzz corpus $$n"; exit 1; }; \
	    echo "ok   fuzz corpus $$n: $$(echo $$files | wc -w) inputs"; \
	    echo "fuzz-replay $$n $$(echo $$files | wc -w) 0" >>$(WISP_RESULTS); \
	done

# ---- bench ---------------------------------------------------------------------

bench: $(BUILD)/bench
	@$(BUILD)/bench
	@if command -v valgrind >/dev/null; then \
	    valgrind --tool=callgrind --toggle-collect=wisp_pass --callgrind-out-file=$(BUILD)/callgrind.out \
	        $(BUILD)/bench 1048576 >$(BUILD)/bench-cg.log 2>&1; \
	    bytes=$$(sed -n 's/^bytes \([0-9]*\),.*/\1/p' $(BUILD)/bench-cg.log); \
	    instr=$$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' $(BUILD)/bench-cg.log); \
	    awk -v i=$$instr -v b=$$bytes 'BEGIN {printf "callgrind: %.1f instructions per input byte (SSE + chunk reader, %d bytes)\n", i / b, b}'; \
	fi

$(BUILD)/bench: tests/bench.c $(BUILD)/libwisp.a
	$(CC) $(CSTD) $(WARN) -O2 -Icore -I$(JSMN_INC) $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS)

# ---- demo ------------------------------------------------------------------------

demo: all
	@sh tests/demo.sh

# ---- install ------------------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/wisp
	install -m 644 $(BUILD)/libwisp.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 core/wisp.h core/wisp_config.h port/posix/wisp_posix.h \
	    port/mbedtls/wisp_tls.h $(DESTDIR)$(PREFIX)/include/wisp/
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
FW_PKGS     := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libjsmn-dev dpkg-dev cmake openssl python3

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
FW_DIR      := $(BUILD)/firmware
FW_OUT      := $(FW_DIR)/$(FW_NAME)
FW_MBEDTLS  := $(FW_OUT)/mbedtls
FW_TEST_TLS := $(FW_DIR)/tls
FW_CA_FILE  := $(if $(FW_CA),$(FW_CA),$(FW_TEST_TLS)/ca.pem)
FW_PORT     := $(lastword $(subst :, ,$(FW_TARGET)))

FW_CFLAGS := -std=c99 -Os -g -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
             $(WARN) -Icore -Iport/serial -Iport/mbedtls -Iexamples -Iexamples/cortex-m4 \
             -I$(FW_MBEDTLS)/include -I$(FW_DIR)/inc \
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
	@mkdir -p $(FW_DIR)/inc && cp $(JSMN_INC)/jsmn.h $(FW_DIR)/inc/   # only jsmn: no host libc headers

$(FW_MBEDTLS)/.built: port/mbedtls/wisp_mbedtls_mcu.h tests/mbedtls_arm.sh | firmware-deps
	@sh tests/mbedtls_arm.sh $(FW_MBEDTLS) -DWISP_MBEDTLS_POOL_STATS $(FW_TLS_FLAGS)
	@touch $@

$(FW_OUT)/obj/%.o: %.c $(FW_HDRS) $(FW_MBEDTLS)/.built
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

$(FW_ELF): $(FW_OBJ) $(FW_OUT)/fw_inputs.o examples/cortex-m4/mps2_an386.ld $(FW_MBEDTLS)/.built
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

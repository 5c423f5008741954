# make bench (included by the Makefile): benchmarks, never pass/fail tests.
#
#   make bench                        the table (tests/bench/bench.py)
#   make bench BENCH_STREAM=FILE      the receive rows over your own recorded
#                                     stream (an SSE body as a server sent it)
#
# Programs and outputs go to $(BUILD)/benchmarks/.

BENCH_DIR    := $(BUILD)/benchmarks
BENCH_STREAM ?=
BENCH_PKGS   := gcc libjsmn-dev libmbedtls-dev python3 openssl valgrind libcjson-dev \
                libcurl4-openssl-dev curl time
BENCH_CFLAGS := $(CSTD) $(WARN) -O2 -g

.PHONY: bench-deps

bench: $(BENCH_DIR)/receive $(BENCH_DIR)/curl_chat $(BUILD)/wisp-chat | bench-deps
	@$(PYTHON) tests/bench/bench.py --build $(BUILD) $(if $(BENCH_STREAM),--stream "$(BENCH_STREAM)")

bench-deps:
	@sh tests/deps.sh $(BENCH_PKGS)

# Lazy binding off (-z now): no symbol lookup is counted in the first pass
# that calls into libc or cJSON.
$(BENCH_DIR)/receive: tests/bench/receive.c tests/bench/sse_lines.h $(BUILD)/libwisp.a | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Icore -I$(JSMN_INC) $< -o $@ $(BUILD)/libwisp.a -lcjson -Wl,-z,now

$(BENCH_DIR)/curl_chat: tests/bench/curl_chat.c tests/bench/sse_lines.h | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lcurl -lcjson

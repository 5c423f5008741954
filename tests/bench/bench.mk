# make bench (included by the Makefile): benchmarks, never pass/fail tests.

bench: $(BUILD)/bench
	@$(BUILD)/bench

$(BUILD)/bench: tests/bench.c $(BUILD)/libwisp.a
	$(CC) $(CSTD) $(WARN) -O2 -Icore -I$(JSMN_INC) $< -o $@ $(BUILD)/libwisp.a $(MBEDTLS_LIBS)

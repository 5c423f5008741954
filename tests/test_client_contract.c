/*
 * test_client_contract.c - wisp_client_init's contract at the edges a
 * mutation run (tests/mutate.py) found unguarded: each required pointer
 * alone missing, the token count and work size at their minimum, the
 * retry count at its bounds and what it becomes, header names and values
 * at the ends of their character ranges, a header count without headers.
 * Each asserts the status init returns, or the setting it keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_transport.h"
#include "wisp.h"

static fake_transport g_fake;
static wisp_transport g_tr;
static uint8_t g_work[WISP_WORK_MIN + 64];
static wisp_token g_toks[16];
static wisp_client g_client;

static wisp_config base_config(void)
{
    wisp_config cfg;
    fake_init(&g_fake, &g_tr);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://h/v1";
    cfg.transport = &g_tr;
    return cfg;
}

static wisp_status init_with(const wisp_config *cfg)
{
    return wisp_client_init(&g_client, cfg, g_work, sizeof g_work, g_toks, 16);
}

/* Each pointer init needs, alone missing: WISP_ERR_ARG. */
static void test_each_missing_pointer(void **state)
{
    wisp_config cfg = base_config();
    wisp_transport tr;
    (void)state;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(wisp_client_init(NULL, &cfg, g_work, sizeof g_work, g_toks, 16), WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_client, NULL, g_work, sizeof g_work, g_toks, 16), WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_client, &cfg, NULL, sizeof g_work, g_toks, 16), WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, sizeof g_work, NULL, 16), WISP_ERR_ARG);
    cfg.base_url = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg = base_config();
    cfg.transport = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg = base_config();
    tr = g_tr;
    cfg.transport = &tr;
    tr.connect = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_tr;
    tr.send = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_tr;
    tr.recv = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_tr;
    tr.close = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_tr;
    assert_int_equal(init_with(&cfg), WISP_OK);
}

/* Eight tokens and WISP_WORK_MIN bytes are the least init takes. */
static void test_minimum_tokens_and_work(void **state)
{
    wisp_config cfg = base_config();
    (void)state;
    assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, sizeof g_work, g_toks, 8), WISP_OK);
    assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, sizeof g_work, g_toks, 7), WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, WISP_WORK_MIN, g_toks, 16), WISP_OK);
    assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, WISP_WORK_MIN - 1, g_toks, 16),
                     WISP_ERR_ARG);
    /* jsmn counts tokens in an int: more than INT32_MAX is refused */
    if (sizeof(size_t) > 4) {
        assert_int_equal(wisp_client_init(&g_client, &cfg, g_work, sizeof g_work, g_toks,
                                          (size_t)0x7FFFFFFFu + 1u),
                         WISP_ERR_ARG);
    }
}

/* max_retries: WISP_NO_RETRIES is none, 0 the default, 1..10 as given,
 * more is 10, below WISP_NO_RETRIES refused. */
static void test_retry_count_bounds(void **state)
{
    wisp_config cfg = base_config();
    (void)state;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, 0);
    cfg.max_retries = 0;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, WISP_DEFAULT_MAX_RETRIES);
    cfg.max_retries = 1;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, 1);
    cfg.max_retries = 9;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, 9);
    cfg.max_retries = 10;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, 10);
    cfg.max_retries = 11;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.max_retries, 10);
    cfg.max_retries = WISP_NO_RETRIES - 1;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
}

/* Timeouts left at 0 take their defaults; others stay as given. */
static void test_timeout_defaults(void **state)
{
    wisp_config cfg = base_config();
    (void)state;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.connect_timeout_ms, WISP_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(g_client.cfg.read_timeout_ms, WISP_DEFAULT_READ_TIMEOUT_MS);
    assert_int_equal(g_client.cfg.total_timeout_ms, WISP_DEFAULT_TOTAL_TIMEOUT_MS);
    cfg.connect_timeout_ms = 11;
    cfg.read_timeout_ms = 22;
    cfg.total_timeout_ms = 33;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(g_client.cfg.connect_timeout_ms, 11);
    assert_int_equal(g_client.cfg.read_timeout_ms, 22);
    assert_int_equal(g_client.cfg.total_timeout_ms, 33);
}

static wisp_status init_with_header(const char *name, const char *value)
{
    wisp_config cfg = base_config();
    wisp_header h;
    h.name = name;
    h.value = value;
    cfg.headers = &h;
    cfg.header_count = 1;
    return init_with(&cfg);
}

/* Header names are RFC 9110 tokens: letters and digits at both ends of
 * their ranges and the token punctuation; the neighbours are refused. */
static void test_header_name_ranges(void **state)
{
    static const char *const good[] = {"aAzZ09", "a", "z", "A", "Z", "0", "9",
                                       "x!#$%&'*+-.^_`|~"};
    static const char *const bad[] = {"a@", "a[", "a{", "a/", "a:", "a ", "a\"", "a(", "a\x7f"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (init_with_header(good[i], "v") != WISP_OK) {
            print_error("header name %s refused\n", good[i]);
            fail();
        }
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (init_with_header(bad[i], "v") != WISP_ERR_HEADER_VALUE) {
            print_error("header name %s taken\n", bad[i]);
            fail();
        }
    }
}

/* Header values: visible bytes, spaces and tabs; no control byte. */
static void test_header_value_ranges(void **state)
{
    (void)state;
    assert_int_equal(init_with_header("x-a", " a\tb ~\x80"), WISP_OK);
    assert_int_equal(init_with_header("x-a", "a\x1f" "b"), WISP_ERR_HEADER_VALUE);
    assert_int_equal(init_with_header("x-a", "a\x7f" "b"), WISP_ERR_HEADER_VALUE);
    assert_int_equal(init_with_header("x-a", "a\rb"), WISP_ERR_HEADER_VALUE);
}

/* A header without a name or a value, or a count without headers: a bad
 * argument, not a bad value. */
static void test_header_arguments(void **state)
{
    wisp_config cfg = base_config();
    (void)state;
    assert_int_equal(init_with_header(NULL, "v"), WISP_ERR_ARG);
    assert_int_equal(init_with_header("", "v"), WISP_ERR_ARG);
    assert_int_equal(init_with_header("x-a", NULL), WISP_ERR_ARG);
    cfg.header_count = 1; /* headers NULL */
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg.header_count = 0;
    assert_int_equal(init_with(&cfg), WISP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_missing_pointer),
        cmocka_unit_test(test_minimum_tokens_and_work),
        cmocka_unit_test(test_retry_count_bounds),
        cmocka_unit_test(test_timeout_defaults),
        cmocka_unit_test(test_header_name_ranges),
        cmocka_unit_test(test_header_value_ranges),
        cmocka_unit_test(test_header_arguments),
    };
    (void)fake_add; /* the replies are not needed: init only */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_client_retry_rules.c - the numbers of the client's retry loop and
 * of its kept connection: each backoff wait exactly (the step doubling
 * from WISP_RETRY_BASE_MS, capped at WISP_RETRY_MAX_WAIT_MS from the
 * seventh retry on, less an xorshift32 jitter of up to a quarter seeded by
 * the work buffer, its size and the clock), the ceiling of ten retries, a
 * Retry-After waited for up to WISP_RETRY_MAX_WAIT_MS and no longer, nor
 * when it ends with the call's time, a retry-after-ms of 1, a reopened
 * kept connection whose connect fails (retried), and the idle limit
 * counted from the end of the last exchange.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "scripted_client.h"

static sc_env g_e;
static wisp_message g_msg;
static wisp_request g_req;
static sc_clock g_clk;

static void setup(int retries, uint32_t total_ms, uint32_t start)
{
    sc_init_clocked(&g_e, &g_clk, start, retries, total_ms);
    g_req = sc_question(&g_msg, "hi");
    g_req.stream = true;
}

static wisp_status chat(void)
{
    return wisp_chat(&g_e.client, &g_req, &g_e.resp, NULL, NULL);
}

static const char k_events[] = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
                               "data: [DONE]\n\n";

/* xorshift32, as the client draws its jitter. */
static uint32_t ref_next(uint32_t *rng)
{
    uint32_t x = *rng != 0 ? *rng : 0x2545F491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x;
    return x;
}

/* Every connect fails: eleven attempts at most (more retries asked for
 * are ten), and each wait is the step (500 ms doubling, 30 s at most)
 * less the jitter drawn from the seed the client was given. */
static void test_backoff_waits_exactly(void **state)
{
    uint32_t rng;
    int r;
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    setup(25, 10u * 60u * 1000u, 123457u);
    g_e.fake.connect_failures = 100;
    assert_int_equal(chat(), WISP_ERR_CONNECT);
    assert_int_equal(g_e.resp.attempts, 11);
    assert_int_equal(g_clk.sleeps, 10);
    rng = 0x9E3779B9u ^ (uint32_t)(uintptr_t)g_e.work ^ (uint32_t)sizeof g_e.work;
    rng ^= 123457u;
    for (r = 0; r < 10; r++) {
        uint32_t step = WISP_RETRY_BASE_MS << (r < 6 ? r : 6);
        uint32_t want;
        if (step > WISP_RETRY_MAX_WAIT_MS)
            step = WISP_RETRY_MAX_WAIT_MS;
        want = step - ref_next(&rng) % (step / 4u + 1u);
        if (g_clk.waits[r] != want) {
            print_error("retry %d: waited %u ms, not %u\n", r, (unsigned)g_clk.waits[r], (unsigned)want);
            fail();
        }
        assert_true(g_clk.waits[r] >= step - step / 4u && g_clk.waits[r] <= step);
    }
    /* exactly ten: ten retries and no more */
    setup(10, 10u * 60u * 1000u, 5u);
    g_e.fake.connect_failures = 100;
    assert_int_equal(chat(), WISP_ERR_CONNECT);
    assert_int_equal(g_e.resp.attempts, 11);
}

/* The jitter goes on from call to call: the client keeps its generator. */
static void test_jitter_continues_across_calls(void **state)
{
    uint32_t rng;
    uint32_t want;
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    setup(1, 60000u, 0u);
    rng = 0x9E3779B9u ^ (uint32_t)(uintptr_t)g_e.work ^ (uint32_t)sizeof g_e.work;
    g_e.fake.connect_failures = 2;
    assert_int_equal(chat(), WISP_ERR_CONNECT);
    assert_int_equal(g_clk.sleeps, 1);
    want = WISP_RETRY_BASE_MS - ref_next(&rng) % (WISP_RETRY_BASE_MS / 4u + 1u);
    assert_int_equal(g_clk.waits[0], want);
    rng ^= g_clk.now; /* the second call mixes in its own start */
    g_e.fake.connect_failures = 2;
    g_clk.sleeps = 0;
    assert_int_equal(chat(), WISP_ERR_CONNECT);
    assert_int_equal(g_clk.sleeps, 1);
    want = WISP_RETRY_BASE_MS - ref_next(&rng) % (WISP_RETRY_BASE_MS / 4u + 1u);
    assert_int_equal(g_clk.waits[0], want);
}

/* A Retry-After of WISP_RETRY_MAX_WAIT_MS is waited for; one millisecond
 * more is not (the 429 comes back at once); nor one that ends exactly
 * when the call's time does; a retry-after-ms of 1 is waited exactly. */
static void test_retry_after_bounds(void **state)
{
    char head[128];
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    setup(1, 10u * 60u * 1000u, 1000u);
    snprintf(head, sizeof head, "HTTP/1.1 429 Too Many Requests\r\nretry-after-ms: %u\r\n",
             (unsigned)WISP_RETRY_MAX_WAIT_MS);
    sc_add(&g_e, head, "");
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_clk.sleeps, 1);
    assert_int_equal(g_clk.waits[0], WISP_RETRY_MAX_WAIT_MS);

    setup(1, 10u * 60u * 1000u, 1000u);
    snprintf(head, sizeof head, "HTTP/1.1 429 Too Many Requests\r\nretry-after-ms: %u\r\n",
             (unsigned)WISP_RETRY_MAX_WAIT_MS + 1u);
    sc_add(&g_e, head, "");
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_int_equal(g_e.resp.attempts, 1);
    assert_int_equal(g_clk.sleeps, 0);

    /* the call's time is 5 s and nothing was spent: a 5 s wait ends with it */
    setup(1, 5000u, 1000u);
    sc_add(&g_e, "HTTP/1.1 503 Busy\r\nretry-after-ms: 5000\r\n", "");
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_int_equal(g_clk.sleeps, 0);
    setup(1, 5000u, 1000u);
    sc_add(&g_e, "HTTP/1.1 503 Busy\r\nretry-after-ms: 4999\r\n", "");
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_clk.waits[0], 4999);

    setup(1, 60000u, 1000u);
    sc_add(&g_e, "HTTP/1.1 429 Too Many Requests\r\nretry-after-ms: 1\r\n", "");
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_clk.sleeps, 1);
    assert_int_equal(g_clk.waits[0], 1);
}

/* A kept connection found dead is reopened once without counting a retry;
 * when that connect fails, it is a failed connect like any: retried. */
static void test_reopen_whose_connect_fails_is_retried(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    setup(1, 60000u, 1000u);
    sc_add_events(&g_e, k_events);
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_true(g_e.client.connected);
    g_e.fake.dead_on_reuse = true; /* the next request meets a closed connection */
    g_e.fake.connect_failures = 1; /* and the reopen fails once */
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.resp.attempts, 2);
    assert_int_equal(g_clk.sleeps, 1);
    assert_int_equal(g_e.fake.connects, 2);
}

/* The idle limit counts from the end of the last exchange, not from the
 * clock's zero: a call soon after another reuses the connection even when
 * the clock reads far past the limit; at the limit exactly it does not. */
static void test_idle_limit_counts_from_the_last_exchange(void **state)
{
    (void)state;
    setup(WISP_NO_RETRIES, 0, 10u * WISP_KEEPALIVE_MAX_IDLE_MS);
    sc_add_events(&g_e, k_events);
    sc_add_events(&g_e, k_events);
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    g_clk.now += 1000u;
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.fake.connects, 1);
    g_clk.now += WISP_KEEPALIVE_MAX_IDLE_MS;
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.fake.connects, 2);
    assert_string_equal(g_e.content, "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_waits_exactly),
        cmocka_unit_test(test_jitter_continues_across_calls),
        cmocka_unit_test(test_retry_after_bounds),
        cmocka_unit_test(test_reopen_whose_connect_fails_is_retried),
        cmocka_unit_test(test_idle_limit_counts_from_the_last_exchange),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

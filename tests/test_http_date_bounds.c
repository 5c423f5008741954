/*
 * test_http_date_bounds.c - the edges of what the HTTP reader takes from
 * a head: the years an HTTP-date may have (1900 and 9999 both read), the
 * leap second (:60 reads as :59, :61 is no date), and a Keep-Alive
 * "timeout=" without digits, which leaves an earlier timeout alone.
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
#include "wisp_http.h"

static wisp_http_reader g_r;
static uint8_t g_line[512];

/* A 503 head with these header lines, fed whole: the reader afterwards. */
static const wisp_http_reader *read_head(const char *headers)
{
    char head[1024];
    size_t used = 0;
    wisp_http_out out;
    int n = snprintf(head, sizeof head, "HTTP/1.1 503 Busy\r\n%sContent-Length: 0\r\n\r\n", headers);
    assert_true(n > 0 && (size_t)n < sizeof head);
    wisp_http_reader_init(&g_r, g_line, sizeof g_line);
    assert_int_equal(wisp_http_feed(&g_r, (const uint8_t *)head, (size_t)n, &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_HEADERS);
    return &g_r;
}

static void expect_wait(const char *headers, uint32_t ms)
{
    const wisp_http_reader *r = read_head(headers);
    if (r->retry_after_ms != ms) {
        print_error("%s: %u ms, not %u\n", headers, (unsigned)r->retry_after_ms, (unsigned)ms);
        fail();
    }
}

/* The first and the last year an HTTP-date may name. */
static void test_date_years(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    expect_wait("Date: Mon, 01 Jan 1900 00:00:00 GMT\r\nRetry-After: Mon, 01 Jan 1900 00:00:10 GMT\r\n",
                10000);
    expect_wait("Date: Fri, 31 Dec 9999 23:59:50 GMT\r\nRetry-After: Fri, 31 Dec 9999 23:59:58 GMT\r\n",
                8000);
    /* the year before is no date: nothing to wait for */
    expect_wait("Date: Sun, 31 Dec 1899 23:59:50 GMT\r\nRetry-After: Mon, 01 Jan 1900 00:00:10 GMT\r\n",
                0);
}

/* :60 is a leap second, read as :59; :61 is no time. */
static void test_leap_second(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    expect_wait("Date: Wed, 31 Dec 2008 23:59:00 GMT\r\nRetry-After: Wed, 31 Dec 2008 23:59:60 GMT\r\n",
                59000);
    expect_wait("Date: Wed, 31 Dec 2008 23:59:00 GMT\r\nRetry-After: Wed, 31 Dec 2008 23:59:61 GMT\r\n",
                0);
}

/* "timeout=" with no digits is not a timeout: the one before it stands. */
static void test_keep_alive_timeout_without_digits(void **state)
{
    (void)state;
    assert_int_equal(read_head("Keep-Alive: timeout=5, timeout=\r\n")->keep_alive_timeout_s, 5);
    assert_int_equal(read_head("Keep-Alive: timeout=7, timeout=8\r\n")->keep_alive_timeout_s, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_years),
        cmocka_unit_test(test_leap_second),
        cmocka_unit_test(test_keep_alive_timeout_without_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

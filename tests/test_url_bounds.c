/*
 * test_url_bounds.c - the URL parser at the edges of its character
 * classes and bounds, from the survivors of a mutation run
 * (tests/mutate.py): each letter, digit and hex range at both ends, the
 * shortest IPv6 literal, five-digit ports and a sixth digit, a
 * percent-escape with one bad digit, a parse over a struct that held
 * something else.  Each asserts what wisp_url_parse answers and fills in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wisp.h"

static void expect_url(const char *url, wisp_status want)
{
    wisp_url u;
    wisp_status got = wisp_url_parse(url, &u);
    if (got != want) {
        print_error("wisp_url_parse(\"%s\") = %d, want %d\n", url, (int)got, (int)want);
        fail();
    }
}

/* Every letter and digit at the ends of its range is a host character. */
static void test_host_letter_and_digit_ranges(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("http://aAzZ09-_.b:1/x", &u), WISP_OK);
    assert_string_equal(u.host, "aAzZ09-_.b");
    assert_int_equal(u.port, 1);
    assert_string_equal(u.path, "/x");
    /* each end alone, so that one range cut short cannot hide behind another */
    expect_url("http://a", WISP_OK);
    expect_url("http://z", WISP_OK);
    expect_url("http://A", WISP_OK);
    expect_url("http://Z", WISP_OK);
    expect_url("http://0", WISP_OK);
    expect_url("http://9", WISP_OK);
    expect_url("http://API.EXAMPLE.COM/V1", WISP_OK);
    /* the bytes just outside the letter ranges are not host characters */
    expect_url("http://a@b/", WISP_ERR_URL);
    expect_url("http://a[b/", WISP_ERR_URL);
    expect_url("http://a^b/", WISP_ERR_URL);
    expect_url("http://a`b/", WISP_ERR_URL);
    expect_url("http://a{b/", WISP_ERR_URL);
    expect_url("http://a/b", WISP_OK);
}

/* Path bytes: letters and digits at both ends of their ranges, every
 * extra character RFC 3986 allows, and the neighbours that are refused. */
static void test_path_character_ranges(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("http://h/aAzZ09-._~!$&'()*+,;=:@/%41", &u), WISP_OK);
    assert_string_equal(u.path, "/aAzZ09-._~!$&'()*+,;=:@/%41");
    expect_url("http://h/a", WISP_OK);
    expect_url("http://h/z", WISP_OK);
    expect_url("http://h/A", WISP_OK);
    expect_url("http://h/Z", WISP_OK);
    expect_url("http://h/0", WISP_OK);
    expect_url("http://h/9", WISP_OK);
    expect_url("http://h/^", WISP_ERR_URL);
    expect_url("http://h/`", WISP_ERR_URL);
    expect_url("http://h/[", WISP_ERR_URL);
    expect_url("http://h/{", WISP_ERR_URL);
    expect_url("http://h/\"", WISP_ERR_URL);
    expect_url("http://h/<", WISP_ERR_URL);
}

/* Percent-escapes: both digits must be hex, each range at both ends. */
static void test_percent_escape_digits(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("http://h/%00%09%aa%ff%AA%FF%aF", &u), WISP_OK);
    assert_int_equal(u.path_len, strlen("/%00%09%aa%ff%AA%FF%aF"));
    expect_url("http://h/%20", WISP_OK);
    expect_url("http://h/%a0", WISP_OK);
    expect_url("http://h/%f0", WISP_OK);
    expect_url("http://h/%A0", WISP_OK);
    expect_url("http://h/%F0", WISP_OK);
    expect_url("http://h/%0a", WISP_OK);
    expect_url("http://h/%0F", WISP_OK);
    /* one bad digit, first or second, is enough to refuse */
    expect_url("http://h/%g0", WISP_ERR_URL);
    expect_url("http://h/%0g", WISP_ERR_URL);
    expect_url("http://h/%G0", WISP_ERR_URL);
    expect_url("http://h/%0G", WISP_ERR_URL);
    expect_url("http://h/%2", WISP_ERR_URL);
    expect_url("http://h/%", WISP_ERR_URL);
    expect_url("http://h/%@0", WISP_ERR_URL);
    expect_url("http://h/%0`", WISP_ERR_URL);
    expect_url("http://h/%:0", WISP_ERR_URL);
    expect_url("http://h/%/0", WISP_ERR_URL);
}

/* IPv6 literals: hex digits at each end of their ranges; two characters
 * are the shortest literal taken ("::"), fewer are refused. */
static void test_ipv6_literals(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("http://[aAfF:09::1.2.3.4]:8/", &u), WISP_OK);
    assert_string_equal(u.host, "aAfF:09::1.2.3.4");
    assert_true(u.host_is_ipv6);
    assert_int_equal(u.port, 8);
    assert_int_equal(wisp_url_parse("https://[::]", &u), WISP_OK);
    assert_string_equal(u.host, "::");
    assert_true(u.host_is_ipv6);
    assert_int_equal(u.port, 443);
    expect_url("http://[a::]/", WISP_OK);
    expect_url("http://[f::]/", WISP_OK);
    expect_url("http://[A::]/", WISP_OK);
    expect_url("http://[F::]/", WISP_OK);
    expect_url("http://[9::]/", WISP_OK);
    expect_url("http://[:]/", WISP_ERR_URL);
    expect_url("http://[]/", WISP_ERR_URL);
    expect_url("http://[]", WISP_ERR_URL);
    expect_url("http://[g::]/", WISP_ERR_URL);
    expect_url("http://[G::]/", WISP_ERR_URL);
    expect_url("http://[::1 ]/", WISP_ERR_URL);
    expect_url("http://[::1/]/", WISP_ERR_URL);
    expect_url("http://[::1]x/", WISP_ERR_URL);
}

/* Ports: up to five digits (leading zeros counted), 1 to 65535. */
static void test_port_bounds(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("http://h:65535/", &u), WISP_OK);
    assert_int_equal(u.port, 65535);
    assert_int_equal(wisp_url_parse("http://h:65534", &u), WISP_OK);
    assert_int_equal(u.port, 65534);
    assert_int_equal(wisp_url_parse("http://h:00080/", &u), WISP_OK);
    assert_int_equal(u.port, 80);
    assert_int_equal(wisp_url_parse("https://h:9", &u), WISP_OK);
    assert_int_equal(u.port, 9);
    assert_int_equal(wisp_url_parse("http://h:1", &u), WISP_OK);
    assert_int_equal(u.port, 1);
    expect_url("http://h:000080/", WISP_ERR_URL); /* a sixth digit */
    expect_url("http://h:000001", WISP_ERR_URL);
    expect_url("http://h:99999/", WISP_ERR_URL);
    expect_url("http://h:65536", WISP_ERR_URL);
    expect_url("http://h:00000/", WISP_ERR_URL);
    expect_url("http://h:1x/", WISP_ERR_URL);
}

/* A parse into a struct that held something else: what it fills in is
 * terminated and complete, with nothing left over from before. */
static void test_parse_over_old_contents(void **state)
{
    wisp_url u;
    (void)state;
    memset(&u, 'x', sizeof u);
    assert_int_equal(wisp_url_parse("http://h/v1/", &u), WISP_OK);
    assert_string_equal(u.host, "h");
    assert_string_equal(u.path, "/v1");
    assert_int_equal(u.path_len, 3);
    assert_int_equal(u.port, 80);
    assert_false(u.https);

    /* an IPv6 host, then a name: the second is not taken for IPv6 */
    assert_int_equal(wisp_url_parse("https://[::1]:8443/a", &u), WISP_OK);
    assert_true(u.host_is_ipv6);
    assert_int_equal(wisp_url_parse("http://example.org", &u), WISP_OK);
    assert_false(u.host_is_ipv6);
    assert_false(u.https);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "");
    assert_int_equal(u.path_len, 0);

    /* a refused URL leaves nothing of the earlier one's path, nor (refused
     * at its scheme) of its host and port */
    assert_int_equal(wisp_url_parse("https://[::1]:8443/v1", &u), WISP_OK);
    assert_int_equal(wisp_url_parse("https://host/v 1", &u), WISP_ERR_URL);
    assert_false(u.host_is_ipv6);
    assert_string_equal(u.path, "");
    assert_int_equal(u.path_len, 0);
    assert_int_equal(wisp_url_parse("https://[::1]:8443/v1", &u), WISP_OK);
    assert_int_equal(wisp_url_parse("gopher://host/", &u), WISP_ERR_URL);
    assert_false(u.https);
    assert_false(u.host_is_ipv6);
    assert_string_equal(u.host, "");
    assert_int_equal(u.port, 0);
    assert_string_equal(u.path, "");
    assert_int_equal(u.path_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_letter_and_digit_ranges),
        cmocka_unit_test(test_path_character_ranges),
        cmocka_unit_test(test_percent_escape_digits),
        cmocka_unit_test(test_ipv6_literals),
        cmocka_unit_test(test_port_bounds),
        cmocka_unit_test(test_parse_over_old_contents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_tools_no_store.c - wisp_tools_from_json given no store (NULL, 0)
 * and a tool to read: the name has nowhere to go, WISP_ERR_TOO_LARGE,
 * without undefined behaviour on the way (store_string once computed
 * NULL + 0 before it looked at the room left; UBSan in make asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wisp.h"

static void test_no_store_for_a_name(void **state)
{
    static const char text[] = "[{\"function\":{\"name\":\"a\"}}]";
    wisp_token toks[16];
    wisp_tool tools[2];
    size_t count = 5;
    const char *why = NULL;
    (void)state;
    assert_int_equal(wisp_tools_from_json(text, strlen(text), toks, 16, tools, 2, &count, NULL, 0,
                                          &why),
                     WISP_ERR_TOO_LARGE);
    assert_int_equal(count, 0);
    assert_non_null(strstr(why, "do not fit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_store_for_a_name),
    };
    return cmocka_run_group_tests_name("tools_no_store", tests, NULL, NULL);
}

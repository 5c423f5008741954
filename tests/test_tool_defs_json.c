/*
 * test_tool_defs_json.c - wisp_tools_from_json on every shape it refuses:
 * each fault has its own status and its own words in *why, nothing is
 * counted on failure, and what fits the store exactly still fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wisp.h"

static wisp_token g_toks[256];

typedef struct parsed {
    wisp_status st;
    size_t count;
    const char *why;
    wisp_tool tools[4];
    char store[128];
} parsed;

/* text read with room for 4 tools and store_cap bytes of store. */
static parsed *parse(const char *text, size_t store_cap)
{
    static parsed p;
    memset(&p, 0, sizeof p);
    p.count = 77;
    p.why = NULL;
    assert_true(store_cap <= sizeof p.store);
    p.st = wisp_tools_from_json(text, strlen(text), g_toks, 256, p.tools, 4, &p.count, p.store,
                                store_cap, &p.why);
    assert_non_null(p.why);
    if (p.st != WISP_OK) {
        assert_int_equal(p.count, 0); /* nothing counted on failure */
        assert_true(p.why[0] != '\0');
    } else {
        assert_string_equal(p.why, "");
    }
    return &p;
}

static void expect_refused(const char *text, wisp_status st, const char *why_part)
{
    parsed *p = parse(text, sizeof p->store);
    if (p->st != st || strstr(p->why, why_part) == NULL) {
        print_error("%s: %s \"%s\", want %s with \"%s\"\n", text, wisp_strerror(p->st), p->why,
                    wisp_strerror(st), why_part);
        fail();
    }
}

static void test_element_shapes_refused(void **state)
{
    (void)state;
    expect_refused("[1]", WISP_ERR_JSON, "not an object");
    expect_refused("[{\"function\":{\"name\":\"a\"}}, \"x\"]", WISP_ERR_JSON, "not an object");
    expect_refused("[{\"type\":\"function\"}]", WISP_ERR_JSON, "no \"function\" object");
    expect_refused("[{\"function\":\"get\"}]", WISP_ERR_JSON, "no \"function\" object");
    expect_refused("[{\"type\":7,\"function\":{\"name\":\"a\"}}]", WISP_ERR_JSON, "\"type\" is not");
    expect_refused("[{\"function\":{\"name\":7}}]", WISP_ERR_JSON, "function.name string");
    expect_refused("[{\"function\":{\"name\":\"\"}}]", WISP_ERR_JSON, "function.name string");
    expect_refused("[{\"function\":{\"name\":\"a\",\"description\":[\"x\"]}}]", WISP_ERR_JSON,
                   "description is not a string");
    expect_refused("[{\"function\":{\"name\":\"a\",\"parameters\":\"{}\"}}]", WISP_ERR_JSON,
                   "parameters is not an object");
    expect_refused("[{\"function\":{\"name\":\"a\",\"parameters\":[]}}]", WISP_ERR_JSON,
                   "parameters is not an object");
}

/* A schema nested deeper than WISP_TOOL_SCHEMA_DEPTH is refused before
 * anything could send it; one level less is taken. */
static void test_schema_depth(void **state)
{
    char text[512], *p;
    int depth, i;
    parsed *r;
    (void)state;
    for (depth = WISP_TOOL_SCHEMA_DEPTH; depth <= WISP_TOOL_SCHEMA_DEPTH + 1; depth++) {
        p = text + sprintf(text, "[{\"function\":{\"name\":\"a\",\"parameters\":");
        for (i = 0; i < depth; i++)
            p += sprintf(p, "{\"x\":");
        p += sprintf(p, "1");
        for (i = 0; i < depth; i++)
            *p++ = '}';
        sprintf(p, "}}]");
        assert_true(strlen(text) < sizeof text);
        r = parse(text, 64);
        if (depth <= WISP_TOOL_SCHEMA_DEPTH) {
            assert_int_equal(r->st, WISP_OK);
            assert_int_equal(r->count, 1);
            assert_int_equal(r->tools[0].parameters[0], '{');
        } else {
            assert_int_equal(r->st, WISP_ERR_JSON);
            assert_non_null(strstr(r->why, "nests too deep"));
        }
    }
}

/* null description and parameters mean "none"; "function" as the type is
 * taken; the whole function object is kept for the request. */
static void test_nulls_are_absent(void **state)
{
    static const char text[] =
        "[{\"type\":\"function\",\"function\":{\"name\":\"led\",\"description\":null,"
        "\"parameters\":null,\"strict\":true}}]";
    parsed *p;
    (void)state;
    p = parse(text, 64);
    assert_int_equal(p->st, WISP_OK);
    assert_int_equal(p->count, 1);
    assert_string_equal(p->tools[0].name, "led");
    assert_null(p->tools[0].description);
    assert_null(p->tools[0].parameters);
    assert_int_equal(p->tools[0].parameters_len, 0);
    assert_int_equal(p->tools[0].function_json_len,
                     strlen("{\"name\":\"led\",\"description\":null,\"parameters\":null,\"strict\":true}"));
    assert_memory_equal(p->tools[0].function_json, "{\"name\":\"led\"", 13);
}

/* The store: names and descriptions with their NULs.  Exactly enough is
 * enough; a byte less is TOO_LARGE, for the name and for the description. */
static void test_store_limits(void **state)
{
    static const char text[] = "[{\"function\":{\"name\":\"abc\",\"description\":\"de\"}}]";
    parsed *p;
    (void)state;
    p = parse(text, 7); /* "abc\0de\0" */
    assert_int_equal(p->st, WISP_OK);
    assert_string_equal(p->tools[0].name, "abc");
    assert_string_equal(p->tools[0].description, "de");
    p = parse(text, 6); /* the description's NUL does not fit */
    assert_int_equal(p->st, WISP_ERR_TOO_LARGE);
    assert_non_null(strstr(p->why, "do not fit"));
    p = parse(text, 4); /* the name fits, nothing is left for the description */
    assert_int_equal(p->st, WISP_ERR_TOO_LARGE);
    p = parse(text, 3); /* the name's NUL does not fit */
    assert_int_equal(p->st, WISP_ERR_TOO_LARGE);
    p = parse(text, 0);
    assert_int_equal(p->st, WISP_ERR_TOO_LARGE);
}

static void test_arguments(void **state)
{
    static const char text[] = "[{\"function\":{\"name\":\"a\"}}]";
    wisp_tool tools[2];
    char store[16];
    size_t count = 5;
    const char *why = NULL;
    (void)state;
    /* why may be NULL */
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 256, tools, 2, &count, store,
                                          sizeof store, NULL),
                     WISP_OK);
    assert_int_equal(count, 1);
    /* count may not, and nothing is read without it */
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 256, tools, 2, NULL, store,
                                          sizeof store, &why),
                     WISP_ERR_ARG);
    count = 5;
    assert_int_equal(wisp_tools_from_json(NULL, 4, g_toks, 256, tools, 2, &count, store,
                                          sizeof store, &why),
                     WISP_ERR_ARG);
    assert_int_equal(count, 0);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), NULL, 256, tools, 2, &count, store,
                                          sizeof store, &why),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 256, NULL, 2, &count, store,
                                          sizeof store, &why),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 256, tools, 2, &count, NULL,
                                          sizeof store, &why),
                     WISP_ERR_ARG);
    /* no room and no store: an empty list still reads */
    assert_int_equal(wisp_tools_from_json("[]", 2, g_toks, 256, NULL, 0, &count, NULL, 0, &why),
                     WISP_OK);
    assert_int_equal(count, 0);
    /* but a tool then has nowhere to go */
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 256, NULL, 0, &count, NULL, 0,
                                          &why),
                     WISP_ERR_TOO_COMPLEX);
    assert_non_null(strstr(why, "more tools"));
    /* (a tool with no store at all: tests/test_tools_no_store.c) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_element_shapes_refused),
        cmocka_unit_test(test_schema_depth),
        cmocka_unit_test(test_nulls_are_absent),
        cmocka_unit_test(test_store_limits),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests_name("tool_defs_json", tests, NULL, NULL);
}

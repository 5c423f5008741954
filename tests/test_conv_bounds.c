/*
 * test_conv_bounds.c - the conversation's memory at its exact bounds: an
 * arena just large enough for the message slots (and no heap), and a
 * question's text at the arena's first byte (refused: it would move) or
 * right after its last one (taken: it is outside).
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

#define MSG_BYTES (sizeof(wisp_message) + sizeof(size_t))
#define ARENA 1024

static sc_env g_e;
static wisp_conv g_conv;
static uint64_t g_mem[2 * ARENA / 8]; /* the arena, then what follows it */

static const char k_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"yes\"},"
    "\"finish_reason\":\"stop\"}]}";

/* Slots and nothing else: laid out, but no message fits. */
static void test_arena_exactly_the_slots(void **state)
{
    wisp_conv c;
    (void)state;
    assert_int_equal(wisp_conv_init(&c, g_mem, 4 * MSG_BYTES, 4, NULL), WISP_OK);
    assert_int_equal(c.message_count, 0);
    assert_int_equal(c.arena_used, 4 * MSG_BYTES);
    assert_int_equal(c.reserve, 0);
    /* one byte fewer is not enough */
    assert_int_equal(wisp_conv_init(&c, g_mem, 4 * MSG_BYTES - 1, 4, NULL), WISP_ERR_ARENA_FULL);
    /* with the slots only, a system message does not fit */
    assert_int_equal(wisp_conv_init(&c, g_mem, 4 * MSG_BYTES, 4, "s"), WISP_ERR_ARENA_FULL);
}

static wisp_request g_req;

static void setup(void)
{
    sc_init(&g_e, NULL);
    memset(&g_req, 0, sizeof g_req);
    g_req.model = "m";
    memset(g_mem, 0, sizeof g_mem);
    assert_int_equal(wisp_conv_init(&g_conv, g_mem, ARENA, 4, NULL), WISP_OK);
}

/* A text whose first byte is the arena's first is inside it: refused, and
 * nothing is sent. */
static void test_text_at_the_arena_start_refused(void **state)
{
    (void)state;
    setup();
    sc_add_json(&g_e, k_answer);
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, (const char *)g_mem, &g_e.resp,
                                   NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(g_e.fake.sent_len, 0);
    assert_int_equal(g_conv.message_count, 0);
}

/* A text right after the arena's last byte is outside it: asked. */
static void test_text_right_after_the_arena_taken(void **state)
{
    char *after = (char *)g_mem + ARENA;
    (void)state;
    WISP_NEEDS(WISP_NONSTREAM); /* the answer is a whole JSON reply */
    setup();
    strcpy(after, "warm?");
    sc_add_json(&g_e, k_answer);
    assert_int_equal(
        wisp_conv_ask(&g_e.client, &g_conv, &g_req, after, &g_e.resp, NULL, NULL, NULL), WISP_OK);
    assert_int_equal(g_conv.message_count, 2);
    assert_string_equal(g_conv.messages[0].content, "warm?");
    assert_string_equal(g_conv.messages[1].content, "yes");
    assert_non_null(strstr(sc_sent(&g_e), "warm?"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_exactly_the_slots),
        cmocka_unit_test(test_text_at_the_arena_start_refused),
        cmocka_unit_test(test_text_right_after_the_arena_taken),
    };
    return cmocka_run_group_tests_name("conv_bounds", tests, NULL, NULL);
}

/*
 * test_reply_reader.c - the one choice reader (wisp_reply_*) at its edges:
 * a callback that cancels at each kind of piece (gathered text flushed,
 * a character left alone at the end, tool arguments, a call's announce),
 * fields set twice with another type, content parts of every kind,
 * arguments as JSON lists, signatures where they cannot be kept, calls
 * without slots at high indexes counted once, Ollama's reused index, calls
 * sorted by index, which choice is read, a budget spent on reasoning, and
 * the arguments of each call.
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
#include "wisp_reply.h"

#define CALLS 2

typedef struct rr {
    wisp_reply r;
    wisp_response resp;
    wisp_token toks[128];
    char scratch[64];
    char content[256];
    char reasoning[256];
    wisp_tool_call calls[CALLS];
    char args[CALLS][64];
    char sigs[CALLS][32];
    char log[2048];
    int events;
    int cancel_at;              /* cancel at this event (1-based), 0 never */
    wisp_event_type cancel_type; /* ... counting only events of this type */
} rr;

static rr g;

static int on_event(void *user, const wisp_event *ev)
{
    rr *t = (rr *)user;
    static const char tags[] = "OCRFUT";
    size_t at = strlen(t->log);
    if (ev->type == WISP_EVENT_TOOL_CALL) {
        snprintf(t->log + at, sizeof t->log - at, "T%u:%s/%s:%.*s|", (unsigned)ev->tool_index,
                 ev->tool_id, ev->tool_name, (int)ev->len, ev->text);
    } else {
        snprintf(t->log + at, sizeof t->log - at, "%c:%.*s|", tags[ev->type], (int)ev->len,
                 ev->text);
    }
    if (ev->type == t->cancel_type && ++t->events == t->cancel_at)
        return 1;
    return 0;
}

static rr *fresh(size_t scratch_cap)
{
    int i;
    memset(&g, 0, sizeof g);
    wisp_response_init(&g.resp, g.content, sizeof g.content, g.reasoning, sizeof g.reasoning);
    for (i = 0; i < CALLS; i++) {
        g.calls[i].arguments.buf = g.args[i];
        g.calls[i].arguments.cap = sizeof g.args[i];
        g.calls[i].signature.buf = g.sigs[i];
        g.calls[i].signature.cap = sizeof g.sigs[i];
    }
    g.resp.tool_calls = g.calls;
    g.resp.tool_call_cap = CALLS;
    wisp_reply_init(&g.r, &g.resp, g.toks, 128, on_event, &g);
    wisp_reply_scratch(&g.r, g.scratch, scratch_cap);
    g.cancel_type = WISP_EVENT_CONTENT;
    return &g;
}

/* Events of a stream, then its end; the first status that is not OK. */
static wisp_status stream(rr *t, const char *const *events, size_t n)
{
    size_t i;
    wisp_status st;
    for (i = 0; i < n; i++) {
        st = wisp_reply_event(&t->r, events[i], strlen(events[i]), false);
        if (st != WISP_OK)
            return st;
    }
    return wisp_reply_end(&t->r, false);
}

/* One whole document, then its end. */
static wisp_status whole(rr *t, const char *js)
{
    wisp_status st = wisp_reply_document(&t->r, js, strlen(js));
    return st != WISP_OK ? st : wisp_reply_end(&t->r, true);
}

#define STREAM(t, ...)                                                                           \
    stream((t), (const char *const[]){__VA_ARGS__},                                              \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Cancel while text gathered in the scratch is flushed for a piece that
 * does not fit beside it: the first event cancels, nothing more comes. */
static void test_cancel_at_a_flush(void **state)
{
    rr *t = fresh(8);
    (void)state;
    t->cancel_at = 1;
    /* "ab\u00e9" is gathered, then a run longer than the scratch comes:
     * what was gathered goes out first, and that event cancels */
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":\"ab\\u00e9"
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}]}"),
                     WISP_ERR_CANCELLED);
    assert_int_equal(t->events, 1);
    assert_string_equal(t->log, "C:ab\xC3\xA9|");
    assert_string_equal(t->content, "ab\xC3\xA9");
    assert_true(t->r.delivered);
}

/* A character cut off at the end of the stream becomes U+FFFD; a callback
 * that cancels on it cancels the end. */
static void test_cancel_at_the_last_character(void **state)
{
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    assert_int_equal(STREAM(t, "{\"choices\":[{\"delta\":{\"content\":\"x\\ud83c\"}}]}",
                            "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "x\xEF\xBF\xBD");
    t = fresh(sizeof g.scratch);
    t->cancel_at = 2;
    assert_int_equal(STREAM(t, "{\"choices\":[{\"delta\":{\"content\":\"x\\ud83c\"}}]}",
                            "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}"),
                     WISP_ERR_CANCELLED);
    assert_non_null(strstr(t->log, "C:\xEF\xBF\xBD|"));
    /* the same for reasoning */
    t = fresh(sizeof g.scratch);
    t->cancel_type = WISP_EVENT_REASONING;
    t->cancel_at = 2;
    assert_int_equal(STREAM(t, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"y\\ud83c\"}}]}",
                            "[DONE]"),
                     WISP_ERR_CANCELLED);
    assert_string_equal(t->reasoning, "y\xEF\xBF\xBD");
}

/* Tool events cancel too: the announce of a call with empty arguments,
 * its arguments, the end of a call whose last character was cut. */
static void test_cancel_in_tool_calls(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    static const char *const first =
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"\"}}]}}]}";
    rr *t;
    int at;
    (void)state;
    for (at = 1; at <= 3; at++) {
        t = fresh(sizeof g.scratch);
        t->cancel_type = WISP_EVENT_TOOL_CALL;
        t->cancel_at = at;
        assert_int_equal(
            STREAM(t, first,
                   "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
                   "{\"arguments\":\"{\\\"a\\\":\\\"\\ud83c\"}}]}}]}",
                   "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"),
            WISP_ERR_CANCELLED);
        assert_int_equal(t->events, at);
    }
    assert_string_equal(t->log, "T0:c/f:|T0:c/f:{\"a\":\"|F:tool_calls|T0:c/f:\xEF\xBF\xBD|");
    /* arguments given as a JSON object or list go as their text, and may
     * cancel as well */
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":"
                              "{\"name\":\"f\",\"arguments\":[1,{\"b\":2}]}}]}}]}"),
                     WISP_OK);
    assert_string_equal(t->args[0], "[1,{\"b\":2}]");
    t = fresh(sizeof g.scratch);
    t->cancel_type = WISP_EVENT_TOOL_CALL;
    t->cancel_at = 1;
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":"
                              "{\"name\":\"f\",\"arguments\":{\"b\":2}}}]}}]}"),
                     WISP_ERR_CANCELLED);
    /* a call with no slot is announced, and that may cancel */
    t = fresh(sizeof g.scratch);
    t->resp.tool_call_cap = 0;
    t->cancel_type = WISP_EVENT_TOOL_CALL;
    t->cancel_at = 1;
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":"
                              "{\"name\":\"f\"}}]}}]}"),
                     WISP_ERR_CANCELLED);
    assert_string_equal(t->log, "T0:/:|");
    assert_int_equal(t->resp.tool_calls_dropped, 1);
}

/* A field seen again may be a string or a number (it is not read again);
 * true, false, an object or a list is malformed. */
static void test_field_set_twice(void **state)
{
    static const struct {
        const char *second;
        wisp_status st;
    } cases[] = {
        {"{\"id\":\"b\",\"choices\":[]}", WISP_OK},  {"{\"id\":7,\"choices\":[]}", WISP_OK},
        {"{\"id\":null,\"choices\":[]}", WISP_OK},   {"{\"id\":true,\"choices\":[]}", WISP_ERR_JSON},
        {"{\"id\":false,\"choices\":[]}", WISP_ERR_JSON},
        {"{\"id\":{},\"choices\":[]}", WISP_ERR_JSON},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rr *t = fresh(sizeof g.scratch);
        assert_int_equal(wisp_reply_event(&t->r, "{\"id\":\"a\",\"choices\":[]}", 23, false), WISP_OK);
        assert_int_equal(wisp_reply_event(&t->r, cases[i].second, strlen(cases[i].second), false),
                         cases[i].st);
        assert_string_equal(t->resp.id, "a");
    }
}

/* Content as parts: text parts are content, thinking parts reasoning (a
 * string, a list of text parts, or null), other kinds skipped; a text part
 * whose text is not a string, or thinking of another type, is malformed. */
static void test_content_parts(void **state)
{
    WISP_NEEDS(WISP_PARTS);
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    assert_int_equal(
        whole(t, "{\"choices\":[{\"message\":{\"content\":["
                 "{\"type\":\"thinking\",\"thinking\":\"plan\"},"
                 "{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\" more\"},"
                 "{\"type\":\"thinking\",\"thinking\":\"nested: skipped\"}]},"
                 "{\"type\":\"thinking\",\"thinking\":null},"
                 "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
                 "{\"type\":\"text\",\"text\":null},"
                 "\"a bare string\","
                 "{\"type\":\"text\",\"text\":\"answer\"}]},\"finish_reason\":\"stop\"}]}"),
        WISP_OK);
    assert_string_equal(t->content, "answer");
    assert_string_equal(t->reasoning, "plan more");
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":5},"
                              "{\"type\":\"text\",\"text\":\"never read\"}]}}]}"),
                     WISP_ERR_JSON);
    assert_string_equal(t->content, "");
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"thinking\","
                              "\"thinking\":{\"text\":\"x\"}}]}}]}"),
                     WISP_ERR_JSON);
}

/* Signatures: no room for one, extra_content of another shape, an empty
 * signature: the call reads, with no signature. */
static void test_signatures_not_kept(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    static const char *const extras[] = {
        "{\"google\":{\"thought_signature\":\"U0lH\"}}", /* with no room (below) */
        "{\"google\":\"U0lH\"}",
        "{\"google\":{\"thought_signature\":\"\"}}",
        "{\"google\":{\"thought_signature\":5}}",
        "\"U0lH\"",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        char js[512];
        rr *t = fresh(sizeof g.scratch);
        if (i == 0)
            t->calls[0].signature.cap = 0;
        snprintf(js, sizeof js,
                 "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":"
                 "\"f\",\"arguments\":\"{}\"},\"extra_content\":%s}]}}]}",
                 extras[i]);
        assert_int_equal(whole(t, js), WISP_OK);
        assert_int_equal(t->resp.tool_call_count, 1);
        assert_string_equal(t->calls[0].name, "f");
        assert_int_equal(t->calls[0].signature.len, 0);
    }
}

/* Calls beyond the slots are counted once each, whatever their index and
 * however many pieces they come in; the last call counted at 32 or above
 * is remembered, so its pieces do not count again. */
static void test_dropped_calls_counted_once(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    t->resp.tool_call_cap = 1;
    assert_int_equal(
        STREAM(t,
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":5,\"id\":\"b\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":5,\"id\":\"b\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":40,\"id\":\"c\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":40,\"id\":\"c\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":41,\"id\":\"d\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":40,\"id\":\"c\",\"function\":{\"name\":\"f\"}}]}}]}",
               "[DONE]"),
        WISP_OK);
    assert_int_equal(t->resp.tool_call_count, 1);
    /* 5 once, 40 once, 41 once, and 40 again after 41 (only the last is
     * remembered above 32) */
    assert_int_equal(t->resp.tool_calls_dropped, 4);
}

/* Ollama numbers every streamed call 0: a new id with a name at a taken
 * index is a new call; the same id again is the same call.  Calls end up
 * in index order whatever order they came in. */
static void test_reused_index_and_order(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    assert_int_equal(
        STREAM(t,
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\" \"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"[]\"}}]}}]}",
               "[DONE]"),
        WISP_OK);
    assert_int_equal(t->resp.tool_call_count, 2);
    assert_string_equal(t->calls[0].id, "a");
    assert_string_equal(t->args[0], "{} ");
    assert_string_equal(t->calls[1].id, "b");
    assert_int_equal(t->calls[1].index, 1);
    /* indexes out of order are sorted at the end */
    t = fresh(sizeof g.scratch);
    assert_int_equal(
        STREAM(t,
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"id\":\"late\",\"function\":{\"name\":\"f\"}}]}}]}",
               "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"early\",\"function\":{\"name\":\"g\"}}]}}]}",
               "[DONE]"),
        WISP_OK);
    assert_string_equal(t->calls[0].id, "early");
    assert_string_equal(t->calls[1].id, "late");
    /* a piece with neither index, id nor name first of all: call 0 */
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":"
                              "{\"arguments\":\"{}\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_call_count, 1);
    assert_int_equal(t->calls[0].index, 0);
    /* a call that is not an object stops the list */
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":[7,{\"id\":\"x\"}]}}]}"),
                     WISP_ERR_JSON);
    assert_int_equal(t->resp.tool_call_count, 0);
}

/* The choice read is index 0, or the first without an index; later ones
 * are passed over but must still be objects. */
static void test_which_choice(void **state)
{
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    assert_int_equal(whole(t, "{\"choices\":[{\"index\":1,\"message\":{\"content\":\"one\"}},"
                              "{\"index\":0,\"message\":{\"content\":\"zero\"}},"
                              "{\"index\":2,\"message\":{\"content\":\"two\"}}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "zero");
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":\"first\"}},"
                              "{\"message\":{\"content\":\"second\"}}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "first");
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":\"first\"}},3]}"),
                     WISP_ERR_JSON);
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"index\":[0],\"message\":{\"content\":\"x\"}}]}"),
                     WISP_ERR_JSON);
    /* only a choice not for us: nothing read, no content seen */
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"choices\":[{\"index\":1,\"message\":{\"content\":\"one\"}}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "");
    assert_false(t->resp.content_null);
}

/* finish_reason "length" with no text and no call: the budget went on
 * reasoning when reasoning came, or when usage counts more than prompt
 * and completion. */
static void test_budget_spent_on_reasoning(void **state)
{
    static const struct {
        const char *js;
        bool spent;
    } cases[] = {
        {"{\"choices\":[{\"message\":{\"reasoning_content\":\"hmm\"},\"finish_reason\":\"length\"}]}", true},
        {"{\"choices\":[{\"message\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
         "\"completion_tokens\":0,\"total_tokens\":9}}",
         true},
        {"{\"choices\":[{\"message\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
         "\"completion_tokens\":4,\"total_tokens\":9}}",
         false},
        {"{\"choices\":[{\"message\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":9,"
         "\"completion_tokens\":0,\"total_tokens\":9}}",
         false},
        {"{\"choices\":[{\"message\":{\"content\":\"c\",\"reasoning_content\":\"r\"},"
         "\"finish_reason\":\"length\"}]}",
         false},
        {"{\"choices\":[{\"message\":{\"reasoning_content\":\"r\"},\"finish_reason\":\"stop\"}]}", false},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rr *t = fresh(sizeof g.scratch);
        assert_int_equal(whole(t, cases[i].js), WISP_OK);
        if (t->resp.reasoning_spent_budget != cases[i].spent) {
            print_error("case %u: spent %d\n", (unsigned)i, t->resp.reasoning_spent_budget);
            fail();
        }
    }
    /* the usage event cancels the end */
    {
        rr *t = fresh(sizeof g.scratch);
        t->cancel_type = WISP_EVENT_USAGE;
        t->cancel_at = 1;
        assert_int_equal(whole(t, cases[1].js), WISP_ERR_CANCELLED);
    }
}

static void test_arguments_and_order_of_calls(void **state)
{
    rr *t = fresh(sizeof g.scratch);
    (void)state;
    assert_int_equal(wisp_reply_document(NULL, "{}", 2), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_document(&t->r, NULL, 2), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_event(&t->r, NULL, 2, false), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_end(NULL, false), WISP_ERR_ARG);
    t->r.toks = NULL;
    assert_int_equal(wisp_reply_document(&t->r, "{}", 2), WISP_ERR_ARG);
    t = fresh(sizeof g.scratch);
    t->r.resp = NULL;
    assert_int_equal(wisp_reply_document(&t->r, "{}", 2), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_event(&t->r, "{}", 2, false), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_end(&t->r, false), WISP_ERR_ARG);
    wisp_reply_scratch(NULL, g.scratch, 4);
    /* after [DONE] nothing is read */
    t = fresh(sizeof g.scratch);
    assert_int_equal(wisp_reply_event(&t->r, " [DONE]\n", 8, false), WISP_OK);
    assert_int_equal(wisp_reply_event(&t->r, "{\"choices\":[{\"delta\":{\"content\":\"late\"}}]}", 43,
                                      false),
                     WISP_OK);
    assert_string_equal(t->content, "");
    assert_int_equal(wisp_reply_event(&t->r, "not even json", 13, true), WISP_OK);
    assert_int_equal(wisp_reply_end(&t->r, false), WISP_OK);
    /* an error value that is no error: false, "" and 0 beside a reply */
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"error\":\"\",\"choices\":[{\"message\":{\"content\":\"fine\"}}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "fine");
    t = fresh(sizeof g.scratch);
    assert_int_equal(whole(t, "{\"error\":[],\"choices\":[]}"), WISP_ERR_API);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_at_a_flush),
        cmocka_unit_test(test_cancel_at_the_last_character),
        cmocka_unit_test(test_cancel_in_tool_calls),
        cmocka_unit_test(test_field_set_twice),
        cmocka_unit_test(test_content_parts),
        cmocka_unit_test(test_signatures_not_kept),
        cmocka_unit_test(test_dropped_calls_counted_once),
        cmocka_unit_test(test_reused_index_and_order),
        cmocka_unit_test(test_which_choice),
        cmocka_unit_test(test_budget_spent_on_reasoning),
        cmocka_unit_test(test_arguments_and_order_of_calls),
    };
    return cmocka_run_group_tests_name("reply_reader", tests, NULL, NULL);
}

/*
 * wire_fixtures.h - the recorded replies in tests/fixtures (NAME.http and
 * NAME.expect, format in test_wire.c), loaded, run through wisp_chat and
 * checked: shared by test_wire.c (a fake transport) and test_lwip.c (lwIP's
 * TCP), so both hold every fixture to the same expectations.
 * Include after cmocka.h.
 */
#ifndef WIRE_FIXTURES_H
#define WIRE_FIXTURES_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect_format.h"
#include "wisp.h"
#include "needs.h"

#define MAX_FIXTURES 1024
#define TEXT_MAX (2 * 1024 * 1024)

typedef struct expect {
    char key[32];
    char *value;
    size_t value_len;
} expect;

typedef struct fixture {
    char name[128];
    uint8_t *http;
    size_t http_len;
    char *expect_text; /* owns the values of items */
    expect items[40];
    int item_count;
} fixture;

static fixture *fixtures; /* MAX_FIXTURES of them */
static int fixture_count;
static const char *fixture_dir = "tests/fixtures";

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void parse_expect(fixture *fx, char *text)
{
    char *line = text;
    while (line != NULL && *line != '\0') {
        char *nl = strchr(line, '\n');
        char *sp;
        expect *e;
        if (nl != NULL) {
            *nl = '\0';
        }
        if (line[0] != '#' && line[0] != '\0' && fx->item_count < 40) {
            e = &fx->items[fx->item_count++];
            sp = strchr(line, ' ');
            if (sp == NULL) {
                snprintf(e->key, sizeof e->key, "%s", line);
                e->value = line + strlen(line);
                e->value_len = 0;
            } else {
                *sp = '\0';
                snprintf(e->key, sizeof e->key, "%s", line);
                e->value = sp + 1;
                e->value_len = expect_unescape(e->value, strlen(e->value));
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

static const expect *find(const fixture *fx, const char *key)
{
    int i;
    for (i = 0; i < fx->item_count; i++) {
        if (strcmp(fx->items[i].key, key) == 0) {
            return &fx->items[i];
        }
    }
    return NULL;
}

static long num(const fixture *fx, const char *key, long dflt)
{
    const expect *e = find(fx, key);
    return e != NULL ? strtol(e->value, NULL, 10) : dflt;
}

/* What one replay produced. */
typedef struct outcome {
    wisp_status status;
    wisp_response resp;
    char *content;
    char *reasoning;
    char *events;  /* content events, concatenated */
    size_t events_len;
    bool events_overflow;
    char *log;     /* every event, "type:text|" (usage: its counts) */
    size_t log_len;
    int n_events;
    int cancel_at; /* cancel at this event (from 1), 0 never */
    int connects;
    wisp_tool_call *calls;
    char *args, *sigs; /* the slots' storage */
} outcome;

static void log_put(outcome *o, const char *s, size_t n)
{
    if (o->log_len + n > TEXT_MAX) {
        o->events_overflow = true;
        return;
    }
    memcpy(o->log + o->log_len, s, n);
    o->log_len += n;
}

static int collect(void *user, const wisp_event *ev)
{
    outcome *o = (outcome *)user;
    char head[64];
    o->n_events++;
    if (ev->type == WISP_EVENT_USAGE) {
        snprintf(head, sizeof head, "%d:%u %u %u|", (int)ev->type,
                 (unsigned)ev->usage->prompt_tokens, (unsigned)ev->usage->completion_tokens,
                 (unsigned)ev->usage->total_tokens);
        log_put(o, head, strlen(head));
    } else if (ev->type == WISP_EVENT_TOOL_CALL) {
        snprintf(head, sizeof head, "%d:%u:", (int)ev->type, (unsigned)ev->tool_index);
        log_put(o, head, strlen(head));
        log_put(o, ev->tool_id, strlen(ev->tool_id));
        log_put(o, ":", 1);
        log_put(o, ev->tool_name, strlen(ev->tool_name));
        log_put(o, ":", 1);
        log_put(o, ev->text, ev->len);
        log_put(o, "|", 1);
    } else {
        snprintf(head, sizeof head, "%d:", (int)ev->type);
        log_put(o, head, strlen(head));
        log_put(o, ev->text, ev->len);
        log_put(o, "|", 1);
    }
    if (ev->type == WISP_EVENT_CONTENT) {
        if (o->events_len + ev->len > TEXT_MAX) {
            o->events_overflow = true;
        } else {
            memcpy(o->events + o->events_len, ev->text, ev->len);
            o->events_len += ev->len;
        }
    }
    return o->n_events == o->cancel_at;
}

/* How a reply is cut on its way to wisp. */
typedef enum wire_split { WIRE_WHOLE, WIRE_BYTES, WIRE_RANDOM } wire_split;

/* What the server does after the reply, from the fixture's "end" key. */
typedef enum wire_end { WIRE_KEEP, WIRE_CLOSE, WIRE_RESET } wire_end;

/* A fixture of something this build left out ("needs" in its .expect)
 * skips. */
static void skip_unless_built(const fixture *fx)
{
    const expect *e = find(fx, "needs");
    WISP_FIXTURE_NEEDS(e != NULL ? e->value : NULL);
}

/* A stream request, as the fixture says; always in a build without the
 * non-streamed reader, which can only send those. */
static bool fixture_stream(const fixture *fx)
{
    return num(fx, "stream", 0) != 0 || !WISP_NONSTREAM;
}

static wire_end fixture_end(const fixture *fx)
{
    const expect *end = find(fx, "end");
    if (end != NULL && strcmp(end->value, "close") == 0) return WIRE_CLOSE;
    if (end != NULL && strcmp(end->value, "reset") == 0) return WIRE_RESET;
    return WIRE_KEEP;
}

/* One wisp_chat over tr, with the buffers, request and tool slots fx names
 * (the transport serves the reply); cancels at event cancel_at (0 never).
 * The caller fills o->connects from its transport. */
static void run_fixture(const fixture *fx, wisp_transport *tr, bool stream, int cancel_at,
                        outcome *o)
{
    wisp_client client;
    wisp_config cfg;
    wisp_request req;
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    size_t work_size = (size_t)num(fx, "work", 4096);
    size_t ntok = (size_t)num(fx, "tokens", 128);
    size_t content_cap = (size_t)num(fx, "content_cap", 65536);
    uint8_t *work = malloc(work_size);
    wisp_token *tokens = malloc(ntok * sizeof *tokens);

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.api_key = "test-key-not-real";
    cfg.transport = tr;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(wisp_client_init(&client, &cfg, work, work_size, tokens, ntok), WISP_OK);

    memset(&req, 0, sizeof req);
    req.model = "gemini-2.5-flash";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = stream;

    memset(o, 0, sizeof *o);
    o->cancel_at = cancel_at;
    o->content = calloc(1, content_cap + 1);
    o->reasoning = calloc(1, 65536);
    o->events = calloc(1, TEXT_MAX);
    o->log = calloc(1, TEXT_MAX);
    wisp_response_init(&o->resp, o->content, content_cap, o->reasoning, 65536);
    {
        size_t slots = (size_t)num(fx, "tool_slots", 4), i;
        size_t args_cap = (size_t)num(fx, "args_cap", 256), sig_cap = (size_t)num(fx, "sig_cap", 256);
        o->calls = calloc(slots ? slots : 1, sizeof *o->calls);
        o->args = calloc(slots ? slots : 1, args_cap + 1);
        o->sigs = calloc(slots ? slots : 1, sig_cap + 1);
        for (i = 0; i < slots; i++) {
            o->calls[i].arguments.buf = o->args + i * (args_cap + 1);
            o->calls[i].arguments.cap = args_cap;
            o->calls[i].signature.buf = o->sigs + i * (sig_cap + 1);
            o->calls[i].signature.cap = sig_cap;
        }
        o->resp.tool_calls = o->calls;
        o->resp.tool_call_cap = slots;
    }
    o->status = wisp_chat(&client, &req, &o->resp, collect, o);
    wisp_client_close(&client);
    free(work);
    free(tokens);
}


static void outcome_free(outcome *o)
{
    free(o->content);
    free(o->reasoning);
    free(o->events);
    free(o->log);
    free(o->calls);
    free(o->args);
    free(o->sigs);
}

static void check_text(const fixture *fx, const char *key, const char *got, const char *how)
{
    const expect *e = find(fx, key);
    if (e == NULL) {
        return;
    }
    if (strlen(got) != e->value_len || memcmp(got, e->value, e->value_len) != 0) {
        print_error("%s (%s): %s differs\n  want [%s]\n  got  [%s]\n", fx->name, how, key,
                    e->value, got);
        fail();
    }
}

static void check_outcome(const fixture *fx, const outcome *o, const char *how)
{
    const expect *e;
    e = find(fx, "status");
    if (e != NULL && strcmp(wisp_strerror(o->status), "") != 0) {
        static const char *const names[] = {
#define X_NAME(name, text) #name,
            WISP_STATUS_LIST(X_NAME)
#undef X_NAME
        };
        if (strcmp(names[o->status], e->value) != 0) {
            print_error("%s (%s): status %s, want %s (%s; http %d; error '%s')\n", fx->name, how,
                        names[o->status], e->value, o->resp.error_message,
                        o->resp.http_status, o->resp.error_message);
            fail();
        }
    }
    if (find(fx, "http") != NULL) {
        assert_int_equal(o->resp.http_status, num(fx, "http", 0));
    }
    check_text(fx, "content", o->resp.content.buf, how);
    check_text(fx, "reasoning", o->resp.reasoning.buf, how);
    check_text(fx, "finish", o->resp.finish_reason, how);
    check_text(fx, "id", o->resp.id, how);
    check_text(fx, "model", o->resp.model, how);
    check_text(fx, "role", o->resp.role, how);
    check_text(fx, "request_id", o->resp.request_id, how);
    check_text(fx, "error_message", o->resp.error_message, how);
    check_text(fx, "error_type", o->resp.error_type, how);
    check_text(fx, "error_code", o->resp.error_code, how);
    if (find(fx, "content_truncated") != NULL) {
        assert_int_equal(o->resp.content.truncated, num(fx, "content_truncated", 0));
    }
    if (find(fx, "content_null") != NULL) {
        assert_int_equal(o->resp.content_null, num(fx, "content_null", 0));
    }
    if (find(fx, "refused") != NULL) {
        assert_int_equal(o->resp.refused, num(fx, "refused", 0));
    }
    if (find(fx, "full_len") != NULL) {
        assert_int_equal(o->resp.content.full_len, num(fx, "full_len", 0));
    }
    e = find(fx, "usage");
    if (e != NULL) {
        unsigned p = 0, c = 0, t = 0;
        assert_int_equal(sscanf(e->value, "%u %u %u", &p, &c, &t), 3);
        assert_true(o->resp.usage.present);
        assert_int_equal(o->resp.usage.prompt_tokens, p);
        assert_int_equal(o->resp.usage.completion_tokens, c);
        assert_int_equal(o->resp.usage.total_tokens, t);
    }
    e = find(fx, "usage_details");
    if (e != NULL) {
        unsigned cached = 0, reasoning = 0;
        assert_int_equal(sscanf(e->value, "%u %u", &cached, &reasoning), 2);
        assert_int_equal(o->resp.usage.cached_tokens, cached);
        assert_int_equal(o->resp.usage.reasoning_tokens, reasoning);
    }
    if (find(fx, "tool_calls") != NULL) {
        assert_int_equal(o->resp.tool_call_count, num(fx, "tool_calls", 0));
    }
    if (find(fx, "tools_dropped") != NULL) {
        assert_int_equal(o->resp.tool_calls_dropped, num(fx, "tools_dropped", 0));
    }
    {
        size_t k;
        for (k = 0; k < o->resp.tool_call_count && k < 16; k++) {
            char key[32];
            const wisp_tool_call *c = &o->resp.tool_calls[k];
            snprintf(key, sizeof key, "tool%u_id", (unsigned)k);
            check_text(fx, key, c->id, how);
            snprintf(key, sizeof key, "tool%u_name", (unsigned)k);
            check_text(fx, key, c->name, how);
            snprintf(key, sizeof key, "tool%u_args", (unsigned)k);
            check_text(fx, key, c->arguments.buf, how);
            snprintf(key, sizeof key, "tool%u_sig", (unsigned)k);
            check_text(fx, key, c->signature.buf, how);
            snprintf(key, sizeof key, "tool%u_args_truncated", (unsigned)k);
            if (find(fx, key) != NULL) {
                assert_int_equal(c->arguments.truncated, num(fx, key, 0));
            }
        }
    }
    /* What the callback saw is what the buffer holds (when it fit). */
    if (num(fx, "stream", 0) != 0 && !o->resp.content.truncated && !o->events_overflow) {
        assert_int_equal(o->events_len, o->resp.content.len);
        assert_memory_equal(o->events, o->resp.content.buf, o->events_len);
    }
    assert_true(o->connects <= 1);
}

static void same_outcome(const fixture *fx, const outcome *a, const outcome *b, const char *how)
{
    if (a->status != b->status || a->resp.content.len != b->resp.content.len ||
        memcmp(a->resp.content.buf, b->resp.content.buf, a->resp.content.len) != 0 ||
        strcmp(a->resp.error_message, b->resp.error_message) != 0 ||
        strcmp(a->resp.finish_reason, b->resp.finish_reason) != 0 ||
        a->resp.usage.total_tokens != b->resp.usage.total_tokens ||
        a->resp.http_status != b->resp.http_status) {
        print_error("%s: %s differs from the whole replay (status %s vs %s)\n", fx->name, how,
                    wisp_strerror(b->status), wisp_strerror(a->status));
        fail();
    }
}

static int load_fixtures(void)
{
    DIR *d = opendir(fixture_dir);
    struct dirent *de;
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", fixture_dir);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char path[512];
        fixture *fx;
        char *exp;
        size_t exp_len;
        if (n < 6 || strcmp(de->d_name + n - 5, ".http") != 0) {
            continue;
        }
        if (fixture_count == MAX_FIXTURES) {
            fprintf(stderr, "more than %d fixtures in %s: raise MAX_FIXTURES\n", MAX_FIXTURES,
                    fixture_dir);
            closedir(d);
            return -1;
        }
        fx = &fixtures[fixture_count];
        snprintf(fx->name, sizeof fx->name, "%.*s", (int)(n - 5), de->d_name);
        snprintf(path, sizeof path, "%s/%s", fixture_dir, de->d_name);
        fx->http = read_file(path, &fx->http_len);
        snprintf(path, sizeof path, "%s/%s.expect", fixture_dir, fx->name);
        exp = (char *)read_file(path, &exp_len);
        if (fx->http == NULL || exp == NULL) {
            fprintf(stderr, "fixture %s: missing .http or .expect\n", fx->name);
            free(fx->http);
            free(exp);
            closedir(d);
            return -1;
        }
        fx->expect_text = exp;
        parse_expect(fx, exp);
        fixture_count++;
    }
    closedir(d);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

/* One replay of fx cut `split` way (seed: for WIRE_RANDOM). */
typedef void (*wire_replay_fn)(const fixture *fx, wire_split split, uint32_t seed, outcome *o);

/* fx whole, byte by byte and in `seeds` random splits: each as its .expect
 * says and all alike.  *whole keeps the whole replay's outcome. */
static void replay_every_way(const fixture *fx, wire_replay_fn replay, uint32_t seeds,
                             const char *where, outcome *whole)
{
    outcome other;
    uint32_t seed;
    char how[64];

    replay(fx, WIRE_WHOLE, 0, whole);
    snprintf(how, sizeof how, "%swhole", where);
    check_outcome(fx, whole, how);
    for (seed = 0; seed <= seeds; seed++) {
        if (seed == 0)
            snprintf(how, sizeof how, "%sbyte by byte", where);
        else
            snprintf(how, sizeof how, "%srandom split %u", where, (unsigned)seed);
        replay(fx, seed == 0 ? WIRE_BYTES : WIRE_RANDOM, seed, &other);
        check_outcome(fx, &other, how);
        same_outcome(fx, whole, &other, how);
        outcome_free(&other);
    }
}

/* Runs `test` on every fixture in fixture_dir, in name order, as one
 * cmocka group; its result, 1 when no fixture could be loaded. */
static int run_fixture_group(const char *group, CMUnitTestFunction test)
{
    struct CMUnitTest *tests;
    int i, rc;

    fixtures = calloc(MAX_FIXTURES, sizeof *fixtures);
    if (fixtures == NULL || load_fixtures() != 0 || fixture_count == 0) {
        free(fixtures);
        return 1;
    }
    qsort(fixtures, (size_t)fixture_count, sizeof fixtures[0], by_name);
    tests = calloc((size_t)fixture_count, sizeof *tests);
    if (tests == NULL)
        return 1;
    for (i = 0; i < fixture_count; i++) {
        tests[i].name = fixtures[i].name;
        tests[i].test_func = test;
        tests[i].initial_state = &fixtures[i];
    }
    rc = _cmocka_run_group_tests(group, tests, (size_t)fixture_count, NULL, NULL);
    free(tests);
    for (i = 0; i < fixture_count; i++) {
        free(fixtures[i].http);
        free(fixtures[i].expect_text);
    }
    free(fixtures);
    return rc;
}

#endif /* WIRE_FIXTURES_H */

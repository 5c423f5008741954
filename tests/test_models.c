/*
 * test_models.c - model lists: the splitter over the "data" array's
 * elements and the id reader (every body whole, byte by byte, at every
 * two-piece split and in pseudo-random pieces, each piece in its own heap
 * block of exactly its size), then wisp_list_models over a scripted
 * transport: the request head, the framings, a 1 MB list through a 2 KB
 * work buffer, errors, cancel, retries and keep-alive.
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

#include "fake_transport.h"
#include "wisp.h"
#include "wisp_models.h"

/* ---- the splitter, driven directly ------------------------------------------ */

/* What a run saw: the ids, one a line ("<skipped>" for an element that
 * did not fit, "+" after a cut id). */
typedef struct seen {
    char ids[64 * 1024];
    size_t len;
    size_t models;
    size_t cut;
    bool sum_only; /* a long list: only the checksum */
    uint32_t sum;  /* of every id and its newline */
} seen;

static uint32_t checksum(uint32_t sum, const char *s)
{
    for (; *s != '\0'; s++) {
        sum = sum * 31u + (uint8_t)*s;
    }
    return sum * 31u + '\n';
}

static void seen_put(seen *s, const char *id, bool cut)
{
    size_t n = strlen(id);
    s->sum = checksum(s->sum, id);
    s->models++;
    if (s->sum_only) {
        return;
    }
    assert_true(s->len + n + 3 < sizeof s->ids);
    memcpy(s->ids + s->len, id, n);
    s->len += n;
    if (cut) {
        s->ids[s->len++] = '+';
        s->cut++;
    }
    s->ids[s->len++] = '\n';
    s->ids[s->len] = '\0';
}

typedef struct plan {
    size_t elem_cap; /* element buffer */
    size_t ntoks;
    size_t id_cap;
} plan;

static const plan k_roomy = {1024, 64, WISP_MODEL_CAP};

static uint32_t g_seed;

static uint32_t next_rand(void)
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 16) & 0x7FFFu;
}

/* One element to s; the splitter's events as the client handles them. */
static wisp_status take(seen *s, const plan *p, const wisp_models_out *out, wisp_token *toks)
{
    char id[256];
    bool cut = false;
    wisp_status st;
    if (out->event == WISP_MODELS_SKIPPED) {
        seen_put(s, "<skipped>", false);
        return WISP_OK;
    }
    st = wisp_models_id(out->data, out->len, toks, p->ntoks, id, p->id_cap, &cut);
    if (st == WISP_ERR_TOO_COMPLEX) {
        seen_put(s, "<skipped>", false);
        return WISP_OK;
    }
    if (st == WISP_OK) {
        assert_true(strlen(id) < p->id_cap);
        seen_put(s, id, cut);
    }
    return st;
}

/* Feeds body in pieces ending at cuts[0..ncuts) and then at its end. */
static wisp_status split_run(const char *body, size_t len, const size_t *cuts, size_t ncuts,
                             const plan *p, seen *s, wisp_models_split *sp)
{
    char *buf = malloc(p->elem_cap ? p->elem_cap : 1);
    wisp_token *toks = calloc(p->ntoks ? p->ntoks : 1, sizeof *toks);
    size_t from = 0, i;
    wisp_status st = WISP_OK;
    memset(s, 0, sizeof *s);
    wisp_models_init(sp, buf, p->elem_cap);
    for (i = 0; i <= ncuts && st == WISP_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        size_t n = to - from, off = 0;
        uint8_t *piece = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
        memcpy(piece, body + from, n);
        while (st == WISP_OK) {
            size_t used = 0;
            wisp_models_out out;
            st = wisp_models_feed(sp, piece + off, n - off, &used, &out);
            assert_true(used <= n - off);
            off += used;
            if (st != WISP_OK || out.event == WISP_MODELS_NEED_MORE) {
                break;
            }
            st = take(s, p, &out, toks);
        }
        if (st == WISP_OK) {
            assert_int_equal(off, n);
        }
        free(piece);
        from = to;
    }
    if (st == WISP_OK) {
        st = wisp_models_finish(sp);
    }
    free(buf);
    free(toks);
    return st;
}

/* The same body whole, byte by byte, at every two-piece split (short
 * bodies) and in random pieces: the same status and the same ids, which
 * are returned in want (may be NULL). */
static wisp_status split_all(const char *body, const plan *p, seen *want)
{
    static seen first, again;
    wisp_models_split sp;
    size_t len = strlen(body), i, k;
    size_t *cuts = calloc(len + 1, sizeof *cuts);
    wisp_status st = split_run(body, len, NULL, 0, p, &first, &sp), st2;

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }
    st2 = split_run(body, len, cuts, len ? len - 1 : 0, p, &again, &sp);
    assert_int_equal(st2, st);
    assert_string_equal(again.ids, first.ids);
    for (i = 1; len <= 600 && i < len; i++) {
        st2 = split_run(body, len, &i, 1, p, &again, &sp);
        assert_int_equal(st2, st);
        assert_string_equal(again.ids, first.ids);
    }
    for (k = 0; k < 20; k++) {
        size_t n = 0, at = 0;
        g_seed = (uint32_t)k * 7919u + 1u;
        while (len > 0) {
            at += 1 + next_rand() % 40u;
            if (at >= len) {
                break;
            }
            cuts[n++] = at;
        }
        st2 = split_run(body, len, cuts, n, p, &again, &sp);
        assert_int_equal(st2, st);
        assert_string_equal(again.ids, first.ids);
    }
    free(cuts);
    if (want != NULL) {
        *want = first;
    }
    return st;
}

static seen g_seen;

static void expect_ids(const char *body, const char *ids)
{
    assert_int_equal(split_all(body, &k_roomy, &g_seen), WISP_OK);
    assert_string_equal(g_seen.ids, ids);
}

static void test_openai_shape(void **state)
{
    (void)state;
    expect_ids("{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\","
               "\"created\":1715367049,\"owned_by\":\"system\"},{\"id\":\"gpt-4o-mini\","
               "\"object\":\"model\",\"created\":1721172741,\"owned_by\":\"system\"},"
               "{\"id\":\"o3\",\"object\":\"model\",\"created\":-1.5e+3,\"owned_by\":\"x\"}]}",
               "gpt-4o\ngpt-4o-mini\no3\n");
    /* white space everywhere it may stand, CRLF too */
    expect_ids(" \r\n{ \"object\" : \"list\" ,\t\"data\" :\n[ { \"id\" : \"a\" } ,\r\n"
               "{\"object\":\"model\", \"id\":\"b\"}\n] }\n\n",
               "a\nb\n");
}

/* one-api gateways put "success" first; others add members after data. */
static void test_one_api_and_members_after(void **state)
{
    (void)state;
    expect_ids("{\"success\":true,\"data\":[{\"id\":\"gemini-2.5-flash\",\"object\":\"model\","
               "\"created\":1626777600,\"owned_by\":\"vertex-ai\",\"permission\":[{\"id\":"
               "\"modelperm-LwHkVFn8AcMItP432fKKDIKJ\",\"object\":\"model_permission\","
               "\"allow_sampling\":true,\"group\":null}],\"root\":\"gemini-2.5-flash\","
               "\"parent\":null}],\"message\":\"\"}",
               "gemini-2.5-flash\n");
    /* Members of every type and depth around data, with brackets, quotes
     * and escapes inside their strings. */
    expect_ids("{\"a\":{\"data\":[{\"id\":\"nested-not-the-list\"}],\"x\":[[1,2],{\"y\":null}]},"
               "\"s\":\"] } \\\" [ { \\\\\",\"n\":-0.0e-0,\"t\":true,\"f\":false,\"z\":null,"
               "\"data\":[{\"id\":\"m1\"}],"
               "\"after\":[{\"id\":\"not-a-model\"},\"data\",{\"data\":[]}],\"has_more\":false,"
               "\"first_id\":\"m1\",\"data2\":{\"id\":\"q\"}}",
               "m1\n");
    /* llama.cpp's server sends an Ollama-style "models" list before it */
    expect_ids("{\"models\":[{\"name\":\"qwen.gguf\",\"model\":\"qwen.gguf\",\"details\":"
               "{\"format\":\"gguf\",\"families\":[\"\"]},\"capabilities\":[\"completion\"]}],"
               "\"object\":\"list\",\"data\":[{\"id\":\"qwen.gguf\",\"object\":\"model\","
               "\"created\":1750000000,\"owned_by\":\"llamacpp\",\"meta\":{\"vocab_type\":2,"
               "\"n_vocab\":151936,\"n_ctx_train\":32768,\"size\":1.5e9}}]}",
               "qwen.gguf\n");
}

/* Gemini's OpenAI-compatible endpoint names models "models/...". */
static void test_gemini_shape(void **state)
{
    (void)state;
    expect_ids("{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"id\": "
               "\"models/gemini-2.5-flash\",\n      \"object\": \"model\",\n      "
               "\"owned_by\": \"google\"\n    },\n    {\n      \"id\": "
               "\"models/gemini-2.5-pro\",\n      \"object\": \"model\",\n      "
               "\"owned_by\": \"google\"\n    }\n  ]\n}\n",
               "models/gemini-2.5-flash\nmodels/gemini-2.5-pro\n");
}

static void test_empty_lists(void **state)
{
    (void)state;
    expect_ids("{\"object\":\"list\",\"data\":[]}", "");
    expect_ids("{\"data\":[ ]}", "");
    /* Ollama with no model pulled: Go writes a nil slice as null */
    expect_ids("{\"object\":\"list\",\"data\":null}", "");
}

/* A key is read unescaped: any spelling of "data" is the list, the first
 * one wins, and near misses are other members. */
static void test_data_key_spellings(void **state)
{
    (void)state;
    expect_ids("{\"d\\u0061ta\":[{\"id\":\"x\"}]}", "x\n");
    expect_ids("{\"\\u0064\\u0061\\u0074\\u0061\":[{\"id\":\"y\"}]}", "y\n");
    expect_ids("{\"\\u0064\\u0041\\u0074\\u0061\":[{\"id\":\"no\"}],\"data\":[{\"id\":\"z\"}]}",
               "z\n");
    expect_ids("{\"dat\":[{\"id\":\"no\"}],\"datas\":[],\"Data\":[1],\"data \":2,"
               "\"da\\/ta\":[],\"\\u0064\\u0061\\u0074\\u0061\\u0073\":[],"
               "\"data\":[{\"id\":\"w\"}]}",
               "w\n");
    expect_ids("{\"data\":[{\"id\":\"first\"}],\"data\":[{\"id\":\"second\"}]}", "first\n");
    expect_ids("{\"data\":null,\"data\":[{\"id\":\"second\"}]}", "");
    /* a long key (longer than any spelling of data) */
    expect_ids("{\"data_data_data_data_data_data_data\":[1,{}],\"data\":[{\"id\":\"v\"}]}", "v\n");
}

/* Ids come unescaped, cut at a character boundary with the cut flag. */
static void test_escaped_and_cut_ids(void **state)
{
    plan small = k_roomy;
    (void)state;
    expect_ids("{\"data\":[{\"id\":\"caf\\u00e9\"},{\"id\":\"caf\xc3\xa9\"},"
               "{\"id\":\"smile-\\ud83d\\ude00\"},{\"id\":\"a\\/b\\\\c\\\"d\\te\"},"
               "{\"id\":\"lone-\\ud83d\"},{\"id\":\"nul-\\u0000\"},{\"id\":\"bad-\xff\"},"
               "{\"id\":\"\"},{\"\\u0069d\":\"escaped-key\"}]}",
               "caf\xc3\xa9\ncaf\xc3\xa9\nsmile-\xf0\x9f\x98\x80\na/b\\c\"d\te\n"
               "lone-\xef\xbf\xbd\nnul-\xef\xbf\xbd\nbad-\xef\xbf\xbd\n\nescaped-key\n");
    small.id_cap = 8; /* ids of 7 bytes at most */
    assert_int_equal(split_all("{\"data\":[{\"id\":\"abcdefg\"},{\"id\":\"abcdefgh\"},"
                               "{\"id\":\"abcde\\u00e9\"},{\"id\":\"abcdef\\u00e9\"},"
                               "{\"id\":\"abc\\ud83d\\ude00x\"}]}",
                               &small, &g_seen),
                     WISP_OK);
    assert_string_equal(g_seen.ids, "abcdefg\nabcdefg+\nabcde\xc3\xa9\nabcdef+\nabc\xf0\x9f\x98\x80+\n");
    assert_int_equal(g_seen.cut, 3);
}

/* An element larger than the buffer goes by whole, counted; the ones
 * after it are read as usual.  So does one with more tokens than the
 * token array. */
static void test_element_larger_than_buffer(void **state)
{
    static char body[8192];
    plan p = k_roomy;
    char big[3000];
    wisp_models_split sp;
    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"data\":[{\"id\":\"before\"},{\"id\":\"huge\",\"description\":\"%s\","
             "\"nested\":[{\"a\":\"]}\"}]},{\"id\":\"after\"},\"%s\",{\"id\":\"last\"}]}",
             big, big);
    p.elem_cap = 100;
    assert_int_equal(split_all(body, &p, &g_seen), WISP_OK);
    assert_string_equal(g_seen.ids, "before\n<skipped>\nafter\n<skipped>\nlast\n");
    /* the splitter's own counts */
    assert_int_equal(split_run(body, strlen(body), NULL, 0, &p, &g_seen, &sp), WISP_OK);
    assert_int_equal(sp.elements, 3);
    assert_int_equal(sp.skipped, 2);
    /* exactly the buffer's size fits; one byte more does not */
    p.elem_cap = strlen("{\"id\":\"before\"}");
    assert_int_equal(split_all("{\"data\":[{\"id\":\"before\"},{\"id\":\"before1\"}]}", &p, &g_seen),
                     WISP_OK);
    assert_string_equal(g_seen.ids, "before\n<skipped>\n");
    /* no buffer at all: every element is skipped, none is fatal */
    p.elem_cap = 0;
    assert_int_equal(split_all("{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", &p, &g_seen), WISP_OK);
    assert_string_equal(g_seen.ids, "<skipped>\n<skipped>\n");
    /* too many tokens for the array: the same */
    p = k_roomy;
    p.ntoks = 8;
    assert_int_equal(split_all("{\"data\":[{\"id\":\"small\",\"a\":1},{\"id\":\"many\",\"a\":[1,2,3,4]},"
                               "{\"id\":\"ok\"}]}",
                               &p, &g_seen),
                     WISP_OK);
    assert_string_equal(g_seen.ids, "small\n<skipped>\nok\n");
}

/* Malformed bodies: WISP_ERR_JSON, however split, with the ids before the
 * fault delivered the same way every time. */
static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "[]",
        "[{\"id\":\"a\"}]",
        "\"data\"",
        "42",
        "null",
        "{}",                                  /* no data */
        "{\"object\":\"list\"}",               /* no data */
        "{\"data\":{}}",                       /* not an array */
        "{\"data\":{\"id\":\"a\"}}",
        "{\"data\":\"gpt-4o\"}",
        "{\"data\":1}",
        "{\"data\":true}",
        "{\"data\":nul}",
        "{\"data\":[{\"id\":\"a\"}",           /* truncated */
        "{\"data\":[{\"id\":\"a\"}]",
        "{\"data\":[{\"id\":\"a",
        "{\"data\":[{\"id\":\"a\"}],",
        "{\"data\":[{\"id\":\"a\"},]}",        /* trailing comma */
        "{\"data\":[,{\"id\":\"a\"}]}",
        "{\"data\":[{\"id\":\"a\"}],}",
        "{,\"data\":[]}",
        "{\"data\" []}",
        "{\"data\"::[]}",
        "{\"data\":[] \"x\":1}",
        "{\"data\":[{\"id\":\"a\"}}]}",        /* mismatched brackets */
        "{\"data\":[{\"id\":\"a\"]]}",
        "{\"x\":[1},\"data\":[]}",
        "{\"x\":{1:2},\"data\":[]}",           /* a key that is not a string */
        "{data:[]}",
        "{'data':[]}",
        "{\"data\":[]}}",                      /* something after the object */
        "{\"data\":[]} {}",
        "{\"data\":[]}x",
        "{\"data\":[{\"id\":\"a\\x\"}]}",      /* bad escape */
        "{\"data\":[{\"id\":\"a\\u12G4\"}]}",
        "{\"x\":\"\\u12\",\"data\":[]}",
        "{\"data\":[{\"id\":\"a\tb\"}]}",      /* raw control byte */
        "{\"x\":\"\n\",\"data\":[]}",
        "{\"x\":01,\"data\":[]}",              /* numbers */
        "{\"x\":1.,\"data\":[]}",
        "{\"x\":.5,\"data\":[]}",
        "{\"x\":1e,\"data\":[]}",
        "{\"x\":-,\"data\":[]}",
        "{\"x\":+1,\"data\":[]}",
        "{\"x\":1x,\"data\":[]}",
        "{\"x\":0x10,\"data\":[]}",
        "{\"x\":tru,\"data\":[]}",             /* literals */
        "{\"x\":truee,\"data\":[]}",
        "{\"x\":True,\"data\":[]}",
        "{\"x\":nan,\"data\":[]}",
        "{\"data\":[1]}",                      /* elements that are not models */
        "{\"data\":[\"gpt-4o\"]}",
        "{\"data\":[null]}",
        "{\"data\":[[\"id\",\"a\"]]}",
        "{\"data\":[{\"name\":\"a\"}]}",
        "{\"data\":[{\"id\":null}]}",
        "{\"data\":[{\"id\":7}]}",
        "{\"data\":[{\"id\":[\"a\"]}]}",
        "{\"data\":[{\"id\":\"a\"},{\"object\":\"model\"}]}",
        "\xef\xbb\xbf{\"data\":[]}",           /* a byte-order mark is not JSON */
        "data: {\"data\":[]}\n\n",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wisp_status st = split_all(bad[i], &k_roomy, NULL);
        if (st != WISP_ERR_JSON) {
            print_error("body %u %s: %s\n", (unsigned)i, bad[i], wisp_strerror(st));
            fail();
        }
    }
    /* the models before the fault were handed over */
    assert_int_equal(split_all("{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":3}]}", &k_roomy,
                               &g_seen),
                     WISP_ERR_JSON);
    assert_string_equal(g_seen.ids, "a\nb\n");
}

/* Nesting is bounded without recursion: the limit holds, one more is
 * malformed. */
static void test_depth_bound(void **state)
{
    char body[8 * WISP_MODELS_MAX_DEPTH + 64];
    size_t n = 0;
    int d;
    wisp_models_split sp;
    (void)state;
    /* the root counts 1, "x"'s arrays the rest */
    n += (size_t)sprintf(body + n, "{\"x\":");
    for (d = 1; d < WISP_MODELS_MAX_DEPTH; d++) {
        body[n++] = '[';
    }
    for (d = 1; d < WISP_MODELS_MAX_DEPTH; d++) {
        body[n++] = ']';
    }
    n += (size_t)sprintf(body + n, ",\"data\":[]}");
    assert_int_equal(split_all(body, &k_roomy, NULL), WISP_OK);
    n = 0;
    n += (size_t)sprintf(body + n, "{\"x\":");
    for (d = 0; d < WISP_MODELS_MAX_DEPTH; d++) {
        body[n++] = '[';
    }
    for (d = 0; d < WISP_MODELS_MAX_DEPTH; d++) {
        body[n++] = ']';
    }
    n += (size_t)sprintf(body + n, ",\"data\":[]}");
    assert_int_equal(split_all(body, &k_roomy, NULL), WISP_ERR_JSON);
    /* inside an element too: objects and arrays mixed */
    n = 0;
    n += (size_t)sprintf(body + n, "{\"data\":[");
    for (d = 2; d < WISP_MODELS_MAX_DEPTH; d++) {
        n += (size_t)sprintf(body + n, d % 2 ? "[" : "{\"k\":");
    }
    assert_int_equal(split_run(body, n, NULL, 0, &k_roomy, &g_seen, &sp), WISP_ERR_JSON);
    n += (size_t)sprintf(body + n, "{");
    assert_int_equal(split_run(body, n, NULL, 0, &k_roomy, &g_seen, &sp), WISP_ERR_JSON);
    assert_int_equal(sp.error, WISP_ERR_JSON);
    /* sticky: more input does not revive it */
    {
        size_t used = 99;
        wisp_models_out out;
        assert_int_equal(wisp_models_feed(&sp, (const uint8_t *)"}", 1, &used, &out),
                         WISP_ERR_JSON);
        assert_int_equal(used, 0);
        assert_int_equal(wisp_models_finish(&sp), WISP_ERR_JSON);
    }
}

static void test_splitter_arguments(void **state)
{
    wisp_models_split sp;
    wisp_models_out out;
    size_t used = 7;
    char id[8];
    wisp_token toks[8];
    bool cut = false;
    (void)state;
    wisp_models_init(NULL, NULL, 0);
    wisp_models_init(&sp, NULL, 100); /* no buffer: cap 0 */
    assert_int_equal(sp.cap, 0);
    assert_int_equal(wisp_models_feed(NULL, (const uint8_t *)"{", 1, &used, &out), WISP_ERR_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(wisp_models_feed(&sp, NULL, 1, &used, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_models_feed(&sp, (const uint8_t *)"{", 1, NULL, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_models_feed(&sp, (const uint8_t *)"{", 1, &used, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_models_feed(&sp, NULL, 0, &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_MODELS_NEED_MORE);
    assert_int_equal(wisp_models_finish(NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_models_finish(&sp), WISP_ERR_JSON); /* nothing yet */
    assert_int_equal(wisp_models_id("{\"id\":\"a\"}", 10, toks, 8, NULL, 8, &cut), WISP_ERR_ARG);
    assert_int_equal(wisp_models_id("{\"id\":\"a\"}", 10, toks, 8, id, 0, &cut), WISP_ERR_ARG);
    assert_int_equal(wisp_models_id(NULL, 10, toks, 8, id, sizeof id, &cut), WISP_ERR_ARG);
    assert_int_equal(wisp_models_id("{\"id\":\"a\"}", 10, toks, 8, id, sizeof id, NULL), WISP_OK);
    assert_string_equal(id, "a");
}

/* ---- wisp_list_models over a scripted transport -------------------------------- */

typedef struct env {
    fake_transport fake;
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    uint8_t work[8192];
    wisp_token tokens[64];
    wisp_response resp;
    seen got;
    size_t cancel_after; /* stop at this model (0: never) */
    bool sum_only;
    uint32_t clock_ms;
    int sleeps;
} env;

static uint32_t fake_now(void *ctx)
{
    return ((env *)ctx)->clock_ms;
}

static void fake_sleep(void *ctx, uint32_t ms)
{
    env *e = (env *)ctx;
    e->sleeps++;
    e->clock_ms += ms;
}

static int on_model(void *user, const char *id, bool cut)
{
    env *e = (env *)user;
    assert_non_null(id);
    seen_put(&e->got, id[0] == '\0' && cut ? "<skipped>" : id, id[0] != '\0' && cut);
    return e->cancel_after > 0 && e->got.models >= e->cancel_after;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    fake_init(&e->fake, &e->tr);
    e->cfg.base_url = "http://127.0.0.1:8080/v1";
    e->cfg.api_key = "test-key-not-real";
    e->cfg.transport = &e->tr;
    e->cfg.now_ms = fake_now;
    e->cfg.sleep_ms = fake_sleep;
    e->cfg.platform_ctx = e;
    wisp_response_init(&e->resp, NULL, 0, NULL, 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static wisp_status init_client(env *e, size_t work_size, size_t ntoks)
{
    return wisp_client_init(&e->client, &e->cfg, e->work, work_size, e->tokens, ntoks);
}

static wisp_status list(env *e, size_t *count)
{
    memset(&e->got, 0, sizeof e->got);
    e->got.sum_only = e->sum_only;
    return wisp_list_models(&e->client, &e->resp, on_model, e, count);
}

static const char k_openai[] =
    "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1715367049,"
    "\"owned_by\":\"system\"},{\"id\":\"gpt-4o-mini\",\"object\":\"model\",\"created\":1721172741,"
    "\"owned_by\":\"system\"},{\"id\":\"text-embedding-3-small\",\"object\":\"model\","
    "\"created\":1705948997,\"owned_by\":\"system\"}]}";
static const char k_openai_ids[] = "gpt-4o\ngpt-4o-mini\ntext-embedding-3-small\n";

/* A 200 with body: Content-Length, chunked (in pieces of chunk bytes) or
 * until close; content type as given (NULL: none). */
static char *http_reply(const char *body, const char *framing, const char *type, size_t chunk)
{
    size_t len = strlen(body), cap = len * 2 + 512, n = 0, at;
    char *out = malloc(cap);
    n += (size_t)sprintf(out + n, "HTTP/1.1 200 OK\r\nx-request-id: req-models-1\r\n");
    if (type != NULL) {
        n += (size_t)sprintf(out + n, "Content-Type: %s\r\n", type);
    }
    if (strcmp(framing, "length") == 0) {
        n += (size_t)sprintf(out + n, "Content-Length: %u\r\n\r\n%s", (unsigned)len, body);
    } else if (strcmp(framing, "close") == 0) {
        n += (size_t)sprintf(out + n, "Connection: close\r\n\r\n%s", body);
    } else {
        n += (size_t)sprintf(out + n, "Transfer-Encoding: chunked\r\n\r\n");
        for (at = 0; at < len; at += chunk) {
            size_t k = len - at < chunk ? len - at : chunk;
            n += (size_t)sprintf(out + n, "%x\r\n", (unsigned)k);
            memcpy(out + n, body + at, k);
            n += k;
            n += (size_t)sprintf(out + n, "\r\n");
        }
        n += (size_t)sprintf(out + n, "0\r\n\r\n");
    }
    assert_true(n < cap);
    return out;
}

/* The request head as sent (the whole of what was sent: a GET has no body). */
static void sent_text(env *e, char *out, size_t cap)
{
    assert_true(e->fake.sent_len < cap);
    memcpy(out, e->fake.sent, e->fake.sent_len);
    out[e->fake.sent_len] = '\0';
}

static void test_request_head_bytes(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    wisp_header extra[2] = {{"X-Route", "eu-1"}, {"HTTP-Referer", "https://example.org/app"}};
    char *reply = http_reply(k_openai, "length", "application/json", 0);
    char head[2048];
    size_t count = 0;
    e->cfg.headers = extra;
    e->cfg.header_count = 2;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(list(e, &count), WISP_OK);
    sent_text(e, head, sizeof head);
    assert_string_equal(head, "GET /v1/models HTTP/1.1\r\n"
                              "Host: 127.0.0.1:8080\r\n"
                              "User-Agent: wisp/" WISP_VERSION "\r\n"
                              "Accept: application/json\r\n"
                              "Accept-Encoding: identity\r\n"
                              "Authorization: Bearer test-key-not-real\r\n"
                              "Connection: keep-alive\r\n"
                              "X-Route: eu-1\r\n"
                              "HTTP-Referer: https://example.org/app\r\n\r\n");
    assert_int_equal(count, 3);
    assert_string_equal(e->got.ids, k_openai_ids);
    assert_int_equal(e->resp.http_status, 200);
    assert_string_equal(e->resp.request_id, "req-models-1");
    assert_int_equal(e->resp.attempts, 1);
    assert_false(e->resp.fields_truncated);
    free(reply);
}

static void test_request_head_no_key_ipv6(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    char *reply = http_reply(k_openai, "length", "application/json", 0);
    char head[2048];
    e->cfg.base_url = "https://[::1]/v1beta/openai/";
    e->cfg.api_key = NULL;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(list(e, NULL), WISP_OK); /* count may be NULL */
    sent_text(e, head, sizeof head);
    assert_string_equal(head, "GET /v1beta/openai/models HTTP/1.1\r\n"
                              "Host: [::1]\r\n"
                              "User-Agent: wisp/" WISP_VERSION "\r\n"
                              "Accept: application/json\r\n"
                              "Accept-Encoding: identity\r\n"
                              "Connection: keep-alive\r\n\r\n");
    free(reply);
}

/* The smallest work buffer a model list takes. */
#define SMALLEST_LIST_WORK                                                   \
    (WISP_WORK_MIN - WISP_RX_CHUNK >= WISP_MODEL_CAP + WISP_MODELS_MIN_ENTRY \
         ? WISP_WORK_MIN                                                     \
         : WISP_RX_CHUNK + WISP_MODEL_CAP + WISP_MODELS_MIN_ENTRY)

/* Every framing, every content type a server gives a list, every split. */
static void test_framings_and_splits(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    static const char *const framings[] = {"length", "chunked", "close"};
    static const char *const types[] = {"application/json", "application/json; charset=utf-8",
                                        NULL, "text/plain"};
    static const fake_split splits[] = {SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM};
    env *e = (env *)*state;
    size_t f, t, s, count;
    for (f = 0; f < 3; f++) {
        for (t = 0; t < 4; t++) {
            for (s = 0; s < 3; s++) {
                char *reply = http_reply(k_openai, framings[f], types[t], 7);
                fake_init(&e->fake, &e->tr);
                e->fake.split = splits[s];
                e->fake.seed = (uint32_t)(f * 16 + t * 4 + s);
                fake_add(&e->fake, reply, strlen(reply),
                         strcmp(framings[f], "close") == 0 ? END_CLOSE : END_KEEP);
                assert_int_equal(init_client(e, SMALLEST_LIST_WORK, 16), WISP_OK);
                assert_int_equal(list(e, &count), WISP_OK);
                assert_string_equal(e->got.ids, k_openai_ids);
                assert_int_equal(count, 3);
                assert_int_equal(e->client.connected, strcmp(framings[f], "close") != 0);
                wisp_client_close(&e->client);
                free(reply);
            }
        }
    }
}

/* About 1 MB and 5000 models through a 2 KB work buffer and 16 tokens:
 * memory does not grow with the list. */
static void test_1mb_list_in_2kb(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    size_t cap = 1200 * 1024, n = 0, i, count = 0;
    char *body = malloc(cap);
    char *reply;
    uint32_t want = 0;
    n += (size_t)sprintf(body + n, "{\"success\":true,\"object\":\"list\",\"data\":[");
    for (i = 0; i < 5000; i++) {
        char id[64];
        snprintf(id, sizeof id, "vendor-%u/model-%05u-instruct", (unsigned)(i % 97), (unsigned)i);
        want = checksum(want, id);
        n += (size_t)sprintf(body + n,
                             "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":%u,\"owned_by\":"
                             "\"vendor-%u\",\"description\":\"A model with a description of a "
                             "hundred bytes or so, \\\"quoted\\\", [bracketed] and {braced}.\","
                             "\"context_length\":131072}",
                             i ? "," : "", id, 1700000000u + (unsigned)i, (unsigned)(i % 97));
    }
    n += (size_t)sprintf(body + n, "]}");
    assert_true(n > 1000 * 1000 && n < cap);
    reply = http_reply(body, "chunked", "application/json", 8000);
    e->fake.split = SPLIT_RANDOM;
    e->fake.seed = 11;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(wisp_client_init(&e->client, &e->cfg, e->work, 2048, e->tokens, 16), WISP_OK);
    e->sum_only = true;
    assert_int_equal(list(e, &count), WISP_OK);
    assert_int_equal(count, 5000);
    assert_int_equal(e->got.models, 5000);
    assert_int_equal(e->got.sum, want);
    assert_int_equal(e->got.cut, 0);
    assert_true(e->client.connected); /* the chunked body ended: reusable */
    free(reply);
    free(body);
}

static void test_http_401_error_body(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    static const char body[] =
        "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\","
        "\"param\":null,\"code\":\"invalid_api_key\"}}";
    char r401[512];
    size_t count = 9;
    snprintf(r401, sizeof r401,
             "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
             "x-oneapi-request-id: 2026120217093312\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(body), body);
    fake_add(&e->fake, r401, strlen(r401), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(list(e, &count), WISP_ERR_HTTP_STATUS);
    assert_int_equal(count, 0);
    assert_int_equal(e->got.models, 0);
    assert_int_equal(e->resp.http_status, 401);
    assert_string_equal(e->resp.error_message, "Incorrect API key provided");
    assert_string_equal(e->resp.error_type, "invalid_request_error");
    assert_string_equal(e->resp.error_code, "invalid_api_key");
    assert_string_equal(e->resp.request_id, "2026120217093312");
    assert_int_equal(e->resp.attempts, 1); /* 401 is not retried */
    assert_true(e->client.connected);      /* the error body was read whole */
}

/* 503 is retried as for a chat; a list is never retried once a model was
 * handed over. */
static void test_retry_then_list(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n"
                               "Content-Type: text/plain\r\n\r\nbusy";
    char *reply = http_reply(k_openai, "length", "application/json", 0);
    size_t count = 0, cut;
    fake_add(&e->fake, r503, strlen(r503), END_KEEP);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(list(e, &count), WISP_OK);
    assert_int_equal(e->resp.attempts, 2);
    assert_int_equal(e->sleeps, 1);
    assert_int_equal(e->resp.error_message[0], '\0');
    assert_string_equal(e->got.ids, k_openai_ids);
    /* cut after the first model by a reset: reported, not retried */
    cut = (size_t)(strstr(reply, "gpt-4o-mini") - reply);
    fake_init(&e->fake, &e->tr);
    fake_add(&e->fake, reply, cut, END_RESET);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    wisp_client_close(&e->client);
    e->sleeps = 0;
    assert_int_equal(list(e, &count), WISP_ERR_CLOSED);
    assert_int_equal(count, 1);
    assert_string_equal(e->got.ids, "gpt-4o\n");
    assert_int_equal(e->resp.attempts, 1);
    assert_int_equal(e->sleeps, 0);
    free(reply);
}

static void test_cancel_from_callback(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    char *reply = http_reply(k_openai, "chunked", "application/json", 50);
    size_t count = 0;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    e->cancel_after = 2;
    assert_int_equal(list(e, &count), WISP_ERR_CANCELLED);
    assert_int_equal(count, 2);
    assert_string_equal(e->got.ids, "gpt-4o\ngpt-4o-mini\n");
    assert_false(e->client.connected); /* the rest of the list was still coming */
    assert_int_equal(e->resp.attempts, 1);
    /* the next call opens a new connection and reads the whole list */
    e->cancel_after = 0;
    assert_int_equal(list(e, &count), WISP_OK);
    assert_int_equal(count, 3);
    assert_int_equal(e->fake.connects, 2);
    free(reply);
}

/* A list and then a chat on the one kept-alive connection, and the other
 * way round. */
static void test_keep_alive_after_list(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    static const char chat_body[] =
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"pong\"},\"finish_reason\":\"stop\"}]}";
    char *models = http_reply(k_openai, "chunked", "application/json", 64);
    char *chat = http_reply(chat_body, "length", "application/json", 0);
    char content[64];
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "ping"};
    wisp_request req;
    size_t count = 0;
    memset(&req, 0, sizeof req);
    req.model = "gpt-4o";
    req.messages = &msg;
    req.message_count = 1;
    fake_add(&e->fake, models, strlen(models), END_KEEP);
    fake_add(&e->fake, chat, strlen(chat), END_KEEP);
    fake_add(&e->fake, models, strlen(models), END_KEEP);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(list(e, &count), WISP_OK);
    assert_true(e->client.connected);
    wisp_response_init(&e->resp, content, sizeof content, NULL, 0);
    assert_int_equal(wisp_chat(&e->client, &req, &e->resp, NULL, NULL), WISP_OK);
    assert_string_equal(content, "pong");
    assert_int_equal(list(e, &count), WISP_OK);
    assert_int_equal(count, 3);
    assert_string_equal(e->got.ids, k_openai_ids);
    assert_int_equal(e->fake.connects, 1);
    assert_int_equal(e->client.requests, 3);
    assert_true(strncmp((const char *)e->fake.sent, "GET /v1/models ", 15) == 0);
    free(models);
    free(chat);
}

/* Through the client: the element buffer is the work buffer but its
 * receive chunk and the id's room; an element past it, or past the token
 * array, comes as "" with cut, and the list goes on. */
static void test_client_skips_large_elements(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    static char body[4096];
    size_t room, count = 0;
    char fill[1024];
    const char *fits_fmt = "{\"id\":\"fits\",\"d\":\"%s\"}";
    char *reply;
    size_t pad;
    /* The smallest buffer has no room for entries beside a large id cap
     * (test_client_buffer_too_small_for_entries checks that refusal). */
    WISP_NEEDS(WISP_WORK_MIN - WISP_RX_CHUNK >= WISP_MODEL_CAP + WISP_MODELS_MIN_ENTRY);
    room = WISP_WORK_MIN - WISP_RX_CHUNK - WISP_MODEL_CAP;
    pad = room - (strlen(fits_fmt) - 2);
    memset(fill, 'x', pad);
    fill[pad] = '\0';
    snprintf(body, sizeof body,
             "{\"data\":[{\"id\":\"fits\",\"d\":\"%s\"},{\"id\":\"one-byte-more\",\"d\":\"%sx\"},"
             "{\"id\":\"many-tokens\",\"a\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]},"
             "{\"id\":\"%s\"},{\"id\":\"ok\"}]}",
             fill, fill + strlen("one-byte-more") - strlen("fits"),
             "a-very-long-model-id-that-goes-past-the-sixty-four-byte-field-of-the-response");
    assert_int_equal(snprintf(NULL, 0, fits_fmt, fill), (int)room);
    reply = http_reply(body, "length", "application/json", 0);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e, WISP_WORK_MIN, 16), WISP_OK);
    assert_int_equal(list(e, &count), WISP_OK);
    assert_int_equal(count, 5);
    assert_int_equal(e->got.cut, 1);
    assert_string_equal(e->got.ids,
                        "fits\n<skipped>\n<skipped>\n"
                        "a-very-long-model-id-that-goes-past-the-sixty-four-byte-field-o+\nok\n");
    assert_true(e->resp.fields_truncated);
    free(reply);
}

/* A 200 that is not a list: a portal's page keeps its words; malformed or
 * empty bodies are errors of their own. */
static void test_client_not_a_list(void **state)
{
    WISP_NEEDS(WISP_HTML);
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    static const char page[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 47\r\n"
                               "\r\n<html><body><h1>Log in first</h1></body></html>";
    static const char empty[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    static const char no_content[] = "HTTP/1.1 204 No Content\r\n\r\n";
    char *error200 = http_reply("{\"error\":{\"message\":\"no\"}}", "length", "application/json", 0);
    char *cut = http_reply("{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"", "close", "application/json", 0);
    char *sse = http_reply("data: {\"data\":[]}\n\n", "close", "text/event-stream", 0);
    size_t count = 0;
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    fake_add(&e->fake, page, strlen(page), END_KEEP);
    assert_int_equal(list(e, &count), WISP_ERR_HTTP);
    assert_string_equal(e->resp.error_message, "Log in first");
    fake_add(&e->fake, empty, strlen(empty), END_KEEP);
    assert_int_equal(list(e, &count), WISP_ERR_HTTP);
    fake_add(&e->fake, no_content, strlen(no_content), END_KEEP);
    assert_int_equal(list(e, &count), WISP_ERR_HTTP);
    fake_add(&e->fake, error200, strlen(error200), END_KEEP);
    assert_int_equal(list(e, &count), WISP_ERR_JSON);
    fake_add(&e->fake, cut, strlen(cut), END_CLOSE);
    assert_int_equal(list(e, &count), WISP_ERR_JSON);
    assert_int_equal(count, 1);
    assert_string_equal(e->got.ids, "a\n");
    fake_add(&e->fake, sse, strlen(sse), END_CLOSE);
    assert_int_equal(list(e, &count), WISP_ERR_JSON);
    free(error200);
    free(cut);
    free(sse);
}

static void test_client_arguments(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    env *e = (env *)*state;
    size_t count = 5;
    wisp_response bad;
    assert_int_equal(wisp_list_models(NULL, &e->resp, on_model, e, &count), WISP_ERR_ARG);
    assert_int_equal(count, 0);
    assert_int_equal(init_client(e, sizeof e->work, 64), WISP_OK);
    assert_int_equal(wisp_list_models(&e->client, NULL, on_model, e, &count), WISP_ERR_ARG);
    wisp_response_init(&bad, NULL, 0, NULL, 0);
    bad.content.cap = 10; /* a buffer with no storage */
    assert_int_equal(wisp_list_models(&e->client, &bad, on_model, e, &count), WISP_ERR_ARG);
    assert_int_equal(e->fake.connects, 0);
    /* no callback: the models are counted */
    {
        char *reply = http_reply(k_openai, "length", "application/json", 0);
        fake_add(&e->fake, reply, strlen(reply), END_KEEP);
        assert_int_equal(wisp_list_models(&e->client, &e->resp, NULL, NULL, &count), WISP_OK);
        assert_int_equal(count, 3);
        free(reply);
    }
}

/* A work buffer that leaves no room for an entry beside the id (a large
 * WISP_MODEL_CAP with the smallest buffer) is refused, never overrun:
 * make switches builds this with WISP_MODEL_CAP 1024 under ASan. */
static void test_client_buffer_too_small_for_entries(void **state)
{
    WISP_NEEDS(WISP_MODELS);
    static uint8_t work[WISP_WORK_MIN];
    static wisp_token toks[64];
    env *e = (env *)*state;
    wisp_client c;
    size_t count = 9;
    bool fits = WISP_WORK_MIN - WISP_RX_CHUNK >= WISP_MODEL_CAP + WISP_MODELS_MIN_ENTRY;
    char *reply = http_reply(k_openai, "length", "application/json", 0);
    e->cfg.base_url = "http://127.0.0.1:8080/v1";
    assert_int_equal(wisp_client_init(&c, &e->cfg, work, sizeof work, toks, 64), WISP_OK);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(wisp_list_models(&c, &e->resp, NULL, NULL, &count),
                     fits ? WISP_OK : WISP_ERR_ARG);
    assert_int_equal(count, fits ? 3 : 0);
    wisp_client_close(&c);
    free(reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_shape),
        cmocka_unit_test(test_one_api_and_members_after),
        cmocka_unit_test(test_gemini_shape),
        cmocka_unit_test(test_empty_lists),
        cmocka_unit_test(test_data_key_spellings),
        cmocka_unit_test(test_escaped_and_cut_ids),
        cmocka_unit_test(test_element_larger_than_buffer),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_splitter_arguments),
        cmocka_unit_test_setup_teardown(test_request_head_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_head_no_key_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framings_and_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_1mb_list_in_2kb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_401_error_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_after_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_skips_large_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_not_a_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_arguments, setup, teardown),
cmocka_unit_test_setup_teardown(test_client_buffer_too_small_for_entries, setup, teardown),
    };
    return cmocka_run_group_tests_name("models", tests, NULL, NULL);
}

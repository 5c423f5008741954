/*
 * wisp_models.c - the model list: a resumable splitter over the elements
 * of the top-level object's "data" array, and the reader of one element's
 * id.
 *
 * The splitter is a byte state machine with no recursion: the open
 * containers are a depth and one bit each (object or array), so a body
 * split at any byte resumes where it stopped, and a list of any length
 * goes through the one element buffer.
 */
#include "wisp_models.h"
#include "wisp_json.h"

#include <string.h>

typedef char wisp_models_depth_in_range[
    (WISP_MODELS_MAX_DEPTH >= 3 && WISP_MODELS_MAX_DEPTH <= 255) ? 1 : -1];

enum {
    ST_START,          /* before the top-level object */
    ST_KEY_OR_CLOSE,   /* after '{' */
    ST_KEY,            /* after ',' in an object */
    ST_COLON,          /* after a key */
    ST_VALUE_OR_CLOSE, /* after '[' */
    ST_VALUE,          /* after ':', or ',' in an array */
    ST_AFTER,          /* after a value: ',' or the container's close */
    ST_STRING,
    ST_LITERAL,
    ST_NUMBER,
    ST_END             /* the object closed: white space only */
};

/* What one byte did. */
enum {
    R_TAKE,  /* consumed */
    R_AGAIN, /* ended a number: the byte is read again in the new state */
    R_FAIL   /* malformed */
};

/* The parts of -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_EXP, N_EXP_SIGN, N_EXP_DIGITS };

static const char *const k_literals[] = {"true", "false", "null"};

void wisp_models_init(wisp_models_split *s, char *buf, size_t cap)
{
    if (s == NULL) {
        return;
    }
    memset(s, 0, sizeof *s); /* ST_START */
    s->buf = buf;
    s->cap = buf != NULL ? cap : 0;
}

/* ---- containers ------------------------------------------------------------ */

static bool level_is_object(const wisp_models_split *s)
{
    unsigned d = s->depth - 1u; /* depth >= 1 */
    return ((s->objects[d / 8u] >> (d % 8u)) & 1u) != 0;
}

static int open_container(wisp_models_split *s, bool object)
{
    unsigned d = s->depth;
    uint8_t bit = (uint8_t)(1u << (d % 8u));
    if (d >= WISP_MODELS_MAX_DEPTH) {
        return R_FAIL;
    }
    if (object) {
        s->objects[d / 8u] |= bit;
    } else {
        s->objects[d / 8u] &= (uint8_t)~bit;
    }
    s->depth++;
    s->state = object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    return R_TAKE;
}

/* A value ended at the current depth: an element when it sat in the data
 * array (depth 2 while the list is open). */
static void value_done(wisp_models_split *s)
{
    s->state = s->depth == 0 ? ST_END : ST_AFTER;
    if (s->collecting && s->depth == 2) {
        s->ready = true;
    }
}

static int close_container(wisp_models_split *s, char c)
{
    if (c != (level_is_object(s) ? '}' : ']')) {
        return R_FAIL;
    }
    s->depth--;
    if (s->depth == 1) {
        s->in_data = false; /* only the list opens at depth 2 with in_data */
    }
    value_done(s);
    return R_TAKE;
}

/* ---- values ------------------------------------------------------------------ */

static int start_value(wisp_models_split *s, char c)
{
    if (s->depth == 1 && s->key_is_data) {
        s->key_is_data = false;
        if (c == '[') {
            s->in_data = true;
        } else if (c != 'n') {
            return R_FAIL; /* a list that is not an array (null: empty) */
        }
    } else if (s->depth == 2 && s->in_data) {
        s->collecting = true;
        s->overflow = false;
        s->len = 0;
        s->elem_bytes = 0;
    }
    switch (c) {
    case '{':
        return open_container(s, true);
    case '[':
        return open_container(s, false);
    case '"':
        s->state = ST_STRING;
        s->is_key = false;
        return R_TAKE;
    case 't':
    case 'f':
    case 'n':
        s->lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
        s->sub = 1;
        s->state = ST_LITERAL;
        return R_TAKE;
    default:
        break;
    }
    if (c != '-' && (c < '0' || c > '9')) {
        return R_FAIL;
    }
    s->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
    s->state = ST_NUMBER;
    return R_TAKE;
}

static int in_literal(wisp_models_split *s, char c)
{
    const char *lit = k_literals[s->lit];
    if (c != lit[s->sub]) {
        return R_FAIL;
    }
    s->sub++;
    if (lit[s->sub] == '\0') {
        value_done(s);
    }
    return R_TAKE;
}

/* The part a number is in after c, or -1 when c cannot continue it. */
static int number_next(uint8_t part, char c)
{
    bool digit = c >= '0' && c <= '9';
    bool exp = c == 'e' || c == 'E';
    switch (part) {
    case N_MINUS:
        return c == '0' ? N_ZERO : digit ? N_INT : -1;
    case N_ZERO:
        return c == '.' ? N_DOT : exp ? N_EXP : -1;
    case N_INT:
        return digit ? N_INT : c == '.' ? N_DOT : exp ? N_EXP : -1;
    case N_DOT:
        return digit ? N_FRAC : -1;
    case N_FRAC:
        return digit ? N_FRAC : exp ? N_EXP : -1;
    case N_EXP:
        return digit ? N_EXP_DIGITS : (c == '+' || c == '-') ? N_EXP_SIGN : -1;
    default: /* N_EXP_SIGN, N_EXP_DIGITS */
        return digit ? N_EXP_DIGITS : -1;
    }
}

/* A number ends at the first byte that cannot continue it; that byte is
 * then read as what follows the value (where "1x" or "01" fail). */
static int in_number(wisp_models_split *s, char c)
{
    int next = number_next(s->sub, c);
    if (next >= 0) {
        s->sub = (uint8_t)next;
        return R_TAKE;
    }
    if (s->sub != N_ZERO && s->sub != N_INT && s->sub != N_FRAC && s->sub != N_EXP_DIGITS) {
        return R_FAIL;
    }
    value_done(s);
    return R_AGAIN;
}

/* ---- strings ------------------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_escape(char c)
{
    return c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
           c == 'r' || c == 't' || c == 'u';
}

static void start_key(wisp_models_split *s)
{
    s->state = ST_STRING;
    s->is_key = true;
    s->key_len = 0;
    s->key_long = false;
}

/* A key ended: at the top level, the first that unescapes to "data" names
 * the list. */
static int end_key(wisp_models_split *s)
{
    if (s->depth == 1 && !s->data_seen && !s->key_long &&
        wisp_json_text_eq(s->key, s->key_len, "data")) {
        s->key_is_data = true;
        s->data_seen = true;
    }
    s->state = ST_COLON;
    return R_TAKE;
}

static int in_string(wisp_models_split *s, char c)
{
    if (s->hex > 0) {
        if (!is_hex(c)) {
            return R_FAIL;
        }
        s->hex--;
    } else if (s->backslash) {
        if (!is_escape(c)) {
            return R_FAIL;
        }
        s->backslash = false;
        s->hex = c == 'u' ? 4 : 0;
    } else if (c == '"') {
        if (!s->is_key) {
            value_done(s);
            return R_TAKE;
        }
        return end_key(s);
    } else if ((unsigned char)c < 0x20) {
        return R_FAIL;
    } else if (c == '\\') {
        s->backslash = true;
    }
    if (s->is_key && s->depth == 1) {
        if (s->key_len < sizeof s->key) {
            s->key[s->key_len++] = c;
        } else {
            s->key_long = true; /* longer than any spelling of "data" */
        }
    }
    return R_TAKE;
}

/* ---- the machine ------------------------------------------------------------------ */

static int step(wisp_models_split *s, char c)
{
    switch (s->state) {
    case ST_STRING:
        return in_string(s, c);
    case ST_LITERAL:
        return in_literal(s, c);
    case ST_NUMBER:
        return in_number(s, c);
    default:
        break;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        return R_TAKE;
    }
    switch (s->state) {
    case ST_START:
        return c == '{' ? open_container(s, true) : R_FAIL;
    case ST_KEY_OR_CLOSE:
    case ST_KEY:
        if (c == '}' && s->state == ST_KEY_OR_CLOSE) {
            return close_container(s, c);
        }
        if (c != '"') {
            return R_FAIL;
        }
        start_key(s);
        return R_TAKE;
    case ST_COLON:
        if (c != ':') {
            return R_FAIL;
        }
        s->state = ST_VALUE;
        return R_TAKE;
    case ST_VALUE_OR_CLOSE:
    case ST_VALUE:
        if (c == ']' && s->state == ST_VALUE_OR_CLOSE) {
            return close_container(s, c);
        }
        return start_value(s, c);
    case ST_AFTER:
        if (c == ',') {
            s->state = level_is_object(s) ? ST_KEY : ST_VALUE;
            return R_TAKE;
        }
        return close_container(s, c);
    default: /* ST_END */
        return R_FAIL;
    }
}

static void put_byte(wisp_models_split *s, char c)
{
    if (s->len < s->cap) {
        s->buf[s->len++] = c;
    } else {
        s->overflow = true;
    }
    if (s->elem_bytes < SIZE_MAX) {
        s->elem_bytes++;
    }
}

static void hand_over(wisp_models_split *s, wisp_models_out *out)
{
    s->ready = false;
    s->collecting = false;
    out->len = s->elem_bytes;
    if (s->overflow) {
        out->event = WISP_MODELS_SKIPPED;
        s->skipped++;
    } else {
        out->event = WISP_MODELS_ELEMENT;
        out->data = s->buf;
        s->elements++;
    }
}

wisp_status wisp_models_feed(wisp_models_split *s, const uint8_t *in, size_t len,
                             size_t *used, wisp_models_out *out)
{
    size_t i = 0;

    if (used != NULL) {
        *used = 0;
    }
    if (out != NULL) {
        out->event = WISP_MODELS_NEED_MORE;
        out->data = NULL;
        out->len = 0;
    }
    if (s == NULL || used == NULL || out == NULL || (in == NULL && len > 0)) {
        return WISP_ERR_ARG;
    }
    if (s->error != WISP_OK) {
        return (wisp_status)s->error;
    }
    while (i < len) {
        int r = step(s, (char)in[i]);
        if (r == R_FAIL) {
            s->error = WISP_ERR_JSON;
            *used = i;
            return WISP_ERR_JSON;
        }
        if (r == R_TAKE) {
            if (s->collecting) {
                put_byte(s, (char)in[i]);
            }
            i++;
        }
        if (s->ready) {
            hand_over(s, out);
            *used = i;
            return WISP_OK;
        }
    }
    *used = len;
    return WISP_OK;
}

wisp_status wisp_models_finish(const wisp_models_split *s)
{
    if (s == NULL) {
        return WISP_ERR_ARG;
    }
    if (s->error != WISP_OK) {
        return (wisp_status)s->error;
    }
    return s->state == ST_END && s->data_seen ? WISP_OK : WISP_ERR_JSON;
}

/* ---- one element ------------------------------------------------------------------- */

wisp_status wisp_models_id(const char *elem, size_t len, wisp_token *toks, size_t ntoks,
                           char *id, size_t cap, bool *cut)
{
    int count = 0;
    int v;
    wisp_status st;

    if (id == NULL || cap == 0) {
        return WISP_ERR_ARG;
    }
    id[0] = '\0';
    st = wisp_json_tokenize(elem, len, toks, ntoks, &count);
    if (st != WISP_OK) {
        return st;
    }
    v = wisp_json_find(elem, toks, count, 0, "id"); /* -1 unless an object */
    if (v < 0 || toks[v].type != WISP_TOK_STRING) {
        return WISP_ERR_JSON;
    }
    return wisp_json_field(elem, &toks[v], id, cap, cut);
}

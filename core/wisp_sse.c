/*
 * wisp_sse.c - server-sent events decoder (see wisp_sse.h).
 *
 * Only data and error-line values are copied, straight into the caller's
 * buffer; everything else is looked at once and dropped.  Field names are
 * kept in a 5-byte array: any longer name is one wisp does not use.
 */
#include "wisp_sse.h"

#include <string.h>

enum {
    ST_BOM,         /* very start of the stream: maybe a UTF-8 BOM */
    ST_LINE,        /* start of a line */
    ST_NAME,        /* in a field name */
    ST_VALUE_START, /* just after the colon: one space may follow */
    ST_VALUE        /* in a field value (or a comment) */
};

enum {
    F_IGNORE, /* comment, id, retry, unknown field */
    F_DATA,
    F_EVENT,
    F_ERROR   /* llama.cpp's `error:` line */
};

static const uint8_t utf8_bom[3] = {0xEFu, 0xBBu, 0xBFu};
static const char error_name[5] = {'e', 'r', 'r', 'o', 'r'};
#define EVENT_MISMATCH 0xFFu

void wisp_sse_init(wisp_sse *s, uint8_t *buf, size_t cap)
{
    if (s == NULL)
        return;
    memset(s, 0, sizeof *s);
    s->buf = buf;
    s->cap = buf != NULL ? cap : 0;
    s->state = ST_BOM;
    s->failed = WISP_OK;
}

static void out_clear(wisp_sse_out *out)
{
    out->kind = WISP_SSE_NEED_MORE;
    out->data = NULL;
    out->len = 0;
    out->error_event = false;
}

static wisp_status fail(wisp_sse *s, wisp_status st)
{
    s->failed = st;
    return st;
}

/* The field name is complete: decide what its value is for. */
static wisp_status begin_value(wisp_sse *s)
{
    s->field = F_IGNORE;
    if (s->name_len == 4 && memcmp(s->name, "data", 4) == 0) {
        s->field = F_DATA;
        s->line_start = s->len;
        if (s->has_data) { /* data lines are joined with LF */
            if (s->len >= s->cap)
                return fail(s, WISP_ERR_TOO_LARGE);
            s->buf[s->len++] = '\n';
        }
    } else if (s->name_len == 5 && memcmp(s->name, "event", 5) == 0) {
        s->field = F_EVENT;
        s->event_match = 0;
    } else if (s->name_len == 5 && memcmp(s->name, error_name, 5) == 0) {
        s->field = F_ERROR;
        s->err_len = 0;
    }
    return WISP_OK;
}

/* A line with a field is complete.  True when it is an error line to
 * report. */
static bool end_field_line(wisp_sse *s, wisp_sse_out *out)
{
    s->state = ST_LINE;
    switch (s->field) {
    case F_DATA:
        s->has_data = true;
        break;
    case F_EVENT:
        s->event_error = s->event_match == sizeof error_name;
        break;
    case F_ERROR:
        out->kind = WISP_SSE_ERROR_LINE;
        out->data = s->buf != NULL ? (const char *)s->buf + s->len : NULL;
        out->len = s->err_len;
        return true;
    default:
        break;
    }
    return false;
}

/* A blank line: dispatch the event if it had data.  True when reported. */
static bool dispatch(wisp_sse *s, wisp_sse_out *out)
{
    bool have = s->has_data;
    if (have) {
        out->kind = WISP_SSE_EVENT;
        out->data = (const char *)s->buf;
        out->len = s->len;
        out->error_event = s->event_error;
    }
    /* The bytes stay in buf until the next feed writes over them. */
    s->len = 0;
    s->has_data = false;
    s->event_error = false;
    return have;
}

/* Consumes a run of value bytes (no CR or LF in it). */
static wisp_status take_value(wisp_sse *s, const uint8_t *p, size_t n)
{
    size_t i;
    switch (s->field) {
    case F_DATA:
        if (n > s->cap - s->len)
            return fail(s, WISP_ERR_TOO_LARGE);
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        break;
    case F_ERROR:
        if (n > s->cap - s->len - s->err_len)
            return fail(s, WISP_ERR_TOO_LARGE);
        memcpy(s->buf + s->len + s->err_len, p, n);
        s->err_len += n;
        break;
    case F_EVENT:
        /* Only "error" matters; a long name is compared, never stored. */
        for (i = 0; i < n && s->event_match != EVENT_MISMATCH; i++) {
            if (s->event_match < sizeof error_name &&
                p[i] == (uint8_t)error_name[s->event_match])
                s->event_match++;
            else
                s->event_match = EVENT_MISMATCH;
        }
        break;
    default:
        break;
    }
    return WISP_OK;
}

/* The length of the run before the first CR or LF: the C library's memchr
 * (word- or vector-wide on every target wisp knows), LF first, then CR
 * only before it.  Lines of data are most of the stream, so this is most
 * of the decoder's time. */
static size_t scan_line_end(const uint8_t *p, size_t n)
{
    const uint8_t *lf = (const uint8_t *)memchr(p, '\n', n);
    const uint8_t *cr;
    if (lf != NULL)
        n = (size_t)(lf - p);
    cr = (const uint8_t *)memchr(p, '\r', n);
    return cr != NULL ? (size_t)(cr - p) : n;
}

wisp_status wisp_sse_feed(wisp_sse *s, const uint8_t *in, size_t len,
                          size_t *used, wisp_sse_out *out)
{
    size_t i = 0;
    wisp_status st;

    if (used != NULL)
        *used = 0;
    if (out != NULL)
        out_clear(out);
    if (s == NULL || used == NULL || out == NULL || (in == NULL && len > 0))
        return WISP_ERR_ARG;
    if (s->failed != WISP_OK)
        return s->failed;

    while (i < len) {
        uint8_t c = in[i];

        if (s->after_cr) { /* CRLF, maybe split across feeds */
            s->after_cr = false;
            if (c == '\n') {
                i++;
                continue;
            }
        }

        switch (s->state) {
        case ST_BOM:
            if (c == utf8_bom[s->bom_seen]) {
                i++;
                if (++s->bom_seen == sizeof utf8_bom)
                    s->state = ST_LINE;
                continue;
            }
            if (s->bom_seen == 0) {
                s->state = ST_LINE;
                continue;
            }
            /* A cut-short BOM: its bytes began a field name. */
            memcpy(s->name, utf8_bom, s->bom_seen);
            s->name_len = s->bom_seen;
            s->state = ST_NAME;
            continue;

        case ST_LINE:
            if (c == '\n' || c == '\r') {
                i++;
                s->after_cr = c == '\r';
                if (dispatch(s, out)) {
                    *used = i;
                    return WISP_OK;
                }
                continue;
            }
            if (c == ':') { /* comment */
                i++;
                s->field = F_IGNORE;
                s->state = ST_VALUE;
                continue;
            }
            s->name_len = 0;
            /* Nearly every line is data: its name at once when whole here. */
            if (len - i >= 5 && memcmp(in + i, "data:", 5) == 0) {
                memcpy(s->name, in + i, 4);
                s->name_len = 4;
                i += 4;
            }
            s->state = ST_NAME;
            continue;

        case ST_NAME:
            if (c == ':') {
                i++;
                st = begin_value(s);
                if (st != WISP_OK)
                    return st;
                s->state = ST_VALUE_START;
                continue;
            }
            if (c == '\n' || c == '\r') {
                /* No colon: the whole line is the name, the value empty. */
                i++;
                s->after_cr = c == '\r';
                st = begin_value(s);
                if (st != WISP_OK)
                    return st;
                if (end_field_line(s, out)) {
                    *used = i;
                    return WISP_OK;
                }
                continue;
            }
            if (s->name_len < sizeof s->name)
                s->name[s->name_len] = (char)c;
            if (s->name_len <= sizeof s->name)
                s->name_len++; /* stops one past: "too long" */
            i++;
            continue;

        case ST_VALUE_START:
            s->state = ST_VALUE;
            if (c == ' ') /* only one leading space is removed */
                i++;
            continue;

        default: { /* ST_VALUE */
            size_t run = scan_line_end(in + i, len - i);
            if (run > 0) {
                st = take_value(s, in + i, run);
                if (st != WISP_OK)
                    return st;
                i += run;
            }
            if (i < len) {
                s->after_cr = in[i] == '\r';
                i++;
                if (end_field_line(s, out)) {
                    *used = i;
                    return WISP_OK;
                }
            }
            continue;
        }
        }
    }
    *used = len;
    return WISP_OK;
}

wisp_status wisp_sse_finish(wisp_sse *s, wisp_sse_out *out)
{
    if (out != NULL)
        out_clear(out);
    if (s == NULL || out == NULL)
        return WISP_ERR_ARG;
    if (s->failed != WISP_OK)
        return s->failed;

    /* A partial last line is dropped, with what it added to the data. */
    if ((s->state == ST_VALUE || s->state == ST_VALUE_START) &&
        s->field == F_DATA)
        s->len = s->line_start;
    s->state = ST_LINE;
    s->after_cr = false;
    dispatch(s, out);
    return WISP_OK;
}

char *wisp_sse_spare(const wisp_sse *s, const wisp_sse_out *out, size_t *cap)
{
    const uint8_t *after;
    *cap = 0;
    if (s == NULL || out == NULL || s->buf == NULL || out->data == NULL)
        return NULL;
    after = (const uint8_t *)out->data + out->len;
    if (after < s->buf || after >= s->buf + s->cap)
        return NULL;
    *cap = (size_t)(s->buf + s->cap - after);
    return (char *)(uintptr_t)after;
}

/*
 * wisp_http.c - the HTTP/1.x response reader (status line, headers,
 * Content-Length, chunked, until close).  See wisp_http.h for the rules.
 *
 * Head, chunk-size and trailer bytes go through line_byte() one at a time;
 * body bytes are never touched, only returned as spans of the input.
 */
#include "wisp_http.h"
#include "wisp_text.h"

#include <string.h>

#if WISP_HTTP_MAX_HEAD_BYTES > 0x7fffffff
#error "WISP_HTTP_MAX_HEAD_BYTES must fit the 32-bit line counters"
#endif

enum {
    ST_STATUS,      /* status line */
    ST_FIELD,       /* header lines up to the empty line */
    ST_LENGTH,      /* Content-Length body */
    ST_CLOSE,       /* body until the peer closes */
    ST_CHUNK_SIZE,  /* hex digits */
    ST_CHUNK_BWS,   /* whitespace after the digits */
    ST_CHUNK_EXT,   /* ;extensions, skipped to the line end */
    ST_CHUNK_DATA,
    ST_CHUNK_END,   /* the line end after chunk data */
    ST_TRAILER,     /* trailer lines after the last chunk, skipped */
    ST_DONE,
    ST_FAILED
};

/* Fields wisp reads.  The first three frame or decode the body. */
enum {
    F_NONE,
    F_CONTENT_LENGTH,
    F_TRANSFER_ENCODING,
    F_CONTENT_ENCODING,
    F_CONNECTION,
    F_CONTENT_TYPE,
    F_RETRY_AFTER,
    F_RETRY_AFTER_MS,
    F_REQUEST_ID,
    F_ONEAPI_REQUEST_ID,
    F_KEEP_ALIVE,
    F_DATE,
    F_END
};

static const char *const field_names[F_END - 1] = {
    "content-length", "transfer-encoding", "content-encoding", "connection",
    "content-type",   "retry-after",       "retry-after-ms",   "x-request-id",
    "x-oneapi-request-id", "keep-alive", "date"
};

/* tchar (RFC 9110) bitmap for 0x20..0x7f. */
static const uint32_t tchar_map[3] = { 0x03ff6cfau, 0xc7fffffeu, 0x57ffffffu };

static bool is_tchar(uint8_t c)
{
    return c >= 0x20 && c < 0x80 &&
           ((tchar_map[(c >> 5) - 1] >> (c & 31)) & 1u) != 0;
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* 0: s differs from lit; 1: s is a proper prefix of lit; 2: equal. */
static int imatch(const uint8_t *s, size_t n, const char *lit)
{
    return wisp_ascii_imatch((const char *)s, n, lit);
}

static bool ieq(const uint8_t *s, size_t n, const char *lit)
{
    return imatch(s, n, lit) == 2;
}

/* The field whose name s matches in the given imatch() way, or F_NONE. */
static uint8_t find_field(const uint8_t *s, size_t n, int how)
{
    unsigned f;
    for (f = F_CONTENT_LENGTH; f < F_END; f++) {
        if (imatch(s, n, field_names[f - 1]) == how) {
            return (uint8_t)f;
        }
    }
    return F_NONE;
}

/* Splits the next element off a comma list, trimmed; empty ones allowed. */
static size_t list_next(const uint8_t **p, const uint8_t *end,
                        const uint8_t **elem)
{
    const uint8_t *s = *p, *e;
    while (s < end && is_ows(*s)) {
        s++;
    }
    e = s;
    while (e < end && *e != ',') {
        e++;
    }
    *p = e < end ? e + 1 : e;
    while (e > s && is_ows(e[-1])) {
        e--;
    }
    *elem = s;
    return (size_t)(e - s);
}

/* Content-Length: digits, or a list of identical values ("5, 5"). */
static wisp_status content_length(wisp_http_reader *r, const uint8_t *v,
                                  size_t n)
{
    size_t i = 0;
    for (;;) {
        uint64_t x = 0;
        size_t start;
        while (i < n && is_ows(v[i])) {
            i++;
        }
        start = i;
        while (i < n && is_digit(v[i])) {
            unsigned d = (unsigned)(v[i++] - '0');
            /* constant bounds: no 64-bit division on small cores */
            if (x > UINT64_MAX / 10u ||
                (x == UINT64_MAX / 10u && d > UINT64_MAX % 10u)) {
                return WISP_ERR_HTTP;
            }
            x = x * 10u + d;
        }
        if (i == start || (r->has_content_length && x != r->content_length)) {
            return WISP_ERR_HTTP;
        }
        r->content_length = x;
        r->has_content_length = true;
        while (i < n && is_ows(v[i])) {
            i++;
        }
        if (i == n) {
            return WISP_OK;
        }
        if (v[i++] != ',') {
            return WISP_ERR_HTTP;
        }
    }
}

/* retry-after-ms: "1500" or "1500.25", rounded up so we never come back
 * early.  Anything else is ignored. */
static void retry_after_ms(wisp_http_reader *r, const uint8_t *v, size_t n)
{
    uint32_t ms = 0;
    size_t i = 0;
    bool up = false;
    while (i < n && is_digit(v[i])) {
        unsigned d = (unsigned)(v[i++] - '0');
        ms = ms >= UINT32_MAX / 10u ? UINT32_MAX : ms * 10u + d; /* saturate */
    }
    if (i == 0) {
        return;
    }
    if (i < n && v[i] == '.') {
        size_t frac = ++i;
        while (i < n && is_digit(v[i])) {
            up = up || v[i] != '0';
            i++;
        }
        if (i == frac) {
            return;
        }
    }
    if (i != n) {
        return;
    }
    if (up && ms < UINT32_MAX) {
        ms++;
    }
    r->retry_after_ms = ms;
    r->has_retry_after_ms = true;
}

/* ---- HTTP-dates (RFC 9110 5.6.7) ---------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), by whole-year and
 * month counts: no division of anything wider than 32 bits. */
static bool civil_days(int32_t y, int32_t m, int32_t d, int32_t *out)
{
    static const int16_t before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int32_t leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int32_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t yy = y - 1;
    dim[1] += leap;
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > dim[m - 1]) {
        return false;
    }
    /* days before Jan 1 of y, counted from Jan 1 of year 1, minus 1970's */
    *out = yy * 365 + yy / 4 - yy / 100 + yy / 400 - 719162 + before[m - 1] +
           (m > 2 ? leap : 0) + (d - 1);
    return true;
}

/* An HTTP-date in any of its three forms, case as written (RFC 9110
 * makes them case-sensitive), read by one small pattern matcher:
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 * In a pattern, a is a weekday name (letters, not checked), b a month
 * name, _ a space or a digit, d y h m s a digit of day, year, hours, minutes,
 * seconds; anything else stands for itself. */
static bool http_date(const uint8_t *v, size_t len, int32_t *day, int32_t *sec)
{
    static const char *const forms[] = {"a, dd b yyyy hh:mm:ss GMT", "a, dd-b-yy hh:mm:ss GMT",
                                        "a b _d hh:mm:ss yyyy"};
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t f;
    for (f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        /* day, year, hours, minutes, seconds */
        int32_t acc[5] = {0, 0, 0, 0, 0}, m = 0;
        int year_digits = 0, k;
        const char *p;
        size_t i = 0;
        for (p = forms[f]; *p != '\0' && i < len; p++) {
            k = *p == 'd' || *p == '_' ? 0 : *p == 'y' ? 1 : *p == 'h' ? 2 : *p == 'm' ? 3
                : *p == 's' ? 4 : -1;
            if (*p == 'a') { /* the weekday, not checked: it adds nothing */
                size_t start = i;
                while (i < len && ((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z')) {
                    i++;
                }
                if (i - start < 3) {
                    break;
                }
            } else if (*p == 'b') {
                for (m = 0; m < 12; m++) {
                    if (len - i >= 3 && memcmp(v + i, months + 3 * (size_t)m, 3) == 0) {
                        break;
                    }
                }
                if (m++ == 12) {
                    break;
                }
                i += 3;
            } else if (*p == '_' && v[i] == ' ') {
                i++;
            } else if (k >= 0) {
                if (!is_digit(v[i])) {
                    break;
                }
                acc[k] = acc[k] * 10 + (int32_t)(v[i++] - '0');
                year_digits += k == 1;
            } else if (v[i++] != (uint8_t)*p) {
                break;
            }
        }
        if (*p != '\0' || i != len) {
            continue;
        }
        if (year_digits == 2) {
            /* RFC 9110: a year more than 50 years ahead is the past
             * century's; with no clock: 70..99 are 19xx, 00..69 20xx. */
            acc[1] += acc[1] >= 70 ? 1900 : 2000;
        }
        if (acc[2] > 23 || acc[3] > 59 || acc[4] > 60) {
            return false;
        }
        *sec = acc[2] * 3600 + acc[3] * 60 + (acc[4] == 60 ? 59 : acc[4]); /* leap second: :59 */
        return civil_days(acc[1], m, acc[0], day);
    }
    return false;
}

/* The Retry-After date as a wait from the reply's Date, once both are
 * known (at the end of the head: they may come in either order). */
static void settle_retry_date(wisp_http_reader *r)
{
    const int32_t max_days = (int32_t)(UINT32_MAX / 86400000u);
    int32_t days;
    int32_t secs;
    if (!r->has_retry_date || !r->has_date || r->has_retry_after_ms) {
        return;
    }
    days = r->retry_day - r->date_day;
    secs = r->retry_sec - r->date_sec;
    if (days < 0 || (days == 0 && secs <= 0)) {
        r->retry_after_ms = 0; /* already past: retry now */
    } else if (days >= max_days) {
        r->retry_after_ms = (UINT32_MAX / 1000u) * 1000u;
    } else {
        uint32_t s = (uint32_t)days * 86400u;
        s = secs >= 0 ? s + (uint32_t)secs : s - (uint32_t)-secs;
        r->retry_after_ms = s > UINT32_MAX / 1000u ? (UINT32_MAX / 1000u) * 1000u : s * 1000u;
    }
}

/* Retry-After: delta-seconds or an HTTP-date; junk is ignored. */
static void retry_after(wisp_http_reader *r, const uint8_t *v, size_t n)
{
    const uint32_t cap = UINT32_MAX / 1000u;
    uint32_t s = 0;
    size_t i;
    if (n == 0 || r->has_retry_after_ms) {
        return;
    }
    if (!is_digit(v[0])) { /* a valid one replaces what came before */
        int32_t day, sec;
        if (http_date(v, n, &day, &sec)) {
            r->has_retry_date = true;
            r->retry_day = day;
            r->retry_sec = sec;
            r->retry_after_ms = 0;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        if (!is_digit(v[i])) {
            return;
        }
        s = s * 10u + (uint32_t)(v[i] - '0');
        if (s > cap) {
            s = cap;
        }
    }
    r->retry_after_ms = s * 1000u;
    r->has_retry_date = false;
}

/* Keep-Alive: "timeout=5, max=100" (RFC 2068's list of parameters): the
 * timeout, in whole seconds; anything else is ignored. */
static void keep_alive(wisp_http_reader *r, const uint8_t *v, const uint8_t *end)
{
    while (v < end) {
        const uint8_t *el;
        size_t n = list_next(&v, end, &el), i = 8;
        uint32_t s = 0;
        if (n <= 8 || imatch(el, 8, "timeout=") != 2) {
            continue;
        }
        for (; i < n && is_digit(el[i]); i++) {
            if (s <= 86400u) { /* saturates: more digits only mean longer */
                s = s * 10u + (uint32_t)(el[i] - '0');
            }
        }
        if (i == n) { /* n > 8: at least one digit */
            r->keep_alive_timeout_s = s < 86400u ? s : 86400u;
        }
    }
}

/* x-request-id, cut to fit without splitting a UTF-8 sequence. */
static void request_id(wisp_http_reader *r, const uint8_t *v, size_t n,
                       bool cut)
{
    wisp_text t;
    /* A value the line buffer cut short may end inside a character. */
    if (cut) {
        n = wisp_utf8_whole((const char *)v, n);
    }
    t.buf = r->request_id;
    t.cap = sizeof r->request_id;
    wisp_text_reset(&t);
    wisp_text_append(&t, (const char *)v, n);
    r->request_id_truncated = cut || t.truncated;
}

/* Interprets one complete header line of the final head. */
static wisp_status apply_field(wisp_http_reader *r)
{
    /* The colon may be the byte that did not fit (x-request-id cut). */
    size_t start = r->name_len < r->line_len ? r->name_len + 1u : r->line_len;
    const uint8_t *v = r->line + start;
    const uint8_t *end = r->line + r->line_len;
    const uint8_t *el;
    size_t n;

    while (v < end && is_ows(*v)) {
        v++;
    }
    while (end > v && is_ows(end[-1])) {
        end--;
    }
    n = (size_t)(end - v);

    switch (r->field) {
    case F_CONTENT_LENGTH:
        return content_length(r, v, n);
    case F_TRANSFER_ENCODING:
        /* Only "chunked", once, as the last coding is decodable. */
        r->te_seen = true;
        while (v < end) {
            n = list_next(&v, end, &el);
            if (n == 0) {
                continue;
            }
            if (!ieq(el, n, "chunked")) {
                return WISP_ERR_UNSUPPORTED;
            }
            if (r->te_chunked) {
                return WISP_ERR_HTTP;
            }
            r->te_chunked = true;
        }
        return WISP_OK;
    case F_CONTENT_ENCODING:
        while (v < end) {
            n = list_next(&v, end, &el);
            if (n != 0 && !ieq(el, n, "identity")) {
                return WISP_ERR_UNSUPPORTED;
            }
        }
        return WISP_OK;
    case F_CONNECTION:
        while (v < end) {
            n = list_next(&v, end, &el);
            r->conn_close = r->conn_close || ieq(el, n, "close");
            r->conn_keep_alive = r->conn_keep_alive || ieq(el, n, "keep-alive");
        }
        return WISP_OK;
    case F_CONTENT_TYPE: {
        const uint8_t *semi = v;
        while (semi < end && *semi != ';') {
            semi++;
        }
        while (semi > v && is_ows(semi[-1])) {
            semi--;
        }
        n = (size_t)(semi - v);
        r->has_content_type = true;
        r->is_event_stream = ieq(v, n, "text/event-stream");
        r->is_json = ieq(v, n, "application/json") ||
                     (n > 6 && ieq(semi - 5, 5, "+json"));
        return WISP_OK;
    }
    case F_RETRY_AFTER:
        if (WISP_RETRIES) { /* only retries wait for it */
            retry_after(r, v, n);
        }
        return WISP_OK;
    case F_RETRY_AFTER_MS:
        if (WISP_RETRIES) {
            retry_after_ms(r, v, n);
        }
        return WISP_OK;
    case F_REQUEST_ID:
        if (n > 0) { /* an empty one does not hide x-oneapi-request-id */
            request_id(r, v, n, false);
            r->request_id_primary = true;
        }
        return WISP_OK;
    case F_KEEP_ALIVE:
        keep_alive(r, v, end);
        return WISP_OK;
    case F_DATE:
        if (WISP_RETRIES) { /* only a Retry-After date needs it */
            r->has_date = http_date(v, n, &r->date_day, &r->date_sec);
        }
        return WISP_OK;
    default: /* F_ONEAPI_REQUEST_ID: one-api gateways; x-request-id wins */
        if (!r->request_id_primary) {
            request_id(r, v, n, false);
        }
        return WISP_OK;
    }
}

/* The line buffer is full and another byte of the line came. */
static wisp_status line_full(wisp_http_reader *r)
{
    if (!r->interim) {
        if (r->name_len == 0) {
            /* The name so far may still become one we need. */
            if (find_field(r->line, r->line_len, 1) != F_NONE) {
                return WISP_ERR_TOO_LARGE;
            }
        } else if (r->field == F_REQUEST_ID ||
                   (r->field == F_ONEAPI_REQUEST_ID && !r->request_id_primary)) {
            (void)apply_field(r);
            r->request_id_truncated = true;
        } else if (r->field == F_ONEAPI_REQUEST_ID) {
            /* x-request-id came first and wins: this one is not needed */
        } else if (r->field != F_NONE) {
            return WISP_ERR_TOO_LARGE;
        }
    }
    r->skip_line = true;
    return WISP_OK;
}

/* The empty line after a head. */
static wisp_status head_end(wisp_http_reader *r, wisp_http_event *ev)
{
    bool keep;
    if (r->interim) {
        r->state = ST_STATUS;
        r->code = 0;
        return WISP_OK;
    }
    keep = r->minor_version >= 1 ? !r->conn_close
                                 : (r->conn_keep_alive && !r->conn_close);
    settle_retry_date(r);
    r->count = 0; /* now bounds the chunk-size and trailer lines */
    r->state = ST_DONE;
    r->body_mode = WISP_BODY_NONE;
    if (r->status == 204 || r->status == 304) {
        /* no body, whatever the framing fields say */
    } else if (r->te_chunked) {
        /* Chunked wins over Content-Length, but such a message smells of
         * smuggling, and HTTP/1.0 has no chunked: do not reuse. */
        r->body_mode = WISP_BODY_CHUNKED;
        r->state = ST_CHUNK_SIZE;
        if (r->has_content_length || r->minor_version == 0) {
            keep = false;
        }
    } else if (r->has_content_length && !r->te_seen) {
        if (r->content_length != 0) {
            r->body_mode = WISP_BODY_LENGTH;
            r->state = ST_LENGTH;
            r->remaining = r->content_length;
        }
    } else {
        /* No framing, or a Transfer-Encoding that names no coding: not
         * chunked, so the body runs until close (RFC 9112 6.3), and
         * Content-Length is not to be trusted.  No real server sends the
         * latter; smugglers do. */
        r->body_mode = WISP_BODY_CLOSE;
        r->state = ST_CLOSE;
        keep = false;
    }
    r->keep_alive = keep;
    *ev = WISP_HTTP_HEADERS;
    return WISP_OK;
}

/* A LF ended the current line. */
static wisp_status line_end(wisp_http_reader *r, wisp_http_event *ev)
{
    uint32_t col = r->col;
    bool fold = r->fold;

    r->col = 0;
    r->fold = false;
    switch (r->state) {
    case ST_STATUS:
    case ST_FIELD:
        if (r->state == ST_FIELD && col == 0) {
            return head_end(r, ev);
        }
        if (++r->lines > WISP_HTTP_MAX_HEADER_LINES) {
            return WISP_ERR_TOO_LARGE;
        }
        if (r->state == ST_STATUS) {
            if (col < 12) {
                return WISP_ERR_HTTP;
            }
            if (r->code == 101) {
                return WISP_ERR_HTTP;
            }
            r->status = r->code;
            r->interim = r->code < 200;
            r->field = F_NONE;
            r->state = ST_FIELD;
            return WISP_OK;
        }
        if (fold) {
            return WISP_OK;
        }
        if (r->name_len == 0) {
            return WISP_ERR_HTTP; /* no colon */
        }
        if (r->skip_line || r->field == F_NONE) {
            return WISP_OK;
        }
        return apply_field(r);
    case ST_CHUNK_SIZE:
        if (col == 0) {
            return WISP_ERR_HTTP; /* empty size line */
        }
        /* fall through */
    case ST_CHUNK_BWS:
    case ST_CHUNK_EXT:
        r->state = r->remaining != 0 ? ST_CHUNK_DATA : ST_TRAILER;
        return WISP_OK;
    case ST_CHUNK_END:
        r->state = ST_CHUNK_SIZE;
        r->chunk_digits = 0;
        r->count = 0;
        return WISP_OK;
    default: /* ST_TRAILER */
        if (col == 0) {
            r->state = ST_DONE;
            *ev = WISP_HTTP_DONE;
        }
        return WISP_OK;
    }
}

/* One byte of the head, a chunk-size line, or the trailers. */
static wisp_status line_byte(wisp_http_reader *r, uint8_t c,
                             wisp_http_event *ev)
{
    uint32_t col;

    if (r->count >= WISP_HTTP_MAX_HEAD_BYTES) {
        return WISP_ERR_TOO_LARGE;
    }
    r->count++;
    if (c == '\r') {
        if (r->cr) {
            return WISP_ERR_HTTP;
        }
        r->cr = true;
        return WISP_OK;
    }
    if (r->cr && c != '\n') {
        return WISP_ERR_HTTP;
    }
    r->cr = false;
    if (c == '\n') {
        return line_end(r, ev);
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return WISP_ERR_HTTP;
    }
    col = r->col++;

    switch (r->state) {
    case ST_STATUS:
        if (col < 12) {
            /* "HTTP/1." DIGIT SP 3DIGIT, '#' standing for a digit */
            char want = "HTTP/1.# ###"[col];
            if (want != '#') {
                return c == (uint8_t)want ? WISP_OK : WISP_ERR_HTTP;
            }
            if (!is_digit(c) || (col == 9 && c == '0')) {
                return WISP_ERR_HTTP;
            }
            if (col == 7) {
                r->minor_version = c - '0';
            } else {
                r->code = (uint16_t)(r->code * 10u + (unsigned)(c - '0'));
            }
            return WISP_OK;
        }
        if (col == 12 && c != ' ') {
            return WISP_ERR_HTTP;
        }
        r->col = 13; /* the reason phrase: any length, not kept */
        return WISP_OK;

    case ST_FIELD:
        if (col == 0) {
            r->fold = is_ows(c);
            if (r->fold) {
                if (r->field == F_CONNECTION) {
                    r->conn_close = true; /* a folded token may say close */
                }
                return r->field != F_NONE && r->field <= F_CONTENT_ENCODING
                           ? WISP_ERR_HTTP
                           : WISP_OK;
            }
            r->field = F_NONE;
            r->name_len = 0;
            r->line_len = 0;
            r->skip_line = false;
        }
        if (r->fold) {
            return WISP_OK;
        }
        if (r->name_len == 0) {
            if (c == ':') {
                if (col == 0) {
                    return WISP_ERR_HTTP; /* empty name */
                }
                r->name_len = col;
                if (!r->skip_line && !r->interim) {
                    r->field = find_field(r->line, col, 2);
                }
            } else if (!is_tchar(c)) {
                return WISP_ERR_HTTP;
            }
        }
        if (r->skip_line) {
            return WISP_OK;
        }
        if (r->line_len < r->line_cap) {
            r->line[r->line_len++] = c;
            return WISP_OK;
        }
        return line_full(r);

    case ST_CHUNK_SIZE: {
        unsigned d = (unsigned)lower(c);
        d = is_digit(c) ? d - '0' : (d >= 'a' && d <= 'f') ? d - 'a' + 10u : 16u;
        if (d < 16u) {
            if (r->remaining != 0 || d != 0) {
                if (++r->chunk_digits > 15) {
                    return WISP_ERR_HTTP; /* >= 2^60: not a real chunk */
                }
                r->remaining = (r->remaining << 4) | d;
            }
            return WISP_OK;
        }
        if (col == 0) {
            return WISP_ERR_HTTP;
        }
        r->state = ST_CHUNK_BWS;
    }
        /* fall through */
    case ST_CHUNK_BWS:
        if (c == ';') {
            r->state = ST_CHUNK_EXT;
            return WISP_OK;
        }
        return is_ows(c) ? WISP_OK : WISP_ERR_HTTP;

    case ST_CHUNK_EXT: /* extensions, quoted strings included: skipped */
    case ST_TRAILER:   /* trailer fields: skipped */
        r->col = 1;
        return WISP_OK;

    default: /* ST_CHUNK_END: only a line end may follow chunk data */
        return WISP_ERR_HTTP;
    }
}

static wisp_status fail(wisp_http_reader *r, wisp_status st)
{
    r->state = ST_FAILED;
    r->error = (uint8_t)st;
    return st;
}

void wisp_http_reader_init(wisp_http_reader *r, uint8_t *line_buf,
                           size_t line_cap)
{
    uint8_t *p = (uint8_t *)r;
    size_t i;
    if (r == NULL) {
        return;
    }
    for (i = 0; i < sizeof *r; i++) {
        p[i] = 0;
    }
    r->line = line_buf;
    r->line_cap = line_buf != NULL ? line_cap : 0;
    r->state = ST_STATUS;
    r->body_mode = WISP_BODY_NONE;
}

wisp_status wisp_http_feed(wisp_http_reader *r, const uint8_t *in, size_t len,
                           size_t *used, wisp_http_out *out)
{
    size_t pos = 0;
    wisp_http_event ev = WISP_HTTP_NEED_MORE;

    if (r == NULL || used == NULL || out == NULL || (in == NULL && len != 0)) {
        return WISP_ERR_ARG;
    }
    *used = 0;
    out->event = WISP_HTTP_NEED_MORE;
    out->body = NULL;
    out->body_len = 0;
    if (r->state == ST_FAILED) {
        return (wisp_status)r->error;
    }

    while (ev == WISP_HTTP_NEED_MORE) {
        uint8_t st = r->state;
        if (st == ST_DONE) {
            ev = WISP_HTTP_DONE;
        } else if (pos == len) {
            break;
        } else if (st == ST_LENGTH || st == ST_CLOSE || st == ST_CHUNK_DATA) {
            size_t n = len - pos;
            if (st != ST_CLOSE) {
                if (n > r->remaining) {
                    n = (size_t)r->remaining;
                }
                r->remaining -= n;
                if (r->remaining == 0) {
                    r->state = st == ST_LENGTH ? ST_DONE : ST_CHUNK_END;
                }
            }
            out->body = in + pos;
            out->body_len = n;
            pos += n;
            ev = WISP_HTTP_BODY;
        } else {
            wisp_status s = line_byte(r, in[pos++], &ev);
            if (s != WISP_OK) {
                *used = pos;
                return fail(r, s);
            }
        }
    }
    *used = pos;
    out->event = ev;
    return WISP_OK;
}

wisp_status wisp_http_finish(wisp_http_reader *r, wisp_http_out *out)
{
    if (r == NULL || out == NULL) {
        return WISP_ERR_ARG;
    }
    out->event = WISP_HTTP_NEED_MORE;
    out->body = NULL;
    out->body_len = 0;
    if (r->state == ST_FAILED) {
        return (wisp_status)r->error;
    }
    if (r->state == ST_TRAILER && r->col == 0 && !r->cr) {
        /* "0\r\n" then close, without the final empty line: the body is
         * whole; only the connection cannot be reused. */
        r->keep_alive = false;
    } else if (r->state != ST_CLOSE && r->state != ST_DONE) {
        return fail(r, WISP_ERR_CLOSED);
    }
    r->state = ST_DONE;
    out->event = WISP_HTTP_DONE;
    return WISP_OK;
}

/*
 * wisp_http.h - internal: the HTTP/1.x response reader.
 *
 * A resumable state machine fed bytes split at any boundary.  It keeps one
 * header line at a time in a borrowed buffer; body bytes are handed back as
 * spans of the caller's input (zero copy), with chunked framing removed.
 *
 * What it accepts:
 *  - status line "HTTP/1." DIGIT SP 3DIGIT, then SP and a reason phrase of
 *    any length, or the end of the line.  Status 100..999; 1xx interim
 *    responses (100, 103, ...) are skipped with their headers; 101 is
 *    WISP_ERR_HTTP (wisp never asks to switch protocols).  Bytes that cannot
 *    start such a line fail at once, without waiting for more input.
 *  - lines end in CRLF or a bare LF; a CR not followed by LF is an error.
 *  - header names are tokens, matched case-insensitively; values have
 *    SP/HTAB trimmed.  No colon, whitespace before the colon, an empty name
 *    or a control byte (other than HTAB) anywhere: WISP_ERR_HTTP.
 *  - obs-fold lines (starting with SP/HTAB) are dropped: the line buffer
 *    holds only the current line, the previous one is already interpreted,
 *    and no current server folds.  Dropping a continuation of a field that
 *    frames or decodes the body (Content-Length, Transfer-Encoding,
 *    Content-Encoding) could desynchronise us, so that one is WISP_ERR_HTTP.
 *  - a header line longer than the buffer is skipped unless wisp reads that
 *    field: then WISP_ERR_TOO_LARGE, except x-request-id, which is kept cut
 *    (request_id_truncated).
 */
#ifndef WISP_HTTP_H
#define WISP_HTTP_H

#include "wisp.h"

/* Lines in the response head, status lines of 1xx interim responses
 * included; more is WISP_ERR_TOO_LARGE.  Default 128, range 16..65535. */
#ifndef WISP_HTTP_MAX_HEADER_LINES
#define WISP_HTTP_MAX_HEADER_LINES 128
#endif

/* Bytes in the response head (1xx heads included), in one chunk-size line,
 * and in the last chunk plus trailer section; more is WISP_ERR_TOO_LARGE.
 * Bounds what a server can make us read before a body byte, however long
 * the skipped lines.  Default 65536, range 1024..0x7fffffff. */
#ifndef WISP_HTTP_MAX_HEAD_BYTES
#define WISP_HTTP_MAX_HEAD_BYTES 65536u
#endif

typedef enum wisp_body_mode {
    WISP_BODY_NONE,    /* 204, 304, or Content-Length: 0 */
    WISP_BODY_LENGTH,  /* Content-Length */
    WISP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    WISP_BODY_CLOSE    /* until the server closes the connection */
} wisp_body_mode;

typedef enum wisp_http_event {
    WISP_HTTP_NEED_MORE, /* all input consumed, feed more */
    WISP_HTTP_HEADERS,   /* final (non-1xx) head complete: fields valid */
    WISP_HTTP_BODY,      /* body span in out->body / out->body_len (>= 1) */
    WISP_HTTP_DONE       /* response complete; later bytes are not ours */
} wisp_http_event;

typedef struct wisp_http_out {
    wisp_http_event event;
    const uint8_t *body; /* inside the input given to wisp_http_feed */
    size_t body_len;
} wisp_http_out;

typedef struct wisp_http_reader {
    /* borrowed line buffer */
    uint8_t *line;
    size_t line_cap;
    size_t line_len;

    /* parser state (private) */
    uint64_t remaining;    /* body or chunk bytes left */
    uint32_t col;          /* bytes of the current line so far */
    uint32_t name_len;     /* bytes before the colon; 0 while in the name */
    uint32_t count;        /* bytes against WISP_HTTP_MAX_HEAD_BYTES */
    uint16_t lines;        /* head lines against WISP_HTTP_MAX_HEADER_LINES */
    uint16_t code;         /* status code being read */
    uint8_t state;
    uint8_t error;         /* sticky wisp_status once failed */
    uint8_t field;         /* which field the current line is */
    uint8_t chunk_digits;  /* significant hex digits of the chunk size */
    bool cr;               /* a CR was seen; only LF may follow */
    bool skip_line;        /* rest of an over-long, unneeded line is dropped */
    bool fold;             /* the current line is an obs-fold continuation */
    bool interim;          /* inside a 1xx head: fields are not used */
    bool te_chunked;
    bool te_seen;          /* a Transfer-Encoding field, even an empty one */
    bool conn_close;
    bool conn_keep_alive;
    bool has_retry_after_ms; /* retry-after-ms wins over Retry-After */
    bool has_retry_date;     /* Retry-After was an HTTP-date */
    bool has_date;           /* a valid Date field */
    int32_t retry_day, date_day; /* days since 1970-01-01 */
    int32_t retry_sec, date_sec; /* seconds into that day */

    /* results, valid from WISP_HTTP_HEADERS on (status also on errors after
     * the status line) */
    int status;           /* e.g. 200 */
    int minor_version;    /* 0 or 1 (any digit) */
    wisp_body_mode body_mode;
    uint64_t content_length;
    bool has_content_length;
    bool keep_alive;         /* the connection may carry another request */
    bool is_event_stream;    /* Content-Type: text/event-stream */
    bool is_json;            /* Content-Type: application/json (or +json) */
    bool has_content_type;
    /* Retry-After delta-seconds, or an HTTP-date (any of RFC 9110's three
     * forms) taken as its distance from the reply's own Date field (no
     * wall clock needed; without Date it is ignored, and a date in the
     * past is 0), or retry-after-ms (decimal, rounded up), which wins; at
     * most UINT32_MAX ms. */
    uint32_t retry_after_ms;
    /* Keep-Alive: timeout=N (seconds the server keeps an idle connection
     * open), 0 when not given; at most 86400. */
    uint32_t keep_alive_timeout_s;
    char request_id[WISP_REQUEST_ID_CAP]; /* x-request-id, else
                                             x-oneapi-request-id; cut to
                                             fit at a UTF-8 boundary,
                                             NUL-terminated */
    bool request_id_truncated;
    bool request_id_primary; /* x-request-id seen: it wins */
} wisp_http_reader;

/* line_buf holds one header line; lines longer than it are skipped when
 * wisp does not need them, else WISP_ERR_TOO_LARGE.  It is used only until
 * WISP_HTTP_HEADERS: from then on the caller may reuse it (for the body).  The longest field wisp
 * needs is "transfer-encoding: " plus its value: 64 bytes is a sane minimum,
 * 256 a comfortable one. */
void wisp_http_reader_init(wisp_http_reader *r, uint8_t *line_buf,
                           size_t line_cap);

/*
 * Feeds len bytes (len 0 is legal).  Stops at the first thing to report:
 * *used tells how many bytes were consumed; call again with the rest.
 * Returns WISP_OK with out->event set:
 *   NEED_MORE  *used == len; nothing to report.
 *   HEADERS    once, when the final head is complete.
 *   BODY       a non-empty span of in; zero copy.
 *   DONE       the response is complete; *used bytes were ours, the rest
 *              are not.  Repeated (with *used 0) on every later call.
 * DONE is never held back waiting for input: with no body it comes on the
 * call after HEADERS; with Content-Length, on the call after the BODY span
 * that completes it (len may be 0); with chunked framing, in the same call
 * that consumes the final line end.  So the caller feeds until DONE or
 * NEED_MORE.
 * Errors: WISP_ERR_HTTP (malformed), WISP_ERR_TOO_LARGE (a needed header
 * line longer than the buffer, or too many head lines or bytes),
 * WISP_ERR_UNSUPPORTED (a Content-Encoding or Transfer-Encoding wisp
 * cannot decode), WISP_ERR_ARG (NULL arguments; the reader is unchanged).
 * After any other error the reader stays failed and returns it again.
 */
wisp_status wisp_http_feed(wisp_http_reader *r, const uint8_t *in, size_t len,
                           size_t *used, wisp_http_out *out);

/*
 * The peer closed the connection.  WISP_OK with out->event WISP_HTTP_DONE
 * when the body runs until close or was already complete; WISP_ERR_CLOSED
 * when the response was not complete (including nothing received at all);
 * the sticky error when the reader had failed.
 */
wisp_status wisp_http_finish(wisp_http_reader *r, wisp_http_out *out);

#endif /* WISP_HTTP_H */

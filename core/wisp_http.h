/*
 * wisp_http.h - internal: the HTTP/1.x response reader.
 *
 * A resumable state machine fed bytes split at any boundary.  It keeps one
 * header line at a time in a borrowed buffer; body bytes are handed back as
 * spans of the caller's input (zero copy), with chunked framing removed.
 */
#ifndef WISP_HTTP_H
#define WISP_HTTP_H

#include "wisp.h"

typedef enum wisp_body_mode {
    WISP_BODY_NONE,    /* 204, 304, or Content-Length: 0 */
    WISP_BODY_LENGTH,  /* Content-Length */
    WISP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    WISP_BODY_CLOSE    /* until the server closes the connection */
} wisp_body_mode;

typedef enum wisp_http_event {
    WISP_HTTP_NEED_MORE, /* all input consumed, feed more */
    WISP_HTTP_HEADERS,   /* final (non-1xx) head complete: fields valid */
    WISP_HTTP_BODY,      /* body span in out->body / out->body_len */
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
    int state;
    bool skip_line;       /* rest of an over-long, unneeded line is dropped */
    uint64_t remaining;   /* body or chunk bytes left */
    uint32_t chunk_digits;

    /* results, valid from WISP_HTTP_HEADERS on */
    int status;           /* e.g. 200 */
    int minor_version;    /* 0 or 1 */
    wisp_body_mode body_mode;
    uint64_t content_length;
    bool has_content_length;
    bool keep_alive;         /* the connection may carry another request */
    bool is_event_stream;    /* Content-Type: text/event-stream */
    bool is_json;            /* Content-Type: application/json (or +json) */
    bool has_content_type;
    uint32_t retry_after_ms; /* Retry-After (seconds) or retry-after-ms */
    char request_id[WISP_REQUEST_ID_CAP]; /* x-request-id, cut to fit */
    bool request_id_truncated;
} wisp_http_reader;

/* line_buf holds one header line; lines longer than it are skipped when
 * wisp does not need them, else WISP_ERR_TOO_LARGE. */
void wisp_http_reader_init(wisp_http_reader *r, uint8_t *line_buf,
                           size_t line_cap);

/*
 * Feeds len bytes.  Stops at the first thing to report: *used tells how many
 * bytes were consumed (call again with the rest).  Returns WISP_OK with
 * out->event set, or WISP_ERR_HTTP (malformed), WISP_ERR_TOO_LARGE (a
 * needed header line longer than the buffer), WISP_ERR_UNSUPPORTED
 * (a Content-Encoding or Transfer-Encoding wisp cannot decode).  After an
 * error the reader stays failed.
 */
wisp_status wisp_http_feed(wisp_http_reader *r, const uint8_t *in, size_t len,
                           size_t *used, wisp_http_out *out);

/*
 * The peer closed the connection.  WISP_OK with out->event WISP_HTTP_DONE
 * when the body runs until close; WISP_ERR_CLOSED when the response was
 * not complete (including nothing received at all).
 */
wisp_status wisp_http_finish(wisp_http_reader *r, wisp_http_out *out);

#endif /* WISP_HTTP_H */

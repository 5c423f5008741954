/*
 * wisp_sse.h - internal: the server-sent events decoder.
 *
 * A resumable state machine after the WHATWG event-stream rules, fed bytes
 * split at any boundary.  It keeps one event's data in a borrowed buffer and
 * nothing else: comment, id, retry and unknown lines are skipped whatever
 * their length.  Lines end in LF, CR or CRLF (a CR and LF split across two
 * feeds are one line end); a UTF-8 BOM at the very start is skipped.
 *
 * Besides standard events it reports llama.cpp's non-standard `error: {...}`
 * line (field name "error") on its own, as WISP_SSE_ERROR_LINE.
 */
#ifndef WISP_SSE_H
#define WISP_SSE_H

#include "wisp.h"

typedef enum wisp_sse_kind {
    WISP_SSE_NEED_MORE,  /* all input consumed; nothing to report */
    WISP_SSE_EVENT,      /* an event with at least one data line */
    WISP_SSE_ERROR_LINE  /* an `error:` line; data is its value */
} wisp_sse_kind;

typedef struct wisp_sse_out {
    wisp_sse_kind kind;
    const char *data; /* inside the decoder's buffer, not NUL-terminated;
                         valid until the next feed or finish */
    size_t len;
    bool error_event; /* the event had `event: error` */
} wisp_sse_out;

typedef struct wisp_sse {
    /* borrowed data buffer: bounds the largest event (and error line) */
    uint8_t *buf;
    size_t cap;
    size_t len;        /* data bytes of the event being built */

    /* parser state (private) */
    uint8_t state;
    uint8_t field;     /* what the current line's value is for */
    uint8_t bom_seen;  /* BOM bytes matched at the start of the stream */
    uint8_t name_len;
    char name[5];      /* field name so far; longer names are unknown */
    uint8_t event_match; /* `event:` value compared with "error" so far */
    bool after_cr;     /* a CR ended the last line; a following LF is part */
    bool has_data;     /* the event has at least one data line */
    bool event_error;  /* the event type is "error" */
    size_t line_start; /* len before the current data line (to drop it) */
    size_t err_len;    /* bytes of an error line's value, kept after len */
    wisp_status failed; /* sticky error */
} wisp_sse;

/* Binds the decoder to buf (cap bytes) and resets it. */
void wisp_sse_init(wisp_sse *s, uint8_t *buf, size_t cap);

/*
 * Feeds len bytes and stops at the first event or error line: *used tells
 * how many bytes were consumed (call again with the rest).  WISP_OK with
 * out->kind set (WISP_SSE_NEED_MORE when *used == len and nothing is
 * ready), WISP_ERR_TOO_LARGE when an event's data or an error line does not
 * fit the buffer, WISP_ERR_ARG.  After an error the decoder stays failed.
 */
wisp_status wisp_sse_feed(wisp_sse *s, const uint8_t *in, size_t len,
                          size_t *used, wisp_sse_out *out);

/*
 * End of the body.  An event whose data lines are complete but which lacks
 * the closing blank line is still reported as WISP_SSE_EVENT (some servers
 * end right after `data: [DONE]\n`); a partial last line is dropped.  Else
 * WISP_SSE_NEED_MORE: nothing left.  WISP_OK, or the sticky error.
 */
wisp_status wisp_sse_finish(wisp_sse *s, wisp_sse_out *out);

/*
 * Room in the decoder's buffer behind what `out` reported (an event's data
 * or an error line), free until the next feed or finish: the caller may use
 * it as scratch meanwhile.  Sets *cap (0 when there is none).
 */
char *wisp_sse_spare(const wisp_sse *s, const wisp_sse_out *out, size_t *cap);

#endif /* WISP_SSE_H */

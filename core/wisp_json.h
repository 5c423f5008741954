/*
 * wisp_json.h - internal: JSON reading over jsmn tokens, string unescape,
 * and the caller's text buffers.
 */
#ifndef WISP_JSON_H
#define WISP_JSON_H

#include "wisp.h"

/* Receives complete, valid UTF-8 characters (never half of one).  Return
 * non-zero to stop: the producer then returns WISP_ERR_CANCELLED. */
typedef int (*wisp_emit_fn)(void *ctx, const char *s, size_t n);

/* ---- caller text buffers ---- */

/* Empties t (len, full_len, truncated) and NUL-terminates it. */
void wisp_text_reset(wisp_text *t);
/* Appends whole UTF-8 characters; once one does not fit, stores nothing
 * more, sets truncated and keeps counting full_len.  Always NUL-terminated. */
void wisp_text_append(wisp_text *t, const char *s, size_t n);
/* Copies n bytes into a fixed field of cap bytes, cut at a UTF-8 boundary
 * and NUL-terminated; returns true when it had to cut. */
bool wisp_copy_field(char *dst, size_t cap, const char *src, size_t n);

/* ---- string unescape, resumable across pieces of one text ---- */

typedef struct wisp_unescape {
    uint16_t high;       /* a high surrogate waiting for its low half */
    uint8_t part[4];     /* raw bytes of a UTF-8 character cut short */
    uint8_t part_len;
} wisp_unescape;

void wisp_unescape_init(wisp_unescape *u);
/*
 * Unescapes src (the bytes between the quotes of one JSON string) and emits
 * UTF-8.  With more = true, a high surrogate or an incomplete UTF-8
 * sequence at the very end is kept in u and joined with the start of the
 * next piece (streamed deltas split an emoji this way); a surrogate that
 * stays alone becomes U+FFFD, and so does invalid UTF-8.  Returns WISP_OK,
 * WISP_ERR_JSON (invalid escape), WISP_ERR_CANCELLED (emit said stop).
 */
wisp_status wisp_unescape_feed(wisp_unescape *u, const char *src, size_t n,
                               bool more, wisp_emit_fn emit, void *ctx);
/* Flushes anything kept (as U+FFFD). */
wisp_status wisp_unescape_finish(wisp_unescape *u, wisp_emit_fn emit,
                                 void *ctx);

/* ---- tokens ---- */

/* Tokenizes one complete JSON text with jsmn (strict, parent links).
 * WISP_OK with *count tokens, WISP_ERR_JSON, WISP_ERR_TOO_COMPLEX. */
wisp_status wisp_json_tokenize(const char *js, size_t len, wisp_token *toks,
                               size_t cap, int *count);
/* Index of the token after the subtree rooted at i. */
int wisp_json_skip(const wisp_token *toks, int count, int i);
/* Index of the value for key in the object at obj, or -1. */
int wisp_json_find(const char *js, const wisp_token *toks, int count, int obj,
                   const char *key);
/* True when token i is a string equal to s. */
bool wisp_json_eq(const char *js, const wisp_token *t, const char *s);
/* Reads a non-negative integer primitive (checked, no overflow). */
bool wisp_json_u32(const char *js, const wisp_token *t, uint32_t *out);
bool wisp_json_i64(const char *js, const wisp_token *t, int64_t *out);
/* Copies a string (unescaped) or a number primitive into a fixed field;
 * sets *cut when it had to cut.  WISP_OK or WISP_ERR_JSON. */
wisp_status wisp_json_field(const char *js, const wisp_token *t, char *dst,
                            size_t cap, bool *cut);
/* Reads a usage object at index i into u. */
wisp_status wisp_json_usage(const char *js, const wisp_token *toks, int count,
                            int i, wisp_usage *u);

/* ---- whole documents ---- */

/*
 * A non-streamed chat.completion body: id, model, created,
 * choices[0].message.{role, content, reasoning_content|reasoning},
 * choices[0].finish_reason, usage.  Content and reasoning go into
 * resp->content / resp->reasoning.  A body that is an error object fills
 * resp->error_* and returns WISP_ERR_API.  WISP_OK, WISP_ERR_JSON,
 * WISP_ERR_TOO_COMPLEX, WISP_ERR_API.
 */
wisp_status wisp_json_read_completion(const char *js, size_t len,
                                      wisp_token *toks, size_t ntoks,
                                      wisp_response *resp);

/*
 * An error body in any shape seen in the wild: {"error": {"message", "type",
 * "code", "param"}} (code string or number), {"error": "text", "message":
 * "..."}, Gemini's [{"error": {...}}], {"message": "..."}, {"detail": "..."}.
 * WISP_OK when an error was found and resp->error_* filled; WISP_ERR_JSON
 * when the text is not JSON or holds no error.
 */
wisp_status wisp_json_read_error(const char *js, size_t len, wisp_token *toks,
                                 size_t ntoks, wisp_response *resp);

/* Fills resp->error_message from a non-JSON body (an HTML page from a
 * proxy): tags dropped, entities &lt; &gt; &amp; &quot; decoded, white space
 * collapsed, cut to fit. */
void wisp_text_from_html(const char *s, size_t n, wisp_response *resp);

#endif /* WISP_JSON_H */

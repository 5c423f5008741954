/*
 * wisp_json.h - internal: JSON reading over jsmn tokens, string unescape,
 * and the caller's text buffers.
 *
 * Only core/wisp_json.c includes jsmn.h; everyone else sees tokens as
 * wisp_token (same layout, checked at compile time) and the WISP_TOK_*
 * types below.
 */
#ifndef WISP_JSON_H
#define WISP_JSON_H

#include "wisp.h"

/* wisp_token.type values (equal to jsmn's JSMN_OBJECT ... JSMN_PRIMITIVE). */
enum {
    WISP_TOK_OBJECT = 1,
    WISP_TOK_ARRAY = 2,
    WISP_TOK_STRING = 3,
    WISP_TOK_PRIMITIVE = 4 /* number, true, false or null */
};

/* Receives complete, valid UTF-8 characters (never half of one).  Return
 * non-zero to stop: the producer then returns WISP_ERR_CANCELLED. */
typedef int (*wisp_emit_fn)(void *ctx, const char *s, size_t n);

/* ---- caller text buffers ---- */

/* Empties t (len, full_len, truncated) and NUL-terminates it. */
void wisp_text_reset(wisp_text *t);
/* Appends whole UTF-8 characters; once one does not fit, stores nothing
 * more, sets truncated and keeps counting full_len.  Always NUL-terminated
 * when cap > 0.  Invariants: len < cap (or len == 0 when cap == 0),
 * truncated == (len < full_len), buf holds a prefix of the offered text. */
void wisp_text_append(wisp_text *t, const char *s, size_t n);
/* A wisp_emit_fn that appends to the wisp_text given as ctx; returns 0. */
int wisp_text_emit(void *text, const char *s, size_t n);
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
 * stays alone becomes U+FFFD, and so does invalid UTF-8 (one U+FFFD per
 * maximal subpart).  \u0000 becomes U+FFFD too: a NUL byte would cut C
 * strings short.  With more = false nothing is kept (no need to call
 * wisp_unescape_finish).  Plain text is emitted in runs; an escape does not
 * split the run it sits in unless the run is long.  emit may be NULL
 * (validate only).
 * Returns WISP_OK, WISP_ERR_ARG, WISP_ERR_JSON (invalid or truncated escape,
 * raw control byte; text before it has been emitted), WISP_ERR_CANCELLED
 * (emit said stop).
 */
wisp_status wisp_unescape_feed(wisp_unescape *u, const char *src, size_t n,
                               bool more, wisp_emit_fn emit, void *ctx);
/* Flushes anything kept (as U+FFFD) and resets u.  WISP_OK, WISP_ERR_ARG,
 * WISP_ERR_CANCELLED. */
wisp_status wisp_unescape_finish(wisp_unescape *u, wisp_emit_fn emit,
                                 void *ctx);

/* ---- tokens ---- */

/*
 * Tokenizes one complete JSON text with jsmn (strict, parent links) and
 * then checks the whole grammar jsmn lets slip: commas, colons, one
 * top-level value followed only by white space, literals and numbers, raw
 * control bytes in strings.  A bare top-level number is refused (jsmn
 * needs a delimiter after a primitive); replies are objects or arrays.
 * WISP_OK with *count >= 1 tokens, WISP_ERR_ARG, WISP_ERR_JSON,
 * WISP_ERR_TOO_COMPLEX (more tokens than cap), WISP_ERR_TOO_LARGE (len
 * beyond INT_MAX).
 */
wisp_status wisp_json_tokenize(const char *js, size_t len, wisp_token *toks,
                               size_t cap, int *count);
/* Index of the token after the subtree rooted at i (for a key: after its
 * value).  Linear in the subtree, no recursion.  count when i is out of
 * range. */
int wisp_json_skip(const wisp_token *toks, int count, int i);
/* Index of the value for key in the object at obj, or -1 (also when obj is
 * not an object).  The first of duplicate keys wins; escaped keys match. */
int wisp_json_find(const char *js, const wisp_token *toks, int count, int obj,
                   const char *key);
/* True when token t is a string equal to s (after unescaping). */
bool wisp_json_eq(const char *js, const wisp_token *t, const char *s);
/* True when token t is the literal null. */
bool wisp_json_is_null(const char *js, const wisp_token *t);
/* Reads an integer primitive (no fraction, no exponent, no overflow;
 * u32: not negative).  False and *out untouched otherwise. */
bool wisp_json_u32(const char *js, const wisp_token *t, uint32_t *out);
bool wisp_json_i64(const char *js, const wisp_token *t, int64_t *out);
/* Copies a string (unescaped) or a number primitive (its text) into a
 * fixed field; null gives an empty field.  Sets *cut (never clears it) when
 * it had to cut.  WISP_OK, or WISP_ERR_JSON for true/false, objects and
 * arrays (dst then empty). */
wisp_status wisp_json_field(const char *js, const wisp_token *t, char *dst,
                            size_t cap, bool *cut);
/* Reads a usage object at index i into u (all fields replaced, present set;
 * missing counts are 0).  null leaves u untouched.  A count that is not a
 * 32-bit non-negative integer (null, 1.5, -1, true) reads as 0.  WISP_OK,
 * WISP_ERR_ARG, or WISP_ERR_JSON when usage, a details object or a count is
 * a string, object or array (u untouched). */
wisp_status wisp_json_usage(const char *js, const wisp_token *toks, int count,
                            int i, wisp_usage *u);

/* ---- whole documents ---- */

/*
 * A non-streamed chat.completion body: id, model, created,
 * choices[0].message.{role, content, reasoning_content|reasoning},
 * choices[0].finish_reason, usage.  Content and reasoning go into
 * resp->content / resp->reasoning (reset first); content may also be an
 * array of {"type": "text", "text": ...} parts.  Missing or null content
 * sets resp->content_null.  A non-integer "created" reads as 0.  Unknown
 * fields are skipped.  A body holding "error" (object or string), or
 * vLLM's {"object": "error", ...}, fills resp->error_* and returns
 * WISP_ERR_API.  Cut fixed fields set
 * resp->fields_truncated.  WISP_OK, WISP_ERR_ARG, WISP_ERR_JSON (also for a
 * known field of the wrong type), WISP_ERR_TOO_COMPLEX, WISP_ERR_TOO_LARGE,
 * WISP_ERR_API.  On an error, fields read before it stay filled.
 */
wisp_status wisp_json_read_completion(const char *js, size_t len,
                                      wisp_token *toks, size_t ntoks,
                                      wisp_response *resp);

/*
 * An error body in any shape seen in the wild: {"error": {"message", "type",
 * "code", "param"}} (code string or number; Gemini's "status" stands in for
 * a missing type), {"error": "text", "message": "..."} (the string becomes
 * error_type, or error_message when there is no message), Gemini's
 * [{"error": {...}}], {"errors": [{...}]} and {"error": [{...}]} (first
 * element), {"message": "..."} (vLLM adds "object": "error", "type",
 * "code"), {"detail": "..."} and FastAPI's {"detail": [{"msg": ...}]}.
 * Fields of unexpected types are left empty.
 * WISP_OK when an error was found and resp->error_* filled (message may be
 * empty when "error" exists without one); WISP_ERR_JSON when the text is
 * not JSON or holds no error; WISP_ERR_ARG, WISP_ERR_TOO_COMPLEX,
 * WISP_ERR_TOO_LARGE.
 */
wisp_status wisp_json_read_error(const char *js, size_t len, wisp_token *toks,
                                 size_t ntoks, wisp_response *resp);

/* Fills resp->error_message from a non-JSON body.  A body whose first
 * non-blank byte is '<' is HTML (a proxy's error page): tags, comments and
 * the contents of <script> and <style> dropped, entities &lt; &gt; &amp;
 * &quot; &apos; &nbsp; and &#NN; / &#xHH; decoded.  Any body: white space
 * collapsed to single spaces and trimmed, control bytes dropped, invalid
 * UTF-8 turned into U+FFFD, cut at a character boundary (sets
 * resp->fields_truncated). */
void wisp_text_from_html(const char *s, size_t n, wisp_response *resp);

#endif /* WISP_JSON_H */

/*
 * wisp_json.h - internal: JSON reading over jsmn tokens and the reader of
 * error bodies.
 *
 * Only core/wisp_json.c includes jsmn.h; everyone else sees tokens as
 * wisp_token (same layout, checked at compile time) and the WISP_TOK_*
 * types below.
 */
#ifndef WISP_JSON_H
#define WISP_JSON_H

#include "wisp.h"
#include "wisp_text.h"

/* Keeps a rarely taken path's locals out of its caller's frame (GCC and
 * Clang inline static functions called once): stack is budgeted. */
#if defined(__GNUC__) || defined(__clang__)
#define WISP_NOINLINE __attribute__((noinline))
#else
#define WISP_NOINLINE
#endif

/* wisp_token.type values (equal to jsmn's JSMN_OBJECT ... JSMN_PRIMITIVE). */
enum {
    WISP_TOK_OBJECT = 1,
    WISP_TOK_ARRAY = 2,
    WISP_TOK_STRING = 3,
    WISP_TOK_PRIMITIVE = 4 /* number, true, false or null */
};

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
/* True when s (n bytes) is exactly one well-formed JSON value, white space
 * around it allowed, nesting at most max_depth (<= 64) deep, strings valid
 * UTF-8.  Needs no token array and no recursion: for text the caller
 * passes through as it is (a tool's JSON Schema). */
bool wisp_json_valid(const char *s, size_t n, unsigned max_depth);

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
/* The same for the n bytes between a string's quotes, found without
 * tokens (the model list's splitter reads keys as they stream by). */
bool wisp_json_text_eq(const char *raw, size_t n, const char *s);
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
/* Reads a usage object at index i into u (all fields replaced, present
 * set).  A count is marked present (has_*) only when it is an integer in
 * 0..2^32-1; anything else there (missing, null, a string, -1, 1.5, 1e3,
 * 2^32, a details member that is not an object) is absent and 0.  null
 * leaves u untouched.  WISP_OK, WISP_ERR_ARG, or WISP_ERR_JSON when usage
 * itself is not an object (u untouched). */
wisp_status wisp_json_usage(const char *js, const wisp_token *toks, int count,
                            int i, wisp_usage *u);

/* ---- error bodies: the one reader ---- */

/*
 * An error in any shape seen in the wild, in a tokenized document:
 * {"error": {"message", "type", "code", "param"}} (code string or number;
 * Gemini's "status" stands in for a missing type; a message that is itself
 * an object, Mistral's 422, gives its detail), {"error": "text",
 * "message": "..."} (the string becomes error_type, or error_message when
 * there is no message), Gemini's [{"error": {...}}], {"errors": [{...}]}
 * and {"error": [{...}]} (first element), {"message": "..."} (vLLM adds
 * "object": "error", "type", "code"), {"detail": "..."} and FastAPI's
 * {"detail": [{"msg": ...}]}.  Fields of unexpected types are left empty.
 * True when one was found and resp->error_* filled (the message may be
 * empty); false leaves them empty.
 */
bool wisp_error_from_tokens(const char *js, const wisp_token *toks, int count,
                            wisp_response *resp);

/* When the error has no words yet (no message, type or code): the text
 * itself, as one clean line (wisp_html_to_text), so a person sees what the
 * server said. */
void wisp_error_fallback(const char *text, size_t len, wisp_response *resp);

/*
 * Any error text: a non-2xx body, an `error:` line or `event: error` data
 * of a stream, a page where JSON was due.  An SSE body ("data: {...}")
 * gives its first data line; JSON in a shape above fills resp->error_*;
 * a body cut short (cut: the buffer kept only its start) still gives its
 * "message" when that ended within what was kept; anything else becomes
 * the message as text.  WISP_OK when a JSON error was found, WISP_ERR_JSON
 * when the message is the text itself, WISP_ERR_ARG.
 */
wisp_status wisp_error_read(const char *text, size_t len, bool cut, wisp_token *toks,
                            size_t ntoks, wisp_response *resp);

#endif /* WISP_JSON_H */

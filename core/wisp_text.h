/*
 * wisp_text.h - internal: text as wisp hands it on.  The caller's text
 * buffers, JSON string unescape (resumable across streamed pieces), the one
 * UTF-8 validator and the one case-insensitive compare of core, and the
 * plain-text rendering of HTML error pages.
 *
 * Everything here emits valid UTF-8 only: invalid input becomes U+FFFD,
 * one per maximal subpart (Unicode's recommended practice).
 */
#ifndef WISP_TEXT_H
#define WISP_TEXT_H

#include "wisp.h"

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

/* ---- string unescape, resumable across pieces of one text ---- */

/* wisp_unescape (the carry) is declared in wisp.h: tool-call slots hold one. */
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

/* ---- characters ---- */

/* Length of the valid UTF-8 character at s (n >= 1 bytes available): 1 for
 * ASCII, 2..4 for a complete sequence (no overlong form, no surrogate,
 * nothing above U+10FFFF), 0 when invalid or cut short. */
size_t wisp_utf8_len(const uint8_t *s, size_t n);

/* n, or less when s[0..n) ends inside a UTF-8 character (a valid start of
 * one that runs into the end): where to cut s so no character is split. */
size_t wisp_utf8_whole(const char *s, size_t n);

/* ASCII case-insensitive match of s (n bytes) against lit (lower case,
 * NUL-terminated): 2 when equal, 1 when s is a proper prefix of lit, 0
 * otherwise.  Stops at a NUL in s. */
int wisp_ascii_imatch(const char *s, size_t n, const char *lit);

/* ---- error pages ---- */

/* One line of text from a non-JSON body, into dst (cap bytes, always
 * NUL-terminated when cap > 0).  A body whose first non-blank byte is '<'
 * is HTML (a proxy's error page): tags, comments and the contents of
 * <script> and <style> dropped, entities &lt; &gt; &amp; &quot; &apos;
 * &nbsp; and &#NN; / &#xHH; decoded.  Any body: white space collapsed to
 * single spaces and trimmed, control bytes dropped, invalid UTF-8 turned
 * into U+FFFD, cut at a character boundary.  Returns true when it cut.
 * Built with WISP_HTML 0, HTML is kept as it is (tags and entities as
 * text), the rest the same. */
bool wisp_html_to_text(const char *s, size_t n, char *dst, size_t cap);

#endif /* WISP_TEXT_H */

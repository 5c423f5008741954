/*
 * wisp_config.h - compile-time defaults.
 *
 * Every option is #ifndef-guarded: define it on the compiler command line, or
 * name your own header with -DWISP_CONFIG_FILE='"my_wisp_config.h"' and it is
 * included first.  Ranges are what the code is tested with.
 */
#ifndef WISP_CONFIG_H
#define WISP_CONFIG_H

#ifdef WISP_CONFIG_FILE
#include WISP_CONFIG_FILE
#endif

/* Bytes of the work buffer set aside for receiving from the transport.  The
 * rest holds one header line, one SSE event or a non-streamed body.
 * Default 256, range 16..4096; must be smaller than half the work buffer. */
#ifndef WISP_RX_CHUNK
#define WISP_RX_CHUNK 256
#endif

/* Sizes (including the NUL) of the fixed text fields in wisp_response.
 * Longer values are cut at a UTF-8 boundary and flagged in
 * wisp_response.fields_truncated. */
#ifndef WISP_ID_CAP
#define WISP_ID_CAP 96 /* id, 16..1024 */
#endif
#ifndef WISP_MODEL_CAP
#define WISP_MODEL_CAP 64 /* model, 16..1024 */
#endif
#ifndef WISP_FINISH_CAP
#define WISP_FINISH_CAP 24 /* finish_reason, 16..256 */
#endif
#ifndef WISP_ROLE_CAP
#define WISP_ROLE_CAP 16 /* role, 16..64 */
#endif
#ifndef WISP_REQUEST_ID_CAP
#define WISP_REQUEST_ID_CAP 72 /* x-request-id header, 16..1024 */
#endif
#ifndef WISP_ERROR_MESSAGE_CAP
#define WISP_ERROR_MESSAGE_CAP 256 /* API or HTML error text, 32..4096 */
#endif
#ifndef WISP_ERROR_FIELD_CAP
#define WISP_ERROR_FIELD_CAP 48 /* error type, code, param, 16..256 */
#endif
#ifndef WISP_TLS_DETAIL_CAP
#define WISP_TLS_DETAIL_CAP 160 /* TLS error / cert reason, 32..1024 */
#endif

/* Tool calls in a reply: the id and the function name of each call, cut to
 * fit at a UTF-8 boundary (resp->fields_truncated).  Ids are short
 * ("call_" and 24 characters at OpenAI, 9 at Mistral); names are the
 * caller's own. */
#ifndef WISP_TOOL_ID_CAP
#define WISP_TOOL_ID_CAP 64 /* 16..1024 */
#endif
#ifndef WISP_TOOL_NAME_CAP
#define WISP_TOOL_NAME_CAP 72 /* 16..256; OpenAI allows 64 characters */
#endif
/* Deepest nesting a tool's parameters schema may have; deeper is refused
 * before anything is sent. */
#ifndef WISP_TOOL_SCHEMA_DEPTH
#define WISP_TOOL_SCHEMA_DEPTH 32 /* 1..64 */
#endif

/* ---- features -------------------------------------------------------------
 * Each is 1 (built in) by default; 0 leaves its code out of the image.  A
 * request that needs a feature left out is refused with
 * WISP_ERR_UNSUPPORTED before anything is sent; what a reply holds of one
 * is counted, never read as something else.  README ("Feature switches")
 * gives each one's flash on Cortex-M4; core/wisp_config_minimal.h turns
 * them all off. */

/* Non-streamed replies (stream false): one chat.completion object read
 * whole from the work buffer.  0: only streamed requests are sent, and a
 * 2xx answered with a JSON object instead of events is
 * WISP_ERR_UNSUPPORTED. */
#ifndef WISP_NONSTREAM
#define WISP_NONSTREAM 1
#endif

/* A portal's or proxy's HTML error page read as one line of text in
 * error_message (tags, scripts and styles dropped, entities decoded).  0:
 * the page is kept as it is, tags included (white space still collapsed,
 * control bytes dropped, cut at a UTF-8 boundary). */
#ifndef WISP_HTML
#define WISP_HTML 1
#endif

/* Error bodies in the shapes of other servers besides OpenAI's
 * {"error": {"message", "type", "code", "param"}}: Gemini's array and
 * "status", {"errors": [...]}, {"error": "text"}, {"message": ...}, vLLM,
 * Mistral's nested detail, FastAPI's {"detail": ...}.  0: OpenAI's shape
 * only; the others keep their text through the fallback below. */
#ifndef WISP_ERROR_SHAPES
#define WISP_ERROR_SHAPES 1
#endif

/* Content as a list of parts: text parts in request messages (parts,
 * part_count), and reply content given as [{"type": "text", ...}]
 * (Mistral, reasoning in "thinking" parts).  0: a message with parts is
 * refused; reply content as a list is WISP_ERR_UNSUPPORTED. */
#ifndef WISP_PARTS
#define WISP_PARTS 1
#endif

/* Image parts in user messages (URLs, and bytes sent as base64 data URLs,
 * read through a callback).  Needs WISP_PARTS. */
#ifndef WISP_IMAGES
#define WISP_IMAGES 1
#endif

/* Tools: their definitions, tool_choice, assistant tool calls and tool
 * results in requests, tool calls in replies.  0: a request with any of
 * them is refused; a reply that still holds calls has tool_calls_dropped
 * set (to 1: they are not read, so not counted). */
#ifndef WISP_TOOLS
#define WISP_TOOLS 1
#endif

/* The request parameters beyond model, messages, max_tokens and
 * max_completion_tokens: temperature, top_p, the penalties, seed, stop,
 * response_format, reasoning_effort, user and the extra params.  0: a
 * request that sets any of them is refused. */
#ifndef WISP_PARAMS
#define WISP_PARAMS 1
#endif

/* Retries with backoff, and the Retry-After header they honour.  0: every
 * call makes one attempt (a dead kept-alive connection is still reopened
 * once) and retry_after_ms stays 0. */
#ifndef WISP_RETRIES
#define WISP_RETRIES 1
#endif

/* The model list (wisp_list_models).  0: it returns WISP_ERR_UNSUPPORTED. */
#ifndef WISP_MODELS
#define WISP_MODELS 1
#endif

/* wisp_strerror's one-line texts.  0: it returns one fixed text saying
 * that names are left out; the status values are the same. */
#ifndef WISP_STATUS_NAMES
#define WISP_STATUS_NAMES 1
#endif

#if WISP_IMAGES && !WISP_PARTS
#error "WISP_IMAGES needs WISP_PARTS (images are parts of a message)"
#endif

/* wisp_request_check names the field and the fault in *why ("stop: more
 * than four strings"); 0 leaves the text out (about 1.8 KB of flash) and
 * *why is "".  Default 1. */
#ifndef WISP_CHECK_REASONS
#define WISP_CHECK_REASONS 1
#endif

/* Default timeouts in milliseconds (0 in wisp_config selects these).
 * Ranges: connect 100..600000, read 100..3600000, total 1000..86400000. */
#ifndef WISP_DEFAULT_CONNECT_TIMEOUT_MS
#define WISP_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#endif
#ifndef WISP_DEFAULT_READ_TIMEOUT_MS
#define WISP_DEFAULT_READ_TIMEOUT_MS 60000u
#endif
#ifndef WISP_DEFAULT_TOTAL_TIMEOUT_MS
#define WISP_DEFAULT_TOTAL_TIMEOUT_MS 300000u
#endif

/* Retries after the first attempt (connect failure, 408, 409, 429, 5xx),
 * never once content reached the caller.  Default 2, range 0..10. */
#ifndef WISP_DEFAULT_MAX_RETRIES
#define WISP_DEFAULT_MAX_RETRIES 2
#endif
/* First backoff step (100..10000) and the longest single wait (1000..
 * 600000), in ms.  A Retry-After longer than the ceiling is not waited
 * for: the call returns the 429/503 at once. */
#ifndef WISP_RETRY_BASE_MS
#define WISP_RETRY_BASE_MS 500u
#endif
#ifndef WISP_RETRY_MAX_WAIT_MS
#define WISP_RETRY_MAX_WAIT_MS 30000u
#endif

/* A kept-alive connection idle for longer than this is closed before the
 * next request instead of reused: NAT boxes and mobile networks drop idle
 * flows silently, and a request on such a flow would wait a whole read
 * timeout.  Needs the now_ms hook.  Default 60000, range 0 (no limit) ..
 * 3600000. */
#ifndef WISP_KEEPALIVE_MAX_IDLE_MS
#define WISP_KEEPALIVE_MAX_IDLE_MS 60000u
#endif

/* Longest host name accepted in a base URL, plus NUL (RFC 1035: 253).
 * Range 16..254. */
#ifndef WISP_HOST_CAP
#define WISP_HOST_CAP 254
#endif

/* Longest base path kept from the base URL ("/v1beta/openai"), plus NUL.
 * Default 128, range 8..1024.  The HTTP reader's own limits (header lines,
 * head bytes) are in wisp_http.h, the TLS ones in wisp_tls.h. */
#ifndef WISP_PATH_CAP
#define WISP_PATH_CAP 128
#endif

/* After data: [DONE], how long to wait for the rest of the body so that
 * the connection can be reused (the text is complete either way).
 * Default 2000, range 0..60000. */
#ifndef WISP_DRAIN_AFTER_DONE_MS
#define WISP_DRAIN_AFTER_DONE_MS 2000u
#endif

#endif /* WISP_CONFIG_H */

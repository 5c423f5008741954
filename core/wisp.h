/*
 * wisp.h - the one public header of wisp, a small heap-free client for
 * OpenAI-compatible chat-completions APIs.
 *
 * Memory: wisp never allocates.  The caller lends a work buffer, a token
 * array and output buffers; every size is explicit.  Strings in the request
 * are borrowed for the duration of a call only.
 *
 * Errors: every public function returns a wisp_status; wisp_strerror() names
 * each one.  Details a person needs (HTTP status, API message, TLS reason)
 * are left in wisp_response.
 */
#ifndef WISP_H
#define WISP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WISP_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes.  One list makes both the enum and wisp_strerror().         */

#define WISP_STATUS_LIST(X)                                                   \
    X(WISP_OK, "ok")                                                          \
    X(WISP_ERR_ARG, "bad argument")                                           \
    X(WISP_ERR_URL, "malformed base URL")                                     \
    X(WISP_ERR_HEADER_VALUE, "a request header holds a control character or is reserved") \
    X(WISP_ERR_UNSUPPORTED, "not supported: an encoding (e.g. gzip) or a TLS option this build lacks") \
    X(WISP_ERR_DNS, "host name could not be resolved")                        \
    X(WISP_ERR_CONNECT, "could not connect to the server")                    \
    X(WISP_ERR_TIMEOUT, "timed out")                                          \
    X(WISP_ERR_IO, "network send or receive failed")                          \
    X(WISP_ERR_CLOSED, "connection closed before the response was complete")  \
    X(WISP_ERR_TLS, "TLS handshake or record failure")                        \
    X(WISP_ERR_CERT, "server certificate not trusted")                        \
    X(WISP_ERR_HTTP, "malformed HTTP response")                               \
    X(WISP_ERR_JSON, "malformed JSON in the response")                        \
    X(WISP_ERR_TOO_LARGE, "line, event or body larger than the work buffer")  \
    X(WISP_ERR_TOO_COMPLEX, "JSON has more tokens than the token array holds") \
    X(WISP_ERR_HTTP_STATUS, "server answered with an HTTP error status")      \
    X(WISP_ERR_API, "API reported an error")                                  \
    X(WISP_ERR_STREAM_TRUNCATED, "stream ended before [DONE] or a finish reason") \
    X(WISP_ERR_CANCELLED, "cancelled by the caller")                          \
    X(WISP_ERR_TOOL_SCHEMA, "a tool's parameters are not one well-formed JSON value, or nest too deep") \
    X(WISP_ERR_SIGNATURE_TOO_LARGE, "a tool call's thought signature is larger than its buffer") \
    X(WISP_ERR_ARENA_FULL, "the history (a conversation or the tool loop's) does not fit its arena")  \
    X(WISP_ERR_TOOL_CALL_CUT, "a tool call did not fit: more calls than slots, or arguments cut") \
    X(WISP_ERR_TOOL_ROUNDS, "the model still called tools after the last allowed round") \
    X(WISP_ERR_REQUEST_JSON, "a response schema or an extra parameter is not one well-formed JSON value, or nests too deep") \
    X(WISP_ERR_IMAGE_READ, "an image's read callback failed; the request was abandoned") \
    X(WISP_ERR_PROXY, "the HTTP proxy refused the tunnel (its status line is in tls_detail)")

typedef enum wisp_status {
#define WISP_X_ENUM(name, text) name,
    WISP_STATUS_LIST(WISP_X_ENUM)
#undef WISP_X_ENUM
    WISP_STATUS_COUNT
} wisp_status;

/* A short English description of a status; never NULL. */
const char *wisp_strerror(wisp_status status);

/* ------------------------------------------------------------------------ */
/* Transport: how wisp reaches the network.                                  */

/*
 * A transport is a table of functions plus an opaque context.  port/posix
 * implements it over BSD sockets and port/mbedtls wraps any transport in TLS.
 * Contract, for every function:
 *
 *  connect(ctx, host, port, timeout_ms)
 *      Open a connection to host (a NUL-terminated name or IP literal,
 *      without brackets) and port.  WISP_OK, or WISP_ERR_DNS,
 *      WISP_ERR_CONNECT, WISP_ERR_TIMEOUT, WISP_ERR_TLS, WISP_ERR_CERT.
 *  send(ctx, buf, len, &sent, timeout_ms)
 *      Send 1..len bytes.  WISP_OK with *sent >= 1, or an error status
 *      (WISP_ERR_TIMEOUT when nothing could be sent in time, WISP_ERR_IO,
 *      WISP_ERR_CLOSED when the peer has gone).  Never WISP_OK with 0.
 *  recv(ctx, buf, cap, &got, timeout_ms)
 *      Receive 1..cap bytes.  WISP_OK with *got >= 1 for data; WISP_OK with
 *      *got == 0 means the peer closed the connection in an orderly way
 *      (end of stream; never "try again").  WISP_ERR_TIMEOUT when nothing
 *      arrived within timeout_ms; WISP_ERR_CLOSED when the peer reset the
 *      connection; WISP_ERR_IO or WISP_ERR_TLS on other failures.
 *
 * Any call may also return WISP_ERR_CANCELLED when the port offers a way
 * to interrupt it (port/posix: a signal with its cancel flag set).
 * On a kept-alive connection that dies before any byte of the reply, a
 * close (got == 0), WISP_ERR_CLOSED, WISP_ERR_IO or WISP_ERR_TLS makes the
 * client reopen the connection once, silently: map a reset to one of them.
 *  close(ctx)
 *      Close the connection if open; safe to call when closed.
 *
 * A timeout of 0 means "do not wait": return what is ready now.
 */
typedef struct wisp_transport {
    void *ctx;
    wisp_status (*connect)(void *ctx, const char *host, uint16_t port,
                           uint32_t timeout_ms);
    wisp_status (*send)(void *ctx, const uint8_t *buf, size_t len,
                        size_t *sent, uint32_t timeout_ms);
    wisp_status (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *got,
                        uint32_t timeout_ms);
    void (*close)(void *ctx);
    /* Optional: fills a human-readable reason for the last TLS/certificate
     * failure (NUL-terminated) and returns the TLS library's error code;
     * NULL for plain transports. */
    int (*last_error)(void *ctx, char *detail, size_t cap);
} wisp_transport;

/* Platform hooks: a monotonic millisecond clock and a sleep.  Both are
 * optional, but without a clock there is no whole-call timeout, no bound on
 * the wait after [DONE] and no keep-alive idle limit (each read still has
 * its own timeout in the transport); without sleep, retries do not wait.
 * port/posix provides wisp_posix_now_ms and wisp_posix_sleep_ms. */
typedef uint32_t (*wisp_now_fn)(void *ctx);
typedef void (*wisp_sleep_fn)(void *ctx, uint32_t ms);

/* ------------------------------------------------------------------------ */
/* JSON token storage.                                                      */

/* Storage for one JSON token: the size and field offsets of jsmntok_t
 * built with JSMN_PARENT_LINKS (20 bytes on common targets); the tokenizer
 * rewrites each token in this form, so short enums (-fshort-enums, common
 * on bare-metal ARM) are safe.  A reply needs about 40 tokens, a streamed
 * chunk about 30; 64 is a comfortable default. */
typedef struct wisp_token {
    int type, start, end, size, parent;
} wisp_token;

/* ------------------------------------------------------------------------ */
/* Request.                                                                  */

typedef enum wisp_role {
    WISP_ROLE_SYSTEM,
    WISP_ROLE_USER,
    WISP_ROLE_ASSISTANT,
    WISP_ROLE_DEVELOPER,
    WISP_ROLE_TOOL /* a tool's result: content, and tool_call_id */
} wisp_role;

/* A tool call as it goes back to the server, in the assistant message of a
 * history.  Strings are NUL-terminated and borrowed for the call. */
typedef struct wisp_call_ref {
    const char *id;        /* as the server sent it; NULL is sent as "" */
    const char *name;      /* required */
    const char *arguments; /* the JSON text the model produced; NULL: "{}" */
    const char *signature; /* Gemini's thought signature, exactly as it came
                              (Gemini 3 refuses a history without it); NULL:
                              none */
} wisp_call_ref;

/* One part of a message's content (sent as a list of parts): text, an
 * image by URL, or image bytes sent as a data: URL. */
typedef enum wisp_part_type {
    WISP_PART_TEXT,      /* text */
    WISP_PART_IMAGE_URL, /* url: an http(s):// or data: URL, sent as it is */
    WISP_PART_IMAGE      /* bytes (data, or read), base64-encoded on the fly */
} wisp_part_type;

typedef enum wisp_image_type {
    WISP_IMAGE_UNKNOWN,
    WISP_IMAGE_JPEG, /* image/jpeg */
    WISP_IMAGE_PNG   /* image/png */
} wisp_image_type;

typedef enum wisp_image_detail {
    WISP_DETAIL_UNSET, /* not sent: the server decides */
    WISP_DETAIL_AUTO,
    WISP_DETAIL_LOW,
    WISP_DETAIL_HIGH
} wisp_image_detail;

/* Reads len bytes of an image starting at offset into buf: all of them,
 * or fails (any status but WISP_OK; the call then returns
 * WISP_ERR_IMAGE_READ and closes the connection, the body being cut).  It
 * is called while the body is sent, once per attempt (a retry reads the
 * image again), in pieces of at most the work buffer's size, in order, and
 * must give the same bytes each time: Content-Length was counted from
 * size. */
typedef wisp_status (*wisp_read_fn)(void *ctx, size_t offset, uint8_t *buf, size_t len);

typedef struct wisp_part {
    wisp_part_type type;
    const char *text;            /* WISP_PART_TEXT: NUL-terminated UTF-8 */
    const char *url;             /* WISP_PART_IMAGE_URL */
    wisp_image_type image_type;  /* WISP_PART_IMAGE: JPEG or PNG */
    const uint8_t *data;         /* WISP_PART_IMAGE: size bytes in memory
                                    (flash is fine), or NULL and read */
    size_t size;                 /* WISP_PART_IMAGE: bytes, at least 1 */
    wisp_read_fn read;           /* WISP_PART_IMAGE without data */
    void *read_ctx;
    wisp_image_detail detail;    /* images */
} wisp_part;

typedef struct wisp_message {
    wisp_role role;
    const char *content; /* NUL-terminated UTF-8, any length; NULL is sent
                            as null (an assistant turn of tool calls only,
                            or a message of parts) */
    const wisp_call_ref *tool_calls; /* assistant: the calls it made */
    size_t tool_call_count;
    const char *tool_call_id; /* WISP_ROLE_TOOL: the call this answers */
    /* Content as a list of parts instead (content NULL): text for any role,
     * images in user messages only. */
    const wisp_part *parts;
    size_t part_count;
} wisp_message;

/* A function the model may call.  parameters is JSON Schema as text, so a
 * definition can be a string literal in flash; it must be exactly one
 * well-formed JSON value (checked, WISP_ERR_TOOL_SCHEMA), and is sent as
 * it is. */
typedef struct wisp_tool {
    const char *name;        /* required; a NUL-terminated string */
    const char *description; /* NULL: not sent */
    const char *parameters;  /* NULL: not sent */
    size_t parameters_len;   /* 0: strlen(parameters) */
    /* Optional: the whole "function" object as JSON text, sent as it is
     * (so "strict" and any other field a server takes go through); then
     * description and parameters are not used.  Checked like parameters. */
    const char *function_json;
    size_t function_json_len; /* 0: strlen(function_json) */
} wisp_tool;

typedef enum wisp_tool_choice {
    WISP_TOOL_CHOICE_UNSET,    /* not sent: the server decides (auto) */
    WISP_TOOL_CHOICE_AUTO,
    WISP_TOOL_CHOICE_NONE,
    WISP_TOOL_CHOICE_REQUIRED,
    WISP_TOOL_CHOICE_FUNCTION  /* the one named in tool_choice_name */
} wisp_tool_choice;

/* A name/value pair sent as an extra request header (for example a
 * gateway's routing header).  Neither may hold CR or LF. */
typedef struct wisp_header {
    const char *name;
    const char *value;
} wisp_header;

/* Sampling values are whole thousandths (700 is 0.7), so the request
 * writer does no float arithmetic and a Cortex-M0 or an M4 built without
 * the FPU links no soft-float.  WISP_MILLI(0.7) turns a constant into one
 * at compile time (a variable argument would use float at run time). */
#define WISP_MILLI(x) ((int32_t)((x) * 1000.0 + ((x) < 0 ? -0.5 : 0.5)))

typedef enum wisp_format_type {
    WISP_FORMAT_UNSET,       /* response_format not sent */
    WISP_FORMAT_JSON_OBJECT, /* {"type":"json_object"} */
    WISP_FORMAT_JSON_SCHEMA  /* {"type":"json_schema","json_schema":{...}} */
} wisp_format_type;

typedef struct wisp_response_format {
    wisp_format_type type;
    const char *name;   /* JSON_SCHEMA: required (OpenAI: a-z, A-Z, 0-9, _
                           and -, at most 64) */
    const char *schema; /* JSON_SCHEMA: required, the schema as JSON text,
                           checked to be one JSON value and sent as it is */
    size_t schema_len;  /* 0: strlen(schema) */
    bool has_strict;
    bool strict;
} wisp_response_format;

typedef enum wisp_reasoning_effort {
    WISP_REASONING_UNSET, /* not sent */
    WISP_REASONING_NONE,  /* "none": Gemini and the one-api gateways turn
                             thinking off with it */
    WISP_REASONING_MINIMAL,
    WISP_REASONING_LOW,
    WISP_REASONING_MEDIUM,
    WISP_REASONING_HIGH
} wisp_reasoning_effort;

/* Any other member of the request body: a name and its value as JSON text
 * (checked to be one JSON value; a name may not repeat a member the
 * request already sends). */
typedef struct wisp_param {
    const char *name;
    const char *json;
    size_t json_len; /* 0: strlen(json) */
} wisp_param;

/*
 * Only the fields the caller set are sent: Gemini's endpoint answers 400 to
 * fields it does not know.  A zeroed struct plus model and messages is a
 * valid request.
 */
typedef struct wisp_request {
    const char *model;              /* required */
    const wisp_message *messages;   /* required, message_count >= 1 */
    size_t message_count;
    uint32_t max_tokens;            /* 0: not sent */
    uint32_t max_completion_tokens; /* 0: not sent (newer OpenAI models
                                       take only this one) */
    bool has_temperature;
    int32_t temperature_milli;      /* 0..2000 */
    bool has_top_p;
    int32_t top_p_milli;            /* 0..1000 */
    bool has_presence_penalty;
    int32_t presence_penalty_milli; /* -2000..2000 */
    bool has_frequency_penalty;
    int32_t frequency_penalty_milli; /* -2000..2000 */
    const char *const *stop;        /* stop_count (1..4) non-empty strings */
    size_t stop_count;              /* 0: not sent */
    bool has_seed;
    int64_t seed;
    wisp_response_format response_format;
    wisp_reasoning_effort reasoning_effort;
    const char *user;               /* NULL: not sent */
    const wisp_param *params;       /* param_count extra members */
    size_t param_count;
    /* Sent as the Idempotency-Key header on every attempt of this call
     * (retries included), so a gateway can tell a retry from a new
     * request; NULL: not sent.  Printable ASCII only.  wisp_chat_tools
     * sends it on its first request and "KEY.2", "KEY.3"... on the next
     * rounds (each a new request), made in its arena. */
    const char *idempotency_key;
    /* Ask for a streamed reply on the wire ("stream": true, with
     * include_usage).  The response struct is filled either way; a streamed
     * wire keeps memory bounded whatever the reply length. */
    bool stream;
    const wisp_tool *tools; /* tool_count of them; none: not sent */
    size_t tool_count;
    wisp_tool_choice tool_choice;
    const char *tool_choice_name; /* for WISP_TOOL_CHOICE_FUNCTION */
    bool has_parallel_tool_calls;
    bool parallel_tool_calls;
} wisp_request;

/* ------------------------------------------------------------------------ */
/* Response.                                                                 */

/* A caller-owned text buffer.  Text is always NUL-terminated when cap > 0;
 * when it does not fit it is cut at a UTF-8 character boundary, truncated
 * is set and full_len still counts every byte the server sent. */
typedef struct wisp_text {
    char *buf;       /* caller storage; may be NULL when cap is 0 */
    size_t cap;      /* bytes of storage, including the NUL */
    size_t len;      /* bytes stored, excluding the NUL */
    size_t full_len; /* bytes of the whole text */
    bool truncated;
} wisp_text;

/* Token counts.  present: the reply carried a usage object.  Each count
 * has its own flag: set only when the server sent it as an integer in
 * 0..2^32-1.  A count that is missing, null, another type, negative,
 * fractional, in exponent form or too large is marked absent and reads 0:
 * never a made-up number. */
typedef struct wisp_usage {
    bool present;
    bool has_prompt_tokens;
    bool has_completion_tokens;
    bool has_total_tokens;
    bool has_cached_tokens;
    bool has_reasoning_tokens;
    uint32_t prompt_tokens;
    uint32_t completion_tokens;
    uint32_t total_tokens;
    uint32_t cached_tokens;    /* prompt_tokens_details.cached_tokens */
    uint32_t reasoning_tokens; /* completion_tokens_details.reasoning_tokens */
} wisp_usage;

/* Carry of a JSON string unescaped in pieces (a surrogate pair or UTF-8
 * character split across two deltas).  Private. */
typedef struct wisp_unescape {
    uint16_t high;       /* a high surrogate waiting for its low half */
    uint8_t part[4];     /* raw bytes of a UTF-8 character cut short */
    uint8_t part_len;
} wisp_unescape;

/* One tool call of a reply, in a slot the caller provides.  Before the
 * call set arguments.buf/cap (and signature.buf/cap to keep Gemini's
 * thought signatures; cap 0 drops them); the rest is filled. */
typedef struct wisp_tool_call {
    uint32_t index;      /* the server's index, or the order of arrival */
    char id[WISP_TOOL_ID_CAP];     /* "" when the server sent none */
    char name[WISP_TOOL_NAME_CAP];
    wisp_text arguments; /* the JSON text the model produced, unescaped;
                            cut at a UTF-8 boundary and flagged when it
                            does not fit, full_len counted */
    wisp_text signature; /* extra_content.google.thought_signature (pieces
                            joined); one that does not fit is
                            WISP_ERR_SIGNATURE_TOO_LARGE (a cut signature
                            is useless) */
    bool cut;            /* the id or the name did not fit its field */
    wisp_unescape carry_; /* private */
} wisp_tool_call;

typedef struct wisp_response {
    /* Set by the caller before the call (buffers may have cap 0). */
    wisp_text content;
    wisp_text reasoning; /* reasoning_content / reasoning, kept apart */
    wisp_tool_call *tool_calls; /* slots for tool calls; NULL: none kept */
    size_t tool_call_cap;
    /* Filled by the call: tool calls in the order of their index (slots are
     * sorted at the end of the reply and move with their buffers). */
    size_t tool_call_count;   /* slots filled */
    size_t tool_calls_dropped; /* calls that found no free slot: more came
                                  than tool_call_cap (never silently) */

    /* Filled by the call. */
    bool content_null;    /* a choice came but no content ever did (the
                             server sent "content": null, or none) */
    bool refused;         /* content holds the model's refusal (OpenAI's
                             "refusal" field), not an answer */
    int http_status;      /* 0 when no status line was read */
    char id[WISP_ID_CAP];
    char model[WISP_MODEL_CAP];
    char role[WISP_ROLE_CAP];
    char finish_reason[WISP_FINISH_CAP];
    int64_t created;
    wisp_usage usage;
    char request_id[WISP_REQUEST_ID_CAP]; /* x-request-id response header,
                                             else x-oneapi-request-id */
    /* The reply ended for length with no text and no tool call after the
     * model reasoned (reasoning tokens counted, reasoning text sent, or
     * total_tokens above prompt plus completion, as Gemini counts thoughts):
     * thinking spent the whole budget.  Retry with a lower
     * reasoning_effort or a larger max_completion_tokens. */
    bool reasoning_spent_budget;
    bool fields_truncated; /* a fixed field above was cut to fit */

    /* Why it failed, in words a person can act on. */
    char error_message[WISP_ERROR_MESSAGE_CAP]; /* API message or HTML text */
    char error_type[WISP_ERROR_FIELD_CAP];
    char error_code[WISP_ERROR_FIELD_CAP];      /* string or number, as text */
    char error_param[WISP_ERROR_FIELD_CAP];
    int tls_error;                        /* TLS library's code, 0 if none */
    char tls_detail[WISP_TLS_DETAIL_CAP]; /* e.g. "host name mismatch" */

    uint32_t retry_after_ms; /* from Retry-After / retry-after-ms, 0 if none */
    uint8_t attempts;        /* attempts, retries included; a request
                                resent at once on a fresh connection
                                because the kept one had died is not a
                                second attempt */
} wisp_response;

/* Prepares a response: zeroes it and attaches the caller's text buffers. */
void wisp_response_init(wisp_response *resp, char *content, size_t content_cap,
                        char *reasoning, size_t reasoning_cap);

/* ------------------------------------------------------------------------ */
/* Streaming events.                                                        */

typedef enum wisp_event_type {
    WISP_EVENT_ROLE,      /* text: the role, e.g. "assistant" */
    WISP_EVENT_CONTENT,   /* text: a piece of the reply */
    WISP_EVENT_REASONING, /* text: a piece of the model's reasoning */
    WISP_EVENT_FINISH,    /* text: the finish_reason */
    WISP_EVENT_USAGE,     /* usage: token counts (text is empty) */
    WISP_EVENT_TOOL_CALL  /* a piece of a tool call (see wisp_event) */
} wisp_event_type;

typedef struct wisp_event {
    wisp_event_type type;
    const char *text; /* unescaped UTF-8, not NUL-terminated; valid only
                         during the callback; for WISP_EVENT_TOOL_CALL a
                         piece of the call's arguments (may be empty) */
    size_t len;
    const wisp_usage *usage; /* for WISP_EVENT_USAGE, else NULL */
    /* WISP_EVENT_TOOL_CALL: the call's index, and its id and name as known
     * so far ("" until they come; "" for a call that found no slot); valid
     * only during the callback. */
    uint32_t tool_index;
    const char *tool_id;
    const char *tool_name;
} wisp_event;

/* Called for each event as it arrives.  A long delta may arrive as more than
 * one event of the same type.  Return 0 to go on, non-zero to cancel: the
 * call then returns WISP_ERR_CANCELLED, and a connection with a reply still
 * coming is closed.  The callback must not call wisp_chat or
 * wisp_client_close on the same client. */
typedef int (*wisp_event_fn)(void *user, const wisp_event *event);

/* ------------------------------------------------------------------------ */
/* Client.                                                                   */

/* max_retries value that turns retries off. */
#define WISP_NO_RETRIES (-1)

/*
 * Client configuration.  A zeroed struct plus base_url and transport is a
 * working configuration: every 0 selects the default.  The client keeps a
 * copy of the struct; api_key, headers and transport are borrowed and must
 * stay valid while the client is used (base_url is parsed and copied).
 */
typedef struct wisp_config {
    const char *base_url;   /* e.g. "https://api.evolink.ai/v1" */
    const char *api_key;    /* sent as "Authorization: Bearer"; NULL: none */
    const wisp_transport *transport; /* plain or TLS */
    const wisp_header *headers;      /* extra request headers; not those
                                        wisp writes or that frame the
                                        message (Host, Content-Length,
                                        Transfer-Encoding, Connection, TE,
                                        Expect, ...), nor Authorization
                                        when api_key is set */
    size_t header_count;
    uint32_t connect_timeout_ms; /* TCP + TLS handshake; 0: 10 s default */
    uint32_t read_timeout_ms;    /* idle time per read or send; 0: 60 s */
    uint32_t total_timeout_ms;   /* whole call incl. retries; 0: 300 s */
    int max_retries;             /* 0: WISP_DEFAULT_MAX_RETRIES (2);
                                    WISP_NO_RETRIES; else 1..10 */
    wisp_now_fn now_ms;          /* optional */
    wisp_sleep_fn sleep_ms;      /* optional */
    void *platform_ctx;          /* passed to now_ms and sleep_ms */
    /* The transport reaches a plain-http server through an HTTP proxy
     * (port/proxy's forward mode): the request line then names the whole
     * URL ("POST http://host:port/v1/chat/completions"), as RFC 9112
     * asks of a request to a proxy.  Ignored for https: through a proxy
     * that goes through a CONNECT tunnel below TLS. */
    bool absolute_form;
} wisp_config;

/* Parsed base URL.  Filled by wisp_url_parse; exposed for ports and tests. */
typedef struct wisp_url {
    bool https;
    char host[WISP_HOST_CAP]; /* without brackets for IPv6 literals */
    bool host_is_ipv6;
    uint16_t port;
    char path[WISP_PATH_CAP]; /* base path, "" if none, no trailing slash */
    size_t path_len;
    bool absolute_form; /* request lines carry scheme and authority
                           (wisp_config.absolute_form; not parsed) */
} wisp_url;

/* Parses "http[s]://host[:port][/base/path]" into *out (copies, nothing
 * borrowed).  WISP_OK, WISP_ERR_ARG, WISP_ERR_URL (bad scheme, host, port,
 * characters, or a host or path longer than WISP_HOST_CAP / WISP_PATH_CAP). */
wisp_status wisp_url_parse(const char *url, wisp_url *out);

/* Connection and statistics state; treat the fields as private. */
typedef struct wisp_client {
    wisp_config cfg;
    wisp_url url;
    uint8_t *work;
    size_t work_size;
    wisp_token *tokens;
    size_t token_count;
    bool connected;     /* a kept-alive connection is open */
    uint32_t idle_since; /* now_ms when the kept connection last finished */
    uint32_t server_idle_ms; /* the server's Keep-Alive: timeout, 0: none */
    uint32_t rng;       /* backoff jitter */
    uint32_t connects;  /* connections opened since init */
    uint32_t requests;  /* requests sent since init */
} wisp_client;

/* Minimum work buffer: WISP_RX_CHUNK for receiving plus 512 bytes for a
 * header line or an event.  2..4 KB suit streaming; a non-streamed reply
 * must fit whole in work_size - WISP_RX_CHUNK. */
#define WISP_WORK_MIN (WISP_RX_CHUNK + 512u)

/*
 * Binds a client to its configuration and buffers.  The work buffer holds
 * one response header line, one SSE event, or a whole non-streamed body;
 * 4 KB is plenty for streaming.  Returns WISP_OK, WISP_ERR_ARG (NULL or too
 * small buffer, no transport), WISP_ERR_URL, WISP_ERR_HEADER_VALUE.
 */
wisp_status wisp_client_init(wisp_client *client, const wisp_config *cfg,
                             uint8_t *work, size_t work_size,
                             wisp_token *tokens, size_t token_count);

/*
 * Sends one chat-completions request and reads the reply into resp.  With
 * request->stream the reply arrives as server-sent events, each passed to
 * on_event (may be NULL) as it arrives, and is also assembled into resp.
 * However the reply comes (a stream, one JSON object to a stream request,
 * a reply that was not streamed) on_event gets the same events, and resp
 * holds exactly what they carried: a callback that cancels leaves resp with
 * the text delivered up to then.
 *
 * Retried (up to max_retries, with back-off, honouring Retry-After): a
 * failed connect, and HTTP 408, 409, 429, 5xx; never once text reached the
 * caller.  A kept-alive connection found dead before any reply byte is
 * reopened once without counting as a retry.  On failure resp keeps what
 * arrived (text streamed before a cut, the error details).
 *
 * Returns WISP_OK, or: WISP_ERR_ARG, WISP_ERR_HEADER_VALUE, WISP_ERR_DNS,
 * WISP_ERR_CONNECT, WISP_ERR_TIMEOUT, WISP_ERR_IO, WISP_ERR_CLOSED,
 * WISP_ERR_TLS, WISP_ERR_CERT, WISP_ERR_HTTP, WISP_ERR_JSON,
 * WISP_ERR_TOO_LARGE, WISP_ERR_TOO_COMPLEX, WISP_ERR_HTTP_STATUS (details in
 * resp: http_status, error_*), WISP_ERR_API (200 with an error object),
 * WISP_ERR_STREAM_TRUNCATED, WISP_ERR_CANCELLED, WISP_ERR_UNSUPPORTED,
 * WISP_ERR_TOOL_SCHEMA and WISP_ERR_REQUEST_JSON (before anything is sent),
 * WISP_ERR_SIGNATURE_TOO_LARGE, WISP_ERR_IMAGE_READ.  HTTP 402 (quota or
 * billing, at one-api gateways) is never retried.
 */
wisp_status wisp_chat(wisp_client *client, const wisp_request *request,
                      wisp_response *resp, wisp_event_fn on_event, void *user);

/* Bytes of the JSON body a request would send (what Content-Length says),
 * or 0 when the request is invalid or its body is more than a size_t
 * counts (images of gigabytes on a 32-bit target; wisp_chat refuses it
 * with WISP_ERR_ARG). */
size_t wisp_request_body_size(const wisp_request *request);

/* What wisp_chat checks of the request before it sends anything (besides:
 * an idempotency key may not meet an Idempotency-Key among the client's
 * headers, and the body must be countable): WISP_OK, or
 * WISP_ERR_ARG, WISP_ERR_HEADER_VALUE (the idempotency key),
 * WISP_ERR_TOOL_SCHEMA, WISP_ERR_REQUEST_JSON; *why (may be NULL) then
 * names the field and the fault, for a person ("stop: more than four
 * strings"). */
wisp_status wisp_request_check(const wisp_request *request, const char **why);

/* True when text (len bytes) is exactly one well-formed JSON value, as a
 * schema or an extra parameter must be (nesting at most 32 deep). */
bool wisp_json_is_value(const char *text, size_t len);

/* JPEG or PNG from an image's first bytes (8 are enough), else
 * WISP_IMAGE_UNKNOWN. */
wisp_image_type wisp_image_type_of(const uint8_t *head, size_t len);

/* Closes a kept-alive connection, if any. */
void wisp_client_close(wisp_client *client);

/* ------------------------------------------------------------------------ */
/* Tools.                                                                    */

/*
 * Reads tool definitions in the OpenAI "tools" shape, a JSON array of
 * {"type": "function", "function": {"name", "description", "parameters"}},
 * from text (len bytes), so a device's tools can be one JSON literal or a
 * file.  Names and descriptions are unescaped into store (store_cap bytes,
 * NUL-terminated there); parameters point into text (parameters_len set).
 * toks/ntoks: a token array for the text.  On failure *why says what is
 * wrong, for a person ("element 2: no function.name").  WISP_OK,
 * WISP_ERR_JSON (not JSON, not an array, an element of another shape),
 * WISP_ERR_TOO_COMPLEX (more tokens than ntoks, or more tools than cap),
 * WISP_ERR_TOO_LARGE (the names do not fit store), WISP_ERR_ARG.
 */
wisp_status wisp_tools_from_json(const char *text, size_t len, wisp_token *toks, size_t ntoks,
                                 wisp_tool *tools, size_t cap, size_t *count, char *store,
                                 size_t store_cap, const char **why);

/* What a tool handler says about one call. */
typedef enum wisp_tool_verdict {
    WISP_TOOL_RESULT, /* result[0..*len) is the text the model gets back */
    WISP_TOOL_STOP    /* end the loop now: WISP_ERR_CANCELLED */
} wisp_tool_verdict;

/* Runs one tool call for the loop: writes at most cap bytes of result (its
 * text for the model, often JSON) and sets *len. */
typedef wisp_tool_verdict (*wisp_tool_fn)(void *user, const wisp_tool_call *call,
                                          char *result, size_t cap, size_t *len);

/* The tool loop's state.  Set handler (and user), max_rounds and the arena;
 * the loop fills the rest.  The history (the request's messages, then each
 * assistant turn with its calls and each result) lives in the arena as a
 * wisp_message array plus the text it points to, so it can be sent again:
 * nothing is allocated. */
typedef struct wisp_tool_loop {
    wisp_tool_fn handler;
    void *user;
    unsigned max_rounds; /* requests at most, 1..64; 0: 4.  A tool_choice of
                            required or one function holds for the first
                            request only (then auto), or it could not end */
    void *arena;         /* caller storage, any alignment */
    size_t arena_size;
    /* Filled by wisp_chat_tools. */
    unsigned rounds;            /* requests made */
    wisp_message *messages;     /* the history, inside the arena */
    size_t message_count;
    size_t arena_used;          /* high-water mark, for sizing */
} wisp_tool_loop;

/*
 * Asks, runs the handler for each tool call of the reply, sends the
 * assistant turn and the results back, and asks again, until a reply calls
 * no tool (it is then in resp, as after wisp_chat) or max_rounds requests
 * were made.  resp needs tool-call slots (resp->tool_calls); request->tools
 * says what the model may call.  Returns what wisp_chat returns, or
 * WISP_ERR_TOOL_ROUNDS (the last allowed reply still called tools),
 * WISP_ERR_TOOL_CALL_CUT (a call did not fit its slot: it cannot be run),
 * WISP_ERR_ARENA_FULL (the history outgrew the arena), WISP_ERR_CANCELLED
 * (the handler said stop, or on_event did).  After a failure loop->messages
 * holds the history up to the last whole round.
 */
wisp_status wisp_chat_tools(wisp_client *client, const wisp_request *request,
                            wisp_response *resp, wisp_tool_loop *loop,
                            wisp_event_fn on_event, void *user);

/* ------------------------------------------------------------------------ */
/* Conversations in fixed memory.                                            */

/*
 * A history of turns in a caller's arena: the system message (kept
 * always), then turns, each a user message and what answered it (the
 * assistant's text, or its tool calls, their results and the final text).
 * Text is copied into the arena.  When a turn does not fit, the oldest
 * turns are dropped whole (never the system message, never a call without
 * its result); after each turn the oldest are also dropped until `reserve`
 * bytes are free, so the next turn fits without touching the history
 * before it.  A failed exchange leaves the history as it was before that
 * turn, unless the turn itself was larger than the reserve and had to drop
 * older turns to be sent (turns_dropped counts every drop).  The tool loop
 * (wisp_chat_tools) keeps its history in the same store.
 * Fields are private except the ones marked "read".
 */
typedef struct wisp_conv {
    unsigned char *arena_;
    size_t arena_size_;
    wisp_message *messages; /* read: the history, messages[0] the system
                               message if there is one */
    size_t message_count;   /* read */
    size_t message_cap_;
    size_t *starts_;        /* where each message's bytes begin in the heap */
    size_t heap_, used_;    /* heap offset in the arena, bytes committed */
    size_t pending_;        /* bytes of the turn in progress, after used_ */
    size_t pinned_;         /* leading messages never dropped */
    size_t turn_start_;     /* first message of the turn in progress */
    size_t reserve;         /* bytes kept free after a turn; 0 at init:
                               a quarter of the heap */
    size_t turns_dropped;   /* read: turns dropped since init or reset */
    size_t arena_used;      /* read: high-water mark of the arena */
} wisp_conv;

/* Lays the store out in arena (any alignment): room for max_messages
 * messages (2..65535), the rest for their text.  system (NULL: none) is
 * copied in.  WISP_OK, WISP_ERR_ARG, WISP_ERR_ARENA_FULL. */
wisp_status wisp_conv_init(wisp_conv *conv, void *arena, size_t arena_size,
                           size_t max_messages, const char *system);

/* Back to the system message alone (if any). */
void wisp_conv_reset(wisp_conv *conv);

/*
 * One turn: text (NUL-terminated UTF-8) as the user's message after the
 * history, sent with everything else from request (model, parameters;
 * its messages are not used), the reply read into resp as by wisp_chat
 * (resp->content must have room: the assistant's text is copied from it
 * into the history, cut as resp->content was), and the turn added.  With
 * loop (NULL: none) and request->tools, tool calls are run as by
 * wisp_chat_tools and the calls and results become part of the turn
 * (loop->arena is not used: the conversation's arena holds them).
 * Returns what wisp_chat or wisp_chat_tools returns, or
 * WISP_ERR_ARENA_FULL (the turn alone does not fit; the history is then as
 * it was), or WISP_ERR_ARG (also text inside the conversation's arena,
 * such as a message of its history: copy it out first, it would move).
 */
wisp_status wisp_conv_ask(wisp_client *client, wisp_conv *conv, const wisp_request *request,
                          const char *text, wisp_response *resp, wisp_tool_loop *loop,
                          wisp_event_fn on_event, void *user);

/* ------------------------------------------------------------------------ */
/* Model lists.                                                              */

/* Called for each model of a list, in the list's order.  id is the model's
 * "id", unescaped, NUL-terminated valid UTF-8, valid only during the call;
 * one longer than WISP_MODEL_CAP - 1 bytes is cut at a character boundary
 * and cut is set.  An entry too large for the work buffer, or with more
 * JSON tokens than the token array holds, comes as "" with cut set: a model
 * is there, its id could not be read.  Return non-zero to stop: the call
 * then returns WISP_ERR_CANCELLED.  It must not call wisp_chat,
 * wisp_list_models or wisp_client_close on the same client. */
typedef int (*wisp_model_fn)(void *user, const char *id, bool cut);

/* Bytes a model list needs for one entry at least, beside the id's
 * WISP_MODEL_CAP, in work_size - WISP_RX_CHUNK. */
#define WISP_MODELS_MIN_ENTRY 128u

/*
 * GET {base}/models: each model's id to on_model (NULL: only counted) as
 * the list arrives; *count (may be NULL) is set to the models handed over,
 * on failure too.  The list is read one entry at a time, so a list of any
 * length goes through the same work buffer: one entry (one model's object)
 * must fit in work_size - WISP_RX_CHUNK - WISP_MODEL_CAP bytes and its
 * tokens in the token array (OpenAI's take about 80 bytes and 9 tokens,
 * OpenRouter's about 1.5 KB and 75 to 100).  Members around "data"
 * (one-api's "success", llama.cpp's "models") are skipped; "data": null is
 * an empty list.  The same head, keep-alive, timeouts, retries (never once
 * a model was handed over) and error reading as wisp_chat; a cut id sets
 * resp->fields_truncated.
 * Returns WISP_OK, or: WISP_ERR_ARG (also a work buffer that leaves
 * fewer than WISP_MODELS_MIN_ENTRY bytes for an entry: a WISP_MODEL_CAP
 * above the default needs a larger one), WISP_ERR_HEADER_VALUE, WISP_ERR_DNS,
 * WISP_ERR_CONNECT, WISP_ERR_TIMEOUT, WISP_ERR_IO, WISP_ERR_CLOSED,
 * WISP_ERR_TLS, WISP_ERR_CERT, WISP_ERR_HTTP (a page, or no body),
 * WISP_ERR_JSON (not one JSON object with a "data" array, cut short, an
 * entry that is not an object with a string "id", nesting deeper than
 * WISP_MODELS_MAX_DEPTH, 32), WISP_ERR_TOO_LARGE (a header line),
 * WISP_ERR_HTTP_STATUS (details in resp: http_status, error_*,
 * request_id), WISP_ERR_CANCELLED, WISP_ERR_UNSUPPORTED.
 */
wisp_status wisp_list_models(wisp_client *client, wisp_response *resp,
                             wisp_model_fn on_model, void *user, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* WISP_H */

/*
 * output.h - what wisp-chat writes.
 *
 * stdout: exactly the assistant's text, streamed as it arrives, then one
 * newline; with tool calls, each call as one JSON line after the text.
 * stderr: "wisp-chat: ..." lines.  Text that came from the server is
 * shown there with control bytes as '?' (so a reply cannot drive the
 * terminal) and the API key as "[API key]" (some gateways quote the
 * Authorization header back), the proxy's credentials likewise.
 */
#ifndef WISP_CHAT_OUTPUT_H
#define WISP_CHAT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "proxy.h"
#include "wisp_posix.h"

/* The key to mask in everything shown on stderr (NULL, or one under 8
 * bytes: nothing is masked). */
void output_mask_key(const char *key);

/* Another secret to show as label (a proxy's user, password, Basic
 * value; NULL or under 4 bytes: not masked).  Borrowed. */
void output_mask_secret(const char *secret, const char *label);

/* The proxy in use (NULL, or p->on false: none).  The failure line then
 * names it as HOST:PORT: a refusal is its own line with the proxy's
 * status line, its other reasons are labelled "proxy" rather than
 * "TLS"; forwarding, an HTTP 407 is the proxy's refusal (exit 2). */
void output_use_proxy(const proxy_setting *p);

/* Server text (or the user's: a model name, a host) on stderr, masked. */
void put_server_text(const char *s, size_t len, bool keep_lines);
void put_clean_str(const char *s);

/* The event callback's state for one reply. */
typedef struct chat_state {
    bool print_content;  /* streaming: content goes out as it arrives */
    bool verbose;
    bool printed;        /* some content reached stdout */
    bool reasoning_open; /* reasoning text on stderr without a final \n */
    bool stdout_failed;
    int stdout_errno;    /* why stdout failed, saved when it happened */
} chat_state;

/* For wisp_chat: the text to stdout, -v's reasoning to stderr; stops the
 * call when Ctrl-C was pressed or stdout failed. */
int output_on_event(void *user, const wisp_event *ev);

/*
 * Everything after the call returned st: the end of the text (or the
 * whole text with --no-stream), tool-call lines, -v's metadata, the
 * budget note, the failure line.  transport gives the TLS detail the
 * client did not copy.  Returns the exit code.
 */
int output_reply(const options *o, wisp_status st, wisp_response *resp, chat_state *state,
                 const wisp_posix *posix, const wisp_transport *transport);

/* --list-models: the state of the listing. */
typedef struct models_state {
    size_t cut; /* ids cut to fit (or too large to read: "") */
    bool stdout_failed;
    int stdout_errno;
} models_state;

/* For wisp_list_models: the id as one line on stdout, control bytes as
 * '?' (an id cannot break the one-a-line list or drive the terminal). */
int output_on_model(void *user, const char *id, bool cut);

/* Everything after the listing returned st with count models: -v's
 * figures, the failure line, the note on cut ids.  Returns the exit code:
 * that of a chat, 4 when an id was cut. */
int output_models(const options *o, wisp_status st, wisp_response *resp, models_state *state,
                  size_t count, const wisp_posix *posix, const wisp_transport *transport);

/* The one failure line: the status, then every detail that exists. */
void print_failure(wisp_status st, const wisp_response *r);

#endif /* WISP_CHAT_OUTPUT_H */

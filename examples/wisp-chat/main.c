/*
 * main.c - the wisp-chat command: a question to an OpenAI-compatible
 * chat-completions server, the answer on stdout; or, with no question and
 * a terminal on stdin, a conversation.
 *
 * Interface (stable: end-to-end tests drive it):
 *   stdout  exactly the assistant's text, then one newline.  On a failure
 *           after some text was streamed, that text stays and the line is
 *           still ended with one newline, so the terminal is tidy.
 *   stderr  diagnostics, one "wisp-chat: ..." line per failure; -v adds
 *           response metadata.  The API key is never printed.
 *   exit    0 ok, 1 usage or bad input, 2 network/TLS/timeout, 3 HTTP or
 *           API error, 4 malformed or oversized response (also a reply cut
 *           to fit with --no-stream), 130 interrupted (Ctrl-C).
 *
 * Choices worth knowing:
 *   --timeout-ms N   read (idle) timeout N; connect timeout min(N, 10 s);
 *                    whole-call timeout max(N, 300 s), so one long read
 *                    always fits.
 *   Ctrl-C           the first one cancels the call (the socket wait is
 *                    interrupted, the event callback says stop) and exits
 *                    130; the handler is one-shot, so a second Ctrl-C kills
 *                    the program at once.  In a session it cancels the
 *                    reply and the session goes on.
 *   stdin prompt     trailing newlines are dropped; a NUL byte, more than
 *                    1 MiB, or only white space is a usage error.
 *   server text      on stderr, control characters are shown as '?' so a
 *                    reply cannot drive the terminal; stdout gets the
 *                    assistant's text as sent.
 *
 * The parts: options.c (the command line), inputs.c (the files and the
 * prompt it names, the request), output.c (stdout and stderr), cancel.c
 * (Ctrl-C), interactive.c (the session), proxy.c (the HTTP proxy, curl's
 * way), this file (the connection, one question, the model list).  minimal.c beside them is the smallest
 * complete program.
 *
 * All memory is static: the library allocates nothing, and neither does
 * this program (mbedTLS allocates its own record buffers).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cancel.h"
#include "inputs.h"
#include "interactive.h"
#include "options.h"
#include "output.h"
#include "proxy.h"
#include "wisp.h"
#include "wisp_exit.h"
#include "wisp_posix.h"
#include "wisp_tls.h"

#define WORK_SIZE (320u * 1024u)    /* largest header line / event / body */
#define TOKEN_COUNT 256u
#define CONTENT_CAP (256u * 1024u)  /* --no-stream reply; a session's turn */
#define REASONING_CAP (64u * 1024u) /* --no-stream -v only */

static uint8_t g_work[WORK_SIZE];
static wisp_token g_tokens[TOKEN_COUNT];
static char g_content[CONTENT_CAP];
static char g_reasoning[REASONING_CAP];

/* The connection's parts, set up once: the plain transport, the proxy
 * over it when one is used, TLS over that for https, the client. */
typedef struct connection {
    wisp_posix posix;
    proxy_setting proxy;
    wisp_tls tls;
    wisp_transport plain, secure;
    const wisp_transport *base; /* plain, or the proxy over it */
    const wisp_transport *transport;
    bool tls_used;
    wisp_client client;
    wisp_url url;
    const char *url_from; /* where the URL came from, for its errors */
    const char *key;
} connection;

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* URL and model: the option, then the environment, then the default. */
static void pick_defaults(options *o, connection *l)
{
    l->url_from = "-u";
    if (o->url == NULL) {
        l->url_from = "WISP_BASE_URL";
        o->url = env_nonempty("WISP_BASE_URL");
    }
    if (o->url == NULL) {
        l->url_from = "OPENAI_BASE_URL";
        o->url = env_nonempty("OPENAI_BASE_URL");
    }
    if (o->url == NULL) {
        l->url_from = "the default";
        o->url = DEFAULT_BASE_URL;
    }
    if (o->model == NULL)
        o->model = env_nonempty("WISP_MODEL");
    if (o->model == NULL)
        o->model = DEFAULT_MODEL;
}

/*
 * Wraps the base transport (plain, or the proxy's tunnel) in TLS.  Returns WISP_OK with l->secure ready,
 * or a status after printing why.
 */
static wisp_status setup_tls(connection *l, const options *o)
{
    wisp_tls_config cfg;
    wisp_transport *out = &l->secure;
    wisp_status st;

    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = o->cacert; /* NULL: the system bundle */
    cfg.skip_verification_insecure = o->insecure;
    cfg.server_name = o->server_name; /* NULL: the URL's host */
    cfg.now_ms = wisp_posix_now_ms;
    memset(out, 0, sizeof *out);
    st = wisp_tls_init(&l->tls, &cfg, l->base, out);
    if (st != WISP_OK) {
        char detail[WISP_TLS_DETAIL_CAP];
        detail[0] = '\0';
        if (out->last_error != NULL && out->ctx != NULL)
            (void)out->last_error(out->ctx, detail, sizeof detail);
        fprintf(stderr, PROG ": %s", wisp_strerror(st));
        if (detail[0] != '\0') {
            fputs("; TLS: ", stderr);
            put_clean_str(detail);
        } else if (o->cacert != NULL) {
            fprintf(stderr, " (CA bundle %s)", o->cacert);
        }
        fputc('\n', stderr);
    }
    return st;
}

/* The client's configuration from the options and the environment. */
static void fill_config(wisp_config *cfg, const options *o, connection *l)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->base_url = o->url;
    cfg->api_key = l->key;
    cfg->transport = l->transport;
    if (o->timeout_ms != 0) {
        cfg->read_timeout_ms = o->timeout_ms;
        cfg->connect_timeout_ms = o->timeout_ms < WISP_DEFAULT_CONNECT_TIMEOUT_MS
                                      ? o->timeout_ms
                                      : WISP_DEFAULT_CONNECT_TIMEOUT_MS;
        cfg->total_timeout_ms = o->timeout_ms > WISP_DEFAULT_TOTAL_TIMEOUT_MS
                                    ? o->timeout_ms
                                    : WISP_DEFAULT_TOTAL_TIMEOUT_MS;
    }
    if (l->proxy.on && l->proxy.forward) {
        /* Plain http through the proxy: the whole URL in the request
         * line, the proxy's credentials as a header of each request. */
        cfg->absolute_form = true;
        if (l->proxy.has_user) {
            cfg->headers = &l->proxy.header;
            cfg->header_count = 1;
        }
    }
    cfg->max_retries = 0; /* the default: 2 retries */
    cfg->now_ms = wisp_posix_now_ms;
    cfg->sleep_ms = wisp_posix_sleep_ms;
    cfg->platform_ctx = &l->posix;
}

/*
 * The URL checked, the transport (TLS for https) and the client made.
 * Returns -1 to go on, else the exit code after printing why.
 */
static int open_link(connection *l, const options *o)
{
    wisp_config cfg;
    wisp_status st;
    int rc;

    /* The URL itself is not echoed: it is the user's, and may carry more
     * than they want in a log. */
    st = wisp_url_parse(o->url, &l->url);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": %s (from %s)\n", wisp_strerror(st), l->url_from);
        return exit_code_for(st);
    }
    rc = proxy_choose(&l->proxy, o, &l->url);
    if (rc >= 0)
        return rc;
    wisp_posix_init(&l->posix, &l->plain);
    l->base = &l->plain;
    if (l->proxy.on) {
        st = proxy_wrap(&l->proxy, &l->plain);
        if (st != WISP_OK)
            return exit_code_for(st);
        l->base = &l->proxy.transport;
        output_use_proxy(&l->proxy);
    }
    l->transport = l->base;
    if (l->url.https) {
        if (o->insecure)
            fputs(PROG ": WARNING: --insecure: the server's certificate is NOT "
                       "verified; anyone on the network path can read and "
                       "change this conversation, API key included\n",
                  stderr);
        st = setup_tls(l, o);
        if (st != WISP_OK) {
            wisp_tls_free(&l->tls);
            return exit_code_for(st);
        }
        l->transport = &l->secure;
        l->tls_used = true;
    } else if (o->verbose && (o->cacert != NULL || o->insecure || o->server_name != NULL)) {
        fputs(PROG ": note: plain http: --cacert/--insecure/--server-name do not apply\n", stderr);
    }

    l->key = env_nonempty("WISP_API_KEY");
    if (l->key == NULL)
        l->key = env_nonempty("OPENAI_API_KEY");
    output_mask_key(l->key);
    fill_config(&cfg, o, l);
    st = wisp_client_init(&l->client, &cfg, g_work, sizeof g_work, g_tokens, TOKEN_COUNT);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": %s", wisp_strerror(st));
        if (st == WISP_ERR_HEADER_VALUE)
            fputs(" (check the API key and the base URL)", stderr);
        else if (st == WISP_ERR_URL)
            fprintf(stderr, " (from %s)", l->url_from);
        fputc('\n', stderr);
        if (l->tls_used)
            wisp_tls_free(&l->tls);
        return exit_code_for(st);
    }
    return -1;
}

static void close_link(connection *l)
{
    wisp_client_close(&l->client);
    if (l->tls_used)
        wisp_tls_free(&l->tls);
    cancel_release(&l->posix);
    l->plain.close(l->plain.ctx);
}

/* -v: where the request goes, before it goes. */
static void print_server(const options *o, const connection *l)
{
    fprintf(stderr, PROG ": server: %s://", l->url.https ? "https" : "http");
    put_clean_str(l->url.host_is_ipv6 ? "[" : "");
    put_clean_str(l->url.host);
    fprintf(stderr, "%s:%u, model: ", l->url.host_is_ipv6 ? "]" : "", (unsigned)l->url.port);
    put_clean_str(o->model);
    fprintf(stderr, ", %s, API key: %s\n", o->no_stream ? "not streamed" : "streamed",
            l->key != NULL ? "set" : "none");
    proxy_print(&l->proxy);
}

/* One question, one reply.  Returns the exit code. */
static int ask_once(const options *o, connection *l, const wisp_request *req)
{
    wisp_response resp;
    chat_state state;
    wisp_status st;

    /* Streaming prints as it goes and keeps no copy; --no-stream needs the
     * whole text. */
    if (o->no_stream)
        wisp_response_init(&resp, g_content, sizeof g_content, o->verbose ? g_reasoning : NULL,
                           o->verbose ? sizeof g_reasoning : 0);
    else
        wisp_response_init(&resp, NULL, 0, NULL, 0);
    inputs_tool_slots(&resp);
    memset(&state, 0, sizeof state);
    state.print_content = !o->no_stream;
    state.verbose = o->verbose;
    cancel_catch(&l->posix, true);
    st = wisp_chat(&l->client, req, &resp, output_on_event, &state);
    return output_reply(o, st, &resp, &state, &l->posix, l->transport);
}

/* --list-models: one id a line.  Returns the exit code. */
static int list_models(const options *o, connection *l)
{
    wisp_response resp;
    models_state state;
    size_t count = 0;
    wisp_status st;

    wisp_response_init(&resp, NULL, 0, NULL, 0);
    memset(&state, 0, sizeof state);
    cancel_catch(&l->posix, true);
    st = wisp_list_models(&l->client, &resp, output_on_model, &state, &count);
    return output_models(o, st, &resp, &state, count, &l->posix, l->transport);
}

int main(int argc, char **argv)
{
    static options o;
    static connection l;
    wisp_request req;
    wisp_message msgs[2];
    const char *why = "";
    bool interactive;
    wisp_status st;
    int rc;

    rc = options_parse(&o, argc, argv);
    if (rc >= 0)
        return rc;
    interactive = !o.list_models && o.word_count == 0 && isatty(STDIN_FILENO);
    rc = inputs_load(&o, o.list_models ? INPUTS_NONE : interactive ? INPUTS_SESSION : INPUTS_PROMPT);
    if (rc >= 0)
        return rc;
    pick_defaults(&o, &l);
    rc = open_link(&l, &o);
    if (rc >= 0)
        return rc;
    if (o.list_models) {
        rc = list_models(&o, &l);
        close_link(&l);
        return rc;
    }

    /* Everything is checked before anything is sent. */
    inputs_request(&o, &req, msgs);
    st = wisp_request_check(&req, &why);
    if (st != WISP_OK) {
        inputs_report_refusal(&req, st, why);
        close_link(&l);
        return exit_code_for(st);
    }
    if (o.verbose)
        print_server(&o, &l);
    if (interactive) {
        chat_setup c = {0};
        c.o = &o;
        c.client = &l.client;
        c.req = &req;
        c.posix = &l.posix;
        c.transport = l.transport;
        c.content = g_content;
        c.content_cap = sizeof g_content;
        c.reasoning = g_reasoning;
        c.reasoning_cap = sizeof g_reasoning;
        rc = interactive_run(&c);
    } else {
        rc = ask_once(&o, &l, &req);
    }
    close_link(&l);
    return rc;
}

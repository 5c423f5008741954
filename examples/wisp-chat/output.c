/*
 * output.c - the text on stdout, the "wisp-chat:" lines on stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cancel.h"
#include "inputs.h"
#include "output.h"
#include "wisp_exit.h"

/* ---- server text on stderr --------------------------------------------------- */

/* Secrets shown as their label: the API key, the proxy's credentials. */
#define MASK_MAX 4
static struct {
    const char *text;
    size_t len;
    size_t min;        /* a cut copy of at least this many first bytes counts */
    const char *label;
} g_masks[MASK_MAX];
static size_t g_mask_count;

static const proxy_setting *g_proxy; /* the proxy in use, or NULL */

static void add_mask(const char *text, size_t min_len, const char *label)
{
    size_t len = text != NULL ? strlen(text) : 0;
    if (len < min_len || g_mask_count == MASK_MAX)
        return;
    g_masks[g_mask_count].text = text;
    g_masks[g_mask_count].len = len;
    g_masks[g_mask_count].min = len < 8 ? len : 8;
    g_masks[g_mask_count].label = label;
    g_mask_count++;
}

void output_mask_key(const char *key)
{
    add_mask(key, 8, "[API key]");
}

void output_mask_secret(const char *secret, const char *label)
{
    add_mask(secret, 4, label);
}

void output_use_proxy(const proxy_setting *p)
{
    g_proxy = p != NULL && p->on ? p : NULL;
}

/*
 * Writes text to stderr with control characters (C0, DEL, and C1 in
 * UTF-8) shown as '?'.  keep_lines lets newlines and tabs through.
 */
static void put_clean(const char *s, size_t len, bool keep_lines)
{
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch == '\n' || ch == '\t') && keep_lines) {
            fputc(ch, stderr);
        } else if (ch < 0x20 || ch == 0x7f) {
            fputc(ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : '?', stderr);
        } else if (ch == 0xc2 && i + 1 < len &&
                   (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            fputc('?', stderr);
            i++;
        } else {
            fputc(ch, stderr);
        }
    }
}

/* How many bytes at s[0..len) are a masked secret (whole, or its first 8
 * or more bytes cut off by the end of the text), and which; 0: none. */
static size_t masked_at(const char *s, size_t len, size_t *which)
{
    size_t m;
    for (m = 0; m < g_mask_count; m++) {
        size_t n = len < g_masks[m].len ? len : g_masks[m].len;
        if (n >= g_masks[m].min && memcmp(s, g_masks[m].text, n) == 0) {
            *which = m;
            return n;
        }
    }
    return 0;
}

/* The secrets must not reach the terminal, whole or cut to fit: the API
 * key becomes "[API key]", the proxy's user and password theirs. */
void put_server_text(const char *s, size_t len, bool keep_lines)
{
    size_t i = 0, start = 0, which = 0;
    while (i < len) {
        size_t n = masked_at(s + i, len - i, &which);
        if (n > 0) {
            put_clean(s + start, i - start, keep_lines);
            fputs(g_masks[which].label, stderr);
            i += n;
            start = i;
        } else {
            i++;
        }
    }
    put_clean(s + start, len - start, keep_lines);
}

void put_clean_str(const char *s)
{
    put_server_text(s, strlen(s), false);
}

/* ---- tool calls on stdout ---------------------------------------------------- */

/* s as a JSON string (valid UTF-8 comes in; control bytes escaped). */
static void put_json_string(const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            putchar('\\');
            putchar(c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c < 0x20 || c == 0x7F) {
            printf("\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

/* Each tool call as one line in the OpenAI tool_calls element shape, in
 * index order.  Returns true when every call came whole. */
static bool print_tool_calls(const wisp_response *r)
{
    bool whole = r->tool_calls_dropped == 0;
    size_t i;
    for (i = 0; i < r->tool_call_count; i++) {
        const wisp_tool_call *c = &r->tool_calls[i];
        fputs("{\"id\":", stdout);
        put_json_string(c->id, strlen(c->id));
        fputs(",\"type\":\"function\",\"function\":{\"name\":", stdout);
        put_json_string(c->name, strlen(c->name));
        fputs(",\"arguments\":", stdout);
        put_json_string(c->arguments.buf, c->arguments.len);
        fputs("}}\n", stdout);
        if (c->arguments.truncated) {
            fprintf(stderr,
                    PROG ": tool call %u: the arguments were cut to fit: %lu of %lu bytes\n",
                    (unsigned)c->index, (unsigned long)c->arguments.len,
                    (unsigned long)c->arguments.full_len);
            whole = false;
        }
        if (c->cut || c->name[0] == '\0') {
            fprintf(stderr, PROG ": tool call %u: %s\n", (unsigned)c->index,
                    c->cut ? "its id or name was cut to fit" : "the server sent no name");
            whole = false;
        }
    }
    if (r->tool_calls_dropped > 0)
        fprintf(stderr, PROG ": %lu more tool calls than the %u this program keeps\n",
                (unsigned long)r->tool_calls_dropped, (unsigned)CALL_SLOTS);
    return whole;
}

/* ---- metadata and failures on stderr ---------------------------------------- */

/* "wisp-chat: NAME: value" for a field that is set. */
static void put_field(const char *name, const char *value)
{
    if (value[0] == '\0')
        return;
    fprintf(stderr, PROG ": %s: ", name);
    put_clean_str(value);
    fputc('\n', stderr);
}

/* One usage count, or "-" when the server did not send it as a count. */
static void put_count(const char *label, bool has, uint32_t count)
{
    if (has)
        fprintf(stderr, "%s%lu", label, (unsigned long)count);
    else
        fprintf(stderr, "%s-", label);
}

/* -v: the request id, the attempts and connections of the exchange. */
static void print_exchange(const wisp_response *r, const wisp_posix *posix)
{
    put_field("request id", r->request_id);
    fprintf(stderr, PROG ": attempts: %u, connections: %lu\n",
            (unsigned)r->attempts, (unsigned long)posix->connects);
}

static void print_metadata(const wisp_response *r, const wisp_posix *posix)
{
    if (r->http_status != 0)
        fprintf(stderr, PROG ": http status: %d\n", r->http_status);
    put_field("id", r->id);
    put_field("model", r->model);
    if (r->refused)
        fputs(PROG ": the text is the model's refusal, not an answer\n", stderr);
    put_field("finish_reason", r->finish_reason);
    if (r->usage.present) {
        const wisp_usage *u = &r->usage;
        fputs(PROG ": usage:", stderr);
        put_count(" prompt ", u->has_prompt_tokens, u->prompt_tokens);
        put_count(", completion ", u->has_completion_tokens, u->completion_tokens);
        put_count(", total ", u->has_total_tokens, u->total_tokens);
        put_count(", cached ", u->has_cached_tokens, u->cached_tokens);
        put_count(", reasoning ", u->has_reasoning_tokens, u->reasoning_tokens);
        fputc('\n', stderr);
    } else {
        fputs(PROG ": usage: not reported\n", stderr);
    }
    print_exchange(r, posix);
    if (r->fields_truncated)
        fputs(PROG ": (some fields above were cut to fit)\n", stderr);
}

/* "; LABEL value" for a detail that is set. */
static void put_detail(const char *label, const char *value)
{
    if (value[0] == '\0')
        return;
    fputs(label, stderr);
    put_clean_str(value);
}

/* The detail came from the proxy transport, not from TLS. */
static bool proxy_detail(const wisp_response *r)
{
    return g_proxy != NULL && g_proxy->proxy.detail[0] != '\0' &&
           strcmp(r->tls_detail, g_proxy->proxy.detail) == 0;
}

/* A proxy's refusal: who refused, its status line, what to do. */
static void print_refusal(const wisp_response *r)
{
    int status = g_proxy->forward ? r->http_status : g_proxy->proxy.status;
    fputs(PROG ": the HTTP proxy ", stderr);
    put_clean_str(g_proxy->shown);
    if (g_proxy->forward)
        fprintf(stderr, " refused the request: HTTP %d", r->http_status);
    else
        fputs(status != 0 ? " refused the tunnel: " : " did not open the tunnel: ", stderr);
    if (!g_proxy->forward)
        put_clean_str(r->tls_detail);
    /* tinyproxy answers wrong credentials with 401, none with 407. */
    if (status == 407 || (status == 401 && !g_proxy->forward))
        fputs(g_proxy->has_user ? " (it did not accept the user and password of the proxy URL)"
                                : " (it wants a user and password: http://USER:PASSWORD@HOST:PORT)",
              stderr);
    fputc('\n', stderr);
}

void print_failure(wisp_status st, const wisp_response *r)
{
    if (st == WISP_ERR_PROXY && g_proxy != NULL) {
        print_refusal(r);
        return;
    }
    fprintf(stderr, PROG ": %s", wisp_strerror(st));
    if (r->http_status != 0 && st != WISP_OK)
        fprintf(stderr, "; HTTP %d", r->http_status);
    put_detail("; ", r->error_message);
    put_detail("; type ", r->error_type);
    put_detail("; code ", r->error_code);
    put_detail("; param ", r->error_param);
    if (proxy_detail(r)) {
        fputs("; proxy ", stderr);
        put_clean_str(g_proxy->shown);
        put_detail(": ", r->tls_detail);
    } else {
        put_detail("; TLS: ", r->tls_detail);
    }
    if (r->tls_error != 0)
        fprintf(stderr, " (mbedTLS -0x%04x)",
                (unsigned)(r->tls_error < 0 ? -r->tls_error : r->tls_error));
    if (r->retry_after_ms != 0)
        fprintf(stderr, "; retry after %lu ms",
                (unsigned long)r->retry_after_ms);
    put_detail("; request id ", r->request_id);
    fputc('\n', stderr);
}

/* The reply ended for length with no text after the model reasoned. */
static void print_budget_note(const wisp_usage *u)
{
    /* The count as the server gave it, or as Gemini implies it. */
    unsigned long thought = u->reasoning_tokens;
    if (thought == 0 && u->has_total_tokens && u->has_prompt_tokens &&
        u->has_completion_tokens && u->total_tokens > u->prompt_tokens &&
        u->total_tokens - u->prompt_tokens > u->completion_tokens)
        thought = (unsigned long)(u->total_tokens - u->prompt_tokens - u->completion_tokens);
    fputs(PROG ": the model spent the whole token budget reasoning", stderr);
    if (thought > 0)
        fprintf(stderr, " (%lu reasoning tokens)", thought);
    fputs(" and wrote no answer: raise --max-completion-tokens or lower "
          "--reasoning-effort\n",
          stderr);
}

/* ---- the reply ----------------------------------------------------------------- */

int output_on_event(void *user, const wisp_event *ev)
{
    chat_state *s = (chat_state *)user;

    if (cancel_requested())
        return 1;
    if (ev->type == WISP_EVENT_CONTENT && s->print_content && ev->len > 0) {
        if (s->reasoning_open) {
            fputc('\n', stderr);
            s->reasoning_open = false;
        }
        if (fwrite(ev->text, 1, ev->len, stdout) != ev->len ||
            fflush(stdout) != 0) {
            if (errno == EINTR && cancel_requested())
                return 1; /* Ctrl-C while stdout was blocked: a cancel */
            s->stdout_failed = true;
            s->stdout_errno = errno;
            return 1;
        }
        s->printed = true;
    } else if (ev->type == WISP_EVENT_REASONING && s->verbose &&
               s->print_content && ev->len > 0) {
        if (!s->reasoning_open)
            fputs(PROG ": reasoning: ", stderr);
        put_server_text(ev->text, ev->len, true);
        s->reasoning_open = ev->text[ev->len - 1] != '\n';
    }
    return cancel_requested() ? 1 : 0;
}

/* --no-stream: the whole text, then -v's reasoning.  Returns the exit
 * code, rc or EXIT_RESPONSE when the text was cut to fit. */
static int print_whole(const options *o, const wisp_response *resp, bool calls, int rc)
{
    fwrite(resp->content.buf, 1, resp->content.len, stdout);
    if (!calls || resp->content.len > 0)
        fputc('\n', stdout); /* with tool calls: no empty line for no text */
    if (o->verbose && resp->reasoning.len > 0) {
        /* As the streamed path prints it: one line break at the end. */
        fputs(PROG ": reasoning: ", stderr);
        put_server_text(resp->reasoning.buf, resp->reasoning.len, true);
        if (resp->reasoning.buf[resp->reasoning.len - 1] != '\n')
            fputc('\n', stderr);
    }
    if (resp->content.truncated) {
        fprintf(stderr,
                PROG ": the reply was cut to fit: %lu of %lu bytes shown "
                     "(drop --no-stream to get all of it)\n",
                (unsigned long)resp->content.len, (unsigned long)resp->content.full_len);
        rc = EXIT_RESPONSE;
    }
    return rc;
}

/* The status as the person should hear it (Ctrl-C, whatever the last
 * wait reported), with the TLS detail taken from the transport when the
 * client did not copy it. */
static wisp_status settle(wisp_status st, wisp_response *resp, const wisp_transport *transport)
{
    if (st != WISP_OK && cancel_requested())
        st = WISP_ERR_CANCELLED;
    if ((st == WISP_ERR_TLS || st == WISP_ERR_CERT) && resp->tls_detail[0] == '\0' &&
        transport->last_error != NULL)
        resp->tls_error =
            transport->last_error(transport->ctx, resp->tls_detail, sizeof resp->tls_detail);
    /* Forwarding, only the proxy answers 407 (Proxy Authentication
     * Required): its refusal, as a tunnel's would be, also when it then
     * reset the connection with the request's body unread. */
    if (st != WISP_OK && st != WISP_ERR_CANCELLED && resp->http_status == 407 &&
        g_proxy != NULL && g_proxy->forward)
        st = WISP_ERR_PROXY;
    return st;
}

/* The last of stdout written out.  A broken stdout outranks what the call
 * reported (the callback's cancel, for one). */
static void flush_stdout(bool *failed, int *why)
{
    if (fflush(stdout) != 0 && !*failed && !(errno == EINTR && cancel_requested())) {
        *failed = true;
        *why = errno;
    }
}

int output_reply(const options *o, wisp_status st, wisp_response *resp, chat_state *state,
                 const wisp_posix *posix, const wisp_transport *transport)
{
    bool calls;
    int rc;

    st = settle(st, resp, transport);
    if (state->reasoning_open)
        fputc('\n', stderr);

    rc = exit_code_for(st);
    calls = st == WISP_OK && resp->tool_call_count + resp->tool_calls_dropped > 0;
    if (st == WISP_OK && o->no_stream)
        rc = print_whole(o, resp, calls, rc);
    else if ((st == WISP_OK && !calls) || state->printed)
        fputc('\n', stdout); /* ends the streamed text; after a failure, tidies the line */
    if (calls && !print_tool_calls(resp) && rc == EXIT_OKAY)
        rc = EXIT_RESPONSE;
    flush_stdout(&state->stdout_failed, &state->stdout_errno);
    if (o->verbose)
        print_metadata(resp, posix);
    if (state->stdout_failed) {
        fprintf(stderr, PROG ": cannot write the reply to stdout: %s\n",
                strerror(state->stdout_errno));
        return EXIT_NETWORK;
    }
    if (st == WISP_OK && resp->reasoning_spent_budget)
        print_budget_note(&resp->usage);
    if (st == WISP_ERR_CANCELLED)
        fputs(PROG ": interrupted\n", stderr);
    else if (st != WISP_OK)
        print_failure(st, resp);
    return rc;
}

/* ---- model lists --------------------------------------------------------------- */

int output_on_model(void *user, const char *id, bool cut)
{
    models_state *s = (models_state *)user;
    const char *c;

    if (cancel_requested())
        return 1;
    for (c = id; *c != '\0'; c++)
        putchar((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c);
    if (putchar('\n') == EOF) {
        if (!(errno == EINTR && cancel_requested())) {
            s->stdout_failed = true;
            s->stdout_errno = errno;
        }
        return 1;
    }
    if (cut)
        s->cut++;
    return cancel_requested() ? 1 : 0;
}

int output_models(const options *o, wisp_status st, wisp_response *resp, models_state *state,
                  size_t count, const wisp_posix *posix, const wisp_transport *transport)
{
    int rc;

    st = settle(st, resp, transport);
    rc = exit_code_for(st);
    flush_stdout(&state->stdout_failed, &state->stdout_errno);
    if (o->verbose) {
        if (resp->http_status != 0)
            fprintf(stderr, PROG ": http status: %d\n", resp->http_status);
        fprintf(stderr, PROG ": models: %lu\n", (unsigned long)count);
        print_exchange(resp, posix);
    }
    if (state->stdout_failed) {
        fprintf(stderr, PROG ": cannot write the list to stdout: %s\n",
                strerror(state->stdout_errno));
        return EXIT_NETWORK;
    }
    if (st == WISP_ERR_CANCELLED) {
        fputs(PROG ": interrupted\n", stderr);
    } else if (st != WISP_OK) {
        print_failure(st, resp);
    } else if (state->cut > 0) {
        fprintf(stderr, PROG ": %lu model id%s cut to fit (this build keeps %u bytes of each)\n",
                (unsigned long)state->cut, state->cut == 1 ? " was" : "s were",
                (unsigned)(WISP_MODEL_CAP - 1));
        rc = EXIT_RESPONSE;
    }
    return rc;
}

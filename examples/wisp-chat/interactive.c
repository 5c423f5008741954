/*
 * interactive.c - a conversation at the terminal: one line, one turn.
 *
 * The history lives in a static arena through the library's conversation
 * store (wisp_conv): when it fills up, the oldest turns are dropped whole,
 * never the system message, and stderr says so once.  Lines are read with
 * read(2) after a poll() that also watches Ctrl-C's pipe, so a Ctrl-C at
 * the prompt is seen even when it lands just before the wait.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cancel.h"
#include "inputs.h"
#include "interactive.h"
#include "output.h"
#include "wisp_exit.h"

#define ARENA_SIZE (512u * 1024u) /* a 256 KiB reply and its question always fit */
#define MAX_MESSAGES 512u

static uint64_t g_arena[ARENA_SIZE / sizeof(uint64_t)];
static wisp_conv g_conv;

/* ---- lines ------------------------------------------------------------------- */

typedef enum line_status { LINE_OK, LINE_EOF, LINE_INTERRUPT, LINE_LONG, LINE_ERROR } line_status;

/* The line buffer: a read may bring more than one line (a paste with the
 * terminal out of canonical mode), so what follows the line returned is
 * kept for the next call. */
typedef struct line_reader {
    char *buf;   /* cap + 1 bytes */
    size_t cap;
    size_t have; /* bytes read */
    size_t next; /* where the line after the one returned starts */
} line_reader;

/* Waits for stdin or Ctrl-C.  LINE_OK when stdin can be read. */
static line_status wait_input(void)
{
    struct pollfd p[2];
    for (;;) {
        int n;
        if (cancel_requested())
            return LINE_INTERRUPT;
        p[0].fd = STDIN_FILENO;
        p[0].events = POLLIN;
        p[0].revents = 0;
        p[1].fd = cancel_fd();
        p[1].events = POLLIN;
        p[1].revents = 0;
        n = poll(p, p[1].fd >= 0 ? 2u : 1u, -1);
        if (n < 0 && errno != EINTR)
            return LINE_ERROR;
        if (cancel_requested())
            return LINE_INTERRUPT;
        if (n > 0 && p[0].revents != 0)
            return LINE_OK;
    }
}

/* The next line, without its end of line and NUL-terminated, at *line
 * (*len bytes, a NUL among them included).  A last line without a newline
 * (Ctrl-D after some text) counts. */
static line_status read_line(line_reader *r, char **line, size_t *len)
{
    bool skipping = false; /* the rest of a line longer than cap */
    char *nl;

    memmove(r->buf, r->buf + r->next, r->have - r->next);
    r->have -= r->next;
    r->next = 0;
    while ((nl = memchr(r->buf, '\n', r->have)) == NULL) {
        ssize_t n;
        line_status st;
        if (r->have == r->cap) {
            skipping = true;
            r->have = 0;
        }
        st = wait_input();
        if (st != LINE_OK)
            return st;
        n = read(STDIN_FILENO, r->buf + r->have, r->cap - r->have);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return LINE_ERROR;
        if (n == 0) {
            if (r->have == 0 || skipping)
                return skipping ? LINE_LONG : LINE_EOF;
            r->buf[r->have] = '\0';
            r->next = r->have;
            *line = r->buf;
            *len = r->have;
            return LINE_OK;
        }
        r->have += (size_t)n;
    }
    *nl = '\0';
    r->next = (size_t)(nl - r->buf) + 1;
    *len = (size_t)(nl - r->buf);
    *line = r->buf;
    return skipping ? LINE_LONG : LINE_OK;
}

/* The line without white space at either end, in place. */
static char *trim(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* ---- turns ------------------------------------------------------------------- */

/* One turn: the reply streamed (or printed whole), the turn kept when it
 * succeeded.  Returns the exit code the turn would have had alone;
 * *stdout_gone when the reply could not be written. */
static int ask(const chat_setup *c, const char *text, bool *stdout_gone)
{
    const options *o = c->o;
    bool reasoning = o->verbose && o->no_stream;
    wisp_response resp;
    chat_state state;
    wisp_status st;
    int rc;

    memset(&state, 0, sizeof state);
    state.print_content = !o->no_stream;
    state.verbose = o->verbose;
    wisp_response_init(&resp, c->content, c->content_cap, reasoning ? c->reasoning : NULL,
                       reasoning ? c->reasoning_cap : 0);
    st = wisp_conv_ask(c->client, &g_conv, c->req, text, &resp, NULL, output_on_event, &state);
    if (st == WISP_ERR_ARENA_FULL && !cancel_requested()) {
        if (state.printed)
            fputc('\n', stdout);
        fprintf(stderr, PROG ": the turn does not fit the conversation's %u KiB; it was not kept\n",
                ARENA_SIZE / 1024u);
        rc = EXIT_USAGE;
    } else {
        rc = output_reply(o, st, &resp, &state, c->posix, c->transport);
    }
    *stdout_gone = state.stdout_failed;
    if (st == WISP_OK && resp.content.truncated && !o->no_stream)
        fprintf(stderr, PROG ": the history keeps the reply cut to %lu of its %lu bytes\n",
                (unsigned long)resp.content.len, (unsigned long)resp.content.full_len);
    return rc;
}

int interactive_run(const chat_setup *c)
{
    line_reader lines;
    bool noted = false; /* turns were dropped, and stderr said so */
    wisp_status st;
    int rc;

    st = wisp_conv_init(&g_conv, g_arena, sizeof g_arena, MAX_MESSAGES, c->o->system);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": the system message does not fit the conversation's %u KiB\n",
                ARENA_SIZE / 1024u);
        return EXIT_USAGE;
    }
    memset(&lines, 0, sizeof lines);
    lines.buf = inputs_prompt();
    lines.cap = PROMPT_MAX;
    fputs(PROG ": model ", stderr);
    put_clean_str(c->req->model);
    fputs("; /reset starts over, /exit or Ctrl-D ends, Ctrl-C cancels a reply\n", stderr);
    cancel_catch(c->posix, false);
    for (;;) {
        char *line;
        size_t len;
        bool gone = false;
        line_status ls;

        fputs("> ", stderr);
        ls = read_line(&lines, &line, &len);
        if (ls == LINE_EOF || ls == LINE_INTERRUPT) {
            fputc('\n', stderr);
            return ls == LINE_EOF ? EXIT_OKAY : EXIT_INTERRUPTED;
        }
        if (ls == LINE_ERROR) {
            fprintf(stderr, PROG ": cannot read from the terminal: %s\n", strerror(errno));
            return EXIT_USAGE;
        }
        if (ls == LINE_LONG) {
            fputs(PROG ": the line is longer than 1 MiB; it was not sent\n", stderr);
            continue;
        }
        if (strlen(line) != len) {
            fputs(PROG ": the line holds a NUL byte; it was not sent\n", stderr);
            continue;
        }
        line = trim(line);
        if (line[0] == '\0')
            continue;
        if (strcmp(line, "/exit") == 0)
            return EXIT_OKAY;
        if (strcmp(line, "/reset") == 0) {
            wisp_conv_reset(&g_conv);
            fputs(PROG ": the conversation starts again\n", stderr);
            continue;
        }
        rc = ask(c, line, &gone);
        if (gone)
            return rc; /* stdout is gone: nothing more can be shown */
        clearerr(stdout); /* a write that Ctrl-C interrupted */
        cancel_clear();
        if (g_conv.turns_dropped > 0 && !noted) {
            fprintf(stderr, PROG ": note: the oldest turns were dropped to keep the "
                            "conversation within %u KiB\n",
                    ARENA_SIZE / 1024u);
            noted = true;
        }
    }
}

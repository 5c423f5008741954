/*
 * minimal.c - the smallest complete wisp program: one question over TLS,
 * the answer printed as it streams in.  Start here; wisp-chat (main.c and
 * the files beside it) is the same with every option.
 *
 *   WISP_API_KEY=... build/wisp-minimal "Why is the sky blue?"
 *   (WISP_BASE_URL and WISP_CA_FILE, when set, replace the defaults)
 */
#include <stdio.h>
#include <stdlib.h>

#include "wisp.h"
#include "wisp_posix.h"
#include "wisp_tls.h"

/* wisp never allocates: the caller lends every buffer.  Static, not on
 * the stack: mbedTLS's contexts are large. */
static uint8_t work[8192];     /* one header line, or one streamed event */
static wisp_token tokens[128]; /* the JSON tokens of one event */
static wisp_posix tcp;         /* the socket */
static wisp_tls tls;           /* TLS over it */

/* Called with each piece of the reply as it arrives; non-zero stops. */
static int on_event(void *user, const wisp_event *ev)
{
    (void)user;
    if (ev->type == WISP_EVENT_CONTENT) {
        fwrite(ev->text, 1, ev->len, stdout);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = getenv("WISP_BASE_URL");
    wisp_transport plain, secure;
    wisp_tls_config tc = {0};  /* all zero: verify with the system CAs */
    wisp_config cfg = {0};     /* a zero field means "the default" */
    wisp_message question = {0};
    wisp_request req = {0};
    wisp_client client;
    wisp_response resp;
    wisp_status st;

    if (argc != 2) {
        fputs("usage: wisp-minimal QUESTION   (the key in $WISP_API_KEY)\n", stderr);
        return 1;
    }
    wisp_posix_init(&tcp, &plain);         /* plain TCP ... */
    tc.ca_file = getenv("WISP_CA_FILE");   /* NULL: the system bundle */
    tc.now_ms = wisp_posix_now_ms;
    if (wisp_tls_init(&tls, &tc, &plain, &secure) != WISP_OK)  /* ... inside TLS */
        return 1;
    cfg.base_url = url != NULL ? url : "https://api.evolink.ai/v1";
    cfg.api_key = getenv("WISP_API_KEY");  /* NULL: no Authorization header */
    cfg.transport = &secure;
    cfg.now_ms = wisp_posix_now_ms;        /* timeouts and retries need a clock */
    cfg.sleep_ms = wisp_posix_sleep_ms;
    if (wisp_client_init(&client, &cfg, work, sizeof work, tokens, 128) != WISP_OK)
        return 1;                          /* a bad URL, or a newline in the key */

    question.role = WISP_ROLE_USER;
    question.content = argv[1];
    req.model = "gemini-2.5-flash";
    req.messages = &question;
    req.message_count = 1;
    req.stream = true;                     /* text as it comes, in bounded memory */
    wisp_response_init(&resp, NULL, 0, NULL, 0); /* keep no copy of the text */
    st = wisp_chat(&client, &req, &resp, on_event, NULL);
    putchar('\n');
    if (st != WISP_OK)                     /* what failed, in a person's words */
        fprintf(stderr, "wisp-minimal: %s (HTTP %d) %s%s\n", wisp_strerror(st),
                resp.http_status, resp.error_message, resp.tls_detail);
    wisp_client_close(&client);
    wisp_tls_free(&tls);
    return st == WISP_OK ? 0 : 1;
}

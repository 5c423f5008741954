/*
 * keepalive_check.c - several requests from one process on one wisp client,
 * over TLS, against the local test server (run by tests/e2e.py).
 *
 *   keepalive_check BASE_URL CA_FILE IDLE_MS
 *   keepalive_check --closing BASE_URL CA_FILE|- N
 *
 * Two requests back to back must share one connection; after IDLE_MS of
 * silence (the server's "keepalive-idle" scenario drops idle connections
 * after 1 s) the third request finds the pooled connection dead, reopens
 * it transparently and resumes the TLS session.  Prints the counters as
 * one JSON line; exit 0 when every expectation holds.
 *
 * --closing: N requests, 100 ms apart (a person's pace, so that the
 * server's close has arrived), to a server that advertises keep-alive and
 * closes after every reply (llama.cpp's): each must be one attempt on a
 * connection of its own, and none may be written into a closed one first
 * (client.requests == N).  CA_FILE "-" is plain http.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp.h"
#include "wisp_posix.h"
#include "wisp_tls.h"

static uint8_t work[8192];
static wisp_token tokens[128];
static char text[4096];

static uint8_t last_attempts;
static bool any_text; /* --closing: the scenario's own text, not an echo */

static int ask(wisp_client *c, const char *prompt)
{
    wisp_message msg = {.role = WISP_ROLE_USER, .content = prompt};
    wisp_request req;
    wisp_response resp;
    wisp_status st;
    char want[256];
    memset(&req, 0, sizeof req);
    req.model = "gemini-2.5-flash";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    wisp_response_init(&resp, text, sizeof text, NULL, 0);
    st = wisp_chat(c, &req, &resp, NULL, NULL);
    last_attempts = resp.attempts;
    snprintf(want, sizeof want, "echo: %s", prompt);
    if (st != WISP_OK || (any_text ? resp.content.len == 0 : strcmp(resp.content.buf, want) != 0)) {
        fprintf(stderr, "keepalive_check: '%s': %s (HTTP %d) %s %s\n", prompt, wisp_strerror(st),
                resp.http_status, resp.error_message, resp.tls_detail);
        return 1;
    }
    return 0;
}

/* The transports and the client for url: TLS with ca, or plain http when
 * ca is "-".  0 on success. */
static wisp_posix tcp;
static wisp_tls tls;
static wisp_transport plain, secure;

static int set_up(wisp_client *client, const char *url, const char *ca)
{
    wisp_tls_config tc;
    wisp_config cfg;
    bool use_tls = strcmp(ca, "-") != 0;

    wisp_posix_init(&tcp, &plain);
    memset(&tc, 0, sizeof tc);
    tc.ca_file = ca;
    tc.server_name = "localhost"; /* mbedTLS 2.28 matches DNS names only */
    tc.now_ms = wisp_posix_now_ms;
    if (use_tls && wisp_tls_init(&tls, &tc, &plain, &secure) != WISP_OK) {
        fprintf(stderr, "keepalive_check: TLS set-up failed\n");
        return 2;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = url;
    cfg.transport = use_tls ? &secure : &plain;
    cfg.read_timeout_ms = 10000;
    cfg.now_ms = wisp_posix_now_ms;
    cfg.sleep_ms = wisp_posix_sleep_ms;
    if (wisp_client_init(client, &cfg, work, sizeof work, tokens, 128) != WISP_OK) {
        fprintf(stderr, "keepalive_check: bad base URL\n");
        return 2;
    }
    return 0;
}

static int closing(const char *url, const char *ca, unsigned n)
{
    wisp_client client;
    struct timespec pause = {0, 100000000L};
    unsigned i, one_attempt = 0;
    int failed = 0;
    bool use_tls = strcmp(ca, "-") != 0;

    any_text = true;
    if (set_up(&client, url, ca) != 0)
        return 2;
    for (i = 0; i < n; i++) {
        if (i > 0)
            nanosleep(&pause, NULL);
        failed |= ask(&client, "hello");
        one_attempt += last_attempts == 1;
    }
    printf("{\"requests\": %u, \"connects\": %u, \"one_attempt\": %u, \"handshakes_full\": %u, "
           "\"handshakes_resumed\": %u}\n",
           (unsigned)client.requests, (unsigned)client.connects, one_attempt,
           use_tls ? (unsigned)tls.handshakes_full : 0u,
           use_tls ? (unsigned)tls.handshakes_resumed : 0u);
    if (client.requests != n || client.connects != n || one_attempt != n)
        failed = 1;
    wisp_client_close(&client);
    if (use_tls)
        wisp_tls_free(&tls);
    return failed;
}

int main(int argc, char **argv)
{
    wisp_client client;
    struct timespec idle;
    unsigned long idle_ms;
    int failed = 0;
    uint32_t after_two;

    if (argc == 5 && strcmp(argv[1], "--closing") == 0) {
        return closing(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10));
    }
    if (argc != 4) {
        fprintf(stderr, "usage: keepalive_check BASE_URL CA_FILE IDLE_MS\n"
                        "       keepalive_check --closing BASE_URL CA_FILE|- N\n");
        return 2;
    }
    idle_ms = strtoul(argv[3], NULL, 10);
    if (set_up(&client, argv[1], argv[2]) != 0) {
        return 2;
    }

    failed |= ask(&client, "first");
    failed |= ask(&client, "second");
    after_two = client.connects;
    idle.tv_sec = (time_t)(idle_ms / 1000);
    idle.tv_nsec = (long)(idle_ms % 1000) * 1000000L;
    nanosleep(&idle, NULL);
    failed |= ask(&client, "third, after the server dropped the idle connection");

    printf("{\"requests\": %u, \"connects_after_two\": %u, \"connects\": %u, "
           "\"handshakes_full\": %u, \"handshakes_resumed\": %u}\n",
           (unsigned)client.requests, (unsigned)after_two, (unsigned)client.connects,
           (unsigned)tls.handshakes_full, (unsigned)tls.handshakes_resumed);
    if (after_two != 1 || client.connects != 2 || tls.handshakes_full != 1 ||
        tls.handshakes_resumed != 1) {
        failed = 1;
    }
    wisp_client_close(&client);
    wisp_tls_free(&tls);
    return failed;
}

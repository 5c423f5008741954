/*
 * size_driver.c - what a product that streams text pays in flash: one
 * streamed wisp_chat of one user message over a stub transport, and the
 * text of its status, with the default configuration or the one named by
 * WISP_CONFIG_FILE.  make size
 * links it for Cortex-M4 (newlib-nano, --gc-sections) beside an empty
 * main (SIZE_EMPTY_MAIN) and reports the difference, split into wisp,
 * libc and libgcc.
 */
#include <string.h>

#ifndef SIZE_EMPTY_MAIN
#include "stub_transport.h"
#include "wisp.h"

/* Where a product would print why a call failed: keeps wisp_strerror (and
 * with it the status names) in the link. */
const char *volatile size_driver_last_error;

static int on_event(void *user, const wisp_event *ev)
{
    (void)user;
    return ev->type == WISP_EVENT_CONTENT && ev->len == 0; /* never */
}

int main(void)
{
    static uint8_t work[2048];
    static wisp_token tokens[64];
    static char content[256];
    wisp_transport tr = STUB_TRANSPORT;
    wisp_config cfg;
    wisp_client client;
    wisp_message msg;
    wisp_request req;
    wisp_response resp;
    wisp_status st;

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://192.0.2.1:8080/v1";
    cfg.api_key = "key";
    cfg.transport = &tr;
    memset(&msg, 0, sizeof msg);
    msg.role = WISP_ROLE_USER;
    msg.content = "hello";
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    if (wisp_client_init(&client, &cfg, work, sizeof work, tokens, 64) != WISP_OK)
        return 1;
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    st = wisp_chat(&client, &req, &resp, on_event, NULL);
    size_driver_last_error = wisp_strerror(st);
    return st == WISP_OK ? 0 : 2;
}
#else
int main(void)
{
    return 0;
}
#endif

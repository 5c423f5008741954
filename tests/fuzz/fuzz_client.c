/*
 * fuzz_client.c - the whole client against hostile replies: the input is a
 * raw HTTP response handed to wisp_chat through a scripted transport, in
 * pieces whose sizes come from the input's first byte.  The first byte
 * also picks stream or not, and a small or normal work buffer.
 *
 * Checks beyond the sanitizers: the call ends, content stays NUL-terminated
 * inside its buffer, the callback never sees more text than full_len.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Icore -Itests ...
 * With -DWISP_FUZZ_MAIN it is a plain program replaying the files named on
 * its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "wisp.h"

typedef struct seen {
    size_t content;
    size_t events;
} seen;

static int on_event(void *user, const wisp_event *ev)
{
    seen *s = (seen *)user;
    if (ev->len > 0 && ev->text == NULL) {
        abort();
    }
    if (ev->type == WISP_EVENT_CONTENT) {
        s->content += ev->len;
    }
    s->events++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fake_transport fake;
    static uint8_t work[2048];
    static wisp_token tokens[48];
    static char content[64];
    static char reasoning[32];
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    wisp_response resp;
    seen s = {0, 0};
    uint8_t mode;
    size_t work_size;

    if (size < 1) {
        return 0;
    }
    mode = data[0];
    data++;
    size--;
    work_size = (mode & 4) ? WISP_WORK_MIN : sizeof work;

    fake_init(&fake, &tr);
    fake.split = (mode & 2) ? SPLIT_RANDOM : SPLIT_WHOLE;
    if ((mode & 0x18) == 0x18) {
        fake.split = SPLIT_BYTES;
    }
    fake.seed = mode;
    fake_add(&fake, data, size, (mode & 0x20) ? END_CLOSE : END_KEEP);

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &tr;
    cfg.max_retries = WISP_NO_RETRIES;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = (mode & 1) != 0;
    if (wisp_client_init(&client, &cfg, work, work_size, tokens, 48) != WISP_OK) {
        abort();
    }
    wisp_response_init(&resp, content, sizeof content, reasoning, sizeof reasoning);
    (void)wisp_chat(&client, &req, &resp, on_event, &s);
    wisp_client_close(&client);

    if (resp.content.len >= sizeof content || content[resp.content.len] != '\0' ||
        resp.reasoning.len >= sizeof reasoning || reasoning[resp.reasoning.len] != '\0' ||
        resp.content.len > resp.content.full_len || s.content > resp.content.full_len ||
        strlen(resp.error_message) >= sizeof resp.error_message) {
        abort();
    }
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif

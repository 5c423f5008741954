/*
 * stub_transport.h - a transport that accepts every send and answers with
 * one recorded streamed reply, for the programs linked for Cortex-M4 to be
 * measured (make size, make check-softfloat): they never run, so it only
 * has to be what a real port costs to call.
 */
#ifndef STUB_TRANSPORT_H
#define STUB_TRANSPORT_H

#include <string.h>

#include "wisp.h"

static const char stub_reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 192\r\n\r\n"
    "data: {\"id\":\"c\",\"created\":1764694173,\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";

static size_t stub_pos;

static wisp_status stub_connect(void *ctx, const char *host, uint16_t port, uint32_t t)
{
    (void)ctx;
    (void)host;
    (void)port;
    (void)t;
    stub_pos = 0;
    return WISP_OK;
}

static wisp_status stub_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent, uint32_t t)
{
    (void)ctx;
    (void)buf;
    (void)t;
    *sent = len;
    return WISP_OK;
}

static wisp_status stub_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t t)
{
    size_t n = sizeof stub_reply - 1 - stub_pos;
    (void)ctx;
    (void)t;
    if (n > cap)
        n = cap;
    memcpy(buf, stub_reply + stub_pos, n);
    stub_pos += n;
    *got = n;
    return WISP_OK;
}

static void stub_close(void *ctx)
{
    (void)ctx;
}

#define STUB_TRANSPORT {NULL, stub_connect, stub_send, stub_recv, stub_close, NULL}

#endif /* STUB_TRANSPORT_H */

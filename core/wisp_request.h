/*
 * wisp_request.h - internal: the request writer.
 *
 * The head and the JSON body are written through a small output buffer
 * that is flushed to the transport when full.  The same code runs twice:
 * once with no flush function, only counting bytes (Content-Length), then
 * for real.  No body is ever built in RAM.
 */
#ifndef WISP_REQUEST_H
#define WISP_REQUEST_H

#include "wisp.h"

typedef wisp_status (*wisp_flush_fn)(void *ctx, const uint8_t *buf, size_t len);

typedef struct wisp_out {
    uint8_t *buf;        /* staging buffer; NULL when only counting */
    size_t cap;
    size_t len;
    size_t total;        /* bytes produced so far */
    wisp_flush_fn flush; /* NULL: count only */
    void *flush_ctx;
    wisp_status err;     /* first failure; later writes do nothing */
} wisp_out;

/* A sink that only counts. */
void wisp_out_counter(wisp_out *o);
/* A sink that stages in buf and hands full buffers to flush. */
void wisp_out_sender(wisp_out *o, uint8_t *buf, size_t cap, wisp_flush_fn flush,
                     void *ctx);
void wisp_out_put(wisp_out *o, const char *s, size_t n);
/* Hands what is staged to flush; returns o->err. */
wisp_status wisp_out_finish(wisp_out *o);

void wisp_write_body(wisp_out *o, const wisp_request *req);
void wisp_write_head(wisp_out *o, const wisp_url *url, const char *api_key,
                     const wisp_header *headers, size_t header_count,
                     size_t content_length, const wisp_request *req);
/* The head of a GET of {base path}{endpoint} ("/models"): the chat's
 * fields but the body's, Accept: application/json. */
void wisp_write_get_head(wisp_out *o, const wisp_url *url, const char *endpoint,
                         const char *api_key, const wisp_header *headers,
                         size_t header_count);

#endif /* WISP_REQUEST_H */

/*
 * wisp_exit.h - the exit codes of wisp-chat and the Cortex-M4 firmware, and
 * the one place that says which status ends in which code (README, "CLI").
 */
#ifndef WISP_EXIT_H
#define WISP_EXIT_H

#include "wisp.h"

enum {
    EXIT_OKAY = 0,
    EXIT_USAGE = 1,
    EXIT_NETWORK = 2,
    EXIT_SERVER = 3,
    EXIT_RESPONSE = 4,
    EXIT_INTERRUPTED = 130
};

/* The one place that says which status ends in which exit code. */
static inline int exit_code_for(wisp_status st)
{
    switch (st) {
    case WISP_OK:
        return EXIT_OKAY;
    case WISP_ERR_ARG:
    case WISP_ERR_URL:
    case WISP_ERR_HEADER_VALUE:
    case WISP_ERR_TOOL_SCHEMA:
    case WISP_ERR_REQUEST_JSON:
    case WISP_ERR_IMAGE_READ: /* the caller's file or camera */
        return EXIT_USAGE;
    case WISP_ERR_DNS:
    case WISP_ERR_CONNECT:
    case WISP_ERR_TIMEOUT:
    case WISP_ERR_IO:
    case WISP_ERR_CLOSED:
    case WISP_ERR_TLS:
    case WISP_ERR_CERT:
    case WISP_ERR_STREAM_TRUNCATED:
    case WISP_ERR_PROXY: /* the server was never reached */
        return EXIT_NETWORK;
    case WISP_ERR_HTTP_STATUS:
    case WISP_ERR_API:
        return EXIT_SERVER;
    case WISP_ERR_UNSUPPORTED: /* e.g. a gzip body we did not ask for */
    case WISP_ERR_HTTP:
    case WISP_ERR_JSON:
    case WISP_ERR_TOO_LARGE:
    case WISP_ERR_TOO_COMPLEX:
    case WISP_ERR_SIGNATURE_TOO_LARGE:
    case WISP_ERR_TOOL_ROUNDS:
    case WISP_ERR_TOOL_CALL_CUT:
        return EXIT_RESPONSE;
    case WISP_ERR_ARENA_FULL: /* the caller's memory, like a bad argument */
        return EXIT_USAGE;
    case WISP_ERR_CANCELLED:
        return EXIT_INTERRUPTED;
    case WISP_STATUS_COUNT:
        break;
    }
    return EXIT_NETWORK;
}

#endif /* WISP_EXIT_H */

/*
 * wisp_status.c - names of the status codes, from the one list in wisp.h.
 */
#include "wisp.h"

static const char *const status_text[WISP_STATUS_COUNT] = {
#define WISP_X_TEXT(name, text) text,
    WISP_STATUS_LIST(WISP_X_TEXT)
#undef WISP_X_TEXT
};

const char *wisp_strerror(wisp_status status)
{
    if ((unsigned)status >= (unsigned)WISP_STATUS_COUNT) {
        return "unknown status";
    }
    return status_text[status];
}

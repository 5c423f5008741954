/*
 * wisp_status.c - names of the status codes, from the one list in wisp.h.
 */
#include "wisp.h"

#if WISP_STATUS_NAMES
static const char *const status_text[WISP_STATUS_COUNT] = {
#define WISP_X_TEXT(name, text) text,
    WISP_STATUS_LIST(WISP_X_TEXT)
#undef WISP_X_TEXT
};
#endif

const char *wisp_strerror(wisp_status status)
{
    if ((unsigned)status >= (unsigned)WISP_STATUS_COUNT) {
        return "unknown status";
    }
#if WISP_STATUS_NAMES
    return status_text[status];
#else
    return status == WISP_OK ? "ok" : "wisp error (texts left out: WISP_STATUS_NAMES 0; see wisp.h)";
#endif
}

/*
 * needs.h - a test of something this build left out (wisp_config.h's
 * feature switches) skips: cmocka reports it as SKIPPED, and
 * tests/run_units.sh counts the skips beside the passes.
 */
#ifndef NEEDS_H
#define NEEDS_H

#define WISP_NEEDS(feature)                                                  \
    do {                                                                     \
        if (!(feature)) {                                                    \
            print_message("skipped: this build has " #feature " 0\n");       \
            skip();                                                          \
        }                                                                    \
    } while (0)

/* A status by its name in wisp.h ("WISP_ERR_TIMEOUT"), whatever
 * WISP_STATUS_NAMES says. */
static inline const char *status_name(wisp_status st)
{
    static const char *const names[] = {
#define NEEDS_X_NAME(name, text) #name,
        WISP_STATUS_LIST(NEEDS_X_NAME)
#undef NEEDS_X_NAME
    };
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "(unknown status)";
}

#endif /* NEEDS_H */

/*
 * needs.h - a test of something this build left out (wisp_config.h's
 * feature switches) skips: cmocka reports it as SKIPPED, and
 * tests/run_units.sh counts the skips beside the passes.
 */
#ifndef NEEDS_H
#define NEEDS_H

#include <string.h>

#include "wisp.h"

#define WISP_NEEDS(feature)                                                  \
    do {                                                                     \
        if (!(feature)) {                                                    \
            print_message("skipped: this build has " #feature " 0\n");       \
            skip();                                                          \
        }                                                                    \
    } while (0)

/* The first feature of a fixture's "needs" line ("nonstream tools", the
 * switch names in lower case) that this build left out, or NULL. */
static inline const char *needs_missing(const char *list)
{
    static const struct {
        const char *name;
        int built_in;
    } features[] = {
        {"nonstream", WISP_NONSTREAM}, {"html", WISP_HTML},   {"error_shapes", WISP_ERROR_SHAPES},
        {"parts", WISP_PARTS},         {"images", WISP_IMAGES}, {"tools", WISP_TOOLS},
        {"params", WISP_PARAMS},       {"retries", WISP_RETRIES}, {"models", WISP_MODELS},
        {"status_names", WISP_STATUS_NAMES},
    };
    size_t i;
    while (list != NULL && *list != '\0') {
        size_t n = strcspn(list, " ");
        for (i = 0; i < sizeof features / sizeof features[0]; i++) {
            if (strlen(features[i].name) == n && strncmp(features[i].name, list, n) == 0) {
                if (!features[i].built_in) {
                    return features[i].name;
                }
                break;
            }
        }
        if (i == sizeof features / sizeof features[0]) {
            return "(a feature this test does not know)";
        }
        list += n;
        list += strspn(list, " ");
    }
    return NULL;
}

/* A fixture whose "needs" names something left out skips. */
#define WISP_FIXTURE_NEEDS(list)                                             \
    do {                                                                     \
        const char *missing_ = needs_missing(list);                          \
        if (missing_ != NULL) {                                              \
            print_message("skipped: needs %s\n", missing_);                  \
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

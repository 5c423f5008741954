/*
 * options.h - wisp-chat's command line: what each option sets, and the
 * usage lines every part of the program prints the same way.
 */
#ifndef WISP_CHAT_OPTIONS_H
#define WISP_CHAT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp.h"

#define PROG "wisp-chat"

#define DEFAULT_BASE_URL "https://api.evolink.ai/v1"
#define DEFAULT_MODEL "gemini-2.5-flash"

#define IMAGE_MAX 16u /* --image */
#define PARAM_MAX 32u /* --param */
#define STOP_MAX 4u   /* --stop */

typedef struct options {
    const char *url;
    const char *model;
    const char *system;
    const char *cacert;
    const char *server_name; /* --server-name: verified instead of the URL's host */
    bool no_stream;
    bool insecure;
    bool verbose;
    bool list_models; /* --list-models: no chat */
    uint32_t max_tokens; /* 0: not sent */
    uint32_t max_completion_tokens;
    bool has_temperature;
    int32_t temperature_milli;
    uint32_t timeout_ms; /* 0: library defaults */
    const char *image_paths[IMAGE_MAX];
    size_t image_count;
    const char *schema_file;
    bool json_object;
    wisp_reasoning_effort effort;
    const char *stops[STOP_MAX];
    size_t stop_count;
    bool has_seed;
    int64_t seed;
    wisp_param params[PARAM_MAX];
    size_t param_count;
    const char *idempotency_key;
    char **words; /* the prompt words (compacted into argv) */
    int word_count;
    const char *tools_file;
    const char *tool_choice;
    const char *proxy;   /* --proxy URL; "" for none; NULL: the environment */
    const char *noproxy; /* --noproxy LIST; NULL: the environment */
} options;

/*
 * Reads argv into o (zeroed by the caller).  Options may come anywhere
 * before "--"; the other words are the prompt, moved to the front of argv
 * in their order (argv's pointers are rewritten; "-" alone is a word).
 * Returns -1 to go on, else the exit code: --help and --version print and
 * give 0, a bad option or value prints its usage lines and gives 1.
 */
int options_parse(options *o, int argc, char **argv);

/* "wisp-chat: WHAT[: NAME]" and the usage hint on stderr; returns 1. */
int usage_error(const char *what, const char *name);

/* The one-line usage hint on stderr; returns 1. */
int usage_hint(void);

#endif /* WISP_CHAT_OPTIONS_H */

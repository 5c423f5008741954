/*
 * wisp_chat.c - the wisp-chat command: one question to an OpenAI-compatible
 * chat-completions server, the answer on stdout.
 *
 * Interface (stable: end-to-end tests drive it):
 *   stdout  exactly the assistant's text, then one newline.  On a failure
 *           after some text was streamed, that text stays and the line is
 *           still ended with one newline, so the terminal is tidy.
 *   stderr  diagnostics, one "wisp-chat: ..." line per failure; -v adds
 *           response metadata.  The API key is never printed.
 *   exit    0 ok, 1 usage or bad input, 2 network/TLS/timeout, 3 HTTP or
 *           API error, 4 malformed or oversized response (also a reply cut
 *           to fit with --no-stream), 130 interrupted (Ctrl-C).
 *
 * Choices worth knowing:
 *   --timeout-ms N   read (idle) timeout N; connect timeout min(N, 10 s);
 *                    whole-call timeout max(N, 300 s), so one long read
 *                    always fits.
 *   Ctrl-C           the first one cancels the call (the socket wait is
 *                    interrupted, the event callback says stop) and exits
 *                    130; the handler is one-shot, so a second Ctrl-C kills
 *                    the program at once.
 *   stdin prompt     trailing newlines are dropped; a NUL byte, more than
 *                    1 MiB, or only white space is a usage error.
 *   server text      on stderr, control characters are shown as '?' so a
 *                    reply cannot drive the terminal; stdout gets the
 *                    assistant's text as sent.
 *
 * All memory is static: the library allocates nothing, and neither does
 * this program (mbedTLS allocates its own record buffers).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wisp.h"
#include "wisp_exit.h"
#include "wisp_posix.h"
#include "wisp_tls.h"

#define PROG "wisp-chat"

#define DEFAULT_BASE_URL "https://api.evolink.ai/v1"
#define DEFAULT_MODEL "gemini-2.5-flash"

#define PROMPT_MAX (1024u * 1024u)   /* 1 MiB, from argv or stdin */
#define WORK_SIZE (320u * 1024u)     /* largest header line / event / body */
#define TOKEN_COUNT 256u
#define CONTENT_CAP (256u * 1024u)   /* --no-stream reply */
#define REASONING_CAP (64u * 1024u)  /* --no-stream -v only */

/* ---- static storage ---------------------------------------------------- */

static char g_prompt[PROMPT_MAX + 1];
static uint8_t g_work[WORK_SIZE];
static wisp_token g_tokens[TOKEN_COUNT];
static char g_content[CONTENT_CAP];
static char g_reasoning[REASONING_CAP];

/* --tools: the file, the definitions read from it, and slots for the
 * reply's calls. */
#define TOOLS_FILE_MAX (256u * 1024u)
#define TOOL_MAX 64u
#define TOOL_TOKENS 8192u
#define CALL_SLOTS 16u
#define CALL_ARGS_CAP (32u * 1024u)
#define CALL_SIG_CAP (8u * 1024u)
static char g_tools_text[TOOLS_FILE_MAX + 1];
static wisp_tool g_tools[TOOL_MAX];
static char g_tool_store[64u * 1024u];
static wisp_token g_tool_tokens[TOOL_TOKENS];
static wisp_tool_call g_calls[CALL_SLOTS];
static char g_call_args[CALL_SLOTS][CALL_ARGS_CAP];
static char g_call_sigs[CALL_SLOTS][CALL_SIG_CAP];

/* --image FILE: each file stays open and is read in pieces while the body
 * is sent (pread), never whole into memory. */
#define IMAGE_MAX 16u
typedef struct image_file {
    const char *path;
    int fd;
    size_t size;
    wisp_image_type type;
} image_file;
static image_file g_images[IMAGE_MAX];
static wisp_part g_parts[IMAGE_MAX + 1];

/* --json-schema FILE, --param NAME=JSON, --stop TEXT */
#define SCHEMA_FILE_MAX (256u * 1024u)
#define PARAM_MAX 32u
#define STOP_MAX 4u
static char g_schema[SCHEMA_FILE_MAX + 1];
static char g_schema_name[65];

/* Set by SIGINT; watched by the posix transport and the event callback. */
static volatile sig_atomic_t g_interrupted;

/* ---- options ------------------------------------------------------------- */

typedef struct options {
    const char *url;
    const char *model;
    const char *system;
    const char *cacert;
    bool no_stream;
    bool insecure;
    bool verbose;
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
    char **words;        /* the prompt words (compacted into argv) */
    int word_count;
    const char *tools_file;
    const char *tool_choice;
} options;

typedef enum opt_id {
    OPT_URL,
    OPT_MODEL,
    OPT_SYSTEM,
    OPT_NO_STREAM,
    OPT_CACERT,
    OPT_INSECURE,
    OPT_MAX_TOKENS,
    OPT_TEMPERATURE,
    OPT_TIMEOUT,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION,
    OPT_TOOLS,
    OPT_TOOL_CHOICE,
    OPT_IMAGE,
    OPT_JSON_SCHEMA,
    OPT_JSON,
    OPT_REASONING_EFFORT,
    OPT_STOP,
    OPT_SEED,
    OPT_MAX_COMPLETION_TOKENS,
    OPT_PARAM,
    OPT_IDEMPOTENCY_KEY
} opt_id;

typedef struct opt_spec {
    char short_name; /* 0: long only */
    const char *long_name;
    bool takes_value;
    opt_id id;
} opt_spec;

static const opt_spec k_options[] = {
    {'u', "url", true, OPT_URL},
    {'m', "model", true, OPT_MODEL},
    {'s', "system", true, OPT_SYSTEM},
    {0, "no-stream", false, OPT_NO_STREAM},
    {0, "cacert", true, OPT_CACERT},
    {0, "insecure", false, OPT_INSECURE},
    {0, "max-tokens", true, OPT_MAX_TOKENS},
    {0, "temperature", true, OPT_TEMPERATURE},
    {0, "timeout-ms", true, OPT_TIMEOUT},
    {'v', "verbose", false, OPT_VERBOSE},
    {'h', "help", false, OPT_HELP},
    {0, "version", false, OPT_VERSION},
    {0, "tools", true, OPT_TOOLS},
    {0, "tool-choice", true, OPT_TOOL_CHOICE},
    {0, "image", true, OPT_IMAGE},
    {0, "json-schema", true, OPT_JSON_SCHEMA},
    {0, "json", false, OPT_JSON},
    {0, "reasoning-effort", true, OPT_REASONING_EFFORT},
    {0, "stop", true, OPT_STOP},
    {0, "seed", true, OPT_SEED},
    {0, "max-completion-tokens", true, OPT_MAX_COMPLETION_TOKENS},
    {0, "param", true, OPT_PARAM},
    {0, "idempotency-key", true, OPT_IDEMPOTENCY_KEY},
};

#define OPTION_COUNT (sizeof k_options / sizeof k_options[0])

static void print_usage(FILE *out)
{
    fputs(
        "usage: " PROG " [options] [PROMPT...]\n"
        "Asks an OpenAI-compatible chat-completions server; the reply goes to\n"
        "stdout.  The prompt is the arguments joined with spaces, or else all\n"
        "of stdin (at most 1 MiB).\n"
        "\n"
        "  -u, --url URL         base URL (default: $WISP_BASE_URL, then\n"
        "                        $OPENAI_BASE_URL, then " DEFAULT_BASE_URL ")\n"
        "  -m, --model NAME      model (default: $WISP_MODEL, then\n"
        "                        " DEFAULT_MODEL ")\n"
        "  -s, --system TEXT     system message\n"
        "      --no-stream       ask for a non-streamed reply (at most 256 KiB)\n"
        "      --cacert FILE     CA bundle (PEM); default: the system bundle\n"
        "      --insecure        do NOT verify the server's certificate\n"
        "      --max-tokens N    reply length limit, 1..1000000 (max_tokens)\n"
        "      --max-completion-tokens N\n"
        "                        the same as max_completion_tokens (newer\n"
        "                        OpenAI models take only this), 1..1000000\n"
        "      --temperature T   sampling temperature, 0..2, three decimals\n"
        "      --image FILE      add a JPEG or PNG image after the prompt\n"
        "                        (repeatable, in order; read in pieces)\n"
        "      --json            ask for a JSON object (response_format)\n"
        "      --json-schema FILE  ask for JSON following the schema in FILE\n"
        "                        (named after the file)\n"
        "      --reasoning-effort LEVEL\n"
        "                        none, minimal, low, medium or high\n"
        "      --stop TEXT       stop at TEXT (repeatable, at most 4)\n"
        "      --seed N          sampling seed, a 64-bit integer\n"
        "      --param NAME=JSON any other request member, as JSON\n"
        "                        (repeatable; --param top_k=40)\n"
        "      --idempotency-key KEY\n"
        "                        Idempotency-Key header, the same on retries\n"
        "      --timeout-ms N    idle time allowed per read, 1..3600000; also\n"
        "                        caps connect at min(N, 10000) and raises the\n"
        "                        whole-call limit to max(N, 300000)\n"
        "      --tools FILE      offer the tools in FILE (a JSON array in the\n"
        "                        OpenAI \"tools\" shape); tool calls of the reply\n"
        "                        go to stdout after the text, one JSON line each\n"
        "      --tool-choice C   auto, none, required, or a function's name\n"
        "  -v, --verbose         to stderr: id, model, finish_reason, usage,\n"
        "                        request id, attempts; streamed reasoning\n"
        "  -h, --help            this text\n"
        "      --version         print the version\n"
        "  --                    end of options; the rest is the prompt\n"
        "\n"
        "The API key comes from $WISP_API_KEY, then $OPENAI_API_KEY (never\n"
        "from the command line); without one no Authorization is sent.\n"
        "\n"
        "exit: 0 ok, 1 usage, 2 network/TLS/timeout, 3 HTTP or API error,\n"
        "      4 malformed or oversized response, 130 interrupted\n",
        out);
}

static int usage_hint(void)
{
    fputs("usage: " PROG " [options] [PROMPT...]   (" PROG " --help for "
          "more)\n",
          stderr);
    return EXIT_USAGE;
}

static int usage_error(const char *what, const char *name)
{
    fprintf(stderr, PROG ": %s%s%s\n", what, name ? ": " : "",
            name ? name : "");
    return usage_hint();
}

/* The user's own value, echoed with control bytes shown as '?'. */
static int bad_value(const char *option, const char *value, const char *want)
{
    const char *c;
    fprintf(stderr, PROG ": --%s: bad value \"", option);
    for (c = value; *c != '\0'; c++)
        fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, stderr);
    fprintf(stderr, "\" (want %s)\n", want);
    return usage_hint();
}

/* Digits only: strtoul alone would take "-1", " 5" and "+5". */
static bool parse_u32(const char *s, unsigned long lo, unsigned long hi,
                      uint32_t *out)
{
    unsigned long v;
    char *end;
    const char *c;

    if (s[0] == '\0')
        return false;
    for (c = s; *c != '\0'; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Plain decimal, at most three places ("0.7", "1", ".5"), to thousandths
 * without float: no sign, exponent, hex, inf, nan. */
static bool parse_milli(const char *s, int32_t hi, int32_t *out)
{
    int32_t whole = 0, frac = 0;
    int digits = 0, places = -1;
    const char *c;

    for (c = s; *c != '\0'; c++) {
        if (*c == '.' && places < 0) {
            places = 0;
        } else if (!isdigit((unsigned char)*c)) {
            return false;
        } else if (places < 0) {
            if (whole > hi / 1000 + 1)
                return false;
            whole = whole * 10 + (*c - '0');
            digits++;
        } else if (++places > 3) {
            if (*c != '0')
                return false; /* "0.7000" is fine, "0.7001" is not */
            digits++;
        } else {
            frac = frac * 10 + (*c - '0');
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (places > 3)
        places = 3;
    while (places > 0 && places < 3) {
        frac *= 10;
        places++;
    }
    if (whole > hi / 1000 + 1 || whole * 1000 + frac > hi)
        return false;
    *out = whole * 1000 + frac;
    return true;
}

/* A decimal 64-bit integer, "-" allowed: no "+", spaces or hex. */
static bool parse_i64(const char *s, int64_t *out)
{
    const char *c = s[0] == '-' ? s + 1 : s;
    long long v;
    char *end;

    if (*c == '\0')
        return false;
    for (; *c != '\0'; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_effort(const char *s, wisp_reasoning_effort *out)
{
    static const char *const names[] = {"none", "minimal", "low", "medium", "high"};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (wisp_reasoning_effort)(WISP_REASONING_NONE + i);
            return true;
        }
    }
    return false;
}

/* NAME=JSON, split in place (argv strings may be written). */
static int add_param(options *o, char *value)
{
    char *eq = strchr(value, '=');
    size_t i;

    if (eq == NULL || eq == value)
        return bad_value("param", value, "NAME=JSON");
    *eq = '\0';
    if (!wisp_json_is_value(eq + 1, strlen(eq + 1))) {
        *eq = '=';
        return bad_value("param", value,
                         "NAME=JSON, the value one JSON value: a string needs its quotes, "
                         "--param user='\"kiosk\"'");
    }
    for (i = 0; i < o->param_count; i++) {
        if (strcmp(o->params[i].name, value) == 0) {
            *eq = '=';
            return bad_value("param", value, "each NAME once");
        }
    }
    if (o->param_count == PARAM_MAX) {
        fprintf(stderr, PROG ": --param: more than %u\n", (unsigned)PARAM_MAX);
        return usage_hint();
    }
    o->params[o->param_count].name = value;
    o->params[o->param_count].json = eq + 1;
    o->params[o->param_count].json_len = strlen(eq + 1);
    o->param_count++;
    return -1;
}

static bool printable_ascii(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static const opt_spec *find_long(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < OPTION_COUNT; i++)
        if (strlen(k_options[i].long_name) == len &&
            memcmp(k_options[i].long_name, name, len) == 0)
            return &k_options[i];
    return NULL;
}

static const opt_spec *find_short(char c)
{
    size_t i;
    for (i = 0; i < OPTION_COUNT; i++)
        if (k_options[i].short_name == c)
            return &k_options[i];
    return NULL;
}

/* Applies one option.  Returns -1 to go on, else an exit code. */
static int apply_option(options *o, const opt_spec *spec, char *value)
{
    switch (spec->id) {
    case OPT_URL:
        o->url = value;
        break;
    case OPT_MODEL:
        o->model = value;
        break;
    case OPT_SYSTEM:
        o->system = value;
        break;
    case OPT_NO_STREAM:
        o->no_stream = true;
        break;
    case OPT_CACERT:
        o->cacert = value;
        break;
    case OPT_INSECURE:
        o->insecure = true;
        break;
    case OPT_MAX_TOKENS:
        if (!parse_u32(value, 1ul, 1000000ul, &o->max_tokens))
            return bad_value(spec->long_name, value, "a whole number 1..1000000");
        break;
    case OPT_TEMPERATURE:
        if (!parse_milli(value, 2000, &o->temperature_milli))
            return bad_value(spec->long_name, value, "a number 0..2, at most three decimals");
        o->has_temperature = true;
        break;
    case OPT_TIMEOUT:
        if (!parse_u32(value, 1ul, 3600000ul, &o->timeout_ms))
            return bad_value(spec->long_name, value, "a whole number 1..3600000");
        break;
    case OPT_VERBOSE:
        o->verbose = true;
        break;
    case OPT_HELP:
        print_usage(stdout);
        return EXIT_OKAY;
    case OPT_VERSION:
        printf(PROG " %s\n", WISP_VERSION);
        return EXIT_OKAY;
    case OPT_TOOLS:
        o->tools_file = value;
        break;
    case OPT_TOOL_CHOICE:
        o->tool_choice = value;
        if (value[0] == '\0')
            return bad_value(spec->long_name, value, "auto, none, required or a name");
        break;
    case OPT_IMAGE:
        if (o->image_count == IMAGE_MAX)
            return bad_value(spec->long_name, value, "at most 16 images");
        o->image_paths[o->image_count++] = value;
        break;
    case OPT_JSON_SCHEMA:
        o->schema_file = value;
        break;
    case OPT_JSON:
        o->json_object = true;
        break;
    case OPT_REASONING_EFFORT:
        if (!parse_effort(value, &o->effort))
            return bad_value(spec->long_name, value, "none, minimal, low, medium or high");
        break;
    case OPT_STOP:
        if (value[0] == '\0')
            return bad_value(spec->long_name, value, "a non-empty text");
        if (o->stop_count == STOP_MAX)
            return bad_value(spec->long_name, value, "at most four --stop");
        o->stops[o->stop_count++] = value;
        break;
    case OPT_SEED:
        if (!parse_i64(value, &o->seed))
            return bad_value(spec->long_name, value, "a whole number, 64-bit");
        o->has_seed = true;
        break;
    case OPT_MAX_COMPLETION_TOKENS:
        if (!parse_u32(value, 1ul, 1000000ul, &o->max_completion_tokens))
            return bad_value(spec->long_name, value, "a whole number 1..1000000");
        break;
    case OPT_PARAM:
        return add_param(o, value);
    case OPT_IDEMPOTENCY_KEY:
        if (!printable_ascii(value))
            return bad_value(spec->long_name, value, "printable ASCII, not empty");
        o->idempotency_key = value;
        break;
    }
    return -1;
}

/*
 * Options may come anywhere before "--"; the other words are the prompt and
 * are moved to the front of argv (argv's pointers may be rewritten).
 * Returns -1 to go on, else the exit code.
 */
static int parse_options(options *o, int argc, char **argv)
{
    int i, words = 0, rc;
    bool only_words = false;

    for (i = 1; i < argc; i++) {
        char *arg = argv[i];

        if (only_words || arg[0] != '-' || arg[1] == '\0') {
            argv[words++] = arg; /* "-" alone is a word too */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_words = true;
            continue;
        }
        if (arg[1] == '-') {
            char *name = arg + 2;
            char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const opt_spec *spec = find_long(name, len);
            char *value = NULL;

            if (spec == NULL)
                return usage_error("unknown option", arg);
            if (spec->takes_value) {
                if (eq != NULL)
                    value = eq + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return usage_error("option needs a value", arg);
            } else if (eq != NULL) {
                return usage_error("option takes no value", arg);
            }
            rc = apply_option(o, spec, value);
            if (rc >= 0)
                return rc;
            continue;
        }
        /* Short options; flags may be grouped (-vh), a value may be glued
         * on (-mNAME) or be the next word. */
        {
            char *c;
            for (c = arg + 1; *c != '\0'; c++) {
                const opt_spec *spec = find_short(*c);
                char shown[3] = {'-', *c, '\0'};
                char *value = NULL;

                if (spec == NULL)
                    return usage_error("unknown option", shown);
                if (spec->takes_value) {
                    if (c[1] != '\0')
                        value = c + 1;
                    else if (i + 1 < argc)
                        value = argv[++i];
                    else
                        return usage_error("option needs a value", shown);
                }
                rc = apply_option(o, spec, value);
                if (rc >= 0)
                    return rc;
                if (value != NULL)
                    break;
            }
        }
    }
    o->words = argv;
    o->word_count = words;
    return -1;
}

/* ---- prompt -------------------------------------------------------------- */

static bool only_blanks(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Fills g_prompt from the words or from stdin.  -1 on success, else the
 * exit code. */
/* --tools FILE: read and checked before anything is sent.  Returns -1 to
 * go on, else the exit code. */
static int load_tools(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    const char *why = "";
    wisp_status st;

    if (f == NULL) {
        fprintf(stderr, PROG ": --tools: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    n = fread(g_tools_text, 1, TOOLS_FILE_MAX + 1, f);
    fclose(f);
    if (n > TOOLS_FILE_MAX) {
        fprintf(stderr, PROG ": --tools: %s is larger than %u bytes\n", path,
                (unsigned)TOOLS_FILE_MAX);
        return EXIT_USAGE;
    }
    st = wisp_tools_from_json(g_tools_text, n, g_tool_tokens, TOOL_TOKENS, g_tools, TOOL_MAX,
                              count, g_tool_store, sizeof g_tool_store, &why);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": --tools: %s: %s\n", path, why);
        return EXIT_USAGE;
    }
    if (*count == 0) {
        fprintf(stderr, PROG ": --tools: %s: the array is empty\n", path);
        return EXIT_USAGE;
    }
    return -1;
}

/* --image FILE: opened, its size and type read from the file, nothing
 * more; the bytes are read while the body is sent.  Returns -1 to go on,
 * else the exit code. */
static int open_image(image_file *img, const char *path)
{
    uint8_t head[8];
    struct stat st;
    ssize_t n;

    img->path = path;
    /* O_NONBLOCK: a FIFO with no writer must not hang the open (fstat
     * then refuses it); a regular file's reads ignore the flag. */
    img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (img->fd < 0) {
        fprintf(stderr, PROG ": --image: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (fstat(img->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, PROG ": --image: %s is not a regular file\n", path);
        return EXIT_USAGE;
    }
    n = pread(img->fd, head, sizeof head, 0);
    img->type = wisp_image_type_of(head, n > 0 ? (size_t)n : 0);
    if (img->type == WISP_IMAGE_UNKNOWN) {
        fprintf(stderr, PROG ": --image: %s is neither JPEG nor PNG\n", path);
        return EXIT_USAGE;
    }
    /* off_t is 64-bit where size_t may be 32: never cut a size short. */
    if ((uintmax_t)st.st_size > (uintmax_t)(SIZE_MAX / 8u * 3u)) {
        fprintf(stderr, PROG ": --image: %s is too large for this build\n", path);
        return EXIT_USAGE;
    }
    img->size = (size_t)st.st_size;
    return -1;
}

/* The image's read callback: exactly len bytes at offset, or a failure (a
 * file that shrank since it was measured). */
static wisp_status read_image(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    const image_file *img = (const image_file *)ctx;
    while (len > 0) {
        ssize_t n = pread(img->fd, buf, len, (off_t)offset);
        if (n < 0 && errno == EINTR && !g_interrupted)
            continue;
        if (n <= 0)
            return WISP_ERR_IO;
        buf += n;
        offset += (size_t)n;
        len -= (size_t)n;
    }
    return WISP_OK;
}

/* --json-schema FILE: one JSON value, named after the file ("reading" for
 * ./schemas/reading.json; OpenAI allows a-z, A-Z, 0-9, _ and -). */
static int load_schema(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    const char *base = strrchr(path, '/');
    const char *dot;
    size_t n = 0;

    if (f == NULL) {
        fprintf(stderr, PROG ": --json-schema: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    *len = fread(g_schema, 1, SCHEMA_FILE_MAX + 1, f);
    fclose(f);
    if (*len > SCHEMA_FILE_MAX) {
        fprintf(stderr, PROG ": --json-schema: %s is larger than %u bytes\n", path,
                (unsigned)SCHEMA_FILE_MAX);
        return EXIT_USAGE;
    }
    if (!wisp_json_is_value(g_schema, *len)) {
        fprintf(stderr, PROG ": --json-schema: %s is not one JSON value\n", path);
        return EXIT_USAGE;
    }
    /* The base name without its extension: "reading.v2.json" is
     * "reading_v2"; a leading dot (".schema") is not an extension. */
    base = base != NULL ? base + 1 : path;
    dot = strrchr(base, '.');
    if (dot == NULL || dot == base)
        dot = base + strlen(base);
    for (; base < dot && n < sizeof g_schema_name - 1; base++)
        g_schema_name[n++] = isalnum((unsigned char)*base) || *base == '-' ? *base : '_';
    if (n == 0)
        memcpy(g_schema_name, "schema", (n = 6));
    g_schema_name[n] = '\0';
    return -1;
}

/* s as a JSON string (valid UTF-8 comes in; control bytes escaped). */
static void put_json_string(const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            putchar('\\');
            putchar(c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c < 0x20 || c == 0x7F) {
            printf("\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

/* Each tool call as one line in the OpenAI tool_calls element shape, in
 * index order.  Returns true when every call came whole. */
static bool print_tool_calls(const wisp_response *r)
{
    bool whole = r->tool_calls_dropped == 0;
    size_t i;
    for (i = 0; i < r->tool_call_count; i++) {
        const wisp_tool_call *c = &r->tool_calls[i];
        fputs("{\"id\":", stdout);
        put_json_string(c->id, strlen(c->id));
        fputs(",\"type\":\"function\",\"function\":{\"name\":", stdout);
        put_json_string(c->name, strlen(c->name));
        fputs(",\"arguments\":", stdout);
        put_json_string(c->arguments.buf, c->arguments.len);
        fputs("}}\n", stdout);
        if (c->arguments.truncated) {
            fprintf(stderr,
                    PROG ": tool call %u: the arguments were cut to fit: %lu of %lu bytes\n",
                    (unsigned)c->index, (unsigned long)c->arguments.len,
                    (unsigned long)c->arguments.full_len);
            whole = false;
        }
        if (c->cut || c->name[0] == '\0') {
            fprintf(stderr, PROG ": tool call %u: %s\n", (unsigned)c->index,
                    c->cut ? "its id or name was cut to fit" : "the server sent no name");
            whole = false;
        }
    }
    if (r->tool_calls_dropped > 0)
        fprintf(stderr, PROG ": %lu more tool calls than the %u this program keeps\n",
                (unsigned long)r->tool_calls_dropped, (unsigned)CALL_SLOTS);
    return whole;
}

static int read_prompt(const options *o)
{
    size_t len = 0;
    int i;

    if (o->word_count > 0) {
        for (i = 0; i < o->word_count; i++) {
            size_t n = strlen(o->words[i]);
            if (len + n + (i > 0) > PROMPT_MAX) {
                fprintf(stderr, PROG ": the prompt is longer than 1 MiB\n");
                return EXIT_USAGE;
            }
            if (i > 0)
                g_prompt[len++] = ' ';
            memcpy(g_prompt + len, o->words[i], n);
            len += n;
        }
    } else {
        if (isatty(STDIN_FILENO))
            fprintf(stderr, PROG ": reading the prompt from stdin; end it "
                            "with Ctrl-D\n");
        /* Read one byte more than allowed to tell "exactly 1 MiB" from
         * "more". */
        len = fread(g_prompt, 1, PROMPT_MAX + 1, stdin);
        if (ferror(stdin)) {
            fprintf(stderr, PROG ": cannot read the prompt from stdin: %s\n",
                    strerror(errno));
            return EXIT_USAGE;
        }
        if (len > PROMPT_MAX) {
            fprintf(stderr, PROG ": the prompt on stdin is longer than "
                            "1 MiB\n");
            return EXIT_USAGE;
        }
        if (memchr(g_prompt, '\0', len) != NULL) {
            fprintf(stderr, PROG ": the prompt on stdin holds a NUL byte\n");
            return EXIT_USAGE;
        }
        /* "echo question | wisp-chat": the final newline is not part of
         * the question. */
        while (len > 0 && (g_prompt[len - 1] == '\n' || g_prompt[len - 1] == '\r'))
            len--;
    }
    g_prompt[len] = '\0';
    if (only_blanks(g_prompt, len)) {
        fprintf(stderr, PROG ": empty prompt (give it as arguments or on "
                        "stdin)\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* ---- diagnostics ----------------------------------------------------------- */

/*
 * Writes server-supplied text to stderr with control characters (C0, DEL,
 * and C1 in UTF-8) shown as '?', so a hostile reply cannot drive the
 * terminal.  keep_lines lets newlines and tabs through.
 */
static void put_clean(const char *s, size_t len, bool keep_lines)
{
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch == '\n' || ch == '\t') && keep_lines) {
            fputc(ch, stderr);
        } else if (ch < 0x20 || ch == 0x7f) {
            fputc(ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : '?', stderr);
        } else if (ch == 0xc2 && i + 1 < len &&
                   (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            fputc('?', stderr);
            i++;
        } else {
            fputc(ch, stderr);
        }
    }
}

/* Some gateways quote the Authorization header back in their error text;
 * the key must not reach the terminal, whole or cut to fit. */
static const char *g_key;
static size_t g_key_len; /* 0: nothing to mask (no key, or under 8 bytes) */

static void put_server_text(const char *s, size_t len, bool keep_lines)
{
    size_t i = 0, start = 0;
    while (i < len) {
        size_t n = len - i < g_key_len ? len - i : g_key_len;
        if (g_key_len != 0 && n >= 8 && memcmp(s + i, g_key, n) == 0) {
            put_clean(s + start, i - start, keep_lines);
            fputs("[API key]", stderr);
            i += n;
            start = i;
        } else {
            i++;
        }
    }
    put_clean(s + start, len - start, keep_lines);
}

static void put_clean_str(const char *s)
{
    put_server_text(s, strlen(s), false);
}

static void print_metadata(const wisp_response *r, const wisp_posix *posix)
{
    if (r->http_status != 0)
        fprintf(stderr, PROG ": http status: %d\n", r->http_status);
    if (r->id[0] != '\0') {
        fputs(PROG ": id: ", stderr);
        put_clean_str(r->id);
        fputc('\n', stderr);
    }
    if (r->model[0] != '\0') {
        fputs(PROG ": model: ", stderr);
        put_clean_str(r->model);
        fputc('\n', stderr);
    }
    if (r->refused)
        fputs(PROG ": the text is the model's refusal, not an answer\n", stderr);
    if (r->finish_reason[0] != '\0') {
        fputs(PROG ": finish_reason: ", stderr);
        put_clean_str(r->finish_reason);
        fputc('\n', stderr);
    }
    if (r->usage.present)
        fprintf(stderr,
                PROG ": usage: prompt %lu, completion %lu, total %lu, "
                     "cached %lu, reasoning %lu\n",
                (unsigned long)r->usage.prompt_tokens,
                (unsigned long)r->usage.completion_tokens,
                (unsigned long)r->usage.total_tokens,
                (unsigned long)r->usage.cached_tokens,
                (unsigned long)r->usage.reasoning_tokens);
    else
        fputs(PROG ": usage: not reported\n", stderr);
    if (r->request_id[0] != '\0') {
        fputs(PROG ": request id: ", stderr);
        put_clean_str(r->request_id);
        fputc('\n', stderr);
    }
    fprintf(stderr, PROG ": attempts: %u, connections: %lu\n",
            (unsigned)r->attempts, (unsigned long)posix->connects);
    if (r->fields_truncated)
        fputs(PROG ": (some fields above were cut to fit)\n", stderr);
}

/* The one failure line: the status, then every detail that exists. */
static void print_failure(wisp_status st, const wisp_response *r)
{
    fprintf(stderr, PROG ": %s", wisp_strerror(st));
    if (r->http_status != 0 && st != WISP_OK)
        fprintf(stderr, "; HTTP %d", r->http_status);
    if (r->error_message[0] != '\0') {
        fputs("; ", stderr);
        put_clean_str(r->error_message);
    }
    if (r->error_type[0] != '\0') {
        fputs("; type ", stderr);
        put_clean_str(r->error_type);
    }
    if (r->error_code[0] != '\0') {
        fputs("; code ", stderr);
        put_clean_str(r->error_code);
    }
    if (r->error_param[0] != '\0') {
        fputs("; param ", stderr);
        put_clean_str(r->error_param);
    }
    if (r->tls_detail[0] != '\0') {
        fputs("; TLS: ", stderr);
        put_clean_str(r->tls_detail);
    }
    if (r->tls_error != 0)
        fprintf(stderr, " (mbedTLS -0x%04x)",
                (unsigned)(r->tls_error < 0 ? -r->tls_error : r->tls_error));
    if (r->retry_after_ms != 0)
        fprintf(stderr, "; retry after %lu ms",
                (unsigned long)r->retry_after_ms);
    if (r->request_id[0] != '\0') {
        fputs("; request id ", stderr);
        put_clean_str(r->request_id);
    }
    fputc('\n', stderr);
}

/* ---- streaming --------------------------------------------------------------- */

typedef struct chat_state {
    bool print_content;     /* streaming: content goes out as it arrives */
    bool verbose;
    bool printed;           /* some content reached stdout */
    bool reasoning_open;    /* reasoning text on stderr without a final \n */
    bool stdout_failed;
    int stdout_errno;       /* why stdout failed, saved when it happened */
} chat_state;

static int on_event(void *user, const wisp_event *ev)
{
    chat_state *s = (chat_state *)user;

    if (g_interrupted)
        return 1;
    if (ev->type == WISP_EVENT_CONTENT && s->print_content && ev->len > 0) {
        if (s->reasoning_open) {
            fputc('\n', stderr);
            s->reasoning_open = false;
        }
        if (fwrite(ev->text, 1, ev->len, stdout) != ev->len ||
            fflush(stdout) != 0) {
            if (errno == EINTR && g_interrupted)
                return 1; /* Ctrl-C while stdout was blocked: a cancel */
            s->stdout_failed = true;
            s->stdout_errno = errno;
            return 1;
        }
        s->printed = true;
    } else if (ev->type == WISP_EVENT_REASONING && s->verbose &&
               s->print_content && ev->len > 0) {
        if (!s->reasoning_open)
            fputs(PROG ": reasoning: ", stderr);
        put_server_text(ev->text, ev->len, true);
        s->reasoning_open = ev->text[ev->len - 1] != '\n';
    }
    return g_interrupted ? 1 : 0;
}

/* Self-pipe: the handler writes a byte that every wait of the transport
 * also polls, so a Ctrl-C landing just before poll() is not missed. */
static int g_cancel_pipe[2] = {-1, -1};

static void on_sigint(int sig)
{
    int saved = errno;
    (void)sig;
    g_interrupted = 1;
    if (g_cancel_pipe[1] >= 0)
        (void)!write(g_cancel_pipe[1], "x", 1);
    errno = saved;
}

/* No SA_RESTART, so a blocked poll or read returns EINTR and sees the flag;
 * SA_RESETHAND, so a second Ctrl-C ends the program at once. */
static void catch_sigint(wisp_posix *posix)
{
    struct sigaction sa;
    if (pipe(g_cancel_pipe) == 0) {
        (void)fcntl(g_cancel_pipe[1], F_SETFL, O_NONBLOCK);
        (void)fcntl(g_cancel_pipe[0], F_SETFD, FD_CLOEXEC);
        (void)fcntl(g_cancel_pipe[1], F_SETFD, FD_CLOEXEC);
        posix->cancel_fd = g_cancel_pipe[0];
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    (void)sigaction(SIGINT, &sa, NULL);
}

/* ---- transport ------------------------------------------------------------- */

/*
 * Wraps the plain transport in TLS.  Returns WISP_OK with *out ready, or a
 * status after printing why.
 */
static wisp_status setup_tls(wisp_tls *tls, const options *o,
                             const wisp_transport *plain, wisp_transport *out)
{
    wisp_tls_config cfg;
    wisp_status st;

    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = o->cacert; /* NULL: the system bundle */
    cfg.skip_verification_insecure = o->insecure;
    cfg.now_ms = wisp_posix_now_ms;
    memset(out, 0, sizeof *out);
    st = wisp_tls_init(tls, &cfg, plain, out);
    if (st != WISP_OK) {
        char detail[WISP_TLS_DETAIL_CAP];
        detail[0] = '\0';
        if (out->last_error != NULL && out->ctx != NULL)
            (void)out->last_error(out->ctx, detail, sizeof detail);
        fprintf(stderr, PROG ": %s", wisp_strerror(st));
        if (detail[0] != '\0') {
            fputs("; TLS: ", stderr);
            put_clean_str(detail);
        } else if (o->cacert != NULL) {
            fprintf(stderr, " (CA bundle %s)", o->cacert);
        }
        fputc('\n', stderr);
    }
    return st;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A request the library refused, told in terms of the options: a --param
 * is named (the first one the check refuses when the params before it
 * pass), and the other fields map to their option. */
static void report_refusal(const wisp_request *req, wisp_status st, const char *why)
{
    static const struct {
        const char *field, *option;
    } options_of[] = {{"stop", "--stop"},
                      {"response_format", "--json-schema"},
                      {"sampling", "--temperature"},
                      {"reasoning_effort", "--reasoning-effort"},
                      {"idempotency_key", "--idempotency-key"},
                      {"messages", "--image"},
                      {"tool", "--tools"}};
    const char *detail = strchr(why, ':');
    size_t i;

    detail = detail != NULL ? detail + 2 : why;
    if (strncmp(why, "params", 6) == 0) {
        wisp_request one = *req;
        for (i = 0; i < req->param_count; i++) {
            one.param_count = i + 1;
            if (wisp_request_check(&one, NULL) != WISP_OK) {
                fprintf(stderr, PROG ": --param %s: %s\n", req->params[i].name,
                        strcmp(detail, "a name the request already sends") == 0
                            ? "wisp-chat sends this member itself (use its option, or drop it)"
                            : detail);
                return;
            }
        }
    }
    for (i = 0; i < sizeof options_of / sizeof options_of[0]; i++) {
        if (strncmp(why, options_of[i].field, strlen(options_of[i].field)) == 0) {
            fprintf(stderr, PROG ": %s: %s\n", options_of[i].option, detail);
            return;
        }
    }
    fprintf(stderr, PROG ": %s: %s\n", wisp_strerror(st), why);
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static wisp_posix posix;
    static wisp_tls tls;
    static options o;
    wisp_transport plain, secure;
    const wisp_transport *transport = &plain;
    bool tls_used = false;
    wisp_config cfg;
    wisp_client client;
    wisp_url url;
    wisp_request req;
    wisp_message msgs[2];
    wisp_response resp;
    size_t tool_count = 0, schema_len = 0, i;
    const char *why = "";
    bool calls;
    chat_state state;
    const char *url_from = "-u";
    wisp_status st;
    int rc;

    rc = parse_options(&o, argc, argv);
    if (rc >= 0)
        return rc;
    if (o.cacert != NULL && o.insecure)
        return usage_error("--cacert and --insecure exclude each other", NULL);
    if (o.cacert != NULL) {
        FILE *f = fopen(o.cacert, "r");
        if (f == NULL) {
            fprintf(stderr, PROG ": --cacert: cannot open %s: %s\n", o.cacert,
                    strerror(errno));
            return EXIT_USAGE;
        }
        fclose(f);
    }
    if (o.tool_choice != NULL && o.tools_file == NULL)
        return usage_error("--tool-choice needs --tools", NULL);
    if (o.tools_file != NULL) {
        rc = load_tools(o.tools_file, &tool_count);
        if (rc >= 0)
            return rc;
    }
    if (o.json_object && o.schema_file != NULL)
        return usage_error("--json and --json-schema exclude each other", NULL);
    if (o.schema_file != NULL) {
        rc = load_schema(o.schema_file, &schema_len);
        if (rc >= 0)
            return rc;
    }
    for (i = 0; i < o.image_count; i++) {
        rc = open_image(&g_images[i], o.image_paths[i]);
        if (rc >= 0)
            return rc;
    }
    rc = read_prompt(&o);
    if (rc >= 0)
        return rc;

    if (o.url == NULL) {
        url_from = "WISP_BASE_URL";
        o.url = env_nonempty("WISP_BASE_URL");
    }
    if (o.url == NULL) {
        url_from = "OPENAI_BASE_URL";
        o.url = env_nonempty("OPENAI_BASE_URL");
    }
    if (o.url == NULL) {
        url_from = "the default";
        o.url = DEFAULT_BASE_URL;
    }
    if (o.model == NULL)
        o.model = env_nonempty("WISP_MODEL");
    if (o.model == NULL)
        o.model = DEFAULT_MODEL;

    /* The URL itself is not echoed: it is the user's, and may carry more
     * than they want in a log. */
    st = wisp_url_parse(o.url, &url);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": %s (from %s)\n", wisp_strerror(st), url_from);
        return exit_code_for(st);
    }

    wisp_posix_init(&posix, &plain);
    posix.cancel = &g_interrupted;
    if (url.https) {
        if (o.insecure)
            fputs(PROG ": WARNING: --insecure: the server's certificate is NOT "
                       "verified; anyone on the network path can read and "
                       "change this conversation, API key included\n",
                  stderr);
        st = setup_tls(&tls, &o, &plain, &secure);
        if (st != WISP_OK) {
            wisp_tls_free(&tls);
            return exit_code_for(st);
        }
        transport = &secure;
        tls_used = true;
    } else if (o.verbose && (o.cacert != NULL || o.insecure)) {
        fputs(PROG ": note: plain http: --cacert/--insecure do not apply\n",
              stderr);
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = o.url;
    cfg.api_key = env_nonempty("WISP_API_KEY");
    if (cfg.api_key == NULL)
        cfg.api_key = env_nonempty("OPENAI_API_KEY");
    if (cfg.api_key != NULL && strlen(cfg.api_key) >= 8) {
        g_key = cfg.api_key;
        g_key_len = strlen(cfg.api_key);
    }
    cfg.transport = transport;
    if (o.timeout_ms != 0) {
        cfg.read_timeout_ms = o.timeout_ms;
        cfg.connect_timeout_ms = o.timeout_ms < WISP_DEFAULT_CONNECT_TIMEOUT_MS
                                     ? o.timeout_ms
                                     : WISP_DEFAULT_CONNECT_TIMEOUT_MS;
        cfg.total_timeout_ms = o.timeout_ms > WISP_DEFAULT_TOTAL_TIMEOUT_MS
                                   ? o.timeout_ms
                                   : WISP_DEFAULT_TOTAL_TIMEOUT_MS;
    }
    cfg.max_retries = 0; /* the default: 2 retries */
    cfg.now_ms = wisp_posix_now_ms;
    cfg.sleep_ms = wisp_posix_sleep_ms;
    cfg.platform_ctx = &posix;

    st = wisp_client_init(&client, &cfg, g_work, sizeof g_work, g_tokens,
                          TOKEN_COUNT);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": %s", wisp_strerror(st));
        if (st == WISP_ERR_HEADER_VALUE)
            fputs(" (check the API key and the base URL)", stderr);
        else if (st == WISP_ERR_URL)
            fprintf(stderr, " (from %s)", url_from);
        fputc('\n', stderr);
        if (tls_used)
            wisp_tls_free(&tls);
        return exit_code_for(st);
    }

    memset(&req, 0, sizeof req);
    memset(msgs, 0, sizeof msgs);
    req.model = o.model;
    req.messages = msgs;
    if (o.system != NULL) {
        msgs[req.message_count].role = WISP_ROLE_SYSTEM;
        msgs[req.message_count].content = o.system;
        req.message_count++;
    }
    msgs[req.message_count].role = WISP_ROLE_USER;
    if (o.image_count == 0) {
        msgs[req.message_count].content = g_prompt;
    } else {
        /* The question first, then the images in the order given. */
        g_parts[0].type = WISP_PART_TEXT;
        g_parts[0].text = g_prompt;
        for (i = 0; i < o.image_count; i++) {
            wisp_part *p = &g_parts[i + 1];
            p->type = WISP_PART_IMAGE;
            p->image_type = g_images[i].type;
            p->size = g_images[i].size;
            p->read = read_image;
            p->read_ctx = &g_images[i];
        }
        msgs[req.message_count].parts = g_parts;
        msgs[req.message_count].part_count = o.image_count + 1;
    }
    req.message_count++;
    req.max_tokens = o.max_tokens;
    req.max_completion_tokens = o.max_completion_tokens;
    req.has_temperature = o.has_temperature;
    req.temperature_milli = o.temperature_milli;
    req.stream = !o.no_stream;
    req.stop = o.stops;
    req.stop_count = o.stop_count;
    req.has_seed = o.has_seed;
    req.seed = o.seed;
    req.reasoning_effort = o.effort;
    req.params = o.params;
    req.param_count = o.param_count;
    req.idempotency_key = o.idempotency_key;
    if (o.json_object)
        req.response_format.type = WISP_FORMAT_JSON_OBJECT;
    if (o.schema_file != NULL) {
        req.response_format.type = WISP_FORMAT_JSON_SCHEMA;
        req.response_format.name = g_schema_name;
        req.response_format.schema = g_schema;
        req.response_format.schema_len = schema_len;
    }

    /* Streaming prints as it goes and keeps no copy; --no-stream needs the
     * whole text. */
    if (o.no_stream)
        wisp_response_init(&resp, g_content, sizeof g_content,
                           o.verbose ? g_reasoning : NULL,
                           o.verbose ? sizeof g_reasoning : 0);
    else
        wisp_response_init(&resp, NULL, 0, NULL, 0);
    if (tool_count > 0) {
        req.tools = g_tools;
        req.tool_count = tool_count;
        if (o.tool_choice == NULL)
            req.tool_choice = WISP_TOOL_CHOICE_UNSET;
        else if (strcmp(o.tool_choice, "auto") == 0)
            req.tool_choice = WISP_TOOL_CHOICE_AUTO;
        else if (strcmp(o.tool_choice, "none") == 0)
            req.tool_choice = WISP_TOOL_CHOICE_NONE;
        else if (strcmp(o.tool_choice, "required") == 0)
            req.tool_choice = WISP_TOOL_CHOICE_REQUIRED;
        else {
            req.tool_choice = WISP_TOOL_CHOICE_FUNCTION;
            req.tool_choice_name = o.tool_choice;
        }
        memset(g_calls, 0, sizeof g_calls);
        for (i = 0; i < CALL_SLOTS; i++) {
            g_calls[i].arguments.buf = g_call_args[i];
            g_calls[i].arguments.cap = CALL_ARGS_CAP;
            g_calls[i].signature.buf = g_call_sigs[i];
            g_calls[i].signature.cap = CALL_SIG_CAP;
        }
        resp.tool_calls = g_calls;
        resp.tool_call_cap = CALL_SLOTS;
    }

    /* Everything is checked before anything is sent. */
    st = wisp_request_check(&req, &why);
    if (st != WISP_OK) {
        report_refusal(&req, st, why);
        wisp_client_close(&client);
        if (tls_used)
            wisp_tls_free(&tls);
        return exit_code_for(st);
    }

    memset(&state, 0, sizeof state);
    state.print_content = !o.no_stream;
    state.verbose = o.verbose;

    if (o.verbose) {
        fprintf(stderr, PROG ": server: %s://", url.https ? "https" : "http");
        put_clean_str(url.host_is_ipv6 ? "[" : "");
        put_clean_str(url.host);
        fprintf(stderr, "%s:%u, model: ", url.host_is_ipv6 ? "]" : "",
                (unsigned)url.port);
        put_clean_str(o.model);
        fprintf(stderr, ", %s, API key: %s\n",
                o.no_stream ? "not streamed" : "streamed",
                cfg.api_key != NULL ? "set" : "none");
    }

    catch_sigint(&posix);
    st = wisp_chat(&client, &req, &resp, on_event, &state);
    if (st != WISP_OK && g_interrupted)
        st = WISP_ERR_CANCELLED; /* whatever the last wait reported */

    /* TLS failures: take the detail from the transport if the client did
     * not copy it. */
    if ((st == WISP_ERR_TLS || st == WISP_ERR_CERT) &&
        resp.tls_detail[0] == '\0' && transport->last_error != NULL)
        resp.tls_error = transport->last_error(transport->ctx, resp.tls_detail,
                                               sizeof resp.tls_detail);

    if (state.reasoning_open)
        fputc('\n', stderr);

    rc = exit_code_for(st);
    calls = st == WISP_OK && resp.tool_call_count + resp.tool_calls_dropped > 0;
    if (st == WISP_OK && o.no_stream) {
        fwrite(resp.content.buf, 1, resp.content.len, stdout);
        if (!calls || resp.content.len > 0)
            fputc('\n', stdout); /* with tool calls: no empty line for no text */
        if (o.verbose && resp.reasoning.len > 0) {
            /* As the streamed path prints it: one line break at the end. */
            fputs(PROG ": reasoning: ", stderr);
            put_server_text(resp.reasoning.buf, resp.reasoning.len, true);
            if (resp.reasoning.buf[resp.reasoning.len - 1] != '\n')
                fputc('\n', stderr);
        }
        if (resp.content.truncated) {
            fprintf(stderr,
                    PROG ": the reply was cut to fit: %lu of %lu bytes shown "
                         "(drop --no-stream to get all of it)\n",
                    (unsigned long)resp.content.len,
                    (unsigned long)resp.content.full_len);
            rc = EXIT_RESPONSE;
        }
    } else if ((st == WISP_OK && !calls) || state.printed) {
        /* Ends the streamed text; after a failure it only tidies the
         * line. */
        fputc('\n', stdout);
    }
    if (calls && !print_tool_calls(&resp) && rc == EXIT_OKAY)
        rc = EXIT_RESPONSE;
    /* A broken stdout outranks what the call reported (the callback's
     * cancel, for one). */
    if (fflush(stdout) != 0 && !state.stdout_failed && !(errno == EINTR && g_interrupted)) {
        state.stdout_failed = true;
        state.stdout_errno = errno;
    }
    if (state.stdout_failed) {
        int err = state.stdout_errno;
        if (o.verbose)
            print_metadata(&resp, &posix);
        fprintf(stderr, PROG ": cannot write the reply to stdout: %s\n",
                strerror(err));
        rc = EXIT_NETWORK;
    } else {
        if (o.verbose)
            print_metadata(&resp, &posix);
        if (st == WISP_OK && resp.reasoning_spent_budget) {
            /* The count as the server gave it, or as Gemini implies it. */
            const wisp_usage *u = &resp.usage;
            unsigned long thought = u->reasoning_tokens;
            if (thought == 0 && u->total_tokens > u->prompt_tokens &&
                u->total_tokens - u->prompt_tokens > u->completion_tokens)
                thought = (unsigned long)(u->total_tokens - u->prompt_tokens - u->completion_tokens);
            fputs(PROG ": the model spent the whole token budget reasoning", stderr);
            if (thought > 0)
                fprintf(stderr, " (%lu reasoning tokens)", thought);
            fputs(" and wrote no answer: raise --max-completion-tokens or lower "
                  "--reasoning-effort\n",
                  stderr);
        }
        if (st == WISP_ERR_CANCELLED)
            fputs(PROG ": interrupted\n", stderr);
        else if (st != WISP_OK)
            print_failure(st, &resp);
    }

    wisp_client_close(&client);
    if (tls_used)
        wisp_tls_free(&tls);
    posix.cancel = NULL;
    posix.cancel_fd = -1;
    plain.close(plain.ctx);
    if (g_cancel_pipe[0] >= 0) {
        int w = g_cancel_pipe[1];
        g_cancel_pipe[1] = -1; /* the handler writes nowhere from now on */
        close(w);
        close(g_cancel_pipe[0]);
    }
    return rc;
}

/*
 * inputs.c - the files and the prompt the options name, read and checked
 * before anything is sent, and the request made of them.
 *
 * Images are not read here: each file is opened, measured and typed, and
 * its bytes are read in pieces (pread) while the body goes out.  Every
 * buffer is static.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cancel.h"
#include "inputs.h"
#include "wisp_exit.h"

static char g_prompt[PROMPT_MAX + 1];

/* --tools: the file, the definitions read from it, and slots for the
 * reply's calls. */
#define TOOLS_FILE_MAX (256u * 1024u)
#define TOOL_MAX 64u
#define TOOL_TOKENS 8192u
#define CALL_ARGS_CAP (32u * 1024u)
#define CALL_SIG_CAP (8u * 1024u)
static char g_tools_text[TOOLS_FILE_MAX + 1];
static wisp_tool g_tools[TOOL_MAX];
static size_t g_tool_count;
static char g_tool_store[64u * 1024u];
static wisp_token g_tool_tokens[TOOL_TOKENS];
static wisp_tool_call g_calls[CALL_SLOTS];
static char g_call_args[CALL_SLOTS][CALL_ARGS_CAP];
static char g_call_sigs[CALL_SLOTS][CALL_SIG_CAP];

/* --image FILE: each file stays open and is read in pieces while the body
 * is sent (pread), never whole into memory. */
typedef struct image_file {
    const char *path;
    int fd;
    size_t size;
    wisp_image_type type;
} image_file;
static image_file g_images[IMAGE_MAX];
static wisp_part g_parts[IMAGE_MAX + 1];

/* --json-schema FILE */
#define SCHEMA_FILE_MAX (256u * 1024u)
static char g_schema[SCHEMA_FILE_MAX + 1];
static size_t g_schema_len;
static char g_schema_name[65];

char *inputs_prompt(void)
{
    return g_prompt;
}

/* ---- files ----------------------------------------------------------------- */

/* A whole file into buf (at most cap bytes; buf has one byte more), for
 * option.  Returns -1 to go on, else the exit code. */
static int read_whole(const char *option, const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, PROG ": %s: cannot open %s: %s\n", option, path, strerror(errno));
        return EXIT_USAGE;
    }
    *len = fread(buf, 1, cap + 1, f);
    fclose(f);
    if (*len > cap) {
        fprintf(stderr, PROG ": %s: %s is larger than %u bytes\n", option, path, (unsigned)cap);
        return EXIT_USAGE;
    }
    return -1;
}

/* --tools FILE: read and checked before anything is sent.  Returns -1 to
 * go on, else the exit code. */
static int load_tools(const char *path)
{
    size_t n;
    const char *why = "";
    wisp_status st;
    int rc = read_whole("--tools", path, g_tools_text, TOOLS_FILE_MAX, &n);

    if (rc >= 0)
        return rc;
    st = wisp_tools_from_json(g_tools_text, n, g_tool_tokens, TOOL_TOKENS, g_tools, TOOL_MAX,
                              &g_tool_count, g_tool_store, sizeof g_tool_store, &why);
    if (st != WISP_OK) {
        fprintf(stderr, PROG ": --tools: %s: %s\n", path, why);
        return EXIT_USAGE;
    }
    if (g_tool_count == 0) {
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
        if (n < 0 && errno == EINTR && !cancel_requested())
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
static int load_schema(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot;
    size_t n = 0;
    int rc = read_whole("--json-schema", path, g_schema, SCHEMA_FILE_MAX, &g_schema_len);

    if (rc >= 0)
        return rc;
    if (!wisp_json_is_value(g_schema, g_schema_len)) {
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

/* ---- the prompt ------------------------------------------------------------ */

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

/* What an interactive session cannot do yet. */
static int refuse_interactive(const char *option, const char *why)
{
    fprintf(stderr, PROG ": %s needs a prompt: %s\n", option, why);
    return usage_hint();
}

int inputs_load(const options *o, inputs_mode mode)
{
    bool interactive = mode == INPUTS_SESSION;
    size_t i;
    int rc;

    if (mode == INPUTS_NONE && o->word_count > 0)
        return usage_error("--list-models takes no prompt", NULL);
    if (interactive && o->tools_file != NULL)
        return refuse_interactive("--tools", "an interactive session cannot send tool "
                                             "results yet");
    if (interactive && o->image_count > 0)
        return refuse_interactive("--image", "the turns of an interactive session are text");
    if (interactive && o->idempotency_key != NULL)
        return refuse_interactive("--idempotency-key", "each turn of an interactive "
                                                       "session is a new request");
    if (o->cacert != NULL && o->insecure)
        return usage_error("--cacert and --insecure exclude each other", NULL);
    if (o->cacert != NULL) {
        FILE *f = fopen(o->cacert, "r");
        if (f == NULL) {
            fprintf(stderr, PROG ": --cacert: cannot open %s: %s\n", o->cacert,
                    strerror(errno));
            return EXIT_USAGE;
        }
        fclose(f);
    }
    if (mode == INPUTS_NONE)
        return -1;
    if (o->tool_choice != NULL && o->tools_file == NULL)
        return usage_error("--tool-choice needs --tools", NULL);
    if (o->tools_file != NULL) {
        rc = load_tools(o->tools_file);
        if (rc >= 0)
            return rc;
    }
    if (o->json_object && o->schema_file != NULL)
        return usage_error("--json and --json-schema exclude each other", NULL);
    if (o->schema_file != NULL) {
        rc = load_schema(o->schema_file);
        if (rc >= 0)
            return rc;
    }
    for (i = 0; i < o->image_count; i++) {
        rc = open_image(&g_images[i], o->image_paths[i]);
        if (rc >= 0)
            return rc;
    }
    if (interactive) {
        strcpy(g_prompt, "?"); /* what the request check sees until a line comes */
        return -1;
    }
    return read_prompt(o);
}

/* ---- the request ----------------------------------------------------------- */

static void set_tool_choice(const options *o, wisp_request *req)
{
    if (o->tool_choice == NULL)
        req->tool_choice = WISP_TOOL_CHOICE_UNSET;
    else if (strcmp(o->tool_choice, "auto") == 0)
        req->tool_choice = WISP_TOOL_CHOICE_AUTO;
    else if (strcmp(o->tool_choice, "none") == 0)
        req->tool_choice = WISP_TOOL_CHOICE_NONE;
    else if (strcmp(o->tool_choice, "required") == 0)
        req->tool_choice = WISP_TOOL_CHOICE_REQUIRED;
    else {
        req->tool_choice = WISP_TOOL_CHOICE_FUNCTION;
        req->tool_choice_name = o->tool_choice;
    }
}

void inputs_request(const options *o, wisp_request *req, wisp_message *msgs)
{
    wisp_message *user;
    size_t i;

    memset(req, 0, sizeof *req);
    memset(msgs, 0, 2 * sizeof *msgs);
    req->model = o->model;
    req->messages = msgs;
    if (o->system != NULL) {
        msgs[req->message_count].role = WISP_ROLE_SYSTEM;
        msgs[req->message_count].content = o->system;
        req->message_count++;
    }
    user = &msgs[req->message_count++];
    user->role = WISP_ROLE_USER;
    if (o->image_count == 0) {
        user->content = g_prompt;
    } else {
        /* The question first, then the images in the order given. */
        g_parts[0].type = WISP_PART_TEXT;
        g_parts[0].text = g_prompt;
        for (i = 0; i < o->image_count; i++) {
            wisp_part *p = &g_parts[i + 1];
            p->type = WISP_PART_IMAGE;
            p->image_type = g_images[i].type;
            p->size = g_images[i].size;
            p->read = read_image;
            p->read_ctx = &g_images[i];
        }
        user->parts = g_parts;
        user->part_count = o->image_count + 1;
    }
    req->max_tokens = o->max_tokens;
    req->max_completion_tokens = o->max_completion_tokens;
    req->has_temperature = o->has_temperature;
    req->temperature_milli = o->temperature_milli;
    req->stream = !o->no_stream;
    req->stop = o->stops;
    req->stop_count = o->stop_count;
    req->has_seed = o->has_seed;
    req->seed = o->seed;
    req->reasoning_effort = o->effort;
    req->params = o->params;
    req->param_count = o->param_count;
    req->idempotency_key = o->idempotency_key;
    if (o->json_object)
        req->response_format.type = WISP_FORMAT_JSON_OBJECT;
    if (o->schema_file != NULL) {
        req->response_format.type = WISP_FORMAT_JSON_SCHEMA;
        req->response_format.name = g_schema_name;
        req->response_format.schema = g_schema;
        req->response_format.schema_len = g_schema_len;
    }
    if (g_tool_count > 0) {
        req->tools = g_tools;
        req->tool_count = g_tool_count;
        set_tool_choice(o, req);
    }
}

void inputs_tool_slots(wisp_response *resp)
{
    size_t i;
    if (g_tool_count == 0)
        return;
    memset(g_calls, 0, sizeof g_calls);
    for (i = 0; i < CALL_SLOTS; i++) {
        g_calls[i].arguments.buf = g_call_args[i];
        g_calls[i].arguments.cap = CALL_ARGS_CAP;
        g_calls[i].signature.buf = g_call_sigs[i];
        g_calls[i].signature.cap = CALL_SIG_CAP;
    }
    resp->tool_calls = g_calls;
    resp->tool_call_cap = CALL_SLOTS;
}

void inputs_report_refusal(const wisp_request *req, wisp_status st, const char *why)
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

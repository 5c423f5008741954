/*
 * options.c - wisp-chat's command line, read with getopt_long.
 *
 * Options may come anywhere before "--" (getopt_long in its "-" mode hands
 * the other words back in order, whatever POSIXLY_CORRECT says), as
 * "--opt=value" or "--opt value", short flags grouped ("-vh") or with the
 * value glued on ("-mNAME").  getopt's own messages are off (opterr = 0):
 * every refusal is one "wisp-chat: ..." line naming the option, then the
 * usage hint, exit 1.  Values are checked here, digit by digit, so that
 * nothing odd ("-1", " 5", "0x10", "1e3") reaches a request.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "wisp_exit.h"

/* Long-only options: codes past any character. */
enum {
    OPT_NO_STREAM = 256,
    OPT_CACERT,
    OPT_INSECURE,
    OPT_SERVER_NAME,
    OPT_MAX_TOKENS,
    OPT_TEMPERATURE,
    OPT_TIMEOUT,
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
    OPT_IDEMPOTENCY_KEY,
    OPT_LIST_MODELS,
    OPT_PROXY,
    OPT_NOPROXY
};

static const struct option k_long[] = {
    {"url", required_argument, NULL, 'u'},
    {"model", required_argument, NULL, 'm'},
    {"system", required_argument, NULL, 's'},
    {"no-stream", no_argument, NULL, OPT_NO_STREAM},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
    {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"tools", required_argument, NULL, OPT_TOOLS},
    {"tool-choice", required_argument, NULL, OPT_TOOL_CHOICE},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"json-schema", required_argument, NULL, OPT_JSON_SCHEMA},
    {"json", no_argument, NULL, OPT_JSON},
    {"reasoning-effort", required_argument, NULL, OPT_REASONING_EFFORT},
    {"stop", required_argument, NULL, OPT_STOP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"max-completion-tokens", required_argument, NULL, OPT_MAX_COMPLETION_TOKENS},
    {"param", required_argument, NULL, OPT_PARAM},
    {"idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY},
    {"list-models", no_argument, NULL, OPT_LIST_MODELS},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"noproxy", required_argument, NULL, OPT_NOPROXY},
    {NULL, 0, NULL, 0}};

/* "-": words come back as option 1, in order; ":": a missing value is
 * ':' rather than '?'. */
static const char k_short[] = "-:u:m:s:vh";

static void print_usage(FILE *out)
{
    fputs(
        "usage: " PROG " [options] [PROMPT...]\n"
        "Asks an OpenAI-compatible chat-completions server; the reply goes to\n"
        "stdout.  The prompt is the arguments joined with spaces, or else all\n"
        "of stdin (at most 1 MiB).  With neither and stdin a terminal: an\n"
        "interactive session, one turn per line (/reset starts over, /exit or\n"
        "Ctrl-D ends it, Ctrl-C cancels a reply).\n"
        "\n"
        "  -u, --url URL         base URL (default: $WISP_BASE_URL, then\n"
        "                        $OPENAI_BASE_URL, then " DEFAULT_BASE_URL ")\n"
        "  -m, --model NAME      model (default: $WISP_MODEL, then\n"
        "                        " DEFAULT_MODEL ")\n"
        "  -s, --system TEXT     system message\n"
        "      --no-stream       ask for a non-streamed reply (at most 256 KiB)\n"
        "      --cacert FILE     CA bundle (PEM); default: the system bundle\n"
        "      --insecure        do NOT verify the server's certificate\n"
        "      --server-name NAME\n"
        "                        the name the certificate must hold (a DNS\n"
        "                        name also goes as SNI); default: the URL's host\n",
        out);
    /* Two strings: C99 promises 4095 bytes in one. */
    fputs(
        "      --proxy URL       through the HTTP proxy at\n"
        "                        http://[USER:PASSWORD@]HOST[:PORT] (port 1080\n"
        "                        when none; percent-encode ':' '@' '/' in USER\n"
        "                        and PASSWORD); '' for none.  Default, as curl:\n"
        "                        https: $https_proxy, $HTTPS_PROXY; http:\n"
        "                        $http_proxy; then $all_proxy, $ALL_PROXY.\n"
        "                        https goes through a CONNECT tunnel (the\n"
        "                        certificate is still checked), http is\n"
        "                        forwarded\n"
        "      --noproxy LIST    hosts reached directly (default: $no_proxy,\n"
        "                        then $NO_PROXY): comma-separated names, each\n"
        "                        also matching the hosts under it (a leading\n"
        "                        dot is allowed), IP addresses, * for all, ''\n"
        "                        for none; no ports, no CIDR\n"
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
        "      --list-models     the models the server offers, one id a line\n"
        "                        (GET {URL}/models), instead of a chat\n"
        "  -v, --verbose         to stderr: id, model, finish_reason, usage,\n"
        "                        request id, attempts, the proxy; streamed\n"
        "                        reasoning\n"
        "  -h, --help            this text\n"
        "      --version         print the version\n"
        "  --                    end of options; the rest is the prompt\n"
        "\n"
        "The API key comes from $WISP_API_KEY, then $OPENAI_API_KEY (never\n"
        "from the command line); without one no Authorization is sent.\n"
        "Proxy credentials are never printed: the proxy shows as HOST:PORT.\n"
        "\n"
        "exit: 0 ok, 1 usage, 2 network/TLS/timeout, 3 HTTP or API error,\n"
        "      4 malformed or oversized response, 130 interrupted\n",
        out);
}

int usage_hint(void)
{
    fputs("usage: " PROG " [options] [PROMPT...]   (" PROG " --help for "
          "more)\n",
          stderr);
    return EXIT_USAGE;
}

int usage_error(const char *what, const char *name)
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

/* ---- values ---------------------------------------------------------------- */

/* A name to verify the certificate against: printable ASCII without
 * spaces, short enough for the TLS port (WISP_HOST_CAP). */
static bool host_name_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n >= WISP_HOST_CAP)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
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

static bool printable_ascii(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
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

/* The long name of an option code, for bad_value. */
static const char *long_name(int code)
{
    size_t i;
    for (i = 0; k_long[i].name != NULL; i++)
        if (k_long[i].val == code)
            return k_long[i].name;
    return "?";
}

/* Applies one option with its value (NULL when it takes none).  Returns
 * -1 to go on, else an exit code. */
static int apply_option(options *o, int code, char *value)
{
    switch (code) {
    case 'u':
        o->url = value;
        break;
    case 'm':
        o->model = value;
        break;
    case 's':
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
    case OPT_SERVER_NAME:
        if (!host_name_ok(value))
            return bad_value(long_name(code), value,
                             "a host name or IP address: 1..253 printable characters, no spaces");
        o->server_name = value;
        break;
    case OPT_MAX_TOKENS:
        if (!parse_u32(value, 1ul, 1000000ul, &o->max_tokens))
            return bad_value(long_name(code), value, "a whole number 1..1000000");
        break;
    case OPT_TEMPERATURE:
        if (!parse_milli(value, 2000, &o->temperature_milli))
            return bad_value(long_name(code), value, "a number 0..2, at most three decimals");
        o->has_temperature = true;
        break;
    case OPT_TIMEOUT:
        if (!parse_u32(value, 1ul, 3600000ul, &o->timeout_ms))
            return bad_value(long_name(code), value, "a whole number 1..3600000");
        break;
    case 'v':
        o->verbose = true;
        break;
    case 'h':
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
            return bad_value(long_name(code), value, "auto, none, required or a name");
        break;
    case OPT_IMAGE:
        if (o->image_count == IMAGE_MAX)
            return bad_value(long_name(code), value, "at most 16 images");
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
            return bad_value(long_name(code), value, "none, minimal, low, medium or high");
        break;
    case OPT_STOP:
        if (value[0] == '\0')
            return bad_value(long_name(code), value, "a non-empty text");
        if (o->stop_count == STOP_MAX)
            return bad_value(long_name(code), value, "at most four --stop");
        o->stops[o->stop_count++] = value;
        break;
    case OPT_SEED:
        if (!parse_i64(value, &o->seed))
            return bad_value(long_name(code), value, "a whole number, 64-bit");
        o->has_seed = true;
        break;
    case OPT_MAX_COMPLETION_TOKENS:
        if (!parse_u32(value, 1ul, 1000000ul, &o->max_completion_tokens))
            return bad_value(long_name(code), value, "a whole number 1..1000000");
        break;
    case OPT_PARAM:
        return add_param(o, value);
    case OPT_LIST_MODELS:
        o->list_models = true;
        break;
    case OPT_PROXY:
        o->proxy = value; /* checked with the URL it applies to (proxy.c) */
        break;
    case OPT_NOPROXY:
        o->noproxy = value;
        break;
    case OPT_IDEMPOTENCY_KEY:
        if (!printable_ascii(value))
            return bad_value(long_name(code), value, "printable ASCII, not empty");
        o->idempotency_key = value;
        break;
    default:
        break;
    }
    return -1;
}

/* True when word ("--NAME" or "--NAME=VALUE") names an option exactly:
 * getopt_long would also take an unambiguous prefix ("--temp"), which a
 * later option could make ambiguous, so the CLI refuses those. */
static bool exact_long(const char *word)
{
    const char *name = word + 2;
    size_t len = strcspn(name, "="), i;
    for (i = 0; k_long[i].name != NULL; i++)
        if (strlen(k_long[i].name) == len && strncmp(k_long[i].name, name, len) == 0)
            return true;
    return false;
}

/* What getopt_long refused in word (the argv element it was reading),
 * told the CLI's way.  code is '?' or ':'. */
static int refuse(int code, const char *word)
{
    char shown[3] = {'-', (char)optopt, '\0'};
    bool is_long = word != NULL && word[0] == '-' && word[1] == '-';

    if (is_long && !exact_long(word))
        return usage_error("unknown option", word);
    if (code == ':')
        return usage_error("option needs a value", is_long ? word : shown);
    if (is_long && optopt != 0) /* a known option given "=value" */
        return usage_error("option takes no value", word);
    return usage_error("unknown option", is_long ? word : shown);
}

int options_parse(options *o, int argc, char **argv)
{
    int words = 0, rc, code;

    opterr = 0;
    for (;;) {
        int at = optind; /* the element being read (no permutation in "-" mode) */
        int long_index = -1; /* set for a long option */
        code = getopt_long(argc, argv, k_short, k_long, &long_index);
        if (code == -1) {
            /* musl stops at "-" alone, glibc hands it back as a word: make
             * it a word on both ("--" ends the options on both). */
            if (optind == at && optind < argc && strcmp(argv[optind], "-") == 0) {
                argv[words++] = argv[optind++];
                continue;
            }
            break;
        }
        if (code == 1) {
            argv[words++] = optarg; /* words only move down: argv[0..at) is read */
            continue;
        }
        if (code == '?' || code == ':' || (long_index >= 0 && !exact_long(argv[at])))
            return refuse(code, at < argc ? argv[at] : NULL);
        rc = apply_option(o, code, optarg);
        if (rc >= 0)
            return rc;
    }
    while (optind < argc)
        argv[words++] = argv[optind++]; /* after "--" */
    o->words = argv;
    o->word_count = words;
    return -1;
}

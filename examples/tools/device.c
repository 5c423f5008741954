/*
 * device.c - a device that lets the model call two of its functions,
 * get_temperature and set_led, through wisp's tool loop.  Nothing is
 * allocated: the tools are string literals, the calls land in fixed slots,
 * and the history of the exchange lives in one static arena.
 *
 *     device BASE_URL [QUESTION]      e.g. device http://127.0.0.1:8080/v1
 *
 * The answer goes to stdout; the rounds and the arena's high-water mark to
 * stderr.  The API key, if any, comes from WISP_API_KEY.  make test runs it
 * against the local test server (a scripted exchange of two rounds).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wisp_exit.h"
#include "wisp_posix.h"

/* What the model may call: JSON Schema as text, checked before sending. */
static const wisp_tool k_tools[] = {
    {.name = "get_temperature",
     .description = "Reads the temperature of a room, in degrees Celsius.",
     .parameters = "{\"type\":\"object\",\"properties\":{\"room\":{\"type\":\"string\"}},"
                   "\"required\":[\"room\"]}"},
    {.name = "set_led",
     .description = "Switches the status LED.",
     .parameters = "{\"type\":\"object\",\"properties\":{\"on\":{\"type\":\"boolean\"}},"
                   "\"required\":[\"on\"]}"},
};

static bool g_led;

/* The device's side: one call in, its result out (JSON for the model). */
static wisp_tool_verdict run_tool(void *user, const wisp_tool_call *call, char *result,
                                  size_t cap, size_t *len)
{
    int n;
    (void)user;
    if (strcmp(call->name, "get_temperature") == 0) {
        n = snprintf(result, cap, "{\"celsius\":%.1f}", 21.5); /* the sensor, here */
    } else if (strcmp(call->name, "set_led") == 0) {
        g_led = strstr(call->arguments.buf, "true") != NULL;
        n = snprintf(result, cap, "{\"ok\":true}");
    } else {
        n = snprintf(result, cap, "{\"error\":\"no such tool\"}");
    }
    if (n < 0 || (size_t)n >= cap)
        return WISP_TOOL_STOP; /* the result does not fit: stop rather than cut it */
    *len = (size_t)n;
    return WISP_TOOL_RESULT;
}

/* Storage, all static. */
static uint8_t g_work[4096];
static wisp_token g_tokens[256];
static char g_answer[1024];
static wisp_tool_call g_calls[4];
static char g_args[4][256];
static char g_sigs[4][1024]; /* Gemini's thought signatures go back as they came */
static uint64_t g_arena[2048 / sizeof(uint64_t)]; /* the history: 2 KB */

int main(int argc, char **argv)
{
    wisp_posix posix;
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    wisp_message question;
    wisp_request req;
    wisp_response resp;
    wisp_tool_loop loop;
    wisp_status st;
    size_t i;

    if (argc < 2) {
        fputs("usage: device BASE_URL [QUESTION]\n", stderr);
        return EXIT_USAGE;
    }
    wisp_posix_init(&posix, &tr);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = argv[1];
    cfg.api_key = getenv("WISP_API_KEY");
    cfg.transport = &tr;
    cfg.now_ms = wisp_posix_now_ms;
    cfg.sleep_ms = wisp_posix_sleep_ms;
    st = wisp_client_init(&client, &cfg, g_work, sizeof g_work, g_tokens, 256);
    if (st != WISP_OK) {
        fprintf(stderr, "device: %s\n", wisp_strerror(st));
        return exit_code_for(st);
    }

    memset(&question, 0, sizeof question);
    question.role = WISP_ROLE_USER;
    question.content = argc > 2 ? argv[2] : "How warm is the lab? Switch the LED on.";
    memset(&req, 0, sizeof req);
    req.model = getenv("WISP_MODEL") != NULL ? getenv("WISP_MODEL") : "gemini-2.5-flash";
    req.messages = &question;
    req.message_count = 1;
    req.tools = k_tools;
    req.tool_count = 2;

    wisp_response_init(&resp, g_answer, sizeof g_answer, NULL, 0);
    for (i = 0; i < 4; i++) {
        g_calls[i].arguments.buf = g_args[i];
        g_calls[i].arguments.cap = sizeof g_args[i];
        g_calls[i].signature.buf = g_sigs[i];
        g_calls[i].signature.cap = sizeof g_sigs[i];
    }
    resp.tool_calls = g_calls;
    resp.tool_call_cap = 4;

    memset(&loop, 0, sizeof loop);
    loop.handler = run_tool;
    loop.max_rounds = 3;
    loop.arena = g_arena;
    loop.arena_size = sizeof g_arena;

    st = wisp_chat_tools(&client, &req, &resp, &loop, NULL, NULL);
    wisp_client_close(&client);
    fprintf(stderr, "device: %u rounds, history %lu messages, arena %lu of %lu bytes, LED %s\n",
            loop.rounds, (unsigned long)loop.message_count, (unsigned long)loop.arena_used,
            (unsigned long)sizeof g_arena, g_led ? "on" : "off");
    if (st != WISP_OK) {
        fprintf(stderr, "device: %s%s%s\n", wisp_strerror(st), resp.error_message[0] ? ": " : "",
                resp.error_message);
        return exit_code_for(st);
    }
    printf("%s\n", resp.content.buf);
    return EXIT_OKAY;
}

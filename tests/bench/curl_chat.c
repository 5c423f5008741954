/*
 * curl_chat.c - the streamed chat a libcurl + cJSON client makes, to set
 * beside wisp-chat in make bench (tests/bench/bench.py): one POST with a
 * body written by cJSON, the reply read by CURLOPT_WRITEFUNCTION through
 * the line framing of sse_lines.h, each event parsed with cJSON and its
 * choices[0].delta.content written to stdout as it comes; no copy of the
 * whole reply is kept.
 *
 *   curl_chat BASE_URL CA_FILE PROMPT...
 *
 * The API key, if any, comes from $WISP_API_KEY.  Exit 0 after [DONE].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sse_lines.h"

#define EVENT_CAP (320u * 1024u) /* as wisp-chat's work buffer */

typedef struct reply {
    sse_lines lines;
    int state; /* 0 reading, 1 [DONE] seen, -1 failed */
} reply;

static char g_line[EVENT_CAP];
static char g_data[EVENT_CAP];

static void to_stdout(void *user, const char *s, size_t n)
{
    (void)user;
    fwrite(s, 1, n, stdout);
}

static int on_data(void *user, const char *data, size_t len)
{
    (void)user;
    return sse_cjson_event(data, len, to_stdout, NULL);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
    reply *r = (reply *)user;
    size_t n = size * nmemb;
    if (r->state == 0)
        r->state = sse_lines_feed(&r->lines, p, n);
    return r->state < 0 ? 0 : n; /* bytes after [DONE] are ignored */
}

static char *body_json(int argc, char **argv)
{
    cJSON *root = cJSON_CreateObject(), *messages, *msg;
    char *prompt, *out;
    size_t len = 1, at = 0;
    int i;
    for (i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    prompt = malloc(len);
    if (root == NULL || prompt == NULL)
        return NULL;
    for (i = 0; i < argc; i++) { /* the arguments joined with spaces */
        size_t n = strlen(argv[i]);
        if (i > 0)
            prompt[at++] = ' ';
        memcpy(prompt + at, argv[i], n);
        at += n;
    }
    prompt[at] = '\0';
    cJSON_AddStringToObject(root, "model", "gemini-2.5-flash");
    messages = cJSON_AddArrayToObject(root, "messages");
    msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON_AddStringToObject(msg, "content", prompt);
    cJSON_AddItemToArray(messages, msg);
    cJSON_AddTrueToObject(root, "stream");
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(prompt);
    return out;
}

int main(int argc, char **argv)
{
    CURL *curl;
    CURLcode rc;
    struct curl_slist *hdrs = NULL;
    char url[1024], auth[512];
    const char *key = getenv("WISP_API_KEY");
    char *body;
    long status = 0;
    reply r;

    if (argc < 4) {
        fprintf(stderr, "usage: curl_chat BASE_URL CA_FILE PROMPT...\n");
        return 1;
    }
    if ((size_t)snprintf(url, sizeof url, "%s/chat/completions", argv[1]) >= sizeof url)
        return 1;
    body = body_json(argc - 3, argv + 3);
    if (body == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;
    curl = curl_easy_init();
    if (curl == NULL)
        return 2;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: text/event-stream");
    if (key != NULL && key[0] != '\0') {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdrs = curl_slist_append(hdrs, auth);
    }
    memset(&r, 0, sizeof r);
    sse_lines_init(&r.lines, g_line, sizeof g_line, g_data, sizeof g_data, on_data, NULL);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && r.state == 0)
        r.state = sse_lines_finish(&r.lines);
    if (rc != CURLE_OK)
        fprintf(stderr, "curl_chat: %s\n", curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    cJSON_free(body);
    putchar('\n');
    return status == 200 && r.state == 1 ? 0 : 3;
}

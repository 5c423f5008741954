/*
 * sse_lines.h - the event framing and the cJSON reading a plain client
 * writes, for the benchmarks only (tests/bench/receive.c, curl_chat.c).
 *
 * Lines end in LF (a CR before it is dropped); a line split across reads
 * is gathered in a line buffer; "data:" lines (one space after the colon
 * dropped) are copied into a data buffer, joined by LF; a blank line hands
 * the event's data to the callback.  Other fields and comments are
 * skipped.  Both buffers are fixed: a longer line or event is an error,
 * never a realloc.
 */
#ifndef BENCH_SSE_LINES_H
#define BENCH_SSE_LINES_H

#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

/* One event's data (not NUL-terminated).  0 goes on, 1 stops (the reply
 * ended), -1 is an error. */
typedef int (*sse_lines_fn)(void *user, const char *data, size_t len);

typedef struct sse_lines {
    char *line;
    size_t line_cap, line_len;
    char *data;
    size_t data_cap, data_len;
    int has_data;
    sse_lines_fn fn;
    void *user;
} sse_lines;

static inline void sse_lines_init(sse_lines *s, char *line, size_t line_cap, char *data,
                                  size_t data_cap, sse_lines_fn fn, void *user)
{
    sse_lines fresh = {line, line_cap, 0, data, data_cap, 0, 0, fn, user};
    *s = fresh;
}

static inline int sse_lines_line(sse_lines *s, const char *l, size_t n)
{
    int r = 0;
    if (n > 0 && l[n - 1] == '\r')
        n--;
    if (n == 0) {
        if (s->has_data)
            r = s->fn(s->user, s->data, s->data_len);
        s->data_len = 0;
        s->has_data = 0;
        return r;
    }
    if (n < 5 || memcmp(l, "data:", 5) != 0)
        return 0;
    l += 5;
    n -= 5;
    if (n > 0 && l[0] == ' ') {
        l++;
        n--;
    }
    if (n + 1 > s->data_cap - s->data_len)
        return -1;
    if (s->has_data)
        s->data[s->data_len++] = '\n';
    memcpy(s->data + s->data_len, l, n);
    s->data_len += n;
    s->has_data = 1;
    return 0;
}

/* Feeds one read; returns as the callback does (0: want more). */
static inline int sse_lines_feed(sse_lines *s, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl != NULL ? (size_t)(nl - p) : n;
        int r;
        if (nl == NULL || s->line_len > 0) {
            if (len > s->line_cap - s->line_len)
                return -1;
            memcpy(s->line + s->line_len, p, len);
            s->line_len += len;
            if (nl == NULL)
                return 0;
            r = sse_lines_line(s, s->line, s->line_len);
            s->line_len = 0;
        } else {
            r = sse_lines_line(s, p, len);
        }
        if (r != 0)
            return r;
        p += len + 1;
        n -= len + 1;
    }
    return 0;
}

/* End of the body: a last line without LF, an event without its blank line. */
static inline int sse_lines_finish(sse_lines *s)
{
    int r = 0;
    if (s->line_len > 0) {
        r = sse_lines_line(s, s->line, s->line_len);
        s->line_len = 0;
    }
    if (r == 0 && s->has_data)
        r = sse_lines_line(s, "", 0);
    return r;
}

static inline int sse_is_done(const char *data, size_t len)
{
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

/* What a cJSON client does with one event: parse it, walk to
 * choices[0].delta.content, hand that string on, free the tree.
 * Returns 1 at [DONE], -1 when the data is not JSON, else 0. */
static inline int sse_cjson_event(const char *data, size_t len,
                                  void (*text)(void *user, const char *s, size_t n), void *user)
{
    cJSON *root, *choices, *delta, *content;
    if (sse_is_done(data, len))
        return 1;
    root = cJSON_ParseWithLength(data, len);
    if (root == NULL)
        return -1;
    choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    delta = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "delta");
    content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    if (cJSON_IsString(content))
        text(user, content->valuestring, strlen(content->valuestring));
    cJSON_Delete(root);
    return 0;
}

#endif /* BENCH_SSE_LINES_H */

/*
 * test_stack.c - peak stack of one wisp_chat call, measured by painting.
 *
 * The call runs on a thread whose stack is a buffer we filled with a
 * pattern; afterwards the deepest byte that changed gives the peak.  A
 * 1 KB reply and a 1 MB reply must use the same stack (memory does not grow
 * with the reply), and every path (streamed, not streamed, a stream request
 * answered with JSON, errors of each kind) must stay under one budget fit
 * for a small RTOS task.  The figures are printed for the README.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"

/* Under valgrind the stack below the stack pointer counts as undefined:
 * tell memcheck that reading the paint back is intended. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "fake_transport.h"
#include "wisp.h"

#define STACK_SIZE (256 * 1024)
#define PAINT 0xA5

/* Sanitizers and valgrind change frame sizes; the budget holds for plain
 * runs only (valgrind is told apart at run time), the equality check holds
 * everywhere. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
#ifndef STACK_BUDGET /* make coverage raises it: -O0 and counters take more */
#define STACK_BUDGET 1664 /* bytes for wisp_chat and all it calls (x86-64 -O2: 1552 at most) */
#endif

typedef struct job {
    const char *reply;
    size_t reply_len;
    bool stream;
    bool skip_chat; /* measure everything but the call itself */
    size_t image_size; /* an image of this size read while sending; 0: none */
    size_t image_read; /* bytes of it the writer read */
    bool conv;         /* through wisp_conv_ask, with a history */
    wisp_status status;
    size_t content_bytes;
    uint8_t work[2048];
    wisp_token tokens[64];
} job;

static int count_content(void *user, const wisp_event *ev)
{
    job *j = (job *)user;
    if (ev->type == WISP_EVENT_CONTENT) {
        j->content_bytes += ev->len;
    }
    return 0;
}

/* Image bytes made from their offset: no copy of the image anywhere. */
static wisp_status synth_image(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    size_t i;
    ((job *)ctx)->image_read += len;
    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)((offset + i) * 2654435761u >> 11);
    }
    return WISP_OK;
}

static void *run_job(void *arg)
{
    job *j = (job *)arg;
    fake_transport *fake = calloc(1, sizeof *fake);
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    wisp_response resp;
    wisp_part parts[2];
    char content[64];

    memset(parts, 0, sizeof parts);
    parts[0].type = WISP_PART_TEXT;
    parts[0].text = "what is on this frame?";
    parts[1].type = WISP_PART_IMAGE;
    parts[1].image_type = WISP_IMAGE_JPEG;
    parts[1].size = j->image_size;
    parts[1].read = synth_image;
    parts[1].read_ctx = j;
    if (j->image_size > 0) {
        msg.content = NULL;
        msg.parts = parts;
        msg.part_count = 2;
    }
    fake_init(fake, &tr);
    fake->split = SPLIT_RANDOM;
    fake->seed = 3;
    fake_add(fake, j->reply, j->reply_len, END_CLOSE);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &tr;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = j->stream;
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    if (!j->skip_chat &&
        wisp_client_init(&client, &cfg, j->work, sizeof j->work, j->tokens, 64) == WISP_OK) {
        if (j->conv) {
            static uint64_t arena[4096 / 8];
            static wisp_conv conv;
            if (wisp_conv_init(&conv, arena, sizeof arena, 32, "be brief") == WISP_OK)
                j->status = wisp_conv_ask(&client, &conv, &req, "hi", &resp, NULL,
                                          count_content, j);
        } else {
            j->status = wisp_chat(&client, &req, &resp, count_content, j);
        }
        wisp_client_close(&client);
    }
    free(fake);
    return NULL;
}

/* Runs the job on a painted stack; returns the bytes of stack it touched. */
static size_t peak_stack(job *j)
{
    void *mem = NULL;
    uint8_t *stack;
    pthread_attr_t attr;
    pthread_t thread;
    size_t untouched = 0;
    size_t baseline;
    job idle;

    assert_int_equal(posix_memalign(&mem, 4096, STACK_SIZE), 0);
    stack = (uint8_t *)mem;
    memset(stack, PAINT, STACK_SIZE);
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstack(&attr, stack, STACK_SIZE), 0);
    assert_int_equal(pthread_create(&thread, &attr, run_job, j), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    VALGRIND_MAKE_MEM_DEFINED(stack, STACK_SIZE);
    while (untouched < STACK_SIZE && stack[untouched] == PAINT) {
        untouched++; /* the stack grows down from the end */
    }

    /* The same thread without the call: thread start-up, the fake
     * transport set-up and calloc are not wisp's. */
    memset(&idle, 0, sizeof idle);
    idle.reply = "";
    idle.skip_chat = true;
    memset(stack, PAINT, STACK_SIZE);
    assert_int_equal(pthread_create(&thread, &attr, run_job, &idle), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    VALGRIND_MAKE_MEM_DEFINED(stack, STACK_SIZE);
    baseline = 0;
    while (baseline < STACK_SIZE && stack[baseline] == PAINT) {
        baseline++;
    }
    pthread_attr_destroy(&attr);
    free(stack);
    return baseline > untouched ? baseline - untouched : 0;
}

static char *make_stream(size_t content_bytes, size_t *len)
{
    static const char piece[] = "0123456789abcdefghijklmnopqrstuvwxyz ";
    size_t cap = content_bytes * 4 + 4096;
    char *s = malloc(cap);
    size_t n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
    size_t produced = 0;
    while (produced < content_bytes) {
        n += (size_t)sprintf(s + n, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n",
                             piece);
        produced += sizeof piece - 1;
    }
    n += (size_t)sprintf(s + n, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                                "data: [DONE]\n\n");
    *len = n;
    return s;
}

static void test_stack_does_not_grow_with_reply(void **state)
{
    job *small = calloc(1, sizeof *small);
    job *large = calloc(1, sizeof *large);
    size_t peak_small, peak_large;
    char *a, *b;
    (void)state;
    a = make_stream(1024, &small->reply_len);
    b = make_stream(1024 * 1024, &large->reply_len);
    small->reply = a;
    small->stream = true;
    large->reply = b;
    large->stream = true;

    /* A first run resolves the libc symbols wisp calls (memcpy, ...): the
     * dynamic linker's lazy binding needs a deep stack once per process. */
    (void)peak_stack(small);
    peak_small = peak_stack(small);
    peak_large = peak_stack(large);
    assert_int_equal(small->status, WISP_OK);
    assert_int_equal(large->status, WISP_OK);
    assert_true(small->content_bytes >= 1024);
    assert_true(large->content_bytes >= 1024 * 1024);
    print_message("peak stack of wisp_chat, streamed: 1 KB reply %zu bytes, 1 MB reply %zu bytes\n",
                  peak_small, peak_large);
    /* Same code path, same frames: the reply length must not matter
     * (a few bytes of slack for alignment differences). */
    assert_true(peak_large <= peak_small + 64);
    if (!SANITIZED && !RUNNING_ON_VALGRIND) {
        assert_true(peak_large <= STACK_BUDGET);
    }
    free(a);
    free(b);
    free(small);
    free(large);
}

/* A camera frame of 8 KB and one of 8 MB go out through the same work
 * buffer and the same stack. */
static void test_stack_does_not_grow_with_image(void **state)
{
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    job *small = calloc(1, sizeof *small);
    job *large = calloc(1, sizeof *large);
    size_t peak_small, peak_large, len;
    char *reply;
    (void)state;
    reply = make_stream(64, &len);
    small->reply = large->reply = reply;
    small->reply_len = large->reply_len = len;
    small->stream = large->stream = true;
    small->image_size = 8u * 1024u;
    large->image_size = 8u * 1024u * 1024u;
    (void)peak_stack(small);
    small->image_read = 0;
    peak_small = peak_stack(small);
    peak_large = peak_stack(large);
    assert_int_equal(small->status, WISP_OK);
    assert_int_equal(large->status, WISP_OK);
    assert_int_equal(small->image_read, small->image_size); /* read once, whole */
    assert_int_equal(large->image_read, large->image_size);
    print_message("peak stack of wisp_chat with an image: 8 KB %zu bytes, 8 MB %zu bytes\n",
                  peak_small, peak_large);
    assert_true(peak_large <= peak_small + 64);
    if (!SANITIZED && !RUNNING_ON_VALGRIND) {
        assert_true(peak_large <= STACK_BUDGET);
    }
    free(reply);
    free(small);
    free(large);
}

/* One whole body through wisp_chat: its peak, checked against the budget. */
static size_t peak_of(const char *what, int http, const char *type, const char *body,
                      bool stream, wisp_status want)
{
    char reply[1024];
    job *j = calloc(1, sizeof *j);
    size_t peak;
    j->reply_len = (size_t)snprintf(reply, sizeof reply,
                                    "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
                                    "Content-Length: %u\r\n\r\n%s",
                                    http, type, (unsigned)strlen(body), body);
    j->reply = reply;
    j->stream = stream;
    (void)peak_stack(j);
    peak = peak_stack(j);
    assert_int_equal(j->status, want);
    print_message("peak stack of wisp_chat, %s: %zu bytes\n", what, peak);
    if (!SANITIZED && !RUNNING_ON_VALGRIND) {
        assert_true(peak <= STACK_BUDGET);
    }
    free(j);
    return peak;
}

static const char k_completion[] =
    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
    "[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"hm\"}]},"
    "{\"type\":\"text\",\"text\":\"hi\"}]},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

/* Every way a reply or an error can come, each under the same budget. */
static void test_stack_every_path(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    (void)state;
    (void)peak_of("non-streamed", 200, "application/json", k_completion, false, WISP_OK);
    {
        char reply[1024];
        job *j = calloc(1, sizeof *j);
        size_t peak;
        j->reply_len = (size_t)snprintf(reply, sizeof reply,
                                        "HTTP/1.1 200 X\r\nContent-Type: application/json\r\n"
                                        "Content-Length: %u\r\n\r\n%s",
                                        (unsigned)strlen(k_completion), k_completion);
        j->reply = reply;
        j->conv = true;
        (void)peak_stack(j);
        peak = peak_stack(j);
        assert_int_equal(j->status, WISP_OK);
        print_message("peak stack of wisp_conv_ask, non-streamed: %zu bytes\n", peak);
        if (!SANITIZED && !RUNNING_ON_VALGRIND) {
            assert_true(peak <= STACK_BUDGET + 256);
        }
        free(j);
    }
    (void)peak_of("stream request answered with JSON", 200, "application/json", k_completion,
                  true, WISP_OK);
    (void)peak_of("error in a 200 body", 200, "application/json",
                  "{\"error\":{\"message\":\"no\",\"type\":\"t\",\"code\":7}}", false, WISP_ERR_API);
    (void)peak_of("HTTP error body", 400, "application/json",
                  "[{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}]",
                  false, WISP_ERR_HTTP_STATUS);
    (void)peak_of("HTML error page", 404, "text/html",
                  "<html><body><h1>404 Not Found</h1></body></html>", false, WISP_ERR_HTTP_STATUS);
    (void)peak_of("error event in a stream", 200, "text/event-stream",
                  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                  "event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n",
                  true, WISP_ERR_API);
    (void)peak_of("llama.cpp error line", 200, "text/event-stream",
                  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                  "error: {\"code\":500,\"message\":\"slot unavailable\",\"type\":\"server_error\"}\n\n",
                  true, WISP_ERR_API);
    (void)peak_of("tool calls streamed", 200, "text/event-stream",
                  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
                  "\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{\\\"room\\\":\"}}]}}]}\n\n"
                  "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
                  "{\"arguments\":\"\\\"hall\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n",
                  true, WISP_OK);
    /* The last event ends with the body, without its blank line. */
    (void)peak_of("stream ended by the body's end", 200, "text/event-stream",
                  "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\","
                  "\"thinking\":[{\"type\":\"text\",\"text\":\"hm\"}]},{\"type\":\"text\",\"text\":"
                  "\"hi \\ud83d\"}]},\"finish_reason\":\"stop\"}]}\n",
                  true, WISP_OK);
}

/* An error body larger than the work buffer: its start is kept and its
 * message salvaged. */
static void test_stack_cut_error_body(void **state)
{
    size_t n = 0, peak;
    char *reply = malloc(8192);
    job *j = calloc(1, sizeof *j);
    (void)state;
    n += (size_t)sprintf(reply, "HTTP/1.1 400 X\r\nContent-Type: application/json\r\n"
                                "Content-Length: 5000\r\n\r\n{\"error\":{\"message\":\"too long\",\"x\":\"");
    while (n < 8192 - 8) {
        reply[n++] = 'x';
    }
    j->reply = reply;
    j->reply_len = n;
    (void)peak_stack(j);
    peak = peak_stack(j);
    print_message("peak stack of wisp_chat, cut error body: %zu bytes\n", peak);
    if (!SANITIZED && !RUNNING_ON_VALGRIND) {
        assert_true(peak <= STACK_BUDGET);
    }
    free(j);
    free(reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_does_not_grow_with_reply),
        cmocka_unit_test(test_stack_does_not_grow_with_image),
        cmocka_unit_test(test_stack_every_path),
        cmocka_unit_test(test_stack_cut_error_body),
    };
    return cmocka_run_group_tests_name("stack", tests, NULL, NULL);
}

/*
 * main.c - the Cortex-M4 firmware: one streamed chat over TLS, through a
 * modem link on UART2 (port/serial), verified against the CA compiled into
 * the image.  The reply goes to UART0 as it arrives; diagnostics, the
 * failure reason and the memory figures go to UART1.  The exit status is
 * wisp-chat's (0 complete, 2 network/TLS/certificate, 3 HTTP/API error,
 * 4 malformed reply).
 */
#include <string.h>
#include <time.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_time.h"
#include "mbedtls/platform_util.h"

#include "board.h"
#include "fw_inputs.h"
#include "wisp.h"
#include "wisp_exit.h"
#include "wisp_serial.h"
#include "wisp_tls.h"

#ifndef FW_TLS_POOL_SIZE
#define FW_TLS_POOL_SIZE (40u * 1024u)
#endif
#ifndef FW_MAX_FRAGMENT_LEN
#define FW_MAX_FRAGMENT_LEN 0 /* 4096 with MBEDTLS_SSL_IN_CONTENT_LEN 4096 */
#endif
#define FW_WORK_SIZE 4096u
#define FW_TOKENS 64u

/* Everything static: sizes are known at link time, nothing on the heap. */
static unsigned char tls_pool[FW_TLS_POOL_SIZE];
static uint8_t work[FW_WORK_SIZE];
static wisp_token tokens[FW_TOKENS];
static wisp_response resp;
static wisp_client client;
static wisp_tls tls;
static wisp_serial modem;

/* ---- hooks mbedTLS asks the board for ---------------------------------------- */

/* MBEDTLS_ENTROPY_HARDWARE_ALT: a real board reads its TRNG here. */
int mbedtls_hardware_poll(void *data, unsigned char *out, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *out, size_t len, size_t *olen)
{
    *olen = len;
    return board_entropy_insecure_test_only(data, out, len);
}

/* MBEDTLS_PLATFORM_MS_TIME_ALT. */
mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t)board_now_ms(NULL);
}

/* MBEDTLS_PLATFORM_TIME_ALT: certificate dates are checked against this. */
static mbedtls_time_t wall_clock(mbedtls_time_t *t)
{
    mbedtls_time_t now = (mbedtls_time_t)board_wall_clock();
    if (t != NULL)
        *t = now;
    return now;
}

/* MBEDTLS_PLATFORM_GMTIME_R_ALT: newlib's gmtime() would malloc. */
struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
    time_t t = (time_t)*tt;
    return gmtime_r(&t, tm_buf);
}

/* ---- the UART under the serial transport ------------------------------------ */

static int modem_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    board_uart_write(BOARD_UART_MODEM, buf, len);
    return 0;
}

static int modem_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    (void)ctx;
    return (int)board_uart_read(BOARD_UART_MODEM, buf, cap, timeout_ms);
}

/* ---- output ------------------------------------------------------------------ */

static void diag(const char *s)
{
    board_uart_puts(BOARD_UART_DIAG, s);
}

static void diag_num(const char *label, unsigned long n)
{
    char digits[12];
    int i = (int)sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0 && i > 0);
    diag(label);
    diag(&digits[i]);
}

static int on_event(void *user, const wisp_event *ev)
{
    (void)user;
    if (ev->type == WISP_EVENT_CONTENT)
        board_uart_write(BOARD_UART_OUT, ev->text, ev->len);
    return 0;
}

static void report_failure(wisp_status st)
{
    diag("wisp-fw: ");
    diag(wisp_strerror(st));
    if (resp.http_status != 0)
        diag_num(" (HTTP ", (unsigned long)resp.http_status), diag(")");
    if (resp.error_message[0] != '\0')
        diag(": "), diag(resp.error_message);
    if (resp.tls_detail[0] != '\0')
        diag(": "), diag(resp.tls_detail);
    diag("\n");
}

/* The memory figures the README's table is made from. */
static void report_memory(void)
{
    size_t used = 0, blocks = 0;
#if defined(MBEDTLS_MEMORY_DEBUG)
    mbedtls_memory_buffer_alloc_max_get(&used, &blocks);
#endif
    diag_num("wisp-fw: tls pool high-water ", (unsigned long)used);
    diag_num(" of ", (unsigned long)sizeof tls_pool);
    diag_num(" B; stack peak ", (unsigned long)board_stack_peak());
    diag_num(" of ", (unsigned long)board_stack_size());
    diag_num(" B; wisp buffers ", (unsigned long)(sizeof work + sizeof tokens +
                                                  sizeof resp + sizeof client));
    diag_num(" B; wisp_tls ", (unsigned long)sizeof tls);
    diag(" B\n");
}

int main(void)
{
    wisp_transport link_tr, tls_tr;
    wisp_serial_link link = {NULL, modem_write, modem_read};
    wisp_tls_config tc;
    wisp_config cfg;
    wisp_message msg;
    wisp_request req;
    wisp_status st;

    board_init();
    mbedtls_memory_buffer_alloc_init(tls_pool, sizeof tls_pool);
    mbedtls_platform_set_time(wall_clock);

    wisp_serial_init(&modem, &link, board_now_ms, NULL, &link_tr);
    memset(&tc, 0, sizeof tc);
    tc.ca_blob = fw_ca;
    tc.ca_blob_len = fw_ca_len;
    tc.entropy = board_entropy_insecure_test_only;
    tc.now_ms = board_now_ms;
    tc.max_fragment_len = FW_MAX_FRAGMENT_LEN;
    st = wisp_tls_init(&tls, &tc, &link_tr, &tls_tr);
    if (st != WISP_OK) {
        diag("wisp-fw: TLS setup failed: "), diag(wisp_strerror(st));
        diag(": "), diag(tls.last_detail), diag("\n");
        wisp_tls_free(&tls);
        return exit_code_for(st);
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = fw_base_url;
    cfg.api_key = fw_api_key[0] != '\0' ? fw_api_key : NULL;
    cfg.transport = &tls_tr;
    cfg.now_ms = board_now_ms;
    cfg.sleep_ms = board_sleep_ms;
    st = wisp_client_init(&client, &cfg, work, sizeof work, tokens, FW_TOKENS);
    if (st != WISP_OK) {
        diag("wisp-fw: bad configuration: "), diag(wisp_strerror(st)), diag("\n");
        wisp_tls_free(&tls);
        return exit_code_for(st);
    }

    memset(&msg, 0, sizeof msg);
    msg.role = WISP_ROLE_USER;
    msg.content = fw_prompt;
    memset(&req, 0, sizeof req);
    req.model = fw_model;
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    wisp_response_init(&resp, NULL, 0, NULL, 0); /* the text goes to UART0 */

    diag("wisp-fw: POST "), diag(fw_base_url), diag("/chat/completions\n");
    st = wisp_chat(&client, &req, &resp, on_event, NULL);
    if (resp.content.full_len > 0 || st == WISP_OK)
        board_uart_write(BOARD_UART_OUT, "\n", 1);
    if (st != WISP_OK)
        report_failure(st);
    diag_num("wisp-fw: handshakes ", (unsigned long)tls.handshakes_full);
    diag_num(" full, ", (unsigned long)tls.handshakes_resumed);
    diag(" resumed\n");
    wisp_client_close(&client);
    wisp_tls_free(&tls);
    report_memory();
    return exit_code_for(st);
}

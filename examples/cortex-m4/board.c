/*
 * board.c - mps2-an386 under QEMU: CMSDK APB UARTs polled (no interrupts),
 * SysTick at 1 kHz, ARM semihosting for the exit status and the host's
 * clock.  See board.h.
 */
#include "board.h"

/* ---- CMSDK APB UART --------------------------------------------------------- */

typedef struct {
    volatile uint32_t data;
    volatile uint32_t state;   /* bit 0: TX full, bit 1: RX full */
    volatile uint32_t ctrl;    /* bit 0: TX enable, bit 1: RX enable */
    volatile uint32_t intstatus;
    volatile uint32_t bauddiv; /* at least 16 */
} cmsdk_uart;

#define UART_TX_FULL 1u
#define UART_RX_FULL 2u
#define UART_TX_EN 1u
#define UART_RX_EN 2u

static cmsdk_uart *uart_at(int n)
{
    static const uintptr_t base[3] = {0x40004000u, 0x40005000u, 0x40006000u};
    return (cmsdk_uart *)base[n];
}

/* ---- SysTick ------------------------------------------------------------------ */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CORE_CLOCK_HZ 25000000u /* the mps2 boards' system clock */

static volatile uint32_t ticks_ms;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    ticks_ms++;
}

void board_init(void)
{
    int n;
    for (n = 0; n < 3; n++) {
        uart_at(n)->bauddiv = 16;
        uart_at(n)->ctrl = UART_TX_EN | UART_RX_EN;
    }
    SYST_RVR = CORE_CLOCK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_now_ms(void *ctx)
{
    (void)ctx;
    return ticks_ms;
}

void board_sleep_ms(void *ctx, uint32_t ms)
{
    uint32_t start = board_now_ms(ctx);
    while (board_now_ms(ctx) - start < ms)
        __asm__ volatile("wfi");
}

void board_uart_write(int n, const void *buf, size_t len)
{
    cmsdk_uart *u = uart_at(n);
    const uint8_t *p = buf;
    while (len-- > 0) {
        while (u->state & UART_TX_FULL)
            ;
        u->data = *p++;
    }
}

void board_uart_puts(int n, const char *s)
{
    size_t len = 0;
    while (s[len] != '\0')
        len++;
    board_uart_write(n, s, len);
}

size_t board_uart_read(int n, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    cmsdk_uart *u = uart_at(n);
    uint32_t start = ticks_ms;
    size_t got = 0;
    while (!(u->state & UART_RX_FULL))
        if (ticks_ms - start >= timeout_ms)
            return 0;
    /* Take what is there now; QEMU refills the one-byte holding register
     * as soon as it is read, so keep going while bytes keep coming. */
    while (got < cap && (u->state & UART_RX_FULL))
        buf[got++] = (uint8_t)u->data;
    return got;
}

/* ---- semihosting --------------------------------------------------------------- */

#define SYS_TIME 0x11
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_exit(int status)
{
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    for (;;)
        semihost(SYS_EXIT_EXTENDED, block);
}

int64_t board_wall_clock(void)
{
    return (int64_t)semihost(SYS_TIME, 0);
}

/* ---- entropy (test only) ------------------------------------------------------ */

int board_entropy_insecure_test_only(void *ctx, unsigned char *out, size_t len)
{
    static uint32_t state = 0x2545F491u;
    size_t i;
    (void)ctx;
    state ^= SYST_CVR ^ (ticks_ms << 16) ^ (uint32_t)board_wall_clock();
    for (i = 0; i < len; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out[i] = (unsigned char)(state ^ SYST_CVR);
    }
    return 0;
}

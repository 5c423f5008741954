/*
 * board.h - what the firmware needs from QEMU's mps2-an386 board: three
 * CMSDK UARTs, a SysTick millisecond clock, semihosting for the exit status
 * and the wall clock, and an entropy source.  A real board replaces this
 * file; nothing in wisp depends on it.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

/* UART0: the reply (stdout on the host).  UART1: diagnostics (stderr).
 * UART2: the modem link (the relay). */
enum { BOARD_UART_OUT = 0, BOARD_UART_DIAG = 1, BOARD_UART_MODEM = 2 };

void board_init(void);

/* Blocking write of len bytes to a UART. */
void board_uart_write(int uart, const void *buf, size_t len);
void board_uart_puts(int uart, const char *s);
/* Bytes that have arrived on a UART (1..cap), waiting at most timeout_ms
 * for the first; 0 when none came in time. */
size_t board_uart_read(int uart, uint8_t *buf, size_t cap, uint32_t timeout_ms);

/* Milliseconds since reset (SysTick, 1 kHz); wraps after 49 days. */
uint32_t board_now_ms(void *ctx);
void board_sleep_ms(void *ctx, uint32_t ms);

/* Seconds since 1970 from the host, through semihosting SYS_TIME: QEMU's
 * stand-in for a real board's RTC, network time or modem clock. */
int64_t board_wall_clock(void);

/* NOT RANDOM: the mps2 board has no TRNG, so this mixes SysTick jitter with
 * a counter.  Good enough to exercise TLS under QEMU, useless against an
 * attacker.  A real board reads its TRNG peripheral here. */
int board_entropy_insecure_test_only(void *ctx, unsigned char *out, size_t len);

/* Ends the program with this exit status (semihosting SYS_EXIT_EXTENDED, so
 * a non-zero status reaches the host); never returns. */
void board_exit(int status) __attribute__((noreturn));

/* Stack use: the bytes of the stack that were ever written since reset
 * (the stack is painted at reset) and its size. */
size_t board_stack_peak(void);
size_t board_stack_size(void);

#endif /* BOARD_H */

/*
 * startup.c - vector table and reset handler for the Cortex-M4 firmware.
 * Not rdimon's crt0 (it sets a bad stack under QEMU here): the reset handler
 * copies .data, zeroes .bss, paints the stack so its peak can be measured,
 * and calls main.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_bottom, __stack_top;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);

#define STACK_PAINT 0xC5C5C5C5u

static void fault_handler(void)
{
    board_uart_puts(BOARD_UART_DIAG, "wisp-fw: CPU fault\n");
    board_exit(5);
}

static void default_handler(void)
{
    board_uart_puts(BOARD_UART_DIAG, "wisp-fw: unexpected interrupt\n");
    board_exit(5);
}

/* Paints from the current stack pointer down, so the reset handler's own
 * frame is not overwritten. */
static void __attribute__((noinline)) paint_stack(void)
{
    uint32_t *p = &__stack_bottom;
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while (p < sp - 16)
        *p++ = STACK_PAINT;
}

size_t board_stack_peak(void)
{
    const uint32_t *p = &__stack_bottom;
    while (p < &__stack_top && *p == STACK_PAINT)
        p++;
    return (size_t)((const uint8_t *)&__stack_top - (const uint8_t *)p);
}

size_t board_stack_size(void)
{
    return (size_t)((const uint8_t *)&__stack_top - (const uint8_t *)&__stack_bottom);
}

void Reset_Handler(void)
{
    const uint32_t *src = &__data_load;
    uint32_t *dst;
    for (dst = &__data_start; dst < &__data_end;)
        *dst++ = *src++;
    for (dst = &__bss_start; dst < &__bss_end;)
        *dst++ = 0;
    paint_stack();
    board_exit(main());
}

/* The Cortex-M4 core vectors; the board's interrupts are not used. */
__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    Reset_Handler,
    fault_handler,   /* NMI */
    fault_handler,   /* HardFault */
    fault_handler,   /* MemManage */
    fault_handler,   /* BusFault */
    fault_handler,   /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVCall */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    SysTick_Handler,
};

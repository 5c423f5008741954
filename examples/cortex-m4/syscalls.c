/*
 * syscalls.c - the few newlib system calls the image links (mbedTLS's pool
 * checks can print and exit).  There is no heap: _sbrk always fails, so a
 * stray malloc returns NULL instead of taking RAM nobody budgeted.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

#include "board.h"

void _exit(int status);
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const void *buf, size_t len);
int _read(int fd, void *buf, size_t len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
long _lseek(int fd, long off, int whence);
int _kill(int pid, int sig);
int _getpid(void);

void _exit(int status)
{
    board_exit(status);
}

void *_sbrk(ptrdiff_t incr)
{
    (void)incr;
    errno = ENOMEM;
    return (void *)-1;
}

/* stdout and stderr both go to the diagnostics UART. */
int _write(int fd, const void *buf, size_t len)
{
    (void)fd;
    board_uart_write(BOARD_UART_DIAG, buf, len);
    return (int)len;
}

int _read(int fd, void *buf, size_t len)
{
    (void)fd, (void)buf, (void)len;
    errno = EBADF;
    return -1;
}

int _close(int fd)
{
    (void)fd;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    (void)fd;
    return 1;
}

long _lseek(int fd, long off, int whence)
{
    (void)fd, (void)off, (void)whence;
    return -1;
}

int _kill(int pid, int sig)
{
    (void)pid, (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}

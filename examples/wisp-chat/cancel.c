/*
 * cancel.c - Ctrl-C through a flag and a self-pipe.
 *
 * The handler sets the flag (the event callback and the transport read it)
 * and writes a byte that every wait of the transport also polls, so a
 * Ctrl-C landing just before poll() is not missed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cancel.h"

static volatile sig_atomic_t g_interrupted;
static int g_pipe[2] = {-1, -1};

static void on_sigint(int sig)
{
    int saved = errno;
    (void)sig;
    g_interrupted = 1;
    if (g_pipe[1] >= 0)
        (void)!write(g_pipe[1], "x", 1);
    errno = saved;
}

void cancel_catch(wisp_posix *posix, bool one_shot)
{
    struct sigaction sa;
    if (g_pipe[0] < 0 && pipe(g_pipe) == 0) {
        (void)fcntl(g_pipe[0], F_SETFL, O_NONBLOCK); /* cancel_clear drains it */
        (void)fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
        (void)fcntl(g_pipe[0], F_SETFD, FD_CLOEXEC);
        (void)fcntl(g_pipe[1], F_SETFD, FD_CLOEXEC);
    }
    posix->cancel = &g_interrupted;
    posix->cancel_fd = g_pipe[0];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = one_shot ? SA_RESETHAND : 0;
    (void)sigaction(SIGINT, &sa, NULL);
}

bool cancel_requested(void)
{
    return g_interrupted != 0;
}

int cancel_fd(void)
{
    return g_pipe[0];
}

void cancel_clear(void)
{
    char buf[64];
    g_interrupted = 0;
    if (g_pipe[0] >= 0)
        while (read(g_pipe[0], buf, sizeof buf) > 0) {
        }
}

void cancel_release(wisp_posix *posix)
{
    posix->cancel = NULL;
    posix->cancel_fd = -1;
    if (g_pipe[0] >= 0) {
        int w = g_pipe[1];
        g_pipe[1] = -1; /* the handler writes nowhere from now on */
        close(w);
        close(g_pipe[0]);
        g_pipe[0] = -1;
    }
}

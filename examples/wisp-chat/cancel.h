/*
 * cancel.h - Ctrl-C: a flag and a self-pipe that the posix transport
 * watches, so a reply in progress stops at once.
 */
#ifndef WISP_CHAT_CANCEL_H
#define WISP_CHAT_CANCEL_H

#include <stdbool.h>

#include "wisp_posix.h"

/*
 * Catches SIGINT: sets the flag and writes a byte to a pipe whose read end
 * becomes posix->cancel_fd (posix->cancel points at the flag).  No
 * SA_RESTART, so a blocked read or poll returns EINTR.  one_shot: the
 * handler is reset after the first Ctrl-C, so a second one ends the
 * program at once; an interactive session keeps it (each Ctrl-C cancels
 * one reply).
 */
void cancel_catch(wisp_posix *posix, bool one_shot);

/* True once Ctrl-C was pressed (since cancel_clear). */
bool cancel_requested(void);

/* The read end of the pipe, for a poll beside stdin; -1 without one. */
int cancel_fd(void);

/* Forgets a Ctrl-C: the flag down, the pipe emptied. */
void cancel_clear(void);

/* Closes the pipe; posix no longer watches it. */
void cancel_release(wisp_posix *posix);

#endif /* WISP_CHAT_CANCEL_H */

/*
 * interactive.h - the multi-turn session on a terminal.
 */
#ifndef WISP_CHAT_INTERACTIVE_H
#define WISP_CHAT_INTERACTIVE_H

#include "options.h"
#include "wisp_posix.h"

/* What main set up: the client, the request (model, parameters: its
 * messages are not used), the text buffers for each reply. */
typedef struct chat_setup {
    const options *o;
    wisp_client *client;
    const wisp_request *req;
    wisp_posix *posix;
    const wisp_transport *transport;
    char *content; /* the reply's text, kept for the history */
    size_t content_cap;
    char *reasoning; /* -v --no-stream only */
    size_t reasoning_cap;
} chat_setup;

/*
 * One line is one turn, sent with the history (wisp_conv); the prompt
 * "> " on stderr, each reply on stdout as it arrives, ended by a newline.
 * "/reset" starts over from the system message, "/exit" and Ctrl-D end
 * the session (0), Ctrl-C cancels the reply in progress (the turn is not
 * kept) and at the prompt ends the session (130).  A failed turn prints
 * its "wisp-chat:" line and is not kept.  Returns the exit code.
 */
int interactive_run(const chat_setup *c);

#endif /* WISP_CHAT_INTERACTIVE_H */

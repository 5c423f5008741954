/*
 * inputs.h - what the options name, read before anything is sent: the
 * tools file, the schema file, the images, the prompt; and the request
 * made of them.
 */
#ifndef WISP_CHAT_INPUTS_H
#define WISP_CHAT_INPUTS_H

#include "options.h"

#define PROMPT_MAX (1024u * 1024u) /* 1 MiB, from argv, stdin or one line */
#define CALL_SLOTS 16u             /* tool calls kept from one reply */

/* What the run needs besides the options. */
typedef enum inputs_mode {
    INPUTS_PROMPT,  /* one question: the words, else stdin */
    INPUTS_SESSION, /* an interactive session: lines come later */
    INPUTS_NONE     /* --list-models: no prompt at all */
} inputs_mode;

/*
 * Reads and checks every file the options name, in the options' order of
 * precedence (--cacert, --tools, --json-schema, each --image), then the
 * prompt for INPUTS_PROMPT; refuses what the mode cannot do (--tools in a
 * session, a prompt with --list-models).  Returns -1 to go on, else the
 * exit code after printing why.
 */
int inputs_load(const options *o, inputs_mode mode);

/* The prompt read by inputs_load; in interactive mode, the line buffer
 * (PROMPT_MAX + 1 bytes). */
char *inputs_prompt(void);

/*
 * The request of the options (model, parameters, tools) with one user
 * message: the prompt, then the images.  With tools, resp gets the call
 * slots.  msgs: room for two messages.
 */
void inputs_request(const options *o, wisp_request *req, wisp_message *msgs);
void inputs_tool_slots(wisp_response *resp);

/* A request wisp_request_check refused (why is its reason), told in terms
 * of the options: a --param is named, other fields map to their option. */
void inputs_report_refusal(const wisp_request *req, wisp_status st, const char *why);

#endif /* WISP_CHAT_INPUTS_H */

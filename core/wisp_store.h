/*
 * wisp_store.h - internal: the history store the conversation helper and
 * the tool loop share (see wisp_conv in wisp.h).
 *
 * Arena layout: the message array (message_cap_ slots), the heap offset of
 * each message's bytes (starts_), then the heap, bump-allocated in message
 * order.  Bytes of the turn in progress sit after the committed ones
 * (pending_).  Dropping the oldest turn moves the heap down and fixes the
 * pointers into the bytes that moved, so a message's bytes must be taken
 * in one piece right after its slot, and no pointer into the heap may be
 * held across a later take.
 */
#ifndef WISP_STORE_H
#define WISP_STORE_H

#include "wisp.h"

/* Lays out the store; no messages. */
wisp_status wisp_store_init(wisp_conv *c, void *arena, size_t arena_size, size_t max_messages);

/* A new message at the end of the turn in progress, with bytes (0: none)
 * of heap for it at *space; the oldest turns are dropped to make room when
 * they may be.  NULL when it does not fit. */
wisp_message *wisp_store_push(wisp_conv *c, size_t bytes, void **space);

/* The first byte of the turn in progress.  Drops move the turn's bytes
 * down, so keep an offset from here, never a pointer, across a take. */
char *wisp_store_turn_bytes(wisp_conv *c);

/* Free heap bytes at the end (for a tool handler to write into), and a
 * claim of the first n of them for the last message. */
size_t wisp_store_room(wisp_conv *c, size_t want);
char *wisp_store_free_at(wisp_conv *c);
void wisp_store_claim(wisp_conv *c, size_t n);

/* The turn in progress becomes history, or is forgotten back to a mark. */
void wisp_store_commit(wisp_conv *c);
typedef struct wisp_store_mark {
    size_t messages; /* after the turn's start */
    size_t pending;
} wisp_store_mark;
wisp_store_mark wisp_store_mark_now(const wisp_conv *c);
void wisp_store_rollback(wisp_conv *c, wisp_store_mark m);

/* Copies of s (n bytes, NUL added) into p; returns p + n + 1. */
char *wisp_store_put(char *p, const char *s, size_t n, const char **out);

/* The tool rounds of wisp_chat_tools on a store whose turn in progress
 * holds the request's messages (wisp_tools.c). */
wisp_status wisp_tool_rounds(wisp_client *client, wisp_conv *c, const wisp_request *request,
                             wisp_response *resp, wisp_tool_loop *loop, wisp_event_fn on_event,
                             void *user);

#endif /* WISP_STORE_H */

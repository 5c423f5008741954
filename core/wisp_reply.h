/*
 * wisp_reply.h - internal: the one reader of a chat-completions reply.
 *
 * Every way a reply arrives goes through here and nowhere else: the events
 * of a stream (each a chat.completion.chunk), a whole chat.completion body
 * (a request that was not streamed, or a stream request answered with one
 * JSON object).  Each document is tokenized once and read once; what it
 * holds goes to the caller's callback and to the response together, so the
 * two never disagree (a callback that cancels stops both).
 *
 * One rule per field:
 *   id, model                 string or number; the first non-empty one
 *   created                   an integer; the first non-zero one (a
 *                             fraction or a string reads as 0)
 *   usage (or Groq's          the last one wins; reported once, as
 *     x_groq.usage)           WISP_EVENT_USAGE, when the reply ends; one of
 *                             odd shape is ignored (it is metadata, not
 *                             the answer)
 *   error (an object, a list  the error reader (wisp_json.h) fills
 *     or a non-empty string), resp->error_*; WISP_ERR_API.  A document
 *     "object": "error"       without "choices" in another error shape
 *                             ("errors", "detail", "message") too
 *   choices                   the element with "index": 0, or the first
 *                             without an index (or a null one); others
 *                             are skipped
 *   choice.finish_reason      WISP_EVENT_FINISH and resp->finish_reason,
 *                             the first non-empty one
 *   choice.delta, or          read alike: a chunk's delta and a whole
 *     choice.message            reply's message are the same shape
 *     .role                   WISP_EVENT_ROLE and resp->role, the first
 *     .reasoning_content,     WISP_EVENT_REASONING and resp->reasoning:
 *       .reasoning              the first of the two that is a non-empty
 *                               string (some servers send both, the same)
 *     .content                a string, or a list of parts: "text" parts
 *                             are content, "thinking" parts (a string or
 *                             a list of text parts) are reasoning, other
 *                             part types are skipped
 *     .refusal                a non-empty string is content, and sets
 *                             resp->refused
 *   Within one document: role, reasoning, content, refusal, finish.
 *   resp->content_null: a choice was read and no content, parts or refusal
 *   string ever came (the server sent null, or nothing).
 *
 * A known field of the wrong type (content 42, choices "x", a message that
 * is a string) is WISP_ERR_JSON in every
 * way the reply may come; null always means absent.  Unknown fields are
 * skipped.  A surrogate pair or UTF-8 character split across two deltas is
 * joined; content and reasoning each keep their own carry.
 */
#ifndef WISP_REPLY_H
#define WISP_REPLY_H

#include "wisp.h"
#include "wisp_json.h"

typedef struct wisp_reply {
    /* What every level of the reader works with (wisp_reply_init). */
    wisp_response *resp;
    wisp_event_fn cb; /* may be NULL: text then goes to resp only */
    void *user;
    wisp_token *toks;
    size_t ntoks;
    char *scratch; /* where small unescaped pieces are gathered */
    size_t scratch_cap;

    wisp_unescape content_u;   /* carry between content deltas */
    wisp_unescape reasoning_u; /* carry between reasoning deltas */
    bool done;          /* [DONE] arrived, or the reply was one document */
    bool choice_seen;   /* some document had a choice for us */
    bool content_seen;  /* ... with content, parts or a refusal string */
    bool delivered;     /* text reached the callback or the response: the
                           client must not retry after that */
    bool ended;         /* carries flushed, usage reported */
    uint32_t dropped_mask; /* indexes < 32 of calls counted as dropped */
    uint32_t dropped_last; /* and the last one counted at 32 or above */
    bool dropped_last_set;
} wisp_reply;

/* Resets the reply fields of resp (content, reasoning, id, model, role,
 * finish_reason, created, usage, content_null, refused) and binds the
 * reader to it.  toks/ntoks: the token array for each document. */
void wisp_reply_init(wisp_reply *r, wisp_response *resp, wisp_token *toks,
                     size_t ntoks, wisp_event_fn cb, void *user);

/* Room where unescaped pieces are gathered before they go to cb (any size;
 * a piece larger than it is handed over directly, so a long delta may come
 * as several events).  May change between documents. */
void wisp_reply_scratch(wisp_reply *r, char *scratch, size_t cap);

/*
 * One JSON document of the reply: a chunk of a stream or a whole body.
 * WISP_OK, WISP_ERR_API (an error: resp->error_* filled; text already
 * delivered stays), WISP_ERR_JSON (not JSON, or a known field of the wrong
 * type), WISP_ERR_TOO_COMPLEX, WISP_ERR_TOO_LARGE, WISP_ERR_CANCELLED (cb
 * returned non-zero), WISP_ERR_ARG.
 */
wisp_status wisp_reply_document(wisp_reply *r, const char *js, size_t len);

/*
 * The data of one stream event.  `[DONE]` (white space around it allowed)
 * ends the stream, empty data is skipped, anything after [DONE] is
 * ignored; is_error (an `event: error` event or an `error:` line) sends the
 * text to the error reader and returns WISP_ERR_API.  Otherwise as
 * wisp_reply_document.
 */
wisp_status wisp_reply_event(wisp_reply *r, const char *data, size_t len,
                             bool is_error);

/*
 * The reply ended; harmless when called twice.  A carry left alone becomes
 * U+FFFD, content_null is settled and the usage event sent when usage
 * came.  whole: the reply was one complete document.  Returns WISP_OK,
 * WISP_ERR_STREAM_TRUNCATED (a stream ended with neither [DONE] nor a
 * finish_reason; what arrived is in resp), WISP_ERR_CANCELLED, WISP_ERR_ARG.
 */
wisp_status wisp_reply_end(wisp_reply *r, bool whole);

#endif /* WISP_REPLY_H */

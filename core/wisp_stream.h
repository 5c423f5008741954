/*
 * wisp_stream.h - internal: the chat-completions chunk reader.
 *
 * Takes what the SSE decoder reports (one event or error line at a time),
 * reads each chat.completion.chunk and turns it into caller events while it
 * assembles the response:
 *
 *   choices[0].delta.role              WISP_EVENT_ROLE once, resp->role
 *   choices[0].delta.reasoning_content WISP_EVENT_REASONING, resp->reasoning
 *     (or .reasoning when that is absent; reasoning goes before content)
 *   choices[0].delta.content           WISP_EVENT_CONTENT, resp->content
 *   choices[0].finish_reason           WISP_EVENT_FINISH once, resp->finish_reason
 *   usage (or Groq's x_groq.usage)     resp->usage: the last one sent wins
 *                                      (one of odd shape is ignored)
 *   id, model, created                 the first non-empty value wins
 *
 * "choices[0]" is the choice with "index": 0 (or no index).  The usage
 * event is sent once, when the stream ends ([DONE] or wisp_stream_end),
 * because some servers repeat usage on several chunks.  Data `[DONE]`
 * (white space around it allowed) ends the stream; events with empty data
 * are skipped; events after [DONE] are ignored.  A surrogate pair or
 * UTF-8 character split across two deltas is joined; content and reasoning
 * each keep their own carry.
 */
#ifndef WISP_STREAM_H
#define WISP_STREAM_H

#include "wisp.h"
#include "wisp_json.h"
#include "wisp_sse.h"

typedef struct wisp_stream {
    wisp_unescape content_u;   /* carry between content deltas */
    wisp_unescape reasoning_u; /* carry between reasoning deltas */
    bool done;        /* data: [DONE] arrived; later events are ignored */
    bool finish_seen; /* a finish_reason arrived */
    bool delivered;   /* text reached the callback or the response: the
                         client must not retry after that */
    bool role_seen;
    bool ended;       /* carries flushed and usage reported */
} wisp_stream;

void wisp_stream_init(wisp_stream *st);

/*
 * Handles one SSE output.  toks/ntoks: the token array for the event's
 * JSON.  scratch/scratch_cap: room where small unescaped pieces are
 * gathered before they go to cb (any size; a piece larger than it is handed
 * over directly, so a long delta may arrive as several events).  cb may be
 * NULL: the text then only goes to resp.
 *
 * Returns WISP_OK, or WISP_ERR_API (an error object, an `event: error`
 * event or an `error:` line: resp->error_* filled, or the error text itself
 * as the message when it is no JSON error; text already delivered stays
 * delivered), WISP_ERR_JSON (data that is not a JSON object, or a bad
 * escape), WISP_ERR_TOO_COMPLEX (more tokens than ntoks),
 * WISP_ERR_CANCELLED (cb returned non-zero), WISP_ERR_ARG,
 * WISP_ERR_TOO_LARGE (data beyond INT_MAX bytes).
 */
wisp_status wisp_stream_event(wisp_stream *st, const wisp_sse_out *ev,
                              wisp_token *toks, size_t ntoks,
                              wisp_response *resp, wisp_event_fn cb,
                              void *user, char *scratch, size_t scratch_cap);

/*
 * End of the body; harmless after [DONE] and when called twice.  Unless
 * [DONE] did it already: a surrogate or UTF-8 character left alone becomes
 * U+FFFD, and the usage event is sent when usage arrived.  Returns WISP_OK,
 * WISP_ERR_STREAM_TRUNCATED when neither [DONE] nor a finish_reason was
 * seen (what did arrive is in resp), WISP_ERR_CANCELLED, WISP_ERR_ARG.
 */
wisp_status wisp_stream_end(wisp_stream *st, wisp_response *resp,
                            wisp_event_fn cb, void *user, char *scratch,
                            size_t scratch_cap);

#endif /* WISP_STREAM_H */

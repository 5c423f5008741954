/*
 * wisp_conv.c - a conversation in fixed memory: the history store (shared
 * with the tool loop) and the turn-by-turn helper on top of it.
 */
#include <string.h>

#include "wisp.h"
#include "wisp_store.h"

/* Alignment of the message array, the offsets and every heap piece (call
 * references hold pointers): dropping a turn moves the heap by a multiple
 * of it, so what was aligned stays aligned. */
#define ALIGN (sizeof(size_t) > sizeof(void *) ? sizeof(size_t) : sizeof(void *))

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static unsigned char *heap(const wisp_conv *c)
{
    return c->arena_ + c->heap_;
}

static size_t heap_size(const wisp_conv *c)
{
    return c->arena_size_ - c->heap_;
}

wisp_status wisp_store_init(wisp_conv *c, void *arena, size_t arena_size, size_t max_messages)
{
    uintptr_t at = (uintptr_t)arena;
    size_t pad, need;
    if (c == NULL || arena == NULL || max_messages < 1 || max_messages > 65535)
        return WISP_ERR_ARG;
    memset(c, 0, sizeof *c);
    pad = (size_t)((ALIGN - at % ALIGN) % ALIGN);
    need = pad + max_messages * (sizeof(wisp_message) + sizeof(size_t));
    if (arena_size < need)
        return WISP_ERR_ARENA_FULL;
    c->arena_ = (unsigned char *)arena + pad;
    c->arena_size_ = (arena_size - pad) / ALIGN * ALIGN;
    c->messages = (wisp_message *)(void *)c->arena_;
    c->message_cap_ = max_messages;
    c->starts_ = (size_t *)(void *)(c->arena_ + max_messages * sizeof(wisp_message));
    c->heap_ = round_up(max_messages * (sizeof(wisp_message) + sizeof(size_t)));
    if (c->heap_ > c->arena_size_)
        return WISP_ERR_ARENA_FULL;
    c->reserve = heap_size(c) / 4;
    c->arena_used = c->heap_;
    return WISP_OK;
}

/* Moves p down by delta when it points into the bytes that moved. */
static void shift(const char **p, uintptr_t lo, uintptr_t hi, size_t delta)
{
    uintptr_t v = (uintptr_t)*p;
    if (*p != NULL && v >= lo && v < hi)
        *p -= delta;
}

/* Drops the oldest turn that may go: from the first unpinned message up to
 * the next user message, never into the turn in progress.  False when
 * there is none (or only the last committed turn, when keep_last). */
static bool drop_oldest(wisp_conv *c, bool keep_last)
{
    size_t f = c->pinned_, e, i, k, a, b, end, delta;
    uintptr_t lo, hi;
    if (f >= c->turn_start_)
        return false;
    for (e = f + 1; e < c->turn_start_ && c->messages[e].role != WISP_ROLE_USER; e++) {
    }
    if (keep_last && e == c->turn_start_)
        return false;
    end = c->used_ + c->pending_;
    a = c->starts_[f];
    b = e < c->message_count ? c->starts_[e] : end;
    delta = b - a;
    lo = (uintptr_t)(heap(c) + b);
    hi = (uintptr_t)(heap(c) + end);
    memmove(heap(c) + a, heap(c) + b, end - b);
    for (i = e; i < c->message_count; i++) {
        wisp_message *m = &c->messages[i];
        shift(&m->content, lo, hi, delta);
        shift(&m->tool_call_id, lo, hi, delta);
        if (m->tool_calls != NULL && (uintptr_t)m->tool_calls >= lo &&
            (uintptr_t)m->tool_calls < hi) {
            /* The references moved with the heap: ours to rewrite. */
            wisp_call_ref *refs = (wisp_call_ref *)((uintptr_t)m->tool_calls - delta);
            m->tool_calls = refs;
            for (k = 0; k < m->tool_call_count; k++) {
                shift(&refs[k].id, lo, hi, delta);
                shift(&refs[k].name, lo, hi, delta);
                shift(&refs[k].arguments, lo, hi, delta);
                shift(&refs[k].signature, lo, hi, delta);
            }
        }
        c->starts_[i] -= delta;
    }
    memmove(&c->messages[f], &c->messages[e], (c->message_count - e) * sizeof(wisp_message));
    memmove(&c->starts_[f], &c->starts_[e], (c->message_count - e) * sizeof(size_t));
    c->message_count -= e - f;
    c->turn_start_ -= e - f;
    c->used_ -= delta;
    c->turns_dropped++;
    return true;
}

/* High-water mark, counted from the arena's first aligned byte. */
static void note_use(wisp_conv *c)
{
    size_t used = c->heap_ + c->used_ + c->pending_;
    if (used > c->arena_used)
        c->arena_used = used;
}

/* Whether dropping every turn that may go would make room for one more
 * message of n heap bytes: checked first, so that a message that can
 * never fit leaves the history as it was. */
static bool room_possible(const wisp_conv *c, size_t n)
{
    size_t end = c->used_ + c->pending_, freeable = 0, slots = 0;
    if (c->pinned_ < c->turn_start_) {
        size_t to = c->turn_start_ < c->message_count ? c->starts_[c->turn_start_] : end;
        freeable = to - c->starts_[c->pinned_];
        slots = c->turn_start_ - c->pinned_;
    }
    return c->message_count - slots < c->message_cap_ && n <= heap_size(c) - end + freeable;
}

wisp_message *wisp_store_push(wisp_conv *c, size_t bytes, void **space)
{
    wisp_message *m;
    size_t n = round_up(bytes);
    if (n < bytes || !room_possible(c, n))
        return NULL;
    while (c->message_count == c->message_cap_ ||
           n > heap_size(c) - c->used_ - c->pending_) {
        if (!drop_oldest(c, false))
            return NULL;
    }
    m = &c->messages[c->message_count];
    memset(m, 0, sizeof *m);
    c->starts_[c->message_count] = c->used_ + c->pending_;
    *space = heap(c) + c->used_ + c->pending_;
    c->pending_ += n;
    c->message_count++;
    note_use(c);
    return m;
}

size_t wisp_store_room(wisp_conv *c, size_t want)
{
    while (heap_size(c) - c->used_ - c->pending_ < want && drop_oldest(c, false)) {
    }
    return heap_size(c) - c->used_ - c->pending_;
}

char *wisp_store_turn_bytes(wisp_conv *c)
{
    return (char *)heap(c) + c->used_;
}

char *wisp_store_free_at(wisp_conv *c)
{
    return (char *)heap(c) + c->used_ + c->pending_;
}

void wisp_store_claim(wisp_conv *c, size_t n)
{
    c->pending_ += round_up(n);
    note_use(c);
}

void wisp_store_commit(wisp_conv *c)
{
    c->used_ += c->pending_;
    c->pending_ = 0;
    c->turn_start_ = c->message_count;
}

wisp_store_mark wisp_store_mark_now(const wisp_conv *c)
{
    wisp_store_mark m;
    m.messages = c->message_count - c->turn_start_;
    m.pending = c->pending_;
    return m;
}

/* Drops since the mark only ever took committed turns: the marks, counted
 * from the turn's start, still hold. */
void wisp_store_rollback(wisp_conv *c, wisp_store_mark m)
{
    c->message_count = c->turn_start_ + m.messages;
    c->pending_ = m.pending;
}

char *wisp_store_put(char *p, const char *s, size_t n, const char **out)
{
    memcpy(p, s, n);
    p[n] = '\0';
    *out = p;
    return p + n + 1;
}

/* ---- the conversation ----------------------------------------------------- */

wisp_status wisp_conv_init(wisp_conv *conv, void *arena, size_t arena_size, size_t max_messages,
                           const char *system)
{
    wisp_status st;
    if (max_messages < 2)
        return WISP_ERR_ARG;
    st = wisp_store_init(conv, arena, arena_size, max_messages);
    if (st != WISP_OK || system == NULL)
        return st;
    {
        size_t n = strlen(system);
        void *space;
        wisp_message *m = wisp_store_push(conv, n + 1, &space);
        if (m == NULL)
            return WISP_ERR_ARENA_FULL;
        m->role = WISP_ROLE_SYSTEM;
        (void)wisp_store_put((char *)space, system, n, &m->content);
        wisp_store_commit(conv);
        conv->pinned_ = 1;
    }
    return WISP_OK;
}

void wisp_conv_reset(wisp_conv *conv)
{
    if (conv == NULL || conv->arena_ == NULL)
        return;
    conv->message_count = conv->pinned_;
    conv->turn_start_ = conv->pinned_;
    conv->used_ = conv->pinned_ > 0 ? conv->starts_[0] + round_up(strlen(conv->messages[0].content) + 1)
                                    : 0;
    conv->pending_ = 0;
    conv->turns_dropped = 0;
}

/* The assistant's text of the reply, as the last message of the turn. */
static wisp_status add_answer(wisp_conv *conv, const wisp_response *resp)
{
    size_t n = resp->content.len;
    void *space;
    wisp_message *m = wisp_store_push(conv, n + 1, &space);
    if (m == NULL)
        return WISP_ERR_ARENA_FULL;
    m->role = WISP_ROLE_ASSISTANT;
    (void)wisp_store_put((char *)space, n > 0 ? resp->content.buf : "", n, &m->content);
    return WISP_OK;
}

wisp_status wisp_conv_ask(wisp_client *client, wisp_conv *conv, const wisp_request *request,
                          const char *text, wisp_response *resp, wisp_tool_loop *loop,
                          wisp_event_fn on_event, void *user)
{
    wisp_store_mark start;
    wisp_request req;
    wisp_message *m;
    void *space;
    size_t n;
    wisp_status st;

    if (conv == NULL || conv->arena_ == NULL || request == NULL || text == NULL || resp == NULL ||
        (resp->content.cap == 0 && (loop == NULL || request->tool_count == 0)))
        return WISP_ERR_ARG;
    /* Text inside the arena would move while turns are dropped for it. */
    if ((uintptr_t)text >= (uintptr_t)conv->arena_ &&
        (uintptr_t)text < (uintptr_t)conv->arena_ + conv->arena_size_)
        return WISP_ERR_ARG;
    conv->message_count = conv->turn_start_; /* nothing in progress */
    conv->pending_ = 0;
    start = wisp_store_mark_now(conv);
    n = strlen(text);
    m = wisp_store_push(conv, n + 1, &space);
    if (m == NULL)
        return WISP_ERR_ARENA_FULL;
    m->role = WISP_ROLE_USER;
    (void)wisp_store_put((char *)space, text, n, &m->content);

    req = *request;
    req.messages = conv->messages;
    req.message_count = conv->message_count;
    if (loop != NULL && request->tool_count > 0) {
        st = wisp_tool_rounds(client, conv, &req, resp, loop, on_event, user);
    } else {
        st = wisp_chat(client, &req, resp, on_event, user);
    }
    /* Calls from a server that was offered no tools are not a round: the
     * answer's text is still the turn's answer. */
    if (st == WISP_OK && (resp->tool_call_count == 0 || loop == NULL || request->tool_count == 0))
        st = add_answer(conv, resp);
    if (st != WISP_OK) {
        wisp_store_rollback(conv, start);
        return st;
    }
    wisp_store_commit(conv);
    /* Room for the next turn, taken from the oldest while more than the
     * last turn is kept. */
    while (heap_size(conv) - conv->used_ < conv->reserve && drop_oldest(conv, true)) {
    }
    return WISP_OK;
}

/*
 * wisp_models.h - internal: the reader of a model list (GET {base}/models).
 *
 * A list can be long (OpenRouter's is about 1 MB), so it is never held
 * whole.  A resumable splitter walks the body as it arrives, in pieces
 * split at any byte, and hands over the elements of the top-level object's
 * "data" array one at a time, each collected into a caller buffer; then
 * wisp_models_id reads one element's "id" with the JSON reader.
 *
 * What the splitter accepts: one JSON object (RFC 8259, white space around
 * it), checked as it goes by a grammar that needs no recursion: brackets
 * that match, keys that are strings, colons and commas in their places,
 * escapes, literals, numbers, no raw control byte in a string.  Like the
 * tokenizer it does not check UTF-8 inside strings (the id copy does).
 * Members other than "data" are skipped whatever they hold, before or after
 * it; a key that unescapes to "data" ("d\u0061ta") is data; of two "data"
 * members the first wins (as in wisp_json_find).  "data": null is an empty
 * list (Ollama's with no model); any other value that is not an array, no
 * "data" at all, a body that is not one object or ends early, and nesting
 * deeper than WISP_MODELS_MAX_DEPTH are WISP_ERR_JSON.
 */
#ifndef WISP_MODELS_H
#define WISP_MODELS_H

#include "wisp.h"

/* Deepest nesting of a model list, the top-level object counting 1 (an
 * OpenRouter element's "architecture.input_modalities" is at 5).  Deeper
 * is WISP_ERR_JSON.  Default 32, range 3..255. */
#ifndef WISP_MODELS_MAX_DEPTH
#define WISP_MODELS_MAX_DEPTH 32
#endif

/* The longest spelling of "data" with escapes: "\u0064" for each letter. */
#define WISP_MODELS_KEY_CAP 24

typedef enum wisp_models_event {
    WISP_MODELS_NEED_MORE, /* all input consumed, feed more */
    WISP_MODELS_ELEMENT,   /* out->data, out->len: one element's bytes, in the
                              buffer, valid until the next feed */
    WISP_MODELS_SKIPPED    /* an element larger than the buffer went by
                              (checked all the same); out->len its size */
} wisp_models_event;

typedef struct wisp_models_out {
    wisp_models_event event;
    const char *data;
    size_t len; /* saturates at SIZE_MAX */
} wisp_models_out;

typedef struct wisp_models_split {
    char *buf;             /* borrowed element buffer */
    size_t cap;
    size_t len;            /* bytes of the element kept */
    size_t elem_bytes;     /* bytes of the element seen (saturating) */
    size_t elements;       /* results: elements handed over whole */
    size_t skipped;        /* and elements larger than the buffer */

    /* parser state (private) */
    uint8_t state;
    uint8_t sub;           /* number: its part; literal: bytes matched */
    uint8_t lit;           /* which literal (true, false, null) */
    uint8_t hex;           /* hex digits of a \u escape still due */
    uint8_t depth;         /* containers open */
    uint8_t error;         /* sticky wisp_status once failed */
    uint8_t key_len;
    bool backslash;        /* in a string, right after '\' */
    bool is_key;           /* the string being read is a key */
    bool key_long;         /* the root key is longer than any "data" */
    bool key_is_data;      /* the root member being read is the list */
    bool data_seen;        /* a "data" member was found */
    bool in_data;          /* inside the data array */
    bool collecting;       /* inside an element */
    bool overflow;         /* the element does not fit the buffer */
    bool ready;            /* the element is complete: hand it over */
    uint8_t objects[(WISP_MODELS_MAX_DEPTH + 7) / 8]; /* bit: level is an object */
    char key[WISP_MODELS_KEY_CAP]; /* a root key's raw bytes */
} wisp_models_split;

/* buf (cap bytes, 0 allowed: every element is then skipped) holds one
 * element at a time. */
void wisp_models_init(wisp_models_split *s, char *buf, size_t cap);

/*
 * Feeds len bytes (len 0 is legal).  Stops at the first element to report:
 * *used tells how many bytes were consumed; call again with the rest.
 * WISP_OK with out->event set (NEED_MORE: *used == len), WISP_ERR_JSON
 * (sticky: returned again by every later call), WISP_ERR_ARG.
 */
wisp_status wisp_models_feed(wisp_models_split *s, const uint8_t *in, size_t len,
                             size_t *used, wisp_models_out *out);

/* The body ended: WISP_OK when it was one whole object with a "data"
 * member, else WISP_ERR_JSON (or the sticky error, WISP_ERR_ARG). */
wisp_status wisp_models_finish(const wisp_models_split *s);

/*
 * The "id" of one element (an object whose "id" is a string), unescaped
 * into id (cap bytes, NUL-terminated, cut at a UTF-8 boundary: *cut set,
 * never cleared).  toks/ntoks: the token array for the element.  WISP_OK,
 * WISP_ERR_JSON (not an object, no "id", or one that is not a string),
 * WISP_ERR_TOO_COMPLEX (more tokens than ntoks), WISP_ERR_ARG.
 */
wisp_status wisp_models_id(const char *elem, size_t len, wisp_token *toks, size_t ntoks,
                           char *id, size_t cap, bool *cut);

#endif /* WISP_MODELS_H */

#!/usr/bin/env python3
"""The recorded stream of make bench: one long streamed chat reply.

Writes, always the same bytes for the same arguments (a fixed seed), the
body of an OpenAI chat.completions stream as a server sends it with
stream_options.include_usage: a role chunk, one chat.completion.chunk per
token-sized delta (id, object, created, model, service_tier,
system_fingerprint, choices[0] with index, delta.content, logprobs and
finish_reason, "usage": null), a finish chunk, a usage chunk with empty
choices, and data: [DONE].  The text is Markdown with code blocks, so
deltas carry \\n, \\t, \\" and \\\\ escapes, and some French, German,
Japanese and emoji, sent as raw UTF-8 as OpenAI does (--ascii sends them
as \\u escapes instead, as Python servers do).

    stream.py --out STREAM [--text TEXT] [--tokens N] [--ascii]

TEXT receives the reply text itself (what a client must extract).
Python 3 stdlib only.
"""

import argparse
import json
import random
import re

SEED = 20250301

PROSE = [
    "A ring buffer keeps a fixed block of memory and two indexes: where the "
    "next byte is written and where the next byte is read. When either index "
    "reaches the end it wraps to the start, so nothing is ever moved and the "
    "buffer never grows.",
    "On a microcontroller this matters more than speed. The size is known "
    "when the firmware is linked, an interrupt handler can write while the "
    "main loop reads, and a burst that is too large is dropped instead of "
    "taking the heap with it.",
    "The usual trap is telling \"full\" from \"empty\": both look like two "
    "equal indexes. Either keep one slot free, or count the bytes stored, "
    "or let the indexes run freely and mask them only when they are used.",
    "Si vous préférez une explication en français : le tampon circulaire "
    "réutilise la même mémoire, et la tête rattrape la queue sans jamais la "
    "dépasser. Auf Deutsch: Größe und Zähler müssen zueinander passen, "
    "sonst überschreibt der Schreiber Daten, die noch gelesen werden.",
    "日本語で言えば、リングバッファは固定長のメモリを使い回す仕組みです。"
    "読み出し位置と書き込み位置が追いかけっこをします。",
    "Measure before you tune: a copy loop of a few dozen bytes per event is "
    "rarely the bottleneck 🙂, but a lock held across a slow flash write "
    "often is ⏱️. Keep the critical section to the two index updates.",
    "A path on Windows such as C:\\firmware\\build\\app.bin needs its "
    "backslashes escaped in JSON, and a tab\tinside a table cell does too.",
]

CODE = [
    "```c\n"
    "typedef struct ring {\n"
    "\tuint8_t *buf;\n"
    "\tsize_t cap, head, tail;\n"
    "} ring;\n"
    "\n"
    "static size_t ring_used(const ring *r)\n"
    "{\n"
    "\treturn r->head - r->tail; /* free-running indexes */\n"
    "}\n"
    "\n"
    "static int ring_put(ring *r, uint8_t b)\n"
    "{\n"
    "\tif (ring_used(r) == r->cap)\n"
    "\t\treturn -1; /* \"full\": drop it */\n"
    "\tr->buf[r->head++ & (r->cap - 1)] = b;\n"
    "\treturn 0;\n"
    "}\n"
    "```\n",
    "```python\n"
    "def drain(ring, out):\n"
    "    while ring.used():\n"
    "        out.write(bytes([ring.get()]))\n"
    "    print(\"done\\n\", end=\"\")\n"
    "```\n",
    "| field | meaning |\n"
    "|---|---|\n"
    "| `head` | next write |\n"
    "| `tail` | next read |\n",
]

HEADINGS = ["How it works", "Why firmware likes it", "Full or empty",
            "An example in C", "Reading it back", "Pitfalls", "Summary"]

# Words, runs of spaces or newlines, and single punctuation marks; a word
# keeps the space before it, as BPE tokens do.
PIECE = re.compile(r" ?[^\W_]+| ?[^\w\s]|\s+|_", re.UNICODE)


def tokens_of(text, rng):
    """Token-sized pieces of text: words, long words cut in two or three."""
    out = []
    for m in PIECE.finditer(text):
        w = m.group(0)
        while len(w) > 7 and rng.random() < 0.7:
            cut = rng.randint(3, 5)
            out.append(w[:cut])
            w = w[cut:]
        out.append(w)
    return out


def reply_text(rng, want_tokens):
    """Sections of headings, prose, lists and code until want_tokens."""
    parts = []
    count = 0
    section = 0
    while count < want_tokens:
        head = "## %s %d\n\n" % (HEADINGS[section % len(HEADINGS)], section + 1)
        body = []
        for _ in range(rng.randint(2, 4)):
            body.append(rng.choice(PROSE) + "\n\n")
        if rng.random() < 0.6:
            body.append(rng.choice(CODE) + "\n")
        if rng.random() < 0.5:
            body.append("".join("- %s\n" % rng.choice(PROSE).split(".")[0]
                                for _ in range(3)) + "\n")
        block = head + "".join(body)
        parts.append(block)
        count += len(tokens_of(block, random.Random(0)))
        section += 1
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--text")
    ap.add_argument("--tokens", type=int, default=1500)
    ap.add_argument("--ascii", action="store_true")
    a = ap.parse_args()

    rng = random.Random(SEED)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    chunk_id = "chatcmpl-" + "".join(rng.choice(alnum) for _ in range(29))
    fingerprint = "fp_" + "".join(rng.choice("0123456789abcdef") for _ in range(10))
    text = reply_text(rng, a.tokens)
    toks = tokens_of(text, rng)

    def chunk(delta, finish=None, choices=True, usage=None):
        obj = {"id": chunk_id, "object": "chat.completion.chunk",
               "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
               "service_tier": "default", "system_fingerprint": fingerprint,
               "choices": [], "usage": usage}
        if choices:
            obj["choices"] = [{"index": 0, "delta": delta, "logprobs": None,
                               "finish_reason": finish}]
        return ("data: " + json.dumps(obj, separators=(",", ":"),
                                      ensure_ascii=a.ascii) + "\n\n").encode()

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"content": t}) for t in toks]
    out.append(chunk({}, finish="stop"))
    out.append(chunk(None, choices=False, usage={
        "prompt_tokens": 23, "completion_tokens": len(toks),
        "total_tokens": 23 + len(toks),
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0}}))
    out.append(b"data: [DONE]\n\n")
    with open(a.out, "wb") as f:
        f.write(b"".join(out))
    if a.text:
        with open(a.text, "wb") as f:
            f.write("".join(toks).encode())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Scripted OpenAI-compatible test server for wisp (Python 3 stdlib only).

Every response is written as raw bytes on the socket, so each framing
(Content-Length, chunked with extensions and trailers, until-close, HTTP/1.0,
interim 100 responses, resets, stalls) is exactly what the scenario says.

Choosing a scenario
    The scenario is the first path segment after /s/:
        base URL  http://127.0.0.1:PORT/s/chunked/v1
        request   POST /s/chunked/v1/chat/completions
    The segment may carry a tag after a dot, "429-then-ok.t17": state (the
    attempt counter) and statistics are kept per segment, so each test uses
    its own tag.  Without /s/ in the path the model name is used instead:
    model "s:chunked.t17".  Neither: scenario "ok".

Request checks (any failure answers 400 with an OpenAI-style error JSON):
    POST, path ending in /chat/completions without "//", HTTP/1.0 or 1.1,
    CRLF-only head without bare CR/LF, Host with the listener's port,
    Content-Type application/json, one Content-Length and no
    Transfer-Encoding, a UTF-8 JSON body with model and messages and only
    known fields, stream_options only with stream.

Streaming: scenarios that test HTTP framing (ok, chunked, http10, ...) answer
with server-sent events when the request has "stream": true and with one
chat.completion object otherwise; the text is the same ("echo: <last user
message>").  The stream-* scenarios always answer with events.

Listeners (ports written as JSON to --port-file once all are listening):
    plain          HTTP on 127.0.0.1 (and on ::1 with the same port if free)
    tls-good       TLS, certificate for 127.0.0.1, ::1 and localhost
    tls-wronghost  TLS, valid chain but issued to wrong.example.invalid
    tls-unknownca  TLS, issued for 127.0.0.1 by a CA the client lacks
    tls-expired    TLS, issued for 127.0.0.1 by the test CA, expired in 2020
    tls-stall      accepts TCP, never answers the handshake
The port file also holds "tls_dir" (ca.pem is the CA to trust) and "ipv6".

Recorded requests: GET /requests?key=SEGMENT answers every chat request
made under that scenario segment (bad ones too, with the reason): its
headers as received, Content-Length, the body exactly as read (base64) and
how many bytes came after the body on the connection.  tests/e2e.py parses
the bodies itself, strictly.

Model lists: GET .../models (wisp_list_models, wisp-chat --list-models)
answers the list its segment names (models, models-long, models-oneapi,
models-cut, models-401: MODEL_LISTS), kept alive, counted in /stats.

Statistics: GET /stats on any HTTP listener answers JSON with per-listener
counters (accepted, handshakes, resumed, handshake_failures) and every
connection (listener, requests served, TLS version, resumed); GET
/stats?key=SEGMENT answers only the requests made under that scenario
segment, each with its connection.

Stopping: after --max-seconds (default 600), on SIGTERM/SIGINT, or when
stdin is a pipe and it closes.

    python3 tests/server.py --port-file /tmp/ports.json [--tls-dir DIR]
    python3 tests/server.py --make-certs DIR     (certificates only)
    python3 tests/server.py --list               (the scenarios)
"""

import argparse
import base64
import json
import os
import select
import shutil
import signal
import socket
import socketserver
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlsplit

CREATED = 1700000000
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
DEFAULT_IDLE_S = 15.0
STALL_MAX_S = 30.0
HEAD_MAX = 64 * 1024
BODY_MAX = 32 * 1024 * 1024  # an 8 MiB image is 11 MiB of base64
EXTRA_WAIT_S = 0.02  # record*: how long to look for bytes after the body
DUMMY_KEY_SUFFIX = "-not-real"  # only such keys are ever echoed back

KNOWN_FIELDS = {
    "model", "messages", "stream", "stream_options", "max_tokens",
    "max_completion_tokens", "temperature", "top_p", "n", "stop", "seed",
    "user", "presence_penalty", "frequency_penalty", "logit_bias",
    "response_format", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort",
}
KNOWN_ROLES = {"system", "user", "assistant", "developer", "tool"}


# --------------------------------------------------------------------------
# Shared state: counters and per-connection records.

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.listeners = {}
        self.connections = {}
        self.keys = {}  # segment -> list of {"conn", "index"}
        self.recorded = {}  # segment -> list of request records (GET /requests)
        self.next_conn = 1

    def listener(self, name):
        with self.lock:
            return self.listeners.setdefault(name, {
                "accepted": 0, "handshakes": 0, "resumed": 0,
                "handshake_failures": 0, "last_handshake_error": ""})

    def bump(self, name, field, by=1):
        with self.lock:
            self.listeners[name][field] += by

    def new_connection(self, listener):
        with self.lock:
            cid = self.next_conn
            self.next_conn += 1
            self.listeners[listener]["accepted"] += 1
            rec = {"id": cid, "listener": listener, "requests": 0,
                   "tls_version": None, "resumed": False, "keys": []}
            self.connections[cid] = rec
            return rec

    def count_request(self, rec, key):
        """Records one request; returns the attempt number for key (1-based)."""
        with self.lock:
            rec["requests"] += 1
            rec["keys"].append(key)
            lst = self.keys.setdefault(key, [])
            lst.append({"conn": rec["id"], "index": rec["requests"]})
            return len(lst)

    def record(self, req, extra, bad=None):
        """Keeps one chat request as it came, under its path segment."""
        key = path_segment(req.path) or "(no segment)"
        rec = {"headers": [[n, v] for n, v in req.headers],
               "content_length": req.content_length,
               "body_b64": base64.b64encode(req.body).decode("ascii"),
               "body_len": len(req.body), "extra_bytes": extra, "bad": bad}
        with self.lock:
            self.recorded.setdefault(key, []).append(rec)

    def recorded_for(self, key):
        with self.lock:
            return {"key": key, "requests": list(self.recorded.get(key, []))}

    def snapshot(self, key=None):
        with self.lock:
            if key is None:
                return {"listeners": json.loads(json.dumps(self.listeners)),
                        "connections": {str(k): dict(v) for k, v in
                                        self.connections.items()},
                        "keys": {k: list(v) for k, v in self.keys.items()}}
            reqs = []
            for r in self.keys.get(key, []):
                c = self.connections[r["conn"]]
                reqs.append({"conn": r["conn"], "index": r["index"],
                             "listener": c["listener"],
                             "tls_version": c["tls_version"],
                             "resumed": c["resumed"],
                             "conn_requests": c["requests"]})
            return {"key": key, "attempts": len(reqs), "requests": reqs}


STATS = Stats()


# --------------------------------------------------------------------------
# Connection: raw request reading and response writing.

class BadRequest(Exception):
    pass


class Closed(Exception):
    pass


class Request:
    def __init__(self):
        self.method = self.target = self.version = ""
        self.headers = []       # (name, value) as received
        self.h = {}             # lower-case name -> last value
        self.body = b""
        self.json = None
        self.path = ""
        self.query = ""

    def header(self, name, default=None):
        return self.h.get(name.lower(), default)


class Conn:
    def __init__(self, sock, listener, port, rec):
        self.sock = sock
        self.listener = listener
        self.port = port
        self.rec = rec
        self.buf = b""
        self.idle_s = DEFAULT_IDLE_S
        self.nodelay()

    def nodelay(self):
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Closed("idle timeout")
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))
        if not data:
            raise Closed("peer closed")
        return data

    def _fill(self, timeout):
        self.buf += self._recv(timeout)

    def read_request(self):
        """One request; Closed when the peer goes or idles out first."""
        if not self.buf:
            self._fill(self.idle_s)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > HEAD_MAX:
                raise BadRequest("request head larger than 64 KiB")
            self._fill(10.0)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        req = parse_head(head, self.port)
        if req.header("expect", "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        n = req.content_length
        if n > BODY_MAX:
            e = BadRequest("request body larger than 32 MiB")
            e.req = req
            raise e
        parts, have = [self.buf], len(self.buf)
        while have < n:  # a list, not +=: bodies can be many MB
            parts.append(self._recv(10.0))
            have += len(parts[-1])
        data = b"".join(parts)
        req.body, self.buf = data[:n], data[n:]
        return req

    def wait_peer_close(self, limit_s):
        """Holds the connection open (sending nothing) until the peer closes
        or limit_s passes; anything the peer sends is discarded."""
        end = time.monotonic() + limit_s
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                r, _, _ = select.select([self.sock], [], [], min(left, 1.0))
                if r:
                    self.sock.settimeout(0.5)
                    if not self.sock.recv(4096):
                        return
            except (OSError, ssl.SSLError):
                return

    def reset(self):
        """Closes with RST instead of FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        raw = self.sock
        if isinstance(raw, ssl.SSLSocket):
            # Close the descriptor under the TLS layer without close_notify.
            raw = socket.socket(fileno=raw.detach())
        raw.close()


def parse_head(head, port):
    if b"\n" in head.replace(b"\r\n", b"") or b"\r" in head.replace(b"\r\n", b""):
        raise BadRequest("bare CR or LF in the request head")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest("non-ASCII byte in the request head")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("malformed request line")
    req = Request()
    req.method, req.target, req.version = parts
    if req.version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest("unsupported HTTP version %r" % req.version)
    tchars = set("!#$%&'*+-.^_`|~0123456789"
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    lengths = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            raise BadRequest("obsolete header line folding")
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= tchars:
            raise BadRequest("malformed header line %r" % line[:60])
        value = value.strip(" \t")
        req.headers.append((name, value))
        req.h[name.lower()] = value
        if name.lower() == "content-length":
            lengths.append(value)
    if "transfer-encoding" in req.h:
        raise BadRequest("Transfer-Encoding on a request")
    host = req.header("host")
    if host is None:
        raise BadRequest("no Host header")
    if not host.endswith(":%d" % port):
        raise BadRequest("Host header %r lacks the port %d" % (host, port))
    if len(lengths) > 1:
        raise BadRequest("more than one Content-Length")
    if lengths:
        if not lengths[0].isdigit():
            raise BadRequest("bad Content-Length %r" % lengths[0])
        req.content_length = int(lengths[0])
    else:
        req.content_length = 0
        if req.method == "POST":
            raise BadRequest("POST without Content-Length")
    split = urlsplit(req.target)
    if not req.target.startswith("/"):
        raise BadRequest("request target is not an absolute path")
    req.path, req.query = split.path, split.query
    return req


# Scenarios that take members beyond KNOWN_FIELDS (what --param adds).
ANY_FIELDS = {"record"}


def check_chat_request(req):
    if req.method != "POST":
        raise BadRequest("method %s, want POST" % req.method)
    if not req.path.endswith("/chat/completions"):
        raise BadRequest("path %r does not end in /chat/completions" % req.path)
    if "//" in req.path:
        raise BadRequest("empty segment (//) in path %r" % req.path)
    ctype = req.header("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise BadRequest("Content-Type %r, want application/json" % ctype)

    def no_constants(name):
        raise ValueError("non-JSON constant " + name)

    def no_duplicates(pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                raise ValueError("duplicate member %r" % k)
            obj[k] = v
        return obj
    try:
        body = json.loads(req.body.decode("utf-8"), parse_constant=no_constants,
                          object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("body is not valid UTF-8 JSON: %s" % e)
    if not isinstance(body, dict):
        raise BadRequest("body is not a JSON object")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown and path_scenario(req.path) not in ANY_FIELDS:
        raise BadRequest("unknown field(s) %s" % ", ".join(unknown))
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("model missing or not a string")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise BadRequest("messages missing or empty")
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in KNOWN_ROLES:
            raise BadRequest("message without a known role")
        calls = m.get("tool_calls")
        if calls is not None:
            # OpenAI's shape: only the assistant calls, each call whole
            if m["role"] != "assistant" or not isinstance(calls, list) or not calls:
                raise BadRequest("tool_calls on a %s message, or not a list" % m["role"])
            for c in calls:
                f = c.get("function") if isinstance(c, dict) else None
                if (not isinstance(c.get("id"), str) or c.get("type") != "function"
                        or not isinstance(f, dict) or not isinstance(f.get("name"), str)
                        or not isinstance(f.get("arguments"), str)):
                    raise BadRequest("a tool call of the wrong shape: %r" % c)
        if m["role"] == "tool" and not isinstance(m.get("tool_call_id"), str):
            raise BadRequest("a tool message without tool_call_id")
        content = m.get("content")
        if not isinstance(content, (str, list)) and not (content is None and calls):
            raise BadRequest("message content is not a string")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("stream is not a boolean")
    if "stream_options" in body and body.get("stream") is not True:
        raise BadRequest("stream_options is only allowed when stream is true")
    req.json = body


# --------------------------------------------------------------------------
# Bodies.

def error_json(message, etype="invalid_request_error", code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param,
                      "code": code}}


def jbytes(obj, ascii_only=True):
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8")


def content_text(content):
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict))


def split_text(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class Ctx:
    """One request being answered."""

    def __init__(self, conn, req, key, name, attempt):
        self.conn, self.req, self.key, self.name = conn, req, key, name
        self.attempt = attempt
        body = req.json
        self.model = body["model"]
        self.stream = body.get("stream") is True
        last_user = ""
        for m in body["messages"]:
            if m["role"] == "user":
                last_user = content_text(m["content"])
        self.echo = "echo: " + last_user
        self.id = "chatcmpl-wisp-%s-%d" % (name, attempt)
        self.keep_alive = not (req.header("connection", "").lower() == "close"
                               or req.version == "HTTP/1.0")

    # -- body builders --

    def completion(self, text, finish="stop"):
        return {"id": self.id, "object": "chat.completion", "created": CREATED,
                "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": text},
                             "logprobs": None, "finish_reason": finish}],
                "usage": USAGE}

    def chunk(self, delta=None, finish=None, usage=None, choices=True):
        obj = {"id": self.id, "object": "chat.completion.chunk",
               "created": CREATED, "model": self.model}
        obj["choices"] = ([{"index": 0, "delta": delta or {},
                            "finish_reason": finish}] if choices else [])
        if usage is not None:
            obj["usage"] = usage
        return obj

    def events(self, pieces, eol="\n", ascii_only=True):
        """OpenAI stream: role, content pieces, finish, usage, [DONE]."""
        objs = [self.chunk({"role": "assistant", "content": ""})]
        objs += [self.chunk({"content": p}) for p in pieces]
        objs.append(self.chunk({}, finish="stop"))
        objs.append(self.chunk(usage=USAGE, choices=False))
        out = [sse(o, eol, ascii_only) for o in objs]
        out.append(("data: [DONE]" + eol + eol).encode())
        return out

    def reply_body(self, text):
        """(content type, body bytes) for text: events or one object."""
        if self.stream:
            return "text/event-stream", b"".join(self.events(split_text(text, 8)))
        return "application/json", jbytes(self.completion(text))

    # -- framing --

    def head(self, status, reason, headers, version="HTTP/1.1",
             close=None, prefix=b"", request_id=True):
        if close is None:
            close = not self.keep_alive
        lines = ["%s %d %s" % (version, status, reason)]
        lines += ["%s: %s" % h for h in headers]
        if request_id:
            lines.append("x-request-id: req-%s-%d" % (self.name, self.attempt))
        if version == "HTTP/1.1":
            lines.append("Connection: " + ("close" if close else "keep-alive"))
        if close:
            self.keep_alive = False
        return prefix + ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_length(self, status, reason, ctype, body, extra=(), close=None,
                    request_id=True):
        hdrs = [("Content-Type", ctype)] if ctype else []
        hdrs += list(extra) + [("Content-Length", str(len(body)))]
        self.conn.send(self.head(status, reason, hdrs, close=close,
                                 request_id=request_id) + body)

    def send_json(self, status, reason, obj, extra=(), close=None,
                  request_id=True):
        self.send_length(status, reason, "application/json", jbytes(obj),
                         extra, close, request_id)

    def send_chunked(self, status, reason, ctype, pieces, extra=(),
                     close=None, delay=0.0):
        hdrs = [("Content-Type", ctype)] if ctype else []
        hdrs += list(extra) + [("Transfer-Encoding", "chunked")]
        self.conn.send(self.head(status, reason, hdrs, close=close))
        for p in pieces:
            if not p:
                continue
            if delay:
                time.sleep(delay)
            self.conn.send(b"%x\r\n%s\r\n" % (len(p), p))
        self.conn.send(b"0\r\n\r\n")


def sse(obj, eol="\n", ascii_only=True):
    return b"data: " + jbytes(obj, ascii_only) + (eol + eol).encode()


# --------------------------------------------------------------------------
# Scenarios.  Each answers one request; returns nothing, sets ctx.keep_alive.

def registry(table):
    """A decorator that files a function in table under each name given."""
    def register(*names):
        def deco(fn):
            for n in names:
                table[n] = fn
            return fn
        return deco
    return register


SCENARIOS = {}
scenario = registry(SCENARIOS)


@scenario("ok")
def sc_ok(ctx):
    """200 with Content-Length; the text echoes the last user message."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.send_length(200, "OK", ctype, body)


@scenario("inspect")
def sc_inspect(ctx):
    """Answers with what the server saw, as JSON text, for CLI checks."""
    req = ctx.req
    auth = req.header("authorization")
    if auth is not None and not auth.endswith(DUMMY_KEY_SUFFIX):
        auth = "<not a test key: not echoed>"
    seen = {"method": req.method, "path": req.path, "version": req.version,
            "header_names": [n.lower() for n, _ in req.headers],
            "host": req.header("host"),
            "content_type": req.header("content-type"),
            "authorization": auth, "body": req.json}
    text = json.dumps(seen, sort_keys=True, ensure_ascii=False)
    ctype, body = ctx.reply_body(text)
    ctx.send_length(200, "OK", ctype, body)


@scenario("chunked")
def sc_chunked(ctx):
    """Chunked body: odd sizes, upper-case hex, extensions, a trailer."""
    ctype, body = ctx.reply_body(ctx.echo)
    head = ctx.head(200, "OK", [("Content-Type", ctype),
                                ("Transfer-Encoding", "chunked"),
                                ("Trailer", "X-Wisp-Trailer")])
    out = [head]
    sizes = [1, 5, 17, 64]
    pos = i = 0
    while pos < len(body):
        n = sizes[i % len(sizes)]
        piece = body[pos:pos + n]
        if i % 3 == 0:      # upper-case hex with leading zeros, extensions
            out.append(b"%04X;ext=1;name=\"v a\"\r\n%s\r\n" % (len(piece), piece))
        elif i % 3 == 1:
            out.append(b"%x ; lone-ext\r\n%s\r\n" % (len(piece), piece))
        else:
            out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pos += n
        i += 1
    out.append(b"0;last=yes\r\nX-Wisp-Trailer: done\r\nX-Other: 1\r\n\r\n")
    data = b"".join(out)
    # Several writes, cut inside chunk-size lines as well.
    for j in range(0, len(data), 97):
        ctx.conn.send(data[j:j + 97])
        time.sleep(0.002)


@scenario("http10")
def sc_http10(ctx):
    """HTTP/1.0 reply, no Content-Length, body ends at close."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", ctype)],
                           version="HTTP/1.0", close=True) + body)


@scenario("continue100")
def sc_continue100(ctx):
    """An interim 100 Continue, then the reply."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    time.sleep(0.02)
    ctx.send_length(200, "OK", ctype, body)


@scenario("longheader")
def sc_longheader(ctx):
    """A 6 KB Set-Cookie line before the real headers."""
    ctype, body = ctx.reply_body(ctx.echo)
    cookie = ("Set-Cookie", "session=" + "a" * 6144 + "; Path=/; HttpOnly")
    ctx.send_length(200, "OK", ctype, body, extra=[cookie])


@scenario("header-flood")
def sc_header_flood(ctx):
    """1 MB of headers (2000 lines of 500 bytes) before the reply."""
    ctype, body = ctx.reply_body(ctx.echo)
    pad = "p" * 490
    head = ctx.head(200, "OK", [("X-Pad-%04d" % i, pad) for i in range(2000)]
                    + [("Content-Type", ctype),
                       ("Content-Length", str(len(body)))])
    try:
        ctx.conn.send(head + body)
    except OSError:
        ctx.keep_alive = False  # the client gave up on the head: fine


@scenario("interim103")
def sc_interim103(ctx):
    """103 Early Hints with headers, then 100 Continue, then the reply."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n"
                  b"Content-Length: 5\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n")
    ctx.send_length(200, "OK", ctype, body)


@scenario("odd-headers")
def sc_odd_headers(ctx):
    """Header names in odd case, padded values, an empty value, a charset."""
    ctype, body = ctx.reply_body(ctx.echo)
    head = ("HTTP/1.1 200 OK\r\n"
            "content-TYPE:%s; charset=utf-8\r\n"
            "X-Empty:\r\n"
            "CONTENT-LENGTH: \t %d \t\r\n"
            "connection:   Keep-Alive\r\n"
            "X-Request-ID:\treq-odd\r\n\r\n" % (ctype, len(body)))
    ctx.conn.send(head.encode() + body)


@scenario("slowdrip")
def sc_slowdrip(ctx):
    """The whole reply one byte at a time, in under 2 s."""
    ctype, body = ctx.reply_body(ctx.echo)
    data = ctx.head(200, "OK", [("Content-Type", ctype),
                                ("Content-Length", str(len(body)))]) + body
    delay = min(0.003, 1.2 / len(data))
    for i in range(len(data)):
        ctx.conn.send(data[i:i + 1])
        time.sleep(delay)


@scenario("stall")
def sc_stall(ctx):
    """Headers, then nothing (at most 30 s): the client must time out."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", ctype),
                                       ("Content-Length", str(len(body)))]))
    ctx.conn.wait_peer_close(STALL_MAX_S)
    ctx.keep_alive = False


@scenario("reset")
def sc_reset(ctx):
    """Half the body, then RST (SO_LINGER 0)."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", ctype),
                                       ("Content-Length", str(len(body)))])
                  + body[:len(body) // 2])
    time.sleep(0.05)
    ctx.conn.reset()
    ctx.keep_alive = False
    raise Closed("reset sent")


@scenario("cut")
def sc_cut(ctx):
    """Content-Length larger than what is sent, then close."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", ctype),
                                       ("Content-Length", str(len(body)))])
                  + body[:len(body) * 6 // 10])
    ctx.keep_alive = False


RATE_LIMIT = error_json("Rate limit reached for requests", "requests",
                        "rate_limit_exceeded")


@scenario("429-then-ok")
def sc_429_then_ok(ctx):
    """429 with Retry-After: 1 (kept alive), then the reply."""
    if ctx.attempt == 1:
        ctx.send_json(429, "Too Many Requests", RATE_LIMIT,
                      extra=[("Retry-After", "1")])
    else:
        sc_ok(ctx)


@scenario("429-ms-then-ok")
def sc_429_ms_then_ok(ctx):
    """429 with only retry-after-ms: 300, then the reply."""
    if ctx.attempt == 1:
        ctx.send_json(429, "Too Many Requests", RATE_LIMIT,
                      extra=[("retry-after-ms", "300")])
    else:
        sc_ok(ctx)


@scenario("429")
def sc_429(ctx):
    """429 with Retry-After: 1, every time."""
    ctx.send_json(429, "Too Many Requests", RATE_LIMIT,
                  extra=[("Retry-After", "1")])


@scenario("500")
def sc_500(ctx):
    """500 with an OpenAI error object, every time."""
    ctx.send_json(500, "Internal Server Error", error_json(
        "The server had an error while processing your request.",
        "server_error"))


OVERLOADED = error_json("The engine is currently overloaded", "server_error")


@scenario("503-then-ok", "503-close-then-ok")
def sc_503_then_ok(ctx):
    """503 once (the -close variant adds Connection: close), then the reply."""
    if ctx.attempt == 1:
        ctx.send_json(503, "Service Unavailable", OVERLOADED,
                      close=True if "close" in ctx.name else None)
    else:
        sc_ok(ctx)


@scenario("401")
def sc_401(ctx):
    """401 invalid API key."""
    ctx.send_json(401, "Unauthorized", {"error": {
        "message": "Invalid API key", "type": "invalid_request_error",
        "code": "invalid_api_key"}})


@scenario("401-reflect")
def sc_401_reflect(ctx):
    """401 whose message quotes the Authorization header back (dummy keys only)."""
    auth = ctx.req.header("authorization") or ""
    if not auth.endswith(DUMMY_KEY_SUFFIX):
        auth = "<not a test key>"
    ctx.send_json(401, "Unauthorized", {"error": {
        "message": "Bad credentials: " + auth, "type": "auth_error",
        "param": auth}})


@scenario("404-html")
def sc_404_html(ctx):
    """404 HTML page from a proxy."""
    page = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
            b"<center><h1>404 Not Found</h1></center>\r\n"
            b"<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n")
    ctx.send_length(404, "Not Found", "text/html", page,
                    extra=[("Server", "nginx/1.24.0")])


@scenario("error200")
def sc_error200(ctx):
    """Status 200 carrying {"error": {...}}."""
    ctx.send_json(200, "OK", error_json(
        "This model's maximum context length is 8192 tokens",
        "invalid_request_error", "context_length_exceeded", "messages"))


@scenario("error-string")
def sc_error_string(ctx):
    """400 with "error" a plain string and a top-level message."""
    ctx.send_json(400, "Bad Request", {
        "error": "SyntaxError",
        "message": "Unexpected token } in JSON at position 7"})


@scenario("gemini-error")
def sc_gemini_error(ctx):
    """400 with Gemini's [{"error": {...}}] array."""
    ctx.send_json(400, "Bad Request", [{"error": {
        "code": 400,
        "message": "Invalid JSON payload received. Unknown name \"foo\": "
                   "Cannot find field.",
        "status": "INVALID_ARGUMENT"}}])


@scenario("malformed-status")
def sc_malformed_status(ctx):
    """A status line with a non-numeric code."""
    body = jbytes(ctx.completion(ctx.echo))
    ctx.conn.send(b"HTTP/1.1 2x0 Okay-ish\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    ctx.keep_alive = False


@scenario("malformed-json")
def sc_malformed_json(ctx):
    """A truncated JSON body (or event)."""
    if ctx.stream:
        ev = (b'data: {"id":"x","object":"chat.completion.chunk","choices":'
              b'[{"index":0,"delta":{"content":"x"}}]\n\ndata: [DONE]\n\n')
        ctx.send_chunked(200, "OK", "text/event-stream", [ev])
    else:
        body = (b'{"id": "chatcmpl-bad", "object": "chat.completion", '
                b'"choices": [{"index": 0, "message": {"role": "assistant", '
                b'"content": "broken}]}')
        ctx.send_length(200, "OK", "application/json", body)


@scenario("huge-body")
def sc_huge_body(ctx):
    """One object (or event) of 600 KB."""
    # Larger than the CLI's 320 KiB work buffer, as one object or one event.
    text = "x" * (600 * 1024)
    if ctx.stream:
        evs = [sse(ctx.chunk({"role": "assistant", "content": text})),
               b"data: [DONE]\n\n"]
        ctx.send_chunked(200, "OK", "text/event-stream", evs)
    else:
        ctx.send_json(200, "OK", ctx.completion(text))


@scenario("chunk-overflow")
def sc_chunk_overflow(ctx):
    """Chunk size ffffffffffffffffff."""
    ctx.conn.send(ctx.head(200, "OK", [
        ("Content-Type", "text/event-stream" if ctx.stream else
         "application/json"), ("Transfer-Encoding", "chunked")], close=True)
        + b"ffffffffffffffffff\r\n" + b"A" * 64)
    time.sleep(0.1)


UNICODE_TEXT = 'Line one\nsaid "hi" \\ back caf\u00e9 \U0001F600'


@scenario("unicode")
def sc_unicode(ctx):
    r"""Escapes \n \" \\ \u00e9 and the surrogate pair \ud83d\ude00."""
    ctype, body = ctx.reply_body(UNICODE_TEXT)
    ctx.send_length(200, "OK", ctype, body)


@scenario("keepalive-idle")
def sc_keepalive_idle(ctx):
    """The reply, then the connection closes after 1 s idle."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.send_length(200, "OK", ctype, body, extra=[("Keep-Alive", "timeout=1")])
    ctx.conn.idle_s = 1.0


@scenario("stale-retry")
def sc_stale_retry(ctx):
    """503 with Retry-After: 2 but an idle close after 1 s, then the reply.

    The client must notice that its kept-alive connection died and reconnect."""
    ctx.conn.idle_s = 1.0
    if ctx.attempt == 1:
        ctx.send_json(503, "Service Unavailable", OVERLOADED,
                      extra=[("Retry-After", "2"), ("Keep-Alive", "timeout=1")])
    else:
        sc_ok(ctx)


@scenario("close-after")
def sc_close_after(ctx):
    """The reply with Connection: close."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.send_length(200, "OK", ctype, body, close=True)


# ---- W5a: request options, gateways, budgets ----------------------------

@scenario("record")
def sc_record(ctx):
    """The echo reply; takes members beyond the known fields (--param), and
    the request is recorded with any bytes after its body (GET /requests)."""
    sc_ok(ctx)


@scenario("429-zero-then-ok")
def sc_429_zero_then_ok(ctx):
    """429 with Retry-After: 0, then the reply."""
    if ctx.attempt == 1:
        ctx.send_json(429, "Too Many Requests", RATE_LIMIT,
                      extra=[("Retry-After", "0")])
    else:
        sc_ok(ctx)


ONEAPI_ID = "abc123"


@scenario("oneapi-id")
def sc_oneapi_id(ctx):
    """one-api gateway: x-oneapi-request-id: abc123 and no x-request-id."""
    ctype, body = ctx.reply_body(ctx.echo)
    ctx.send_length(200, "OK", ctype, body,
                    extra=[("X-Oneapi-Request-Id", ONEAPI_ID)], request_id=False)


@scenario("both-ids", "both-ids-rev")
def sc_both_ids(ctx):
    """x-oneapi-request-id and x-request-id: req-primary (-rev: the other order)."""
    ctype, body = ctx.reply_body(ctx.echo)
    ids = [("x-oneapi-request-id", ONEAPI_ID), ("x-request-id", "req-primary")]
    if ctx.name.endswith("-rev"):
        ids.reverse()
    ctx.send_length(200, "OK", ctype, body, extra=ids, request_id=False)


@scenario("402-quota")
def sc_402_quota(ctx):
    """one-api's 402: insufficient quota (not worth a retry)."""
    ctx.send_json(402, "Payment Required", {"error": {
        "message": "insufficient quota", "type": "insufficient_quota"}})


BUDGET_USAGE = {"prompt_tokens": 12, "completion_tokens": 64, "total_tokens": 76,
                "completion_tokens_details": {"reasoning_tokens": 64}}
BUDGET_TEXT = "Partial answ"


# Counts no 32-bit counter holds, written as JSON text (json.dumps cannot
# write 1e3): each must come out absent, never a made-up number.
ODD_USAGE = (b'{"prompt_tokens":4294967296,"completion_tokens":-1,"total_tokens":1e3,'
             b'"prompt_tokens_details":{"cached_tokens":'
             + b"9" * 50 + b'},"completion_tokens_details":{"reasoning_tokens":2.5}}')


@scenario("usage-odd")
def sc_usage_odd(ctx):
    """The echo, with usage counts out of range (2^32, -1, 1e3, 50 digits, 2.5)."""
    marker = '"@usage@"'
    if not ctx.stream:
        obj = ctx.completion(ctx.echo)
        obj["usage"] = "@usage@"
        body = jbytes(obj).replace(marker.encode(), ODD_USAGE)
        ctx.send_length(200, "OK", "application/json", body)
        return
    evs = ctx.events([ctx.echo])
    evs[-2] = sse(ctx.chunk(usage="@usage@", choices=False)).replace(marker.encode(), ODD_USAGE)
    ctx.send_chunked(200, "OK", "text/event-stream", evs, SSE_HEADERS)


@scenario("budget-empty", "budget-none", "budget-text", "budget-zero")
def sc_budget(ctx):
    """finish_reason length, 64 reasoning tokens, content "" (or -none, -text; -zero: 0 tokens).

    budget-none sends no content at all; budget-text some text; budget-zero
    is budget-empty with reasoning_tokens 0."""
    usage = json.loads(json.dumps(BUDGET_USAGE))
    if ctx.name == "budget-zero":
        usage["completion_tokens_details"]["reasoning_tokens"] = 0
    text = {"budget-none": None, "budget-text": BUDGET_TEXT}.get(ctx.name, "")
    if not ctx.stream:
        obj = ctx.completion(text, finish="length")
        if ctx.name == "budget-none":
            del obj["choices"][0]["message"]["content"]
        obj["usage"] = usage
        ctx.send_json(200, "OK", obj)
        return
    first = {"role": "assistant"}
    if text is not None:
        first["content"] = ""
    objs = [ctx.chunk(first)]
    if text:
        objs += [ctx.chunk({"content": p}) for p in split_text(text, 5)]
    objs.append(ctx.chunk({}, finish="length"))
    objs.append(ctx.chunk(usage=usage, choices=False))
    evs = [sse(o) for o in objs] + [b"data: [DONE]\n\n"]
    ctx.send_chunked(200, "OK", "text/event-stream", evs, SSE_HEADERS)


# ---- streams --------------------------------------------------------------

STREAM_TEXT = "Hello! This is wisp's test stream, sent in several pieces."
STREAM_PIECES = ["Hello!", " This is", " wisp's test", " stream,",
                 " sent in", " several", " pieces."]
SSE_HEADERS = [("Cache-Control", "no-cache")]


@scenario("stream")
def sc_stream(ctx):
    """OpenAI stream: role, content, finish, usage chunks, [DONE]."""
    ctx.send_chunked(200, "OK", "text/event-stream",
                     ctx.events(STREAM_PIECES), SSE_HEADERS)


@scenario("stream-crlf")
def sc_stream_crlf(ctx):
    """The stream with CRLF line endings."""
    ctx.send_chunked(200, "OK", "text/event-stream",
                     ctx.events(STREAM_PIECES, eol="\r\n"), SSE_HEADERS)


@scenario("stream-cr")
def sc_stream_cr(ctx):
    """The stream with CR-only line endings."""
    ctx.send_chunked(200, "OK", "text/event-stream",
                     ctx.events(STREAM_PIECES, eol="\r"), SSE_HEADERS)


@scenario("stream-comments")
def sc_stream_comments(ctx):
    """The stream with ": OPENROUTER PROCESSING" comments."""
    comment = b": OPENROUTER PROCESSING\n\n"
    evs = [comment, comment]
    for e in ctx.events(STREAM_PIECES):
        evs += [e, comment]
    ctx.send_chunked(200, "OK", "text/event-stream; charset=utf-8", evs,
                     SSE_HEADERS)


LLAMA_TEXT = "llama says hi"


def llama_chunk(ctx, delta, finish=None):
    return {"choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
            "created": CREATED, "id": "chatcmpl-llama", "model": ctx.model,
            "system_fingerprint": "b4000-test", "object":
            "chat.completion.chunk"}


@scenario("stream-llamacpp")
def sc_stream_llamacpp(ctx):
    """llama.cpp shape: usage and timings last; closes after [DONE]."""
    evs = [sse(llama_chunk(ctx, {"role": "assistant", "content": None}))]
    for p in ["llama", " says", " hi"]:
        evs.append(sse(llama_chunk(ctx, {"content": p})))
    last = llama_chunk(ctx, {}, "stop")
    last["usage"] = {"completion_tokens": 3, "prompt_tokens": 9,
                     "total_tokens": 12}
    last["timings"] = {"prompt_n": 9, "prompt_ms": 12.5,
                       "prompt_per_token_ms": 1.38, "predicted_n": 3,
                       "predicted_ms": 30.1, "predicted_per_second": 99.6}
    evs += [sse(last), b"data: [DONE]\n\n"]
    # llama.cpp advertises keep-alive, then closes after the stream anyway.
    ctx.send_chunked(200, "OK", "text/event-stream", evs,
                     [("Keep-Alive", "timeout=5, max=100")], close=False)
    ctx.keep_alive = False


@scenario("stream-llamacpp-error")
def sc_stream_llamacpp_error(ctx):
    """llama.cpp's `error: {...}` line, status 200, then [DONE]."""
    evs = [sse(llama_chunk(ctx, {"role": "assistant", "content": None})),
           b'error: {"code":500,"message":"the request exceeds the available '
           b'context size, try increasing it","type":"server_error"}\n\n',
           b"data: [DONE]\n\n"]
    ctx.send_chunked(200, "OK", "text/event-stream", evs, close=False)
    ctx.keep_alive = False


@scenario("stream-error-event")
def sc_stream_error_event(ctx):
    """Status 200; the only event is {"error": {...}}; no [DONE]."""
    ev = sse({"error": {"message": "Provider returned error", "code": 502,
                        "metadata": {"provider_name": "Test"}}})
    ctx.send_chunked(200, "OK", "text/event-stream", [ev], SSE_HEADERS)


NO_DONE_TEXT = "This reply is cut short"


@scenario("stream-no-done")
def sc_stream_no_done(ctx):
    """Content, then close: no finish_reason, no [DONE]."""
    evs = [sse(ctx.chunk({"role": "assistant", "content": ""}))]
    evs += [sse(ctx.chunk({"content": p})) for p in
            ["This reply", " is cut", " short"]]
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", "text/event-stream")],
                           close=True) + b"".join(evs))


SURROGATE_TEXT = "Party \U0001F389 time"


@scenario("stream-surrogate")
def sc_stream_surrogate(ctx):
    """An emoji split into surrogates across two deltas."""
    # json.dumps escapes lone surrogates: "\ud83c" ends one delta and
    # "\udf89" starts the next.
    pieces = ["Party \ud83c", "\udf89 time"]
    ctx.send_chunked(200, "OK", "text/event-stream", ctx.events(pieces))


SPLIT_TEXT = "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u4e16\u754c \U0001F30D fin"


@scenario("stream-split")
def sc_stream_split(ctx):
    """Events cut mid-line, mid-"data:" and mid-UTF-8 character."""
    pieces = ["Gr\u00fc", "\u00dfe aus", " K\u00f6ln \u2014",
              " \u4e16\u754c", " \U0001F30D", " fin"]
    data = b"".join(ctx.events(pieces, ascii_only=False))
    cuts = set()
    # mid "data:", mid line, between the two LFs of an event end, and
    # inside every multi-byte UTF-8 character
    pos = data.find(b"data:")
    while pos >= 0:
        cuts.update((pos + 2, pos + 5, pos + 20))
        pos = data.find(b"data:", pos + 1)
    pos = data.find(b"\n\n")
    while pos >= 0:
        cuts.add(pos + 1)
        pos = data.find(b"\n\n", pos + 1)
    for i, b in enumerate(data):
        if b >= 0xC0:
            cuts.add(i + 1)
    cuts = sorted(c for c in cuts if 0 < c < len(data))
    pieces_b, last = [], 0
    for c in cuts:
        pieces_b.append(data[last:c])
        last = c
    pieces_b.append(data[last:])
    ctx.send_chunked(200, "OK", "text/event-stream", pieces_b, delay=0.002)


def mb_piece(i):
    """Piece i of the 1 MB stream: 50 bytes, numbered."""
    return "%05d the quick brown fox jumps over the lazy dog\n" % i


MB_EVENTS = 20000


@scenario("stream-1mb")
def sc_stream_1mb(ctx):
    """1 MB of text in 20000 events, made on the fly."""
    ctx.conn.send(ctx.head(200, "OK", [("Content-Type", "text/event-stream"),
                                       ("Transfer-Encoding", "chunked")]))
    out = []
    first = sse(ctx.chunk({"role": "assistant", "content": ""}))
    out.append(b"%x\r\n%s\r\n" % (len(first), first))
    prefix = ('data: {"id":"%s","object":"chat.completion.chunk","created":%d,'
              '"model":%s,"choices":[{"index":0,"delta":{"content":'
              % (ctx.id, CREATED, json.dumps(ctx.model))).encode()
    for i in range(MB_EVENTS):
        ev = prefix + json.dumps(mb_piece(i)).encode() + \
            b'},"finish_reason":null}]}\n\n'
        out.append(b"%x\r\n%s\r\n" % (len(ev), ev))
        if len(out) >= 256:
            ctx.conn.send(b"".join(out))
            out = []
    for ev in [sse(ctx.chunk({}, finish="stop")),
               sse(ctx.chunk(usage=USAGE, choices=False)), b"data: [DONE]\n\n"]:
        out.append(b"%x\r\n%s\r\n" % (len(ev), ev))
    out.append(b"0\r\n\r\n")
    ctx.conn.send(b"".join(out))


SLOW_PIECES = ["one", " two", " three", " four", " five", " six", " seven",
               " eight"]


@scenario("stream-slow")
def sc_stream_slow(ctx):
    """Events 200 ms apart."""
    ctx.send_chunked(200, "OK", "text/event-stream", ctx.events(SLOW_PIECES),
                     delay=0.2)


@scenario("stream-bare")
def sc_stream_bare(ctx):
    """A stream with no Content-Type, role, finish_reason, created, usage.

    Also a new id per chunk: still a valid stream."""
    evs = []
    for i, p in enumerate(STREAM_PIECES):
        evs.append(sse({"id": "c%d" % i, "choices": [{"index": 0, "delta":
                                                       {"content": p}}]}))
    evs.append(b"data: [DONE]\n\n")
    ctx.send_chunked(200, "OK", None, evs)


# Tool calls, OpenAI's shape: streamed as deltas interleaved by index, or
# one message; tests/e2e.py and examples/tools check what wisp makes of them.
TOOL_TEXT = "Let me check."
TOOL_CALLS = [
    {"id": "call_t1", "type": "function",
     "function": {"name": "get_temperature", "arguments": '{"room": "kitchen"}'}},
    {"id": "call_t2", "type": "function",
     "function": {"name": "set_led", "arguments": '{"on": true, "note": "caf\u00e9 \\"x\\""}'}},
]


def send_tool_reply(ctx, text, calls, finish="tool_calls"):
    if not ctx.stream:
        msg = {"role": "assistant", "content": text, "tool_calls": calls}
        obj = {"id": ctx.id, "object": "chat.completion", "created": CREATED,
               "model": ctx.model, "usage": USAGE,
               "choices": [{"index": 0, "message": msg, "finish_reason": finish}]}
        ctx.send_length(200, "OK", "application/json", jbytes(obj, False))
        return
    chunks = [ctx.chunk({"role": "assistant", "content": text})]
    for i, c in enumerate(calls):
        chunks.append(ctx.chunk({"tool_calls": [
            {"index": i, "id": c["id"], "type": "function",
             "function": {"name": c["function"]["name"], "arguments": ""}}]}))
    for i, c in enumerate(calls):  # arguments interleaved, in pieces
        args = c["function"]["arguments"]
        for k in range(0, len(args), 5):
            chunks.append(ctx.chunk({"tool_calls": [
                {"index": i, "function": {"arguments": args[k:k + 5]}}]}))
    chunks.append(ctx.chunk({}, finish=finish))
    chunks.append(ctx.chunk(usage=USAGE, choices=False))
    body = [sse(c, ascii_only=False) for c in chunks] + [b"data: [DONE]\n\n"]
    ctx.send_chunked(200, "OK", "text/event-stream", body, SSE_HEADERS)


@scenario("tools")
def sc_tools(ctx):
    """Text, then two tool calls (streamed or not, as asked)."""
    send_tool_reply(ctx, TOOL_TEXT, TOOL_CALLS)


@scenario("tools-only")
def sc_tools_only(ctx):
    """Two tool calls and no text (content null)."""
    send_tool_reply(ctx, None, TOOL_CALLS)


@scenario("tools-long")
def sc_tools_long(ctx):
    """One call whose arguments are longer than wisp-chat keeps (32 KiB)."""
    big = '{"blob": "' + "x" * 40000 + '"}'
    send_tool_reply(ctx, None, [{"id": "call_big", "type": "function",
                                 "function": {"name": "store", "arguments": big}}])


@scenario("tools-device")
def sc_tools_device(ctx):
    """examples/tools: round 1 asks for both tools; round 2 (the results
    sent back, each answering its call) gets the answer built from them."""
    msgs = ctx.req.json.get("messages", [])
    results = {m.get("tool_call_id"): m.get("content") for m in msgs
               if m.get("role") == "tool"}
    if not results:
        send_tool_reply(ctx, None, [
            {"id": "call_temp", "type": "function",
             "function": {"name": "get_temperature", "arguments": '{"room":"lab"}'}},
            {"id": "call_led", "type": "function",
             "function": {"name": "set_led", "arguments": '{"on":true}'}}])
        return
    asked = [c for m in msgs if m.get("role") == "assistant"
             for c in (m.get("tool_calls") or [])]
    ok = (len(asked) == 2 and set(results) == {"call_temp", "call_led"}
          and all(c.get("type") == "function" for c in asked))
    text = ("The lab is at %s; LED: %s." % (results.get("call_temp"), results.get("call_led"))
            if ok else "the history was wrong: %r" % msgs)
    ctype, body = ctx.reply_body(text)
    ctx.send_length(200, "OK", ctype, body)


# Reply bodies of every shape the one reader must treat alike, each served
# as one JSON object whatever was asked (shape-json-N) and as the same object
# sent as a stream's only event (shape-sse-N), and as the chunks a server
# would stream for it (shape-chunks-N).  tests/e2e.py compares what
# wisp-chat prints for --no-stream, a stream request answered with JSON and
# both streams.
REPLY_SHAPES = [
    # Mistral: content as parts, reasoning in a thinking part
    {"id": "shape-0", "model": "m", "created": CREATED,
     "choices": [{"index": 0, "message": {"role": "assistant", "content": [
         {"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]},
         {"type": "text", "text": "Parts "}, {"type": "image_url", "image_url": {"url": "x"}},
         {"type": "text", "text": "joined."}]}, "finish_reason": "stop"}],
     "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    # an empty reasoning_content beside a filled reasoning; usage details
    {"id": "shape-1", "model": "m", "created": CREATED,
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Answer.",
                                          "reasoning_content": "", "reasoning": "Because.\n"},
                  "finish_reason": "length"}],
     "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11,
               "prompt_tokens_details": {"cached_tokens": 2},
               "completion_tokens_details": {"reasoning_tokens": 3}}},
    # OpenAI's refusal, with content null
    {"id": "shape-2", "model": "m", "created": CREATED,
     "choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                                          "refusal": "I can't help with that."},
                  "finish_reason": "stop"}]},
    # the choice with index 0 comes second
    {"id": "shape-3", "model": "m", "created": CREATED,
     "choices": [{"index": 1, "message": {"role": "assistant", "content": "not this"},
                  "finish_reason": "stop"},
                 {"index": 0, "message": {"role": "assistant", "content": "caf\u00e9 \U0001F600"},
                  "finish_reason": "stop"}]},
    # an error in a 200 body, message nested (Mistral's 422 shape)
    {"object": "error", "message": {"detail": [{"msg": "field required"}]},
     "type": "invalid_request_error", "code": 422},
    # Gemini's error array
    [{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}],
    # error shapes without an "error" key, in a 200
    {"errors": [{"code": 7003, "message": "quota exceeded"}]},
    {"detail": "Not Found"},
]


def _as_chunks(obj):
    """A whole reply as the stream a server would send for it: role, then
    reasoning and content in pieces, refusal, finish, and usage in a chunk
    of its own; anything else (errors) as one event."""
    if not isinstance(obj, dict) or "choices" not in obj:
        return [obj]
    head = {k: obj[k] for k in ("id", "model", "created") if k in obj}
    chunks = []

    def delta(d, finish=None, index=0):
        c = dict(head)
        c["choices"] = [{"index": index, "delta": d, "finish_reason": finish}]
        chunks.append(c)

    for ch in obj["choices"]:
        if ch.get("index", 0) != 0:
            delta({"content": "ignored"}, index=ch["index"])
            continue
        m = ch["message"]
        delta({"role": m.get("role", "assistant")})
        for key in ("reasoning_content", "reasoning"):
            text = m.get(key)
            if text:
                for i in range(0, len(text), 3):
                    delta({key: text[i:i + 3]})
                break
        content = m.get("content")
        if isinstance(content, list):
            for part in content:
                delta({"content": [part]})
        elif isinstance(content, str):
            for i in range(0, len(content), 3):
                delta({"content": content[i:i + 3]})
        if m.get("refusal"):
            text = m["refusal"]
            for i in range(0, len(text), 4):
                delta({"refusal": text[i:i + 4]})
        delta({}, finish=ch.get("finish_reason"))
    if "usage" in obj:
        c = dict(head)
        c["choices"] = []
        c["usage"] = obj["usage"]
        chunks.append(c)
    return chunks


def _shape_json(n):
    def fn(ctx):
        ctx.send_length(200, "OK", "application/json", jbytes(REPLY_SHAPES[n], False))
    fn.__doc__ = "reply shape %d as one JSON object, streamed or not" % n
    return fn


def _shape_sse(n):
    def fn(ctx):
        body = b"data: " + jbytes(REPLY_SHAPES[n], False) + b"\n\ndata: [DONE]\n\n"
        ctx.send_length(200, "OK", "text/event-stream", body)
    fn.__doc__ = "reply shape %d as a stream's only event" % n
    return fn


def _shape_chunks(n):
    def fn(ctx):
        body = b"".join(b"data: " + jbytes(c, False) + b"\n\n"
                        for c in _as_chunks(REPLY_SHAPES[n])) + b"data: [DONE]\n\n"
        ctx.send_length(200, "OK", "text/event-stream", body)
    fn.__doc__ = "reply shape %d as the stream a server would send" % n
    return fn


for _n in range(len(REPLY_SHAPES)):
    scenario("shape-json-%d" % _n)(_shape_json(_n))
    scenario("shape-sse-%d" % _n)(_shape_sse(_n))
    scenario("shape-chunks-%d" % _n)(_shape_chunks(_n))


# ---- W5b: a conversation, turn by turn ------------------------------------

def session_fault(msgs):
    """What is wrong with a session's history, or None: an optional system
    message first, then user and assistant in turn, ending with a user
    message; each assistant message is this server's echo of the user
    message before it (what it answered then)."""
    i = 1 if msgs and msgs[0]["role"] == "system" else 0
    turns = msgs[i:]
    for k, m in enumerate(turns):
        want = "user" if k % 2 == 0 else "assistant"
        if m["role"] != want:
            return "message %d is %s, want %s" % (i + k, m["role"], want)
        if want == "assistant" and m.get("content") != "echo: " + content_text(turns[k - 1]["content"]):
            return "message %d is not the reply to the message before it" % (i + k)
    if not turns or len(turns) % 2 == 0:
        return "the history does not end with a user message"
    return None


@scenario("session")
def sc_session(ctx):
    """The echo, after checking the history (session_fault: 400 when it is
    not a well-formed conversation of this server's replies).  A last user
    message starting "slow" is streamed one event every 200 ms; one
    starting "fail" is refused with a 400."""
    fault = session_fault(ctx.req.json["messages"])
    last = content_text(ctx.req.json["messages"][-1]["content"])
    if fault is not None:
        ctx.send_json(400, "Bad Request", error_json("session: " + fault))
    elif last.startswith("fail"):
        ctx.send_json(400, "Bad Request", error_json("session: refused on purpose"))
    elif last.startswith("slow") and ctx.stream:
        ctx.send_chunked(200, "OK", "text/event-stream",
                         ctx.events(split_text(ctx.echo, 6)), SSE_HEADERS, delay=0.2)
    else:
        sc_ok(ctx)


@scenario("demo")
def sc_demo(ctx):
    """make demo: a short friendly reply, streamed word by word."""
    text = ("Hello from the wisp demo server! This reply came over TLS, chunked and "
            "streamed as server-sent events, and was decoded by wisp without touching the heap. "
            "You asked: " + ctx.echo[len("echo: "):])
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    if ctx.stream:
        ctx.send_chunked(200, "OK", "text/event-stream", ctx.events(pieces, ascii_only=False),
                         delay=0.03)
    else:
        ctx.send_json(200, "OK", ctx.completion(text))


# ---- W5b: model lists (GET {base}/models) --------------------------------
#
# Keyed like the chat scenarios: GET /s/models-long.t7/v1/models.  Each
# answers the list with a request id; tests/e2e.py restates the ids.

MODEL_LISTS = {}
model_list = registry(MODEL_LISTS)


SHORT_MODELS = ["gpt-4o", "gemini-2.5-flash", "llama-3.1-8b-instruct"]
LONG_MODEL_COUNT = 5000
CUT_MODEL_ID = "vendor/" + "x" * 93  # 100 bytes: past WISP_MODEL_CAP


def long_model_id(i):
    return "provider-%d/model-%05d:free" % (i % 37, i)


def openai_model(mid):
    return {"id": mid, "object": "model", "created": CREATED, "owned_by": "wisp-test"}


def openrouter_model(mid, i):
    """About 400 bytes, nested the way OpenRouter's entries are."""
    return {"id": mid, "name": "Model %d" % i, "created": CREATED + i,
            "description": "A model with a \"quoted\" word, caf\u00e9 and \\ in its text.",
            "context_length": 8192 * (1 + i % 16),
            "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"],
                             "tokenizer": "Other", "instruct_type": None},
            "pricing": {"prompt": "0.000001", "completion": "0.000002", "image": "0"},
            "top_provider": {"context_length": 8192, "max_completion_tokens": None,
                             "is_moderated": i % 2 == 0},
            "supported_parameters": ["tools", "temperature", "top_p"]}


def send_list(conn, req, name, attempt, body, pieces=0):
    """200 with body: Content-Length, or chunked in pieces of odd sizes."""
    head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "x-request-id: req-%s-%d\r\nConnection: keep-alive\r\n" % (name, attempt))
    if not pieces:
        conn.send(("%sContent-Length: %d\r\n\r\n" % (head, len(body))).encode() + body)
        return
    conn.send((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    out, i, k = [], 0, 0
    while i < len(body):
        n = pieces + (k * 7919) % pieces  # pieces..2*pieces-1 bytes, cutting anywhere
        p = body[i:i + n]
        out.append(b"%x\r\n%s\r\n" % (len(p), p))
        i, k = i + n, k + 1
        if len(out) >= 64:
            conn.send(b"".join(out))
            out = []
    conn.send(b"".join(out) + b"0\r\n\r\n")


@model_list("models")
def ml_short(conn, req, name, attempt):
    """OpenAI's shape: {"object": "list", "data": [...]}, three models."""
    send_list(conn, req, name, attempt, jbytes(
        {"object": "list", "data": [openai_model(m) for m in SHORT_MODELS]}))


@model_list("models-long")
def ml_long(conn, req, name, attempt):
    """OpenRouter's shape, LONG_MODEL_COUNT entries (2.8 MB), chunked at odd places."""
    data = [openrouter_model(long_model_id(i), i) for i in range(LONG_MODEL_COUNT)]
    send_list(conn, req, name, attempt, jbytes({"data": data}), pieces=997)


@model_list("models-oneapi")
def ml_oneapi(conn, req, name, attempt):
    """one-api's shape: "success" before "data", "object" after."""
    body = b'{"success":true,"data":%s,"object":"list"}' % jbytes(
        [openai_model(m) for m in SHORT_MODELS])
    send_list(conn, req, name, attempt, body)


@model_list("models-cut")
def ml_cut(conn, req, name, attempt):
    """A model whose id is longer than the client keeps, between two others."""
    send_list(conn, req, name, attempt, jbytes(
        {"object": "list", "data": [openai_model(m) for m in ("a", CUT_MODEL_ID, "b")]}))


@model_list("models-401")
def ml_401(conn, req, name, attempt):
    """401 invalid API key."""
    body = jbytes({"error": {"message": "Invalid API key", "type": "invalid_request_error",
                             "code": "invalid_api_key"}})
    conn.send(("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(body)).encode()
              + body)


def answer_models(conn, req):
    """GET .../models: the list the path's segment names."""
    key = path_segment(req.path) or "models"
    name = key.split(".", 1)[0]
    attempt = STATS.count_request(conn.rec, key)
    fn = MODEL_LISTS.get(name)
    if fn is None:
        answer_error(conn, 404, "Not Found", "unknown model list %r" % name, True)
    else:
        fn(conn, req, name, attempt)


# --------------------------------------------------------------------------
# Serving.

def answer_error(conn, status, reason, message, keep):
    body = jbytes(error_json(message, "invalid_request_error",
                             "wisp_test_server"))
    conn.send(("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: %s\r\n\r\n"
               % (status, reason, len(body), "keep-alive" if keep else "close"))
              .encode() + body)


def answer_recorded(conn, req):
    key = parse_qs(req.query).get("key", [""])[0]
    body = jbytes(STATS.recorded_for(key))
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (len(body), body))


def bytes_after_body(conn, req):
    """Bytes already read past Content-Length; for record* scenarios also
    what arrives within EXTRA_WAIT_S (a body longer than its length)."""
    extra = len(conn.buf)
    if (path_scenario(req.path) or "").startswith("record") and extra == 0:
        try:
            r, _, _ = select.select([conn.sock], [], [], EXTRA_WAIT_S)
            if r:
                conn._fill(0.2)
                extra = len(conn.buf)
        except (Closed, OSError, ValueError):
            pass
    return extra


def answer_stats(conn, req):
    key = parse_qs(req.query).get("key", [None])[0]
    body = jbytes(STATS.snapshot(key))
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
              % (len(body), body))


def path_segment(path):
    """The /s/SEGMENT/ part of a path, or None."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "s":
        return parts[2]
    return None


def path_scenario(path):
    seg = path_segment(path)
    return seg.split(".", 1)[0] if seg else None


def scenario_of(req):
    """(segment used as key, scenario name) from the path or the model."""
    seg = path_segment(req.path)
    if seg is None:
        model = req.json.get("model", "") if isinstance(req.json, dict) else ""
        seg = model[2:] if str(model).startswith("s:") else "ok"
    return seg, seg.split(".", 1)[0]


def serve_http(conn):
    """Answers requests on one connection until it closes."""
    while True:
        try:
            req = conn.read_request()
        except Closed:
            return
        except BadRequest as e:
            if getattr(e, "req", None) is not None:
                STATS.record(e.req, 0, "bad request: %s" % e)
            answer_error(conn, 400, "Bad Request", "bad request: %s" % e, False)
            return
        if req.method == "GET" and req.path == "/stats":
            answer_stats(conn, req)
            return
        if req.method == "GET" and req.path == "/requests":
            answer_recorded(conn, req)
            return
        if req.method == "GET" and req.path.endswith("/models"):
            answer_models(conn, req)
            continue
        extra = bytes_after_body(conn, req)
        try:
            check_chat_request(req)
        except BadRequest as e:
            STATS.record(req, extra, "bad request: %s" % e)
            STATS.count_request(conn.rec, "(bad request)")
            answer_error(conn, 400, "Bad Request", "bad request: %s" % e, True)
            continue
        STATS.record(req, extra)
        key, name = scenario_of(req)
        attempt = STATS.count_request(conn.rec, key)
        fn = SCENARIOS.get(name)
        if fn is None:
            answer_error(conn, 404, "Not Found",
                         "unknown test scenario %r" % name, True)
            continue
        ctx = Ctx(conn, req, key, name, attempt)
        try:
            fn(ctx)
        except Closed:
            return
        if not ctx.keep_alive:
            return


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        rec = STATS.new_connection(srv.listener_name)
        sock = self.request
        if srv.mode == "stall":
            Conn(sock, srv.listener_name, srv.port, rec).wait_peer_close(STALL_MAX_S)
            return
        if srv.ssl_ctx is not None:
            try:
                sock = srv.ssl_ctx.wrap_socket(sock, server_side=True,
                                               do_handshake_on_connect=False)
                sock.settimeout(10.0)
                sock.do_handshake()
            except (OSError, ssl.SSLError) as e:
                with STATS.lock:
                    lst = STATS.listeners[srv.listener_name]
                    lst["handshake_failures"] += 1
                    lst["last_handshake_error"] = str(e)[:200]
                return
            with STATS.lock:
                lst = STATS.listeners[srv.listener_name]
                lst["handshakes"] += 1
                rec["tls_version"] = sock.version()
                rec["resumed"] = bool(sock.session_reused)
                if sock.session_reused:
                    lst["resumed"] += 1
        conn = Conn(sock, srv.listener_name, srv.port, rec)
        try:
            serve_http(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                sock.close()  # the TLS wrapper owns the descriptor now
            except OSError:
                pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, family, addr, name, mode="http", ssl_ctx=None):
        self.address_family = family
        self.listener_name = name
        self.mode = mode
        self.ssl_ctx = ssl_ctx
        STATS.listener(name)
        super().__init__(addr, Handler, bind_and_activate=False)
        if family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            self.server_bind()
            self.server_activate()
        except OSError:
            self.server_close()
            raise
        self.port = self.server_address[1]

    def shutdown_request(self, request):
        # The handler may have detached or reset the socket already.
        try:
            request.close()
        except OSError:
            pass


def start(server):
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True)
    t.start()
    return server


def start_pair(name, **kw):
    """IPv4 listener on an ephemeral port, plus ::1 on the same port if free."""
    v4 = start(Server(socket.AF_INET, ("127.0.0.1", 0), name, **kw))
    v6 = None
    if socket.has_ipv6:
        try:
            v6 = start(Server(socket.AF_INET6, ("::1", v4.port), name, **kw))
        except OSError:
            v6 = None
    return v4, v6


# --------------------------------------------------------------------------
# Certificates (openssl CLI).

OPENSSL_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ ca ]
default_ca = testca
[ testca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
serial = {dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf_local ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# No DNS entry spells an address: IP-literal URLs must match iPAddress.
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ leaf_wrong ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example.invalid
"""


def make_certs(d):
    """Writes ca.pem/ca.key, other-ca.pem/key and good, wronghost, unknownca,
    expired (.pem with .key) into d.  Returns d."""
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    cnf = os.path.join(d, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(OPENSSL_CNF.format(dir=d))
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")

    def run(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=d,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0],
                               r.stderr.decode(errors="replace")))

    def key(name):
        run("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-out", name + ".key")

    for ca, cn in (("ca", "wisp test CA"), ("other-ca", "wisp unknown CA")):
        key(ca)
        run("req", "-config", cnf, "-new", "-x509", "-key", ca + ".key",
            "-out", ca + ".pem", "-days", "3650", "-subj", "/CN=" + cn,
            "-extensions", "v3_ca", "-sha256")
    leaves = [
        ("good", "127.0.0.1", "leaf_local", "ca", ["-days", "825"]),
        ("wronghost", "wrong.example.invalid", "leaf_wrong", "ca",
         ["-days", "825"]),
        ("unknownca", "127.0.0.1", "leaf_local", "other-ca", ["-days", "825"]),
        ("expired", "127.0.0.1", "leaf_local", "ca",
         ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]),
    ]
    for name, cn, ext, ca, validity in leaves:
        key(name)
        run("req", "-config", cnf, "-new", "-key", name + ".key", "-out",
            name + ".csr", "-subj", "/CN=" + cn)
        run("ca", "-config", cnf, "-batch", "-notext", "-in", name + ".csr",
            "-out", name + ".pem", "-cert", ca + ".pem", "-keyfile", ca + ".key",
            "-extensions", ext, *validity)
    return d


def tls_context(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(d, name + ".pem"),
                        os.path.join(d, name + ".key"))
    return ctx  # session tickets stay enabled (OpenSSL default)


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="wisp scripted test server")
    ap.add_argument("--port-file", help="write the listening ports here (JSON)")
    ap.add_argument("--tls-dir", help="directory for generated certificates "
                    "(default: a temporary one, removed at exit)")
    ap.add_argument("--no-tls", action="store_true", help="plain HTTP only")
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--make-certs", metavar="DIR",
                    help="only generate the certificates into DIR")
    ap.add_argument("--list", action="store_true", help="list the scenarios")
    args = ap.parse_args()

    if args.list:
        for name in sorted(SCENARIOS):
            doc = (SCENARIOS[name].__doc__ or "").strip().split("\n")[0]
            print("%-22s %s" % (name, doc))
        return 0

    if args.make_certs:
        make_certs(os.path.abspath(args.make_certs))
        return 0
    if not args.port_file:
        ap.error("--port-file is required")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    tmp_tls = None
    ports = {}
    servers = []
    v4, v6 = start_pair("plain")
    servers += [v4, v6]
    ports["plain"] = v4.port
    ports["ipv6"] = v6 is not None
    ports["tls_dir"] = None
    if not args.no_tls:
        tls_dir = args.tls_dir
        if not tls_dir:
            tls_dir = tmp_tls = tempfile.mkdtemp(prefix="wisp-tls-")
        tls_dir = os.path.abspath(tls_dir)
        try:
            make_certs(tls_dir)
        except (OSError, RuntimeError) as e:
            sys.stderr.write("server.py: no TLS listeners: %s\n" % e)
        else:
            ports["tls_dir"] = tls_dir
            for name, cert in (("tls-good", "good"), ("tls-wronghost", "wronghost"),
                               ("tls-unknownca", "unknownca"),
                               ("tls-expired", "expired")):
                a, b = start_pair(name, ssl_ctx=tls_context(tls_dir, cert))
                servers += [a, b]
                ports[name] = a.port
            a, b = start_pair("tls-stall", mode="stall")
            servers += [a, b]
            ports["tls-stall"] = a.port

    tmp_name = args.port_file + ".tmp"
    with open(tmp_name, "w") as f:
        json.dump(ports, f)
    os.replace(tmp_name, args.port_file)

    try:
        if stat.S_ISFIFO(os.fstat(0).st_mode):
            def watch_stdin():
                while os.read(0, 4096):
                    pass
                stop.set()
            threading.Thread(target=watch_stdin, daemon=True).start()
    except OSError:
        pass

    stop.wait(args.max_seconds)
    for s in servers:
        if s is not None:
            s.shutdown()
            s.server_close()
    if tmp_tls:
        shutil.rmtree(tmp_tls, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end tests: build/wisp-chat against the local test server.

Starts tests/server.py (plain HTTP and TLS listeners on loopback), then runs
the CLI once per test and checks stdout (exactly the text plus one newline;
empty, or the part already streamed, on failure), the exit code of the CLI
contract (0 ok, 1 usage, 2 network/TLS/timeout/stream cut, 3 HTTP or API
error, 4 malformed or oversized response) and, where it matters, stderr and
the server's view (attempts, connections, TLS resumption).

    python3 tests/e2e.py                 all tests
    python3 tests/e2e.py -k tls -k 429   tests whose name matches a pattern
    python3 tests/e2e.py --valgrind      each run under valgrind memcheck
    python3 tests/e2e.py --list          names only
    WISP_CHAT=path/to/wisp-chat python3 tests/e2e.py
    WISP_CHAT_PREFIX=qemu-arm-static WISP_CHAT=build/armhf/wisp-chat ...
                                         another architecture's binary

Ends with "N passed, N failed" (", N skipped" when some were skipped);
exits 1 when anything failed.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.environ.get("WISP_CHAT") or os.path.join(ROOT, "build", "wisp-chat")
# An emulator to run CLI (and keepalive_check) under, e.g. qemu-arm-static.
PREFIX = os.environ.get("WISP_CHAT_PREFIX", "").split()

EXIT_OK, EXIT_USAGE, EXIT_NET, EXIT_SERVER, EXIT_RESPONSE = 0, 1, 2, 3, 4
VALGRIND_EXIT = 99
TEST_KEY = "test-key-not-real"
OTHER_KEY = "openai-key-not-real"

# Texts the server sends (tests/server.py); restated here on purpose.
STREAM_TEXT = "Hello! This is wisp's test stream, sent in several pieces."
UNICODE_TEXT = 'Line one\nsaid "hi" \\ back caf\u00e9 \U0001F600'
SURROGATE_TEXT = "Party \U0001F389 time"
SPLIT_TEXT = "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u4e16\u754c \U0001F30D fin"
LLAMA_TEXT = "llama says hi"
NO_DONE_TEXT = "This reply is cut short"
SLOW_TEXT = "one two three four five six seven eight"


def mb_text():
    return "".join("%05d the quick brown fox jumps over the lazy dog\n" % i
                   for i in range(20000))


class Fail(Exception):
    pass


class Skip(Exception):
    pass


class Result:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    def err_tail(self, n=3):
        lines = [l for l in self.err.splitlines() if l.strip()]
        return " | ".join(lines[-n:]) if lines else "(no stderr)"


# --------------------------------------------------------------------------
# Harness state.

class Harness:
    def __init__(self, opts):
        self.opts = opts
        self.ports = {}
        self.tls_dir = None
        self.server = None
        self.tmp = tempfile.mkdtemp(prefix="wisp-e2e-")
        self.tag_lock = threading.Lock()
        self.tag_n = 0

    # -- server --

    def start_server(self):
        port_file = os.path.join(self.tmp, "ports.json")
        max_s = "3600" if self.opts.valgrind else "1200"
        self.server = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--port-file",
             port_file, "--tls-dir", os.path.join(self.tmp, "tls"),
             "--max-seconds", max_s],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.tmp, "server.log"), "w"))
        end = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.server.poll() is not None or time.monotonic() > end:
                log = open(os.path.join(self.tmp, "server.log")).read()
                raise RuntimeError("test server did not start: " + log[-500:])
            time.sleep(0.05)
        with open(port_file) as f:
            self.ports = json.load(f)
        self.tls_dir = self.ports.get("tls_dir")

    def stop_server(self):
        if self.server is None:
            return
        try:
            self.server.stdin.close()  # the server stops when stdin closes
            self.server.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.server.kill()
            self.server.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers for tests --

    def new_tag(self):
        with self.tag_lock:
            self.tag_n += 1
            return "t%d" % self.tag_n

    def port(self, listener):
        p = self.ports.get(listener)
        if not p:
            raise Fail("server has no %s listener (openssl missing?)" % listener)
        return p

    def url(self, scenario, listener="plain", host="127.0.0.1", tag=None):
        """Base URL for a scenario; returns (url, key for /stats)."""
        key = "%s.%s" % (scenario, tag or self.new_tag())
        scheme = "https" if listener.startswith("tls") else "http"
        return ("%s://%s:%d/s/%s/v1" % (scheme, host, self.port(listener), key),
                key)

    def ca(self):
        if not self.tls_dir:
            raise Fail("server has no TLS certificates (openssl missing?)")
        return os.path.join(self.tls_dir, "ca.pem")

    def stats(self, key):
        url = "http://127.0.0.1:%d/stats?key=%s" % (self.ports["plain"], key)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)

    def listener_stats(self):
        url = "http://127.0.0.1:%d/stats" % self.ports["plain"]
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["listeners"]

    def timeout(self, secs=20):
        return secs * 6 if self.opts.valgrind else secs

    def command(self, args):
        cmd = PREFIX + [CLI] + list(args)
        if self.opts.valgrind:
            cmd = ["valgrind", "-q", "--error-exitcode=%d" % VALGRIND_EXIT,
                   "--leak-check=full", "--errors-for-leak-kinds=definite"] + cmd
        return cmd

    def run(self, args, env=None, stdin=None, timeout=20):
        """Runs the CLI with a clean environment plus env; stdin is bytes or
        None (then /dev/null)."""
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("WISP_", "OPENAI_"))}
        full_env.update(env or {})
        t0 = time.monotonic()
        try:
            p = subprocess.run(self.command(args), env=full_env,
                               input=stdin if stdin is not None else None,
                               stdin=None if stdin is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=self.timeout(timeout))
        except subprocess.TimeoutExpired:
            raise Fail("wisp-chat still running after %d s" % self.timeout(timeout))
        res = Result(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"),
                     time.monotonic() - t0)
        if self.opts.valgrind and res.rc == VALGRIND_EXIT:
            raise Fail("valgrind found errors: " + res.err_tail(6))
        return res


# --------------------------------------------------------------------------
# Checks.

def expect(res, rc, text=None, err=None, partial=None, err_absent=None):
    """rc: wanted exit code.  text: the whole stdout is text + "\\n".
    On failure stdout must be empty, or (partial given) a prefix of partial
    followed by one newline.  err: regex that stderr must match."""
    if res.rc != rc:
        raise Fail("exit %d, want %d; stderr: %s" % (res.rc, rc, res.err_tail()))
    if text is not None:
        want = (text + "\n").encode("utf-8")
        if res.out != want:
            raise Fail("stdout %s, want %s" % (show(res.out), show(want)))
    elif rc != EXIT_OK:
        if res.out:
            ok = False
            if partial is not None:
                p = partial.encode("utf-8")
                body = res.out[:-1] if res.out.endswith(b"\n") else res.out
                ok = res.out.endswith(b"\n") and p.startswith(body)
            if not ok:
                raise Fail("stdout not empty on failure: %s" % show(res.out))
    if err is not None and not re.search(err, res.err, re.I):
        raise Fail("stderr does not match /%s/: %s" % (err, res.err_tail()))
    if err_absent is not None and err_absent in res.err:
        raise Fail("stderr holds %r" % err_absent)


def show(b, n=120):
    r = repr(b[:n])
    return r + ("...(%d bytes)" % len(b) if len(b) > n else "")


def check(cond, why):
    if not cond:
        raise Fail(why)


# --------------------------------------------------------------------------
# Tests.  Each is (name, function(h), flags); flags: "slow" (timing-bound),
# "big" (1 MB and more) -- both skipped under valgrind.

TESTS = []


def test(name, flags=()):
    def deco(fn):
        TESTS.append((name, fn, set(flags)))
        return fn
    return deco


def add(name, fn, flags=()):
    TESTS.append((name, fn, set(flags)))


MODES = (("stream", []), ("nostream", ["--no-stream"]))
PROMPT = 'say "hi"'
ECHO = "echo: " + PROMPT


def scenario_test(scenario, mode_args, rc, text=None, err=None, partial=None,
                  extra=(), attempts=None, connections=None, max_secs=None,
                  min_secs=None):
    def fn(h):
        url, key = h.url(scenario)
        res = h.run(["-u", url] + mode_args + list(extra) + [PROMPT])
        expect(res, rc, text, err, partial)
        if min_secs is not None:
            check(res.secs >= min_secs, "took %.2f s: the wait before the "
                  "retry was not honoured (want >= %.1f s)" % (res.secs, min_secs))
        if max_secs is not None and not h.opts.valgrind:
            check(res.secs < max_secs, "took %.1f s, want < %d s" % (res.secs,
                                                                     max_secs))
        if attempts is not None or connections is not None:
            st = h.stats(key)
            if attempts is not None:
                check(st["attempts"] == attempts, "server saw %d requests, "
                      "want %d" % (st["attempts"], attempts))
            if connections is not None:
                n = len({r["conn"] for r in st["requests"]})
                check(n == connections, "requests came on %d connection(s), "
                      "want %d" % (n, connections))
    return fn


def t_header_flood(margs):
    """1 MB of headers: reading them all or refusing an oversized head are
    both fine; crashing, hanging or printing garbage are not."""
    def fn(h):
        url, _ = h.url("header-flood")
        res = h.run(["-u", url] + margs + [PROMPT])
        expect(res, EXIT_RESPONSE if res.rc == EXIT_RESPONSE else EXIT_OK,
               None if res.rc == EXIT_RESPONSE else ECHO)
        if not h.opts.valgrind:
            check(res.secs < 10, "took %.1f s" % res.secs)
    return fn


# HTTP framing and status scenarios, streamed and not.
for mode, margs in MODES:
    stream = mode == "stream"
    ok_cases = ["ok", "chunked", "http10", "continue100", "interim103",
                "longheader", "odd-headers", "slowdrip",
                "keepalive-idle", "close-after"]
    for sc in ok_cases:
        add("%s/%s" % (sc, mode), scenario_test(sc, margs, EXIT_OK, ECHO,
                                                 attempts=1))
    add("header-flood/" + mode, t_header_flood(margs))
    add("unicode/" + mode, scenario_test("unicode", margs, EXIT_OK, UNICODE_TEXT))
    add("429-then-ok/" + mode, scenario_test("429-then-ok", margs, EXIT_OK, ECHO,
                                             attempts=2, min_secs=0.95))
    add("429-ms-then-ok/" + mode, scenario_test(
        "429-ms-then-ok", margs, EXIT_OK, ECHO, attempts=2, min_secs=0.28))
    add("503-then-ok/" + mode, scenario_test("503-then-ok", margs, EXIT_OK, ECHO,
                                             attempts=2))
    add("503-close-then-ok/" + mode, scenario_test(
        "503-close-then-ok", margs, EXIT_OK, ECHO, attempts=2, connections=2))
    add("stale-retry/" + mode, scenario_test("stale-retry", margs, EXIT_OK, ECHO,
                                             attempts=2, connections=2))
    add("stall/" + mode, scenario_test("stall", margs, EXIT_NET,
                                       err="time", extra=["--timeout-ms", "1000"],
                                       max_secs=10))
    add("reset/" + mode, scenario_test("reset", margs, EXIT_NET,
                                       partial=ECHO if stream else None))
    add("cut/" + mode, scenario_test("cut", margs, EXIT_NET,
                                     partial=ECHO if stream else None))
    add("429/" + mode, scenario_test("429", margs, EXIT_SERVER,
                                     err=r"Rate limit reached", attempts=3,
                                     min_secs=1.9))
    add("500/" + mode, scenario_test("500", margs, EXIT_SERVER,
                                     err="The server had an error", attempts=3))
    add("401/" + mode, scenario_test("401", margs, EXIT_SERVER,
                                     err="Invalid API key", attempts=1))
    add("404-html/" + mode, scenario_test("404-html", margs, EXIT_SERVER,
                                          err="404", attempts=1))
    add("error200/" + mode, scenario_test("error200", margs, EXIT_SERVER,
                                          err="maximum context length"))
    add("error-string/" + mode, scenario_test("error-string", margs, EXIT_SERVER,
                                              err="Unexpected token"))
    add("gemini-error/" + mode, scenario_test("gemini-error", margs, EXIT_SERVER,
                                              err="Invalid JSON payload"))
    for sc in ("malformed-status", "malformed-json", "huge-body",
               "chunk-overflow"):
        add("%s/%s" % (sc, mode), scenario_test(sc, margs, EXIT_RESPONSE))


@test("keepalive/reuse-after-429")
def t_reuse_after_429(h):
    url, key = h.url("429-then-ok")
    expect(h.run(["-u", url, PROMPT]), EXIT_OK, ECHO)
    st = h.stats(key)
    check(st["attempts"] == 2, "server saw %d requests" % st["attempts"])
    check(st["requests"][0]["conn"] == st["requests"][1]["conn"],
          "the retry opened a new connection instead of reusing the kept-alive one")


# Streams.
for sc, text in (("stream", STREAM_TEXT), ("stream-crlf", STREAM_TEXT),
                 ("stream-cr", STREAM_TEXT), ("stream-comments", STREAM_TEXT),
                 ("stream-llamacpp", LLAMA_TEXT),
                 ("stream-surrogate", SURROGATE_TEXT),
                 ("stream-split", SPLIT_TEXT), ("stream-bare", STREAM_TEXT)):
    add(sc, scenario_test(sc, [], EXIT_OK, text, attempts=1))
add("stream-llamacpp-error", scenario_test(
    "stream-llamacpp-error", [], EXIT_SERVER, err="exceeds the available context"))
add("stream-error-event", scenario_test(
    "stream-error-event", [], EXIT_SERVER, err="Provider returned error"))
add("stream-no-done", scenario_test("stream-no-done", [], EXIT_NET,
                                    partial=NO_DONE_TEXT))
add("stream-1mb", scenario_test("stream-1mb", [], EXIT_OK, mb_text()),
    flags=["big"])


@test("stream-slow/progressive", flags=["slow"])
def t_stream_slow(h):
    """Text must reach stdout as it arrives, not all at the end."""
    url, _ = h.url("stream-slow")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WISP_", "OPENAI_"))}
    p = subprocess.Popen(h.command(["-u", url, PROMPT]), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t0 = time.monotonic()
    arrivals, out = [], b""
    fd = p.stdout.fileno()
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        arrivals.append(time.monotonic() - t0)
        out += chunk
    try:
        err = p.stderr.read().decode("utf-8", "replace")
        rc = p.wait(timeout=h.timeout())
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail("wisp-chat did not exit")
    expect(Result(rc, out, err, 0), EXIT_OK, SLOW_TEXT)
    check(len(arrivals) >= 4, "stdout came in %d piece(s), want >= 4"
          % len(arrivals))
    spread = arrivals[-1] - arrivals[0]
    check(spread >= 1.0, "all text arrived within %.2f s (want >= 1 s)" % spread)


@test("stream-slow/ctrl-c", flags=["slow"])
def t_stream_ctrl_c(h):
    """Ctrl-C mid-stream: the text so far stays, the line is ended, exit 130."""
    url, _ = h.url("stream-slow")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WISP_", "OPENAI_"))}
    p = subprocess.Popen(h.command(["-u", url, PROMPT]), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    first = os.read(p.stdout.fileno(), 4096)   # some text has arrived
    p.send_signal(signal.SIGINT)
    try:
        rest = p.stdout.read()
        err = p.stderr.read().decode("utf-8", "replace")
        rc = p.wait(timeout=h.timeout(10))
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail("wisp-chat did not stop after SIGINT")
    out = (first + rest).decode("utf-8", "replace")
    check(rc == 130, "exit %d, want 130 (stderr: %s)" % (rc, err.strip()))
    check(first and SLOW_TEXT.startswith(out.rstrip("\n")) and out.endswith("\n"),
          "stdout %r is not a prefix of the reply ended by a newline" % out)
    check(len(out.rstrip("\n")) < len(SLOW_TEXT), "the whole reply came: not cancelled")


@test("verbose/stream")
def t_verbose_stream(h):
    url, _ = h.url("ok")
    res = h.run(["-v", "-u", url, PROMPT])
    expect(res, EXIT_OK, ECHO, err=r"finish_reason\W+stop")
    check(re.search(r"\b18\b", res.err), "usage total 18 not on stderr")


@test("verbose/nostream")
def t_verbose_nostream(h):
    url, _ = h.url("ok")
    res = h.run(["-v", "--no-stream", "-u", url, PROMPT])
    expect(res, EXIT_OK, ECHO, err=r"finish_reason\W+stop")
    check(re.search(r"\b18\b", res.err), "usage total 18 not on stderr")


# ---- tools ---------------------------------------------------------------

TOOLS_FILE_JSON = [
    {"type": "function", "function": {
        "name": "get_temperature", "description": "Reads a room's sensor, \u00b0C.",
        "parameters": {"type": "object", "properties": {"room": {"type": "string"}},
                       "required": ["room"]}}},
    {"type": "function", "function": {
        "name": "set_led", "strict": True,
        "parameters": {"type": "object", "properties": {"on": {"type": "boolean"}},
                       "required": ["on"], "additionalProperties": False}}},
]
TOOL_LINES = [
    {"id": "call_t1", "type": "function",
     "function": {"name": "get_temperature", "arguments": '{"room": "kitchen"}'}},
    {"id": "call_t2", "type": "function",
     "function": {"name": "set_led", "arguments": '{"on": true, "note": "caf\u00e9 \\"x\\""}'}},
]


def tools_file(h, content):
    path = os.path.join(h.tmp, "tools-%s.json" % h.new_tag())
    with open(path, "w", encoding="utf-8") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


def tool_lines(out):
    """stdout as (text lines, tool-call objects); every call line is JSON."""
    lines = out.decode("utf-8").split("\n")
    check(lines[-1] == "", "stdout does not end with a newline: %r" % out)
    lines = lines[:-1]
    calls = [l for l in lines if l.startswith('{"id":')]
    text = lines[:len(lines) - len(calls)]
    return text, [json.loads(l) for l in calls]


@test("tools/request-carries-the-file")
def t_tools_request(h):
    seen, _ = inspect(h, ["--tools", tools_file(h, TOOLS_FILE_JSON), "--tool-choice", "required"])
    body = seen["body"]
    check(body.get("tools") == TOOLS_FILE_JSON, "tools sent %r" % body.get("tools"))
    check(body.get("tool_choice") == "required", "tool_choice %r" % body.get("tool_choice"))
    seen, _ = inspect(h, ["--tools", tools_file(h, TOOLS_FILE_JSON), "--tool-choice", "set_led"])
    check(seen["body"].get("tool_choice") == {"type": "function", "function": {"name": "set_led"}},
          "tool_choice %r" % seen["body"].get("tool_choice"))
    seen, _ = inspect(h, ["--tools", tools_file(h, TOOLS_FILE_JSON)])
    check("tool_choice" not in seen["body"], "tool_choice sent though not asked for")


for _mode, _margs in MODES:
    # text and calls; calls only (no empty line for the missing text)
    for _scenario, _text, _name in (("tools", ["Let me check."], "calls"),
                                    ("tools-only", [], "no-text")):
        def t_tools_calls(h, margs=_margs, scenario=_scenario, want=_text):
            url, _ = h.url(scenario)
            res = h.run(["-u", url, "--tools", tools_file(h, TOOLS_FILE_JSON)] + margs + [PROMPT])
            check(res.rc == EXIT_OK, "exit %d: %s" % (res.rc, res.err_tail()))
            text, calls = tool_lines(res.out)
            check(text == want, "text %r, want %r" % (text, want))
            check(calls == TOOL_LINES, "calls %r" % calls)
        add("tools/%s-%s" % (_name, _mode), t_tools_calls)

    def t_tools_long(h, margs=_margs):
        url, _ = h.url("tools-long")
        res = h.run(["-u", url, "--tools", tools_file(h, TOOLS_FILE_JSON)] + margs + [PROMPT])
        check(res.rc == EXIT_RESPONSE, "exit %d, want 4: %s" % (res.rc, res.err_tail()))
        _, calls = tool_lines(res.out)
        check(len(calls) == 1 and calls[0]["function"]["name"] == "store", "calls %r" % calls)
        check(len(calls[0]["function"]["arguments"]) == 32 * 1024 - 1,
              "arguments kept: %d bytes" % len(calls[0]["function"]["arguments"]))
        check(re.search(r"cut to fit", res.err), "no reason on stderr: %s" % res.err_tail())
    add("tools/arguments-cut-" + _mode, t_tools_long)


@test("tools/device-two-rounds")
def t_tools_device(h):
    """examples/tools/device.c: two rounds through the heap-free tool loop."""
    exe = os.environ.get("WISP_TOOLS_DEVICE") or os.path.join(os.path.dirname(CLI), "tools-device")
    if not os.path.exists(exe):
        raise Fail("%s is missing (make e2e builds it)" % exe)
    url, key = h.url("tools-device")
    cmd = [exe, url] if not h.opts.valgrind else [
        "valgrind", "-q", "--error-exitcode=%d" % VALGRIND_EXIT, "--leak-check=full", exe, url]
    p = subprocess.run(PREFIX + cmd, capture_output=True, timeout=h.timeout(30))
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    check(p.returncode == 0, "exit %d: %s %s" % (p.returncode, out.strip(), err.strip()))
    check(out == 'The lab is at {"celsius":21.5}; LED: {"ok":true}.\n', "stdout %r" % out)
    check(re.search(r"2 rounds, history 4 messages, arena \d+ of 2048 bytes, LED on", err),
          "stderr %r" % err)
    check(h.stats(key)["attempts"] == 2, "server saw %d requests" % h.stats(key)["attempts"])


@test("tools/bad-file")
def t_tools_bad(h):
    url, key = h.url("tools")
    for content, why in (("[{", "not JSON"), ('{"a": 1}', "not a JSON array"),
                         ('[{"type": "function", "function": {}}]', "function.name"),
                         ('[{"type": "function"}]', "function"), ("[]", "empty"),
                         ('[{"type": "function", "function": {"name": "f", "parameters": '
                          + '{"a":' * 40 + "1" + "}" * 40 + "}}]", "nests too deep")):
        res = h.run(["-u", url, "--tools", tools_file(h, content), PROMPT])
        expect(res, EXIT_USAGE, err=re.escape(why))
    res = h.run(["-u", url, "--tools", os.path.join(h.tmp, "no-such-file.json"), PROMPT])
    expect(res, EXIT_USAGE, err=r"cannot open")
    res = h.run(["-u", url, "--tool-choice", "auto", PROMPT])
    expect(res, EXIT_USAGE, err=r"needs --tools")
    check(h.stats(key)["attempts"] == 0, "a request was sent for a bad tools file")


# ---- one reader: the same output however the reply came ------------------

N_SHAPES = 8  # tests/server.py REPLY_SHAPES


def comparable(res):
    """rc, stdout and the -v lines that must not depend on the mode."""
    lines = [re.sub(r"; request id \S+", "", l) for l in res.err.splitlines()
             if not re.match(r"wisp-chat: (server:|request id:)", l)]
    return res.rc, res.out, lines


for _n in range(N_SHAPES):
    def t_shape(h, n=_n):
        as_json, _ = h.url("shape-json-%d" % n)
        as_sse, _ = h.url("shape-sse-%d" % n)
        plain = comparable(h.run(["-v", "--no-stream", "-u", as_json, PROMPT]))
        asked = comparable(h.run(["-v", "-u", as_json, PROMPT]))
        streamed = comparable(h.run(["-v", "-u", as_sse, PROMPT]))
        as_chunks, _ = h.url("shape-chunks-%d" % n)
        chunked = comparable(h.run(["-v", "-u", as_chunks, PROMPT]))
        check(plain == asked, "--no-stream %r\nvs a stream request answered with JSON %r"
              % (plain, asked))
        check(plain == streamed, "--no-stream %r\nvs the stream %r" % (plain, streamed))
        check(plain == chunked, "--no-stream %r\nvs the chunked stream %r" % (plain, chunked))
        check(plain[0] in (EXIT_OK, EXIT_SERVER), "exit %d: %r" % (plain[0], plain))
    add("modes/shape-%d" % _n, t_shape)


# ---- CLI contract ----------------------------------------------------------

def inspect(h, args=(), env=None, stdin=None, url=None):
    """Runs against the inspect scenario; returns what the server saw."""
    if url is None:
        url, _ = h.url("inspect")
    argv = list(args)
    if not any(a in ("-u", "--url") for a in argv) and url:
        argv = ["-u", url] + argv
    if stdin is None:
        argv.append("hello")
    res = h.run(argv, env=env, stdin=stdin)
    expect(res, EXIT_OK)
    try:
        return json.loads(res.out.decode("utf-8")), res
    except ValueError:
        raise Fail("reply is not the server's JSON: %s" % show(res.out))


def user_text(seen):
    return [m["content"] for m in seen["body"]["messages"] if m["role"] == "user"]


@test("cli/prompt-args-joined")
def t_prompt_args(h):
    url, _ = h.url("ok")
    expect(h.run(["-u", url, "two", "words"]), EXIT_OK, "echo: two words")


@test("cli/prompt-stdin")
def t_prompt_stdin(h):
    url, _ = h.url("ok")
    expect(h.run(["-u", url], stdin=b"from stdin\n"), EXIT_OK,
           "echo: from stdin")


@test("cli/prompt-stdin-multiline")
def t_prompt_stdin_lines(h):
    url, _ = h.url("ok")
    expect(h.run(["-u", url, "--no-stream"], stdin=b"line 1\nline 2\n"),
           EXIT_OK, "echo: line 1\nline 2")


@test("cli/empty-prompt")
def t_empty_prompt(h):
    url, _ = h.url("ok")
    expect(h.run(["-u", url], stdin=b""), EXIT_USAGE)


ESCAPES = 'quote " backslash \\ slash / tab \t nl \n cr \r bell \x07 \x01 caf\u00e9 \u4e16 \U0001F600 end'


for mode, margs in MODES:
    def t_escaping(h, margs=margs):
        url, _ = h.url("ok")
        expect(h.run(["-u", url] + margs + ["--", ESCAPES]), EXIT_OK,
               "echo: " + ESCAPES)
    add("cli/request-escaping/" + mode, t_escaping)


@test("cli/long-prompt")
def t_long_prompt(h):
    """A 200 KB prompt (request body streamed out with Content-Length) and
    its 200 KB echo, streamed back."""
    prompt = ("0123456789 abcdef \u00e9\u00e8 \U0001F600 " * 8000)[:200000]
    url, _ = h.url("ok")
    expect(h.run(["-u", url], stdin=prompt.encode("utf-8")), EXIT_OK,
           "echo: " + prompt)


@test("cli/system-message")
def t_system(h):
    seen, _ = inspect(h, ["-s", "Be brief."])
    msgs = seen["body"]["messages"]
    check(msgs[0] == {"role": "system", "content": "Be brief."},
          "first message is %r" % (msgs[0],))
    check(msgs[-1] == {"role": "user", "content": "hello"},
          "last message is %r" % (msgs[-1],))


@test("cli/no-system-message")
def t_no_system(h):
    seen, _ = inspect(h)
    check(seen["body"]["messages"] == [{"role": "user", "content": "hello"}],
          "messages are %r" % (seen["body"]["messages"],))


@test("cli/request-stream-fields")
def t_stream_fields(h):
    seen, _ = inspect(h)
    body = seen["body"]
    check(body.get("stream") is True, "stream is %r" % body.get("stream"))
    seen, _ = inspect(h, ["--no-stream"])
    body = seen["body"]
    check(not body.get("stream"), "--no-stream sent stream %r" % body.get("stream"))
    check("stream_options" not in body, "--no-stream sent stream_options")


@test("cli/request-only-set-fields")
def t_only_set_fields(h):
    seen, _ = inspect(h, ["--no-stream"])
    extra = set(seen["body"]) - {"model", "messages", "stream"}
    check(not extra, "fields sent without being asked for: %s" % sorted(extra))
    seen, _ = inspect(h, ["--no-stream", "--max-tokens", "5",
                          "--temperature", "0.5"])
    body = seen["body"]
    check(body.get("max_tokens", body.get("max_completion_tokens")) == 5,
          "max tokens not 5: %r" % body)
    check(abs(body.get("temperature", -1) - 0.5) < 1e-6,
          "temperature is %r" % body.get("temperature"))


@test("cli/request-head")
def t_request_head(h):
    seen, _ = inspect(h)
    check(seen["method"] == "POST", "method %r" % seen["method"])
    check(seen["path"].endswith("/v1/chat/completions"), "path %r" % seen["path"])
    check((seen["content_type"] or "").startswith("application/json"),
          "content type %r" % seen["content_type"])
    check("transfer-encoding" not in seen["header_names"], "chunked request")


@test("cli/base-url-trailing-slash")
def t_trailing_slash(h):
    url, _ = h.url("ok")
    expect(h.run(["-u", url + "/", PROMPT]), EXIT_OK, ECHO)


@test("cli/api-key-wisp")
def t_key_wisp(h):
    seen, res = inspect(h, ["-v"], env={"WISP_API_KEY": TEST_KEY})
    check(seen["authorization"] == "Bearer " + TEST_KEY,
          "Authorization %r" % seen["authorization"])
    check(TEST_KEY not in res.err, "the API key appears on stderr")
    url, _ = h.url("401")
    res = h.run(["-v", "-u", url, PROMPT], env={"WISP_API_KEY": TEST_KEY})
    expect(res, EXIT_SERVER, err="Invalid API key")
    check(TEST_KEY not in res.err, "the API key appears on stderr after a 401")


@test("cli/api-key-openai")
def t_key_openai(h):
    seen, _ = inspect(h, env={"OPENAI_API_KEY": OTHER_KEY})
    check(seen["authorization"] == "Bearer " + OTHER_KEY,
          "Authorization %r" % seen["authorization"])


@test("cli/api-key-masked-in-server-text")
def t_key_masked(h):
    """A server that quotes the key back must not get it onto the terminal."""
    url, _ = h.url("401-reflect")
    res = h.run(["-v", "-u", url, PROMPT], env={"WISP_API_KEY": TEST_KEY})
    expect(res, EXIT_SERVER, err=r"Bad credentials")
    check(TEST_KEY not in res.err, "the API key appears on stderr")
    check(TEST_KEY[:12] not in res.err, "a cut copy of the API key appears on stderr")
    check("[API key]" in res.err, "the masked key is not shown as [API key]")


@test("cli/api-key-precedence")
def t_key_both(h):
    seen, _ = inspect(h, env={"WISP_API_KEY": TEST_KEY,
                              "OPENAI_API_KEY": OTHER_KEY})
    check(seen["authorization"] == "Bearer " + TEST_KEY,
          "Authorization %r, want WISP_API_KEY's" % seen["authorization"])


@test("cli/no-api-key")
def t_no_key(h):
    seen, _ = inspect(h)
    check("authorization" not in seen["header_names"],
          "Authorization sent without a key")


@test("cli/env-base-url")
def t_env_url(h):
    url, _ = h.url("ok")
    bad, _ = h.url("401")
    expect(h.run([PROMPT], env={"WISP_BASE_URL": url}), EXIT_OK, ECHO)
    expect(h.run([PROMPT], env={"OPENAI_BASE_URL": url}), EXIT_OK, ECHO)
    expect(h.run([PROMPT], env={"WISP_BASE_URL": url, "OPENAI_BASE_URL": bad}),
           EXIT_OK, ECHO)
    expect(h.run(["-u", url, PROMPT], env={"WISP_BASE_URL": bad}), EXIT_OK, ECHO)


@test("cli/env-model")
def t_env_model(h):
    seen, _ = inspect(h, env={"WISP_MODEL": "env-model"})
    check(seen["body"]["model"] == "env-model", "model %r" % seen["body"]["model"])
    seen, _ = inspect(h, ["-m", "arg-model"], env={"WISP_MODEL": "env-model"})
    check(seen["body"]["model"] == "arg-model", "model %r" % seen["body"]["model"])


@test("cli/default-model")
def t_default_model(h):
    seen, _ = inspect(h)
    check(seen["body"]["model"] == "gemini-2.5-flash",
          "model %r" % seen["body"]["model"])


@test("cli/bad-scheme")
def t_bad_scheme(h):
    expect(h.run(["-u", "ftp://127.0.0.1:%d/v1" % h.ports["plain"], PROMPT]),
           EXIT_USAGE)


@test("cli/help")
def t_help(h):
    res = h.run(["--help"])
    expect(res, EXIT_OK)
    check(b"usage" in res.out.lower(), "no usage text on stdout")


@test("cli/unknown-option")
def t_unknown_option(h):
    expect(h.run(["--no-such-option", PROMPT]), EXIT_USAGE)


@test("cli/connect-refused")
def t_refused(h):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    expect(h.run(["-u", "http://127.0.0.1:%d/v1" % port, PROMPT]), EXIT_NET)


@test("cli/localhost")
def t_localhost(h):
    url, _ = h.url("ok", host="localhost")
    expect(h.run(["-u", url, PROMPT]), EXIT_OK, ECHO)


@test("cli/ipv6")
def t_ipv6(h):
    if not h.ports.get("ipv6"):
        raise Skip("no ::1 on this machine")
    url, _ = h.url("ok", host="[::1]")
    expect(h.run(["-u", url, PROMPT]), EXIT_OK, ECHO)


# ---- TLS -------------------------------------------------------------------

for mode, margs in MODES:
    def t_tls_ok(h, margs=margs):
        url, _ = h.url("ok", "tls-good")
        expect(h.run(["-u", url, "--cacert", h.ca()] + margs + [PROMPT]),
               EXIT_OK, ECHO)
    add("tls/ok/" + mode, t_tls_ok)


@test("tls/localhost")
def t_tls_localhost(h):
    url, _ = h.url("ok", "tls-good", host="localhost")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, ECHO)


@test("tls/stream")
def t_tls_stream(h):
    url, _ = h.url("stream-split", "tls-good")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, SPLIT_TEXT)


@test("tls/stream-1mb", flags=["big"])
def t_tls_1mb(h):
    url, _ = h.url("stream-1mb", "tls-good")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, mb_text())


@test("tls/system-bundle-rejects-test-ca")
def t_tls_system(h):
    url, _ = h.url("ok", "tls-good")
    expect(h.run(["-u", url, PROMPT]), EXIT_NET,
           err=r"issuer|not trusted|unknown ca|verif")


@test("tls/wrong-host")
def t_tls_wronghost(h):
    url, _ = h.url("ok", "tls-wronghost")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
           err=r"host ?name|mismatch|\bCN\b")


@test("tls/unknown-ca")
def t_tls_unknownca(h):
    url, _ = h.url("ok", "tls-unknownca")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
           err=r"issuer|not trusted|unknown ca")


@test("tls/expired")
def t_tls_expired(h):
    url, _ = h.url("ok", "tls-expired")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
           err=r"expired")


@test("tls/handshake-stall")
def t_tls_stall(h):
    url, _ = h.url("ok", "tls-stall")
    res = h.run(["-u", url, "--cacert", h.ca(), "--timeout-ms", "1000", PROMPT])
    expect(res, EXIT_NET, err=r"time")
    if not h.opts.valgrind:
        check(res.secs < 10, "took %.1f s" % res.secs)


@test("tls/insecure")
def t_tls_insecure(h):
    for listener in ("tls-unknownca", "tls-wronghost"):
        url, _ = h.url("ok", listener)
        res = h.run(["-u", url, "--insecure", PROMPT])
        expect(res, EXIT_OK, ECHO, err=r"insecure")
        check(re.search(r"warn|not verif", res.err, re.I),
              "no loud warning on stderr: %s" % res.err_tail())


@test("tls/keepalive")
def t_tls_keepalive(h):
    url, key = h.url("429-then-ok", "tls-good")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, ECHO)
    st = h.stats(key)
    check(st["attempts"] == 2, "server saw %d requests" % st["attempts"])
    check(st["requests"][0]["conn"] == st["requests"][1]["conn"],
          "the retry opened a new TLS connection")


@test("tls/session-resumed")
def t_tls_resume(h):
    url, key = h.url("503-close-then-ok", "tls-good")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, ECHO)
    st = h.stats(key)
    check(st["attempts"] == 2, "server saw %d requests" % st["attempts"])
    first, second = st["requests"][0], st["requests"][1]
    check(first["conn"] != second["conn"], "no reconnect after Connection: close")
    check(second["resumed"], "the reconnect did a full handshake (%s), "
          "not a resumed session" % second["tls_version"])


@test("tls/library-keepalive-and-resume", flags=("slow",))
def t_tls_library_keepalive(h):
    """Three requests from one process on one client (tests/keepalive_check.c):
    two share a connection; after the server drops it while idle, the third
    reopens it transparently and resumes the TLS session."""
    exe = os.environ.get("WISP_KEEPALIVE_CHECK") or os.path.join(
        os.path.dirname(CLI), "keepalive_check")
    if not os.path.exists(exe):
        raise Fail("%s is missing (make e2e builds it)" % exe)
    url, key = h.url("keepalive-idle", "tls-good", host="localhost")
    p = subprocess.run(PREFIX + [exe, url, h.ca(), "1500"], capture_output=True,
                       timeout=h.timeout(30))
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0, "exit %d: %s %s" % (p.returncode, out.strip(),
                                                 p.stderr.decode("utf-8", "replace").strip()))
    st = h.stats(key)
    conns = []
    for r in st["requests"]:
        if r["conn"] not in conns:
            conns.append(r["conn"])
    check(len(st["requests"]) == 3, "server saw %d requests" % len(st["requests"]))
    check(len(conns) == 2, "server saw %d connections, want 2" % len(conns))
    check(st["requests"][2]["resumed"], "the reconnect was a full handshake")


for sc in ("reset", "cut"):
    def t_tls_broken(h, sc=sc):
        url, key = h.url(sc, "tls-good")
        expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
               partial=ECHO)
        check(h.stats(key)["attempts"] >= 1,
              "no request reached the server: the failure was elsewhere")
    add("tls/" + sc, t_tls_broken)


# --------------------------------------------------------------------------

def run_one(h, name, fn, flags):
    if h.opts.valgrind and flags & {"slow", "big"}:
        return "skip", "not under valgrind"
    try:
        fn(h)
        return "ok", ""
    except Skip as e:
        return "skip", str(e)
    except Fail as e:
        return "FAIL", str(e)
    except Exception as e:  # a bug in the test itself still fails it
        return "FAIL", "%s: %s" % (type(e).__name__, e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="run tests whose name matches (regex; repeatable)")
    ap.add_argument("--valgrind", action="store_true",
                    help="run each wisp-chat under valgrind memcheck")
    ap.add_argument("-j", type=int, default=0,
                    help="tests at once (default 4, 2 with --valgrind)")
    ap.add_argument("--list", action="store_true", help="list the tests")
    opts = ap.parse_args()

    selected = [t for t in TESTS
                if not opts.k or any(re.search(p, t[0]) for p in opts.k)]
    if opts.list:
        for name, _, flags in selected:
            print(name + ("  [%s]" % ",".join(sorted(flags)) if flags else ""))
        return 0
    if not selected:
        print("no test matches")
        print("0 passed, 0 failed")
        return 1
    if not os.access(CLI, os.X_OK):
        print("FAIL setup: %s not found or not executable (make all, or set "
              "WISP_CHAT)" % CLI)
        print("0 passed, 1 failed")
        return 1
    if opts.valgrind and shutil.which("valgrind") is None:
        print("FAIL setup: valgrind not installed")
        print("0 passed, 1 failed")
        return 1

    h = Harness(opts)
    try:
        h.start_server()
    except RuntimeError as e:
        print("FAIL setup: %s" % e)
        print("0 passed, 1 failed")
        return 1

    counts = {"ok": 0, "FAIL": 0, "skip": 0}
    jobs = opts.j or (2 if opts.valgrind else 4)
    t0 = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [(name, pool.submit(run_one, h, name, fn, flags))
                       for name, fn, flags in selected]
            for name, fut in futures:   # report in definition order
                verdict, why = fut.result()
                counts[verdict] += 1
                if verdict == "ok":
                    print("ok %s" % name, flush=True)
                else:
                    print("%s %s: %s" % (verdict, name, why), flush=True)
    finally:
        h.stop_server()
    print("e2e: %.1f s, %d tests%s" % (time.monotonic() - t0, len(selected),
                                       " under valgrind" if opts.valgrind else ""))
    summary = "%d passed, %d failed" % (counts["ok"], counts["FAIL"])
    if counts["skip"]:
        summary += ", %d skipped" % counts["skip"]
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())

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
import base64
import concurrent.futures
import decimal
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
                    if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
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
           if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
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
           if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
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


@test("verbose/usage-out-of-range")
def t_verbose_usage_odd(h):
    """Counts that do not fit 32 bits (or are not integers) print as '-'."""
    url, _ = h.url("usage-odd")
    for extra in ([], ["--no-stream"]):
        res = h.run(["-v"] + extra + ["-u", url, PROMPT])
        expect(res, EXIT_OK, ECHO)
        check(re.search(r"usage: prompt -, completion -, total -, cached -, reasoning -", res.err),
              "odd usage counts not all absent: %r" % res.err)


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


@test("cli/options-anywhere")
def t_options_anywhere(h):
    """Options before "--" wherever they stand, "--opt=value" and "--opt
    value", grouped short flags with a value glued on; "-" alone and all
    after "--" are prompt words, in order."""
    url, key = h.url("record")
    res = h.run(["hello", "-vmmy-model", "-", "--url=" + url, "world", "--max-tokens", "5",
                 "--", "-h", "--x"])
    expect(res, EXIT_OK, "echo: hello - world -h --x", err=r"finish_reason")
    body = recorded(h, key)[0]["body"]
    check(body["model"] == "my-model" and body["max_tokens"] == 5, "request %r" % (body,))


@test("cli/option-errors")
def t_option_errors(h):
    """getopt_long's refusals in the CLI's words; abbreviations are refused
    (a later option could make them ambiguous)."""
    for args, line in ((["--no-such=1"], "unknown option: --no-such=1"),
                       (["--temp", "1"], "unknown option: --temp"),
                       (["-vx"], "unknown option: -x"),
                       (["--insecure=yes"], "option takes no value: --insecure=yes"),
                       (["-m"], "option needs a value: -m"),
                       (["--model"], "option needs a value: --model")):
        res = h.run(args)
        check(res.rc == EXIT_USAGE and res.out == b"", "%r: exit %d" % (args, res.rc))
        check(res.err.splitlines()[0] == "wisp-chat: " + line, "%r: stderr %r" % (args, res.err))


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


# ---- request options (W5a): what goes on the wire, byte for byte ----------
#
# The "record" scenario keeps every request as it came (GET /requests); each
# body is parsed here strictly: UTF-8, one JSON value, no NaN/Infinity, no
# duplicate member, floats kept as written (Decimal).  A usage error must
# exit 1 with a "wisp-chat:" line naming the option, and send nothing.

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLAIN_STREAM_MEMBERS = {"model", "messages", "stream", "stream_options"}
W5A_MEMBERS = {"max_completion_tokens", "temperature", "seed", "stop",
               "response_format", "reasoning_effort", "top_k", "logit_bias"}


def strict_json(raw, what="the request body"):
    def no_constant(name):
        raise Fail("%s holds the non-JSON constant %s" % (what, name))

    def no_duplicates(pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                raise Fail("%s holds the member %r twice" % (what, k))
            obj[k] = v
        return obj
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Fail("%s is not UTF-8: %s" % (what, e))
    try:
        return json.loads(text, parse_constant=no_constant,
                          object_pairs_hook=no_duplicates,
                          parse_float=decimal.Decimal)
    except ValueError as e:
        raise Fail("%s is not JSON: %s: %s" % (what, e, show(raw)))


def recorded(h, key):
    """Every request the server got under key: headers, raw and parsed
    body.  Checks each came whole: Content-Length true, nothing after it."""
    url = "http://127.0.0.1:%d/requests?key=%s" % (h.ports["plain"], key)
    with urllib.request.urlopen(url, timeout=60) as r:
        reqs = json.load(r)["requests"]
    out = []
    for i, rec in enumerate(reqs):
        check(rec["bad"] is None, "request %d refused by the server: %s" % (i + 1, rec["bad"]))
        raw = base64.b64decode(rec["body_b64"])
        check(len(raw) == rec["content_length"] == rec["body_len"],
              "request %d: Content-Length %d, body %d bytes" % (i + 1, rec["content_length"],
                                                              len(raw)))
        check(rec["extra_bytes"] == 0, "request %d: %d bytes after the body's Content-Length"
              % (i + 1, rec["extra_bytes"]))
        lengths = [v for n, v in rec["headers"] if n.lower() == "content-length"]
        check(lengths == [str(len(raw))], "Content-Length headers %r for %d bytes"
              % (lengths, len(raw)))
        out.append({"headers": rec["headers"], "raw": raw, "body": strict_json(raw)})
    return out


def sent(h, args, scenario="record", text=ECHO, rc=EXIT_OK, attempts=1):
    """Runs the CLI with args and PROMPT against scenario; returns (the
    request's record, the run)."""
    url, key = h.url(scenario)
    res = h.run(["-u", url] + list(args) + [PROMPT])
    expect(res, rc, text)
    reqs = recorded(h, key)
    check(len(reqs) == attempts, "server saw %d requests, want %d" % (len(reqs), attempts))
    return reqs[0], res


def header_values(rec, name):
    return [v for n, v in rec["headers"] if n.lower() == name.lower()]


def usage_error(h, args, option):
    """args are refused: exit 1, a wisp-chat: line naming option, no request."""
    url, key = h.url("record")
    res = h.run(["-u", url] + list(args) + [PROMPT])
    if res.rc != EXIT_USAGE:
        raise Fail("%r: exit %d, want 1; stderr: %s" % (args, res.rc, res.err_tail()))
    check(res.out == b"", "%r: stdout %s" % (args, show(res.out)))
    lines = [l for l in res.err.splitlines() if l.startswith("wisp-chat: ")]
    check(any(option in l for l in lines), "%r: no wisp-chat: line names %s: %s"
          % (args, option, res.err_tail()))
    check(recorded(h, key) == [] and h.stats(key)["attempts"] == 0,
          "%r: a request was sent" % (args,))


def few(h, items, n=3):
    """All of items; under valgrind (about a second a run) the first n."""
    items = list(items)
    return items[:n] if h.opts.valgrind else items


def write_file(h, name, data):
    d = os.path.join(h.tmp, "files-" + h.new_tag())
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def image_part(data, mime):
    return {"type": "image_url",
            "image_url": {"url": "data:%s;base64,%s" % (mime, base64.b64encode(data).decode())}}


def check_images(content, images):
    """content is the text part then each (bytes, mime) as a data URL whose
    base64 decodes to the file exactly."""
    check(isinstance(content, list) and len(content) == len(images) + 1,
          "content is not %d parts: %s" % (len(images) + 1, show(repr(content).encode())))
    check(content[0] == {"type": "text", "text": PROMPT}, "first part %r" % (content[0],))
    for i, (data, mime) in enumerate(images):
        part = content[i + 1]
        url = part.get("image_url", {}).get("url", "") if isinstance(part, dict) else ""
        prefix = "data:%s;base64," % mime
        check(url.startswith(prefix), "part %d: url starts %r, want %r" % (i + 1, url[:40], prefix))
        try:
            got = base64.b64decode(url[len(prefix):], validate=True)
        except ValueError as e:
            raise Fail("part %d: bad base64: %s" % (i + 1, e))
        check(got == data, "part %d: %d bytes decoded, not the file's %d" % (i + 1, len(got),
                                                                           len(data)))
        check(part == image_part(data, mime), "part %d is %s" % (i + 1, show(repr(part).encode())))


for _mode, _margs in MODES:
    def t_image_odd(h, margs=_margs):
        """JPEG and PNG with 1..4 bytes after the magic, interleaved: every
        base64 padding case, in the order given."""
        images, args = [], []
        for n in (1, 2, 3, 4):
            for magic, mime, ext in ((JPEG_MAGIC, "image/jpeg", "jpg"),
                                     (PNG_MAGIC, "image/png", "png")):
                data = magic + bytes((0x00, 0xff, 0x3e, 0x3f)[:n])
                images.append((data, mime))
                args += ["--image", write_file(h, "i%d.%s" % (n, ext), data)]
        rec, _ = sent(h, margs + ["-s", "Be brief."] + args)
        msgs = rec["body"]["messages"]
        check(len(msgs) == 2 and msgs[0] == {"role": "system", "content": "Be brief."},
              "messages %s" % show(repr(msgs).encode()))
        check(set(msgs[1]) == {"role", "content"} and msgs[1]["role"] == "user",
              "user message members %r" % sorted(msgs[1]))
        check_images(msgs[1]["content"], images)
    add("req/image-odd-sizes/" + _mode, t_image_odd)


@test("req/image-several-mb", flags=["big"])
def t_image_big(h):
    """3 MB PNG (size 1 mod 3) then a JPEG: decoded, exactly the files."""
    png = PNG_MAGIC + os.urandom(3000001 - len(PNG_MAGIC))
    jpg = JPEG_MAGIC + os.urandom(1000)
    rec, _ = sent(h, ["--image", write_file(h, "big.png", png),
                      "--image", write_file(h, "small.jpeg", jpg)])
    check_images(rec["body"]["messages"][0]["content"],
                 [(png, "image/png"), (jpg, "image/jpeg")])


@test("req/image-not-an-image")
def t_image_bad(h):
    good = write_file(h, "ok.jpg", JPEG_MAGIC + b"x")
    for name, data in few(h, (("a.gif", b"GIF89a\x01\x00\x01\x00"), ("empty.jpg", b""),
                              ("short.jpg", b"\xff\xd8"), ("seven.png", PNG_MAGIC[:7]),
                              ("off.png", PNG_MAGIC[:7] + b"\x0b" + b"data"),
                              ("jpeg-ish.jpg", b"\xff\xd8\xfe\x00"),
                              ("text.png", b"hello, world"))):
        path = write_file(h, name, data)
        usage_error(h, ["--image", path], "--image")
        usage_error(h, ["--image", good, "--image", path], "--image")
    usage_error(h, ["--image", os.path.join(h.tmp, "no-such-image.jpg")], "--image")
    usage_error(h, ["--image", h.tmp], "--image")


RSS_HELPER = r"""
import ctypes, json, os, subprocess, sys
# The command runs as a grandchild forked by /bin/sh and is reparented here
# (a child subreaper), so its ru_maxrss starts from sh's few hundred KB, not
# from this interpreter's (a vfork child inherits its parent's peak RSS).
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit(97)
p = subprocess.run(["/bin/sh", "-c", '"$@" >"$0.out" 2>"$0.err" </dev/null & echo $!']
                   + sys.argv[1:], stdout=subprocess.PIPE, check=True)
pid = int(p.stdout)
_, status, ru = os.wait4(pid, 0)
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": ru.ru_maxrss}))
"""


def run_measured(h, args):
    """Runs the CLI; returns (Result, its peak RSS in KB from os.wait4)."""
    base = os.path.join(h.tmp, "rss-" + h.new_tag())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", RSS_HELPER, base] + h.command(args),
                       env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=h.timeout(60))
    check(p.returncode == 0, "the RSS helper failed (%d): %s" % (p.returncode, p.stderr[-300:]))
    m = json.loads(p.stdout)
    with open(base + ".out", "rb") as f:
        out = f.read()
    with open(base + ".err", "rb") as f:
        err = f.read().decode("utf-8", "replace")
    return Result(m["rc"], out, err, time.monotonic() - t0), m["maxrss_kb"]


RSS_FIGURES = {}  # mode -> {image size: peak KB}, printed at the end of the run
# wisp-chat's work buffer (WORK_SIZE in examples/wisp-chat/main.c): the body goes
# out through it, so an 8 KB image's request touches only a few pages of it
# and any image of 320 KiB or more touches all of it.
WORK_BUFFER_KB = 320
RSS_SIZES = (8 * 1024, 1024 * 1024, 8 * 1024 * 1024)


@test("req/image-peak-rss", flags=["big"])
def t_image_rss(h):
    """An 8 MB image costs no more memory than a small one (the body is
    encoded as it is sent): peak RSS (os.wait4) within 5 % + 256 KB of the
    1 MB image's, and of the 8 KB image's plus the work buffer the 8 KB
    request leaves mostly untouched.  The server reads exactly
    Content-Length bytes and the JSON parses strictly."""
    if PREFIX:
        raise Skip("peak RSS under %s is the emulator's" % " ".join(PREFIX))
    if not sys.platform.startswith("linux"):
        raise Skip("needs Linux (PR_SET_CHILD_SUBREAPER)")
    for mode, margs in MODES:
        peaks = RSS_FIGURES.setdefault(mode, {})
        for size in RSS_SIZES:
            data = JPEG_MAGIC + os.urandom(size - len(JPEG_MAGIC))
            path = write_file(h, "rss-%d.jpg" % size, data)
            url, key = h.url("record")
            res, peaks[size] = run_measured(h, ["-u", url] + margs + ["--image", path, PROMPT])
            expect(res, EXIT_OK, ECHO)
            reqs = recorded(h, key)
            check(len(reqs) == 1, "server saw %d requests" % len(reqs))
            check_images(reqs[0]["body"]["messages"][0]["content"], [(data, "image/jpeg")])
            del data, reqs
            os.unlink(path)
        small, mid, big = (peaks[s] for s in RSS_SIZES)
        check(big <= mid * 1.05 + 256,
              "%s: peak RSS %d KB with an 8 MB image, %d KB with 1 MB (more than 5 %% + 256 KB)"
              % (mode, big, mid))
        check(big <= small * 1.05 + 256 + WORK_BUFFER_KB,
              "%s: peak RSS %d KB with an 8 MB image, %d KB with 8 KB (more than 5 %% + 256 KB"
              " + the %d KB work buffer)" % (mode, big, small, WORK_BUFFER_KB))


@test("req/plain-body-members")
def t_plain_members(h):
    rec, _ = sent(h, [])
    body = rec["body"]
    check(set(body) == PLAIN_STREAM_MEMBERS, "members %s, want exactly %s"
          % (sorted(body), sorted(PLAIN_STREAM_MEMBERS)))
    check(body["stream"] is True and body["stream_options"] == {"include_usage": True},
          "stream %r, stream_options %r" % (body["stream"], body["stream_options"]))
    check(body["messages"] == [{"role": "user", "content": PROMPT}],
          "messages %r (content must stay a plain string without --image)" % body["messages"])
    check(not header_values(rec, "Idempotency-Key"), "Idempotency-Key sent though not asked for")
    rec, _ = sent(h, ["--no-stream"])
    body = rec["body"]
    check({"model", "messages"} <= set(body) <= {"model", "messages", "stream"},
          "--no-stream members %s" % sorted(body))
    check(body.get("stream", False) is False, "--no-stream sent stream %r" % body.get("stream"))
    check(not set(body) & W5A_MEMBERS, "members sent without being set: %s"
          % sorted(set(body) & W5A_MEMBERS))


@test("req/json-object")
def t_json_object(h):
    body = sent(h, ["--json"])[0]["body"]
    check(body.get("response_format") == {"type": "json_object"},
          "response_format %r" % body.get("response_format"))
    check(set(body) == PLAIN_STREAM_MEMBERS | {"response_format"}, "members %s" % sorted(body))


SCHEMA = {"type": "object", "additionalProperties": False, "required": ["celsius", "note"],
          "properties": {"celsius": {"type": "number", "minimum": -40.5},
                         "note": {"type": "string", "description": "caf\u00e9 \"q\" \\ \U0001F600"},
                         "tags": {"type": "array", "items": {"enum": ["a", None, True, 1]}}}}


def schema_sent(h, name, text):
    body = sent(h, ["--no-stream", "--json-schema", write_file(h, name, text)])[0]["body"]
    return body.get("response_format")


@test("req/json-schema")
def t_json_schema(h):
    pretty = json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"
    want_schema = strict_json(json.dumps(SCHEMA).encode(), "the schema")
    for fname, name in (("reading.json", "reading"), ("my schema+v2.json", "my_schema_v2"),
                        ("Ab9_-z.json", "Ab9_-z"), ("noext", "noext"),
                        ("dir.d/inner.json", "inner"), ("x" * 70 + ".json", "x" * 64)):
        rf = schema_sent(h, fname, pretty)
        check(rf == {"type": "json_schema", "json_schema": {"name": name, "schema": want_schema}},
              "%s: response_format %s" % (fname, show(repr(rf).encode(), 300)))


@test("req/json-schema-name-dots")
def t_json_schema_dots(h):
    """The name is the base name without its extension, '.' included in
    what becomes '_': reading.v2.json -> reading_v2."""
    rf = schema_sent(h, "reading.v2.json", '{"type":"object"}')
    check(rf == {"type": "json_schema", "json_schema": {"name": "reading_v2",
                                                        "schema": {"type": "object"}}},
          "response_format %r" % (rf,))


@test("req/json-schema-bad")
def t_json_schema_bad(h):
    for text in few(h, ("{", "", "{} {}", "[1,]", "NaN", '{"a":1}x', "{'a': 1}")):
        usage_error(h, ["--json-schema", write_file(h, "s.json", text)], "--json-schema")
    usage_error(h, ["--json-schema", os.path.join(h.tmp, "no-such-schema.json")], "--json-schema")
    good = write_file(h, "good.json", '{"type":"object"}')
    usage_error(h, ["--json", "--json-schema", good], "--json-schema")
    usage_error(h, ["--json-schema", good, "--json"], "--json-schema")


@test("req/reasoning-effort")
def t_effort(h):
    for level in ("none", "minimal", "low", "medium", "high"):
        body = sent(h, ["--reasoning-effort", level])[0]["body"]
        check(body.get("reasoning_effort") == level,
              "%s: sent %r" % (level, body.get("reasoning_effort")))
        check(set(body) == PLAIN_STREAM_MEMBERS | {"reasoning_effort"}, "members %s" % sorted(body))
    for bad in few(h, ("max", "HIGH", "low ", "xhigh", "0")):
        usage_error(h, ["--reasoning-effort", bad], "--reasoning-effort")
    usage_error(h, ["--reasoning-effort="], "--reasoning-effort")


@test("req/stop")
def t_stop(h):
    body = sent(h, ["--stop", "a"])[0]["body"]
    check(body.get("stop") == ["a"], "one --stop sent %r (always an array)" % body.get("stop"))
    body = sent(h, ["--stop", "a", "--stop", "b"])[0]["body"]
    check(body.get("stop") == ["a", "b"], "stop %r" % body.get("stop"))
    four = ["\n", 'END "x"', "caf\u00e9 \U0001F600", "\\"]
    body = sent(h, [a for s in four for a in ("--stop", s)])[0]["body"]
    check(body.get("stop") == four, "stop %r, want %r" % (body.get("stop"), four))
    five = [a for s in "abcde" for a in ("--stop", s)]
    usage_error(h, five, "--stop")
    usage_error(h, ["--stop", ""], "--stop")
    usage_error(h, ["--stop", "a", "--stop="], "--stop")


@test("req/seed")
def t_seed(h):
    for v in (-9223372036854775808, 9223372036854775807, 0, -1, 12345):
        rec, _ = sent(h, ["--seed", str(v)])
        got = rec["body"].get("seed")
        check(type(got) is int and got == v, "--seed %d sent %r" % (v, got))
        check(re.search(rb'"seed":\s*' + str(v).encode() + rb"[,}\s]", rec["raw"]),
              "--seed %d not a plain JSON integer in %s" % (v, show(rec["raw"], 300)))
    for bad in few(h, ("1.5", "abc", "9223372036854775808", "-9223372036854775809", "", "+5",
                       "0x10", "1e3", " 5", "--1"), 4):
        usage_error(h, ["--seed=" + bad], "--seed")


@test("req/max-completion-tokens")
def t_max_completion(h):
    for v in (1, 1000000):
        body = sent(h, ["--max-completion-tokens", str(v)])[0]["body"]
        check(type(body.get("max_completion_tokens")) is int and body["max_completion_tokens"] == v,
              "sent %r" % body.get("max_completion_tokens"))
        check("max_tokens" not in body, "max_tokens sent too")
    body = sent(h, ["--max-tokens", "5"])[0]["body"]
    check(body.get("max_tokens") == 5 and "max_completion_tokens" not in body,
          "--max-tokens 5: members %s" % sorted(body))
    body = sent(h, ["--max-tokens", "5", "--max-completion-tokens", "7"])[0]["body"]
    check(body.get("max_tokens") == 5 and body.get("max_completion_tokens") == 7,
          "both: max_tokens %r, max_completion_tokens %r"
          % (body.get("max_tokens"), body.get("max_completion_tokens")))
    for bad in few(h, ("0", "1000001", "1.5", "-1", "abc", "", "+5", "5 ")):
        usage_error(h, ["--max-completion-tokens=" + bad], "--max-completion-tokens")


@test("req/temperature")
def t_temperature(h):
    for arg, text in (("0.5", "0.5"), ("2", "2"), ("0.125", "0.125")):
        rec, _ = sent(h, ["--temperature", arg])
        m = re.search(rb'"temperature":\s*([-+0-9.eE]+)', rec["raw"])
        check(m and m.group(1).decode() == text, "--temperature %s sent %s, want %s"
              % (arg, m.group(1) if m else None, text))
    for arg in few(h, ("0", "1.0", "0.05", "1.999", ".5"), 1):
        got = sent(h, ["--temperature", arg])[0]["body"].get("temperature")
        check(got is not None and decimal.Decimal(str(got)) == decimal.Decimal(arg)
              and -decimal.Decimal(str(got)).as_tuple().exponent <= 3,
              "--temperature %s sent %r" % (arg, got))
    for bad in few(h, ("0.1234", "2.001", "-1", "abc", "1e0", "nan", "", "2.5", "0x1")):
        usage_error(h, ["--temperature=" + bad], "--temperature")


@test("req/param")
def t_param(h):
    rec, _ = sent(h, ["--param", "top_k=40", "--param", 'logit_bias={"50256":-100}',
                      "--param", 'x_str="t \\" \u00e9"', "--param",
                      'nested={"a":[1,2,{"b":null}],"c":true,"d":-0.25}'])
    body = rec["body"]
    want = {"top_k": 40, "logit_bias": {"50256": -100}, "x_str": 't " \u00e9',
            "nested": {"a": [1, 2, {"b": None}], "c": True, "d": decimal.Decimal("-0.25")}}
    for k, v in want.items():
        check(body.get(k) == v and type(body.get(k)) is type(v),
              "member %s is %r, want %r" % (k, body.get(k), v))
    check(set(body) == PLAIN_STREAM_MEMBERS | set(want), "members %s" % sorted(body))


@test("req/param-bad")
def t_param_bad(h):
    for bad in few(h, ("top_k", "x={", "=1", "x=", "x=1 2", "x=NaN", "x='a'", "x=[1,]")):
        usage_error(h, ["--param", bad], "--param")
    usage_error(h, ["--param", "top_k=1", "--param", "top_k=2"], "--param")


@test("req/param-already-sent")
def t_param_taken(h):
    for args in (["--param", 'model="x"'], ["--param", "stream=true"],
                 ["--param", "messages=[]"], ["--param", "stream_options={}"],
                 ["--temperature", "0.5", "--param", "temperature=1"],
                 ["--seed", "1", "--param", "seed=2"]):
        usage_error(h, args, "--param")


@test("req/idempotency-key")
def t_idem(h):
    key = "wisp-7f3a:retry_OK~!#"
    rec, _ = sent(h, ["--idempotency-key", key])
    check(header_values(rec, "Idempotency-Key") == [key],
          "Idempotency-Key headers %r" % header_values(rec, "Idempotency-Key"))
    check(set(rec["body"]) == PLAIN_STREAM_MEMBERS, "members %s" % sorted(rec["body"]))
    for bad in few(h, ("a\x01b", "del\x7f", "", "tab\there", "nl\nx", "esc\x1b[31m")):
        usage_error(h, ["--idempotency-key=" + bad], "--idempotency-key")


for _sc in ("503-then-ok", "429-zero-then-ok"):
    for _mode, _margs in MODES:
        def t_idem_retry(h, sc=_sc, margs=_margs):
            key = "idem-" + h.new_tag()
            url, skey = h.url(sc)
            expect(h.run(["-u", url, "--idempotency-key", key] + margs + [PROMPT]), EXIT_OK, ECHO)
            reqs = recorded(h, skey)
            check(len(reqs) == 2, "server saw %d requests, want 2" % len(reqs))
            for i, r in enumerate(reqs):
                check(header_values(r, "Idempotency-Key") == [key],
                      "attempt %d: Idempotency-Key %r"
                      % (i + 1, header_values(r, "Idempotency-Key")))
            check(reqs[0]["raw"] == reqs[1]["raw"], "the retry's body differs")
        add("req/idempotency-key-retry/%s/%s" % (_sc, _mode), t_idem_retry)


# ---- replies from gateways and reasoning models (W5a) ----------------------

for _mode, _margs in MODES:
    def t_oneapi_id(h, margs=_margs):
        url, _ = h.url("oneapi-id")
        res = h.run(["-v", "-u", url] + margs + [PROMPT])
        expect(res, EXIT_OK, ECHO)
        ids = [l for l in res.err.splitlines() if l.startswith("wisp-chat: request id:")]
        check(ids == ["wisp-chat: request id: abc123"], "request id lines %r" % ids)
    add("reply/oneapi-request-id/" + _mode, t_oneapi_id)

    def t_quota(h, margs=_margs):
        url, key = h.url("402-quota")
        res = h.run(["-u", url] + margs + [PROMPT])
        expect(res, EXIT_SERVER, err=r"^wisp-chat: .*insufficient quota")
        check(h.stats(key)["attempts"] == 1, "server saw %d requests for a 402, want 1 (no retry)"
              % h.stats(key)["attempts"])
    add("reply/402-insufficient-quota/" + _mode, t_quota)

    for _sc, _text, _says in (("budget-empty", "", True), ("budget-none", "", True),
                              ("budget-text", "Partial answ", False),
                              ("budget-zero", "", False)):
        def t_budget(h, margs=_margs, sc=_sc, text=_text, says=_says):
            url, _ = h.url(sc)
            res = h.run(["-u", url] + margs + [PROMPT])
            expect(res, EXIT_OK, text)
            lines = [l for l in res.err.splitlines()
                     if "spent the whole token budget reasoning" in l]
            if says:
                check(len(lines) == 1 and lines[0].startswith("wisp-chat: ") and "64" in lines[0],
                      "want one line about the budget spent reasoning (64 tokens): %s"
                      % res.err_tail())
            else:
                check(not lines, "the budget line printed for a reply with %s: %s"
                      % ("text" if text else "no reasoning tokens", lines))
        add("reply/%s/%s" % (_sc, _mode), t_budget)


@test("reply/request-id-precedence")
def t_id_precedence(h):
    for sc in ("both-ids", "both-ids-rev"):
        url, _ = h.url(sc)
        res = h.run(["-v", "-u", url, PROMPT])
        expect(res, EXIT_OK, ECHO)
        ids = [l for l in res.err.splitlines() if l.startswith("wisp-chat: request id:")]
        check(ids == ["wisp-chat: request id: req-primary"], "%s: request id lines %r" % (sc, ids))


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
    url, _ = h.url("ok", "tls-wronghost", host="localhost")
    expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
           err=r"host name does not match the certificate: localhost")


@test("tls/ip-literal")
def t_tls_ip_literal(h):
    """An IP-literal URL is checked against the certificate's iPAddress
    entries (the test certificate has no DNS entry spelling an address)."""
    hosts = ["127.0.0.1"] + (["[::1]"] if h.ports.get("ipv6") else [])
    for host in hosts:
        url, _ = h.url("ok", "tls-good", host=host)
        expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_OK, ECHO)
        url, _ = h.url("ok", "tls-wronghost", host=host)
        expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
               err=r"certificate does not hold the IP address %s \(connect by a name it holds"
               % re.escape(host.strip("[]")))


@test("tls/server-name")
def t_tls_server_name(h):
    """--server-name: the name verified (and sent as SNI) instead of the URL's host."""
    url, _ = h.url("ok", "tls-wronghost")
    expect(h.run(["-u", url, "--cacert", h.ca(), "--server-name", "wrong.example.invalid",
                  PROMPT]), EXIT_OK, ECHO)
    url, _ = h.url("ok", "tls-good", host="localhost")
    expect(h.run(["-u", url, "--cacert", h.ca(), "--server-name", "127.0.0.1", PROMPT]),
           EXIT_OK, ECHO)
    expect(h.run(["-u", url, "--cacert", h.ca(), "--server-name", "other.example", PROMPT]),
           EXIT_NET, err=r"host name does not match the certificate: other\.example")
    for bad in ("", "a b", "x" * 254, "caf\u00e9"):
        usage_error(h, ["--server-name", bad], "--server-name")


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


for listener in ("plain", "tls-good"):
    def t_closing_server(h, listener=listener):
        """llama.cpp's server advertises keep-alive and closes after every
        streamed reply: each request is one attempt on its own connection,
        and none is first written into the closed one."""
        exe = os.environ.get("WISP_KEEPALIVE_CHECK") or os.path.join(
            os.path.dirname(CLI), "keepalive_check")
        if not os.path.exists(exe):
            raise Fail("%s is missing (make e2e builds it)" % exe)
        url, key = h.url("stream-llamacpp", listener,
                         host="localhost" if listener != "plain" else "127.0.0.1")
        ca = h.ca() if listener != "plain" else "-"
        p = subprocess.run(PREFIX + [exe, "--closing", url, ca, "3"], capture_output=True,
                           timeout=h.timeout(30))
        out = p.stdout.decode("utf-8", "replace")
        check(p.returncode == 0, "exit %d: %s %s" % (p.returncode, out.strip(),
                                                     p.stderr.decode("utf-8", "replace").strip()))
        st = h.stats(key)
        conns = set(r["conn"] for r in st["requests"])
        check(len(st["requests"]) == 3, "server saw %d requests" % len(st["requests"]))
        check(len(conns) == 3, "server saw %d connections, want 3" % len(conns))
        if listener != "plain":
            check(all(r["resumed"] for r in st["requests"][1:]),
                  "a reconnect was a full handshake")
    test("keepalive/closing-server-" + listener.split("-")[0])(t_closing_server)


for sc in ("reset", "cut"):
    def t_tls_broken(h, sc=sc):
        url, key = h.url(sc, "tls-good")
        expect(h.run(["-u", url, "--cacert", h.ca(), PROMPT]), EXIT_NET,
               partial=ECHO)
        check(h.stats(key)["attempts"] >= 1,
              "no request reached the server: the failure was elsewhere")
    add("tls/" + sc, t_tls_broken)


# ---- interactive mode (W5b): a session on a pseudo-terminal ---------------
#
# stdin is a pty that is the CLI's controlling terminal (setsid -c), with the
# line discipline's defaults but echo: ICANON (a line per read), ISIG (\x03
# is SIGINT for the CLI), VEOF (\x04 ends the input).  stdout and stderr are
# pipes, read as they come.  The "session" scenario answers 400 to a
# history that is not its own replies in turn.

class Session:
    def __init__(self, h, args, env=None):
        import termios
        self.h = h
        master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
        full_env.update(env or {})
        self.p = subprocess.Popen(["setsid", "-c"] + h.command(args), env=full_env,
                                  stdin=slave, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        os.close(slave)
        self.master = master
        self.bufs = {"out": b"", "err": b""}
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._pump, args=(name, f), daemon=True)
                        for name, f in (("out", self.p.stdout), ("err", self.p.stderr))]
        for t in self.readers:
            t.start()

    def _pump(self, name, f):
        fd = f.fileno()
        while True:
            chunk = os.read(fd, 4096)
            with self.cond:
                self.bufs[name] += chunk
                self.cond.notify_all()
            if not chunk:
                return

    @property
    def out(self):
        return self.bufs["out"]

    @property
    def err(self):
        return self.bufs["err"].decode("utf-8", "replace")

    def wait(self, what, cond, secs=10):
        end = time.monotonic() + self.h.timeout(secs)
        with self.cond:
            while not cond():
                left = end - time.monotonic()
                if left <= 0:
                    self.close()
                    raise Fail("waited in vain for %s; stdout %s, stderr %r"
                               % (what, show(self.out), self.err[-300:]))
                self.cond.wait(min(left, 0.5))

    def prompts(self):
        return self.err.count("> ")

    def wait_prompt(self, n):
        """Waits for the nth "> " on stderr."""
        self.wait("prompt %d" % n, lambda: self.prompts() >= n)

    def type(self, text):
        os.write(self.master, text.encode("utf-8"))

    def turn(self, line, n, reply):
        """Types line at the nth prompt; waits for reply on stdout and prompt n + 1."""
        self.wait_prompt(n)
        before = len(self.out)
        self.type(line + "\n")
        want = (reply + "\n").encode("utf-8")
        self.wait("the reply %r" % reply, lambda: self.out[before:] == want and
                  self.prompts() > n)

    def finish(self, rc, secs=10):
        try:
            got = self.p.wait(timeout=self.h.timeout(secs))
        except subprocess.TimeoutExpired:
            self.close()
            raise Fail("wisp-chat still running; stderr %r" % self.err[-300:])
        for t in self.readers:
            t.join(5)
        self.close()
        if self.h.opts.valgrind and got == VALGRIND_EXIT:
            raise Fail("valgrind found errors: " + self.err[-500:])
        check(got == rc, "exit %d, want %d; stderr %r" % (got, rc, self.err[-300:]))

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if self.master is not None:
            os.close(self.master)
            self.master = None


def session_messages(h, key):
    """The messages of each request the server got under key, as (role, text)."""
    return [[(m["role"], m["content"]) for m in r["body"]["messages"]]
            for r in recorded(h, key)]


def failure_lines(err):
    return [l for l in err.replace("> ", "").splitlines() if l.startswith("wisp-chat: ")
            and "/reset" not in l]


def check_turn_not_kept(h, s, key, what):
    """After turn 1 ("first") and a second turn that failed (what), a third
    turn works and its request carries turn 1 only; Ctrl-D then ends it."""
    s.turn("third", 3, "echo: third")
    s.type("\x04")
    s.finish(EXIT_OK)
    got = session_messages(h, key)
    check(len(got) == 3 and got[2] == [("user", "first"), ("assistant", "echo: first"),
                                       ("user", "third")],
          "the turn after %s carried %r" % (what, got[-1:]))


for _mode, _margs in MODES:
    def t_session_two_turns(h, margs=_margs):
        url, key = h.url("session")
        s = Session(h, ["-u", url] + margs)
        s.turn("first question", 1, "echo: first question")
        s.turn("second question", 2, "echo: second question")
        s.type("\x04")
        s.finish(EXIT_OK)
        check(s.out == b"echo: first question\necho: second question\n", "stdout %s" % show(s.out))
        got = session_messages(h, key)
        check(got == [[("user", "first question")],
                      [("user", "first question"), ("assistant", "echo: first question"),
                       ("user", "second question")]], "requests %r" % (got,))
        check(failure_lines(s.err) == [], "stderr %r" % s.err)
    add("interactive/two-turns/" + _mode, t_session_two_turns)


@test("interactive/reset")
def t_session_reset(h):
    url, key = h.url("session")
    s = Session(h, ["-u", url, "-s", "be brief"])
    s.turn("one", 1, "echo: one")
    s.turn("two", 2, "echo: two")
    s.wait_prompt(3)
    s.type("/reset\n")
    s.turn("three", 4, "echo: three")
    s.type("/exit\n")
    s.finish(EXIT_OK)
    got = session_messages(h, key)
    check(len(got) == 3 and got[1][:2] == [("system", "be brief"), ("user", "one")],
          "requests %r" % (got,))
    check(got[2] == [("system", "be brief"), ("user", "three")],
          "after /reset: %r, want the system message and the new question" % (got[2],))


@test("interactive/ctrl-c-mid-reply", flags=["slow"])
def t_session_ctrl_c(h):
    url, key = h.url("session")
    s = Session(h, ["-u", url])
    s.turn("first", 1, "echo: first")
    s.wait_prompt(2)
    before = len(s.out)
    s.type("slow reply, please\n")
    s.wait("the slow reply's first piece", lambda: len(s.out) > before)
    s.type("\x03")
    s.wait("the prompt after Ctrl-C, the line ended",
           lambda: s.prompts() >= 3 and s.out.endswith(b"\n"))
    part = s.out[before:].decode("utf-8")
    slow = "echo: slow reply, please"
    check(part.endswith("\n") and slow.startswith(part[:-1]) and len(part) - 1 < len(slow),
          "the cancelled reply on stdout: %r" % part)
    check("wisp-chat: interrupted" in failure_lines(s.err), "stderr %r" % s.err)
    check_turn_not_kept(h, s, key, "Ctrl-C")


for _name, _key, _rc in (("ctrl-c-at-prompt", "\x03", 130), ("ctrl-d", "\x04", EXIT_OK)):
    def t_session_end(h, key_typed=_key, rc=_rc):
        """Ctrl-C or Ctrl-D at the prompt ends the session (130, 0)."""
        url, key = h.url("session")
        s = Session(h, ["-u", url])
        s.turn("first", 1, "echo: first")
        s.wait_prompt(2)
        s.type(key_typed)
        s.finish(rc)
        check(s.out == b"echo: first\n", "stdout %s" % show(s.out))
        check(h.stats(key)["attempts"] == 1, "server saw %d requests" % h.stats(key)["attempts"])
    add("interactive/" + _name, t_session_end)


@test("interactive/http-error-goes-on")
def t_session_error(h):
    url, key = h.url("session")
    s = Session(h, ["-u", url])
    s.turn("first", 1, "echo: first")
    s.wait_prompt(2)
    s.type("fail this one\n")
    s.wait_prompt(3)
    lines = failure_lines(s.err)
    check(len(lines) == 1 and re.search(r"HTTP 400.*refused on purpose", lines[0]),
          "want one wisp-chat: line for the 400: %r" % lines)
    check(s.out == b"echo: first\n", "stdout %s" % show(s.out))
    check_turn_not_kept(h, s, key, "the error")


@test("interactive/tools-refused")
def t_session_tools(h):
    url, key = h.url("session")
    tools = tools_file(h, json.dumps([{"type": "function", "function": {"name": "f"}}]))
    s = Session(h, ["-u", url, "--tools", tools])
    s.finish(EXIT_USAGE)
    check(re.search(r"^wisp-chat: --tools", s.err, re.M), "stderr %r" % s.err)
    check(h.stats(key)["attempts"] == 0, "a request was sent")


# ---- model lists (W5b): --list-models --------------------------------------

SHORT_MODELS = ["gpt-4o", "gemini-2.5-flash", "llama-3.1-8b-instruct"]  # tests/server.py


def models_run(h, scenario, rc, ids=None, err=None, listener="plain", extra=()):
    """--list-models against a model list: exit rc, stdout the ids a line each."""
    url, key = h.url(scenario, listener)
    res = h.run(["-u", url, "--list-models"] + list(extra), timeout=60)
    if ids is None:
        expect(res, rc, err=err)  # stdout empty
    else:
        want = "".join(i + "\n" for i in ids).encode("utf-8")
        check(res.rc == rc, "exit %d, want %d; stderr: %s" % (res.rc, rc, res.err_tail()))
        check(res.out == want, "stdout %s, want %s" % (show(res.out), show(want)))
        check(err is None or re.search(err, res.err, re.M), "stderr %s" % res.err_tail())
    check(h.stats(key)["attempts"] == 1, "server saw %d requests" % h.stats(key)["attempts"])
    return res


for _sc in ("models", "models-oneapi"):
    def t_models_short(h, sc=_sc):
        models_run(h, sc, EXIT_OK, SHORT_MODELS)
    add({"models": "models/short", "models-oneapi": "models/oneapi-success-first"}[_sc],
        t_models_short)


@test("models/long-chunked", flags=["big"])
def t_models_long(h):
    """5000 OpenRouter-shaped entries (2.8 MB), chunked at odd places."""
    ids = ["provider-%d/model-%05d:free" % (i % 37, i) for i in range(5000)]
    models_run(h, "models-long", EXIT_OK, ids)


@test("models/tls")
def t_models_tls(h):
    models_run(h, "models", EXIT_OK, SHORT_MODELS, listener="tls-good",
               extra=["--cacert", h.ca()])


@test("models/id-cut")
def t_models_cut(h):
    """An id longer than the build keeps: printed as far as kept, exit 4."""
    cut = ("vendor/" + "x" * 93)[:63]
    models_run(h, "models-cut", EXIT_RESPONSE, ["a", cut, "b"], err=r"^wisp-chat: 1 model id was cut")


@test("models/401")
def t_models_401(h):
    models_run(h, "models-401", EXIT_SERVER, err=r"^wisp-chat: .*HTTP 401.*Invalid API key")


@test("models/no-prompt")
def t_models_prompt(h):
    usage_error(h, ["--list-models"], "--list-models")


@test("minimal/tls")
def t_minimal(h):
    """examples/wisp-chat/minimal.c: one question over TLS, streamed."""
    exe = os.path.join(os.path.dirname(CLI), "wisp-minimal")
    if not os.path.exists(exe):
        raise Fail("%s is missing (make all builds it)" % exe)
    url, key = h.url("stream", "tls-good")
    env = {"PATH": os.environ.get("PATH", ""), "WISP_BASE_URL": url,
           "WISP_CA_FILE": h.ca(), "WISP_API_KEY": TEST_KEY}
    p = subprocess.run(PREFIX + [exe, PROMPT], env=env, capture_output=True,
                       timeout=h.timeout(30))
    check(p.returncode == 0 and p.stdout == (STREAM_TEXT + "\n").encode(),
          "exit %d, stdout %s, stderr %r" % (p.returncode, show(p.stdout), p.stderr[-200:]))


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
    for mode, peaks in sorted(RSS_FIGURES.items()):
        print("e2e: peak RSS %s: %s" % (mode, ", ".join(
            "%s image %d KB" % ("%d KB" % (n >> 10) if n < 1 << 20 else "%d MB" % (n >> 20), kb)
            for n, kb in sorted(peaks.items()))))
    print("e2e: %.1f s, %d tests%s" % (time.monotonic() - t0, len(selected),
                                       " under valgrind" if opts.valgrind else ""))
    summary = "%d passed, %d failed" % (counts["ok"], counts["FAIL"])
    if counts["skip"]:
        summary += ", %d skipped" % counts["skip"]
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""make bench: one table from one run (Python 3 stdlib only).

Never a pass/fail test: it measures and prints.  Three parts:

  receive path   tests/bench/receive.c under callgrind, once: wisp's receive
                 path, a cJSON-per-event client, a bare jsmn loop and a
                 memchr pass over the same recorded stream, in instructions
                 per input byte (each pass is a function of its own; its
                 inclusive cost is read from callgrind_annotate)
  memory         one streamed TLS chat against tests/server.py (scenario
                 stream-1mb) by build/wisp-chat and by a libcurl + cJSON
                 client (tests/bench/curl_chat.c): peak heap from massif
                 (exact peak, bytes asked of malloc; of it, what the TLS
                 library's own functions asked for), peak RSS from GNU time
                 (the median of three runs)
  ten requests   ten streamed requests over TLS: one interactive wisp-chat
                 session of ten turns (one client; its stdin a pty) and ten
                 curl runs: connections and TLS handshakes as the server
                 counted them (GET /stats)

    bench.py --build DIR [--stream FILE]

Without --stream the stream is made by tests/bench/stream.py (always the
same bytes) and the text each reader extracts is checked against it.  The
table is also written to DIR/benchmarks/table.txt.
"""

import argparse
import json
import os
import platform
import pty
import re
import select
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEY = "sk-bench-not-real"  # the server only echoes keys ending in -not-real
PASSES = ["pass_wisp", "pass_cjson", "pass_jsmn", "pass_memchr", "pass_wisp_sse", "pass_lines"]
MEM_SCENARIO = "stream-1mb"
MEM_TEXT_BYTES = 1000000  # what stream-1mb sends (tests/server.py)
TLS_LIBS = ("libmbedtls", "libmbedx509", "libmbedcrypto", "libssl.so", "libcrypto.so")


class BenchError(Exception):
    pass


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, **kw)
    if p.returncode != 0:
        raise BenchError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode,
                                              p.stderr.decode("utf-8", "replace")[-2000:]))
    return p.stdout.decode("utf-8", "replace")


def versions():
    def deb(pkg):
        try:
            return run(["dpkg-query", "-W", "-f=${Version}", pkg]).strip()
        except (BenchError, OSError):
            return "?"
    cc = os.environ.get("CC", "cc")
    try:
        ccv = run([cc, "--version"]).splitlines()[0]
    except (BenchError, OSError, IndexError):
        ccv = cc
    return ("%s, %s; mbedTLS %s, cJSON %s, libcurl %s (OpenSSL), valgrind %s"
            % (platform.machine(), ccv, deb("libmbedtls-dev"), deb("libcjson-dev"),
               deb("libcurl4-openssl-dev"), deb("valgrind")))


# ---- receive path ------------------------------------------------------------

def receive_rows(out_dir, stream, expect):
    exe = os.path.join(out_dir, "receive")
    cg = os.path.join(out_dir, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg,
           "--collect-atstart=no"] + ["--toggle-collect=" + p for p in PASSES] + [exe, stream]
    if expect:
        cmd += ["--expect", expect]
    p = subprocess.run(cmd, capture_output=True)
    try:
        seen = json.loads(p.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("receive: no result\n" + p.stderr.decode("utf-8", "replace")[-2000:])
    if p.returncode not in (0, 1):
        raise BenchError("receive under callgrind: exit %d" % p.returncode)
    ann = run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", cg])
    ir = {}
    for line in ann.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:\S*:)?(pass_\w+)\s", line)
        if m and m.group(2) in PASSES:
            ir[m.group(2)] = int(m.group(1).replace(",", ""))
    missing = [x for x in PASSES if x not in ir]
    if missing:
        raise BenchError("callgrind_annotate does not list %s" % ", ".join(missing))
    return seen, {k: v / seen["bytes"] for k, v in ir.items()}


# ---- the local server ----------------------------------------------------------

class LocalServer:
    def __init__(self, out_dir):
        self.port_file = os.path.join(out_dir, "ports.json")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(os.path.join(out_dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "server.py"), "--port-file",
             self.port_file, "--max-seconds", "900"],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        self.ports = None
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with open(self.port_file) as f:
                    self.ports = json.load(f)
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if self.ports is None or not self.ports.get("tls_dir"):
            self.stop()
            raise BenchError("tests/server.py did not start with TLS (see server.log)")
        self.ca = os.path.join(self.ports["tls_dir"], "ca.pem")

    def base(self, key):
        return "https://127.0.0.1:%d/s/%s/v1" % (self.ports["tls-good"], key)

    def stats(self, key=None):
        url = "http://127.0.0.1:%d/stats" % self.ports["plain"]
        if key:
            url += "?key=" + key
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)

    def tls_counters(self):
        return self.stats()["listeners"].get("tls-good", {})

    def stop(self):
        try:
            self.proc.stdin.close()  # the server stops when its stdin closes
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait()
        self.log.close()


# ---- memory ------------------------------------------------------------------------

def massif_peak(path):
    """(bytes at the peak, of which allocated directly by the TLS library)."""
    with open(path) as f:
        lines = f.read().splitlines()
    at = lines.index("heap_tree=peak")
    heap = None
    for back in lines[at - 4:at]:
        if back.startswith("mem_heap_B="):
            heap = int(back.split("=")[1])
    tls = 0
    for line in lines[at + 2:]:
        if not line.startswith(" "):
            break
        m = re.match(r"^ n\d+: (\d+) (.*)$", line)
        if m and any(lib in m.group(2) for lib in TLS_LIBS):
            tls += int(m.group(1))
    return heap, tls


def memory_rows(out_dir, srv):
    env = dict(os.environ, WISP_API_KEY=KEY)
    clients = [
        ("wisp-chat (mbedTLS)", lambda b: [os.path.join(os.path.dirname(out_dir), "wisp-chat"),
                                           "-u", b, "--cacert", srv.ca, "Say hello."]),
        ("libcurl + cJSON (OpenSSL)", lambda b: [os.path.join(out_dir, "curl_chat"), b, srv.ca,
                                                 "Say hello."]),
    ]
    rows = []
    for i, (name, cmd) in enumerate(clients):
        text = os.path.join(out_dir, "chat-%d.txt" % i)
        rss = []
        for r in range(3):
            rss_file = os.path.join(out_dir, "rss-%d.txt" % i)
            with open(text, "wb") as out:
                p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] +
                                   cmd(srv.base("%s.bench-rss-%d-%d" % (MEM_SCENARIO, i, r))),
                                   stdout=out, stderr=subprocess.PIPE, env=env)
            if p.returncode != 0 or os.path.getsize(text) < MEM_TEXT_BYTES:
                raise BenchError("%s: exit %d, %d bytes of text\n%s"
                                 % (name, p.returncode, os.path.getsize(text),
                                    p.stderr.decode("utf-8", "replace")[-2000:]))
            with open(rss_file) as f:
                rss.append(int(f.read().split()[-1]))
        ms = os.path.join(out_dir, "massif-%d.out" % i)
        with open(text, "wb") as out:
            p = subprocess.run(["valgrind", "--tool=massif", "--peak-inaccuracy=0", "--threshold=0",
                                "--massif-out-file=" + ms] +
                               cmd(srv.base("%s.bench-heap-%d" % (MEM_SCENARIO, i))),
                               stdout=out, stderr=subprocess.PIPE, env=env)
        if p.returncode != 0 or os.path.getsize(text) < MEM_TEXT_BYTES:
            raise BenchError("%s under massif: exit %d" % (name, p.returncode))
        heap, tls = massif_peak(ms)
        rows.append((name, heap, tls, statistics.median(rss)))
    return rows


# ---- ten requests ---------------------------------------------------------------------

def ten_rows(out_dir, srv):
    env = dict(os.environ, WISP_API_KEY=KEY)
    body = json.dumps({"model": "gemini-2.5-flash", "stream": True,
                       "messages": [{"role": "user", "content": "Say hello."}]})
    rows = []

    def counted(name, fn):
        before = srv.tls_counters()
        fn()
        after = srv.tls_counters()
        d = {k: after.get(k, 0) - before.get(k, 0) for k in ("accepted", "handshakes", "resumed")}
        rows.append((name, d["accepted"], d["handshakes"], d["resumed"]))

    def wisp():
        # One interactive wisp-chat session of ten turns: one client.  Its
        # stdin is a terminal (a pty), as the session needs; Ctrl-D ends it.
        master, slave = pty.openpty()
        with open(os.path.join(out_dir, "ten-wisp.txt"), "wb") as out:
            p = subprocess.Popen([os.path.join(os.path.dirname(out_dir), "wisp-chat"), "-u",
                                  srv.base("stream.bench-ten-wisp"), "--cacert", srv.ca],
                                 stdin=slave, stdout=out, stderr=subprocess.DEVNULL, env=env)
        os.close(slave)
        for i in range(10):
            os.write(master, b"Say hello, turn %d.\n" % (i + 1))
        os.write(master, b"\x04")
        deadline = time.time() + 60
        while p.poll() is None and time.time() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 4096)  # the terminal's echo
                except OSError:
                    break
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        os.close(master)
        with open(os.path.join(out_dir, "ten-wisp.txt"), "rb") as f:
            replies = f.read().count(b"Hello!")
        if rc != 0 or replies != 10:
            raise BenchError("wisp-chat session: exit %d, %d replies" % (rc, replies))

    def curl():
        for i in range(10):
            run(["curl", "-sS", "--fail", "--cacert", srv.ca, "-o", os.devnull,
                 "-H", "Content-Type: application/json", "-H", "Authorization: Bearer " + KEY,
                 "-d", body, srv.base("stream.bench-ten-curl") + "/chat/completions"])

    counted("wisp-chat: one session, ten turns", wisp)
    counted("curl: ten runs (OpenSSL)", curl)
    for key in ("stream.bench-ten-wisp", "stream.bench-ten-curl"):
        if srv.stats(key)["attempts"] != 10:
            raise BenchError("the server saw %s requests under %s"
                             % (srv.stats(key)["attempts"], key))
    return rows


# ---- the table ---------------------------------------------------------------------------

def ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def table(seen, per_byte, stream_name, mem, ten, notes):
    w, j = per_byte["pass_wisp"], per_byte["pass_jsmn"]
    out = ["wisp bench (%s)" % versions(), ""]
    out.append("receive path, callgrind: %s, %d bytes, %d events, %d bytes of text, reads of %d bytes"
               % (stream_name, seen["bytes"], seen["events"], seen["text_bytes"], seen["read"]))
    out.append("  %-50s %10s %8s %8s" % ("", "instr/byte", "vs jsmn", "vs wisp"))
    for key, label in [("pass_wisp", "wisp: wisp_sse_feed + reply reader"),
                       ("pass_cjson", "cJSON per event: parse, walk, copy, delete"),
                       ("pass_jsmn", "jsmn tokenize-and-walk, copy with unescape"),
                       ("pass_memchr", "memchr('\\n')"),
                       ("pass_wisp_sse", "  framing alone: wisp_sse_feed"),
                       ("pass_lines", "  framing alone: the cJSON/jsmn line splitter")]:
        v = per_byte[key]
        out.append("  %-50s %10.2f %8s %8s" % (label, v, ratio(v, j), ratio(v, w)))
    out.append("")
    out.append("memory of one streamed TLS chat (%s: 1 MB of text in 20000 events)" % MEM_SCENARIO)
    out.append("  %-36s %13s %13s %8s %13s %8s"
               % ("", "peak heap", "TLS library", "vs wisp", "peak RSS", "vs wisp"))
    h0, r0 = mem[0][1], mem[0][3]
    for name, heap, tls, rss in mem:
        out.append("  %-36s %9.1f KiB %9.1f KiB %8s %9.0f KiB %8s"
                   % (name, heap / 1024, tls / 1024, ratio(heap, h0), rss, ratio(rss, r0)))
    out.append("")
    out.append("ten streamed requests over TLS")
    out.append("  %-36s %12s %16s %10s" % ("", "connections", "TLS handshakes", "resumed"))
    for name, conns, hs, res in ten:
        out.append("  %-36s %12d %16d %10d" % (name, conns, hs, res))
    for n in notes:
        out.append("")
        out.append("note: " + n)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--stream")
    a = ap.parse_args()
    out_dir = os.path.join(a.build, "benchmarks")
    os.makedirs(out_dir, exist_ok=True)
    notes = []
    for tool in ("valgrind", "callgrind_annotate", "curl", "/usr/bin/time"):
        if shutil.which(tool) is None:
            print("bench: %s is missing (make bench installs it)" % tool, file=sys.stderr)
            return 2
    try:
        if a.stream:
            stream, expect, stream_name = a.stream, None, os.path.basename(a.stream)
        else:
            stream = os.path.join(out_dir, "stream.sse")
            expect = os.path.join(out_dir, "stream.txt")
            stream_name = "the stream of tests/bench/stream.py"
            run([sys.executable, os.path.join(HERE, "stream.py"), "--out", stream, "--text", expect])
        seen, per_byte = receive_rows(out_dir, stream, expect)
        if not seen["agree"]:
            msg = ("the readers did not extract the same text (wisp %d, cJSON %d, jsmn %d bytes; "
                   "expected %s; events cJSON and jsmn could not parse: %d, %d; status %s)"
                   % (seen["text_bytes"], seen["cjson_text_bytes"], seen["jsmn_text_bytes"],
                      seen["expected_text_bytes"] if expect else "-", seen["cjson_bad_events"],
                      seen["jsmn_bad_events"], seen["status"]))
            if expect:
                raise BenchError(msg)
            notes.append(msg + "; the plain readers take only choices[0].delta.content, "
                         "wisp stops at its first error")
        srv = LocalServer(out_dir)
        try:
            mem = memory_rows(out_dir, srv)
            ten = ten_rows(out_dir, srv)
        finally:
            srv.stop()
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    text = table(seen, per_byte, stream_name, mem, ten, notes)
    with open(os.path.join(out_dir, "table.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

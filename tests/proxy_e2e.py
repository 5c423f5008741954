#!/usr/bin/env python3
"""HTTPS through an HTTP proxy, end to end: build/wisp-chat through Debian's
tinyproxy and through a scripted proxy, against tests/server.py.

What runs, all on 127.0.0.1:
    tests/server.py       the API server (plain and TLS listeners)
    tinyproxy, open       ConnectPort: tls-good and tls-wronghost only
    tinyproxy, with auth  BasicAuth wispuser PASSWORD, ConnectPort tls-good
    a scripted proxy      (in this script) answers CONNECT by the host it
                          names: 407, 403, 502, 503, a garbage line,
                          silence, a status line that quotes the
                          credentials back, or a real tunnel to 127.0.0.1;
                          it records every request head it gets
Their configuration and logs are written under build/proxy-e2e/.

What is checked: https chats through the CONNECT tunnel with and without
credentials (the certificate still verified: a wrong host name through the
proxy is the certificate error), plain http forwarded with the credentials
as a header, the refusals (exit 2, the proxy's status line on stderr), the
credentials never in stdout or stderr (nor in -v's), curl's environment
names and their order, NO_PROXY / --noproxy (the request reaches the
server while the proxy logs nothing), and bad proxy URLs (exit 1).

    python3 tests/proxy_e2e.py              all tests
    python3 tests/proxy_e2e.py -k noproxy   tests whose name matches
    python3 tests/proxy_e2e.py --valgrind   each run under valgrind memcheck
    WISP_CHAT=path/to/wisp-chat python3 tests/proxy_e2e.py

Ends with "N passed, N failed"; exits 1 when anything failed.  Needs
tinyproxy (tests/deps.sh tinyproxy); without it the tinyproxy tests fail.
"""

import argparse
import base64
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.environ.get("WISP_CHAT") or os.path.join(ROOT, "build", "wisp-chat")
OUT_DIR = os.path.join(ROOT, "build", "proxy-e2e")

EXIT_OK, EXIT_USAGE, EXIT_NET, EXIT_SERVER = 0, 1, 2, 3
VALGRIND_EXIT = 99
PROMPT = "hello through the proxy"
ECHO = "echo: " + PROMPT

# tinyproxy's BasicAuth takes letters, digits, '.', '_' and '-' only.
TP_USER, TP_PASSWORD = "wispuser", "s3cr3t-pass.v2"
# For the scripted proxy: every character that needs percent-encoding.
SP_USER, SP_PASSWORD = "scripted-user", "p@ss:w/rd %x"
SP_URL_CREDS = "scripted-user:p%40ss%3Aw%2Frd%20%25x"


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# --------------------------------------------------------------------------
# The scripted proxy.

REFUSALS = {
    "refuse-407.test": b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                       b"Proxy-Authenticate: Basic realm=\"scripted\"\r\n"
                       b"Content-Type: text/html\r\nContent-Length: 23\r\n\r\n"
                       b"<h1>who are you?</h1>\r\n",
    "refuse-403.test": b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    "refuse-502.test": b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n",
    "refuse-503.test": b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n",
    "garbage.test": b"garbage\r\n",
}


class ScriptedProxy:
    """Answers each request head by the host it names (see the module
    docstring); records every head as {"line", "headers"}."""

    def __init__(self, tunnel_ports):
        self.tunnel_ports = set(tunnel_ports)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.seen = []
        self.connections = 0
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def count(self):
        with self.lock:
            return self.connections

    def last(self):
        with self.lock:
            return self.seen[-1] if self.seen else None

    def accept_loop(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def read_head(self, conn):
        data = b""
        conn.settimeout(10)
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk or len(data) > 65536:
                return None, b""
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        return head.decode("latin-1"), rest

    def serve(self, conn):
        try:
            head, rest = self.read_head(conn)
            if head is None:
                return
            lines = head.split("\r\n")
            headers = {}
            for l in lines[1:]:
                name, _, value = l.partition(":")
                headers[name.strip().lower()] = value.strip()
            with self.lock:
                self.seen.append({"line": lines[0], "headers": headers})
            parts = lines[0].split(" ")
            if len(parts) != 3:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                return
            method, target = parts[0], parts[1]
            if method == "CONNECT":
                self.connect(conn, target, headers)
            else:
                self.forward(conn, target, headers, rest)
        except OSError:
            pass
        finally:
            conn.close()

    def connect(self, conn, target, headers):
        host, _, port = target.rpartition(":")
        if host in REFUSALS:
            conn.sendall(REFUSALS[host])
        elif host == "silent.test":
            conn.settimeout(30)
            while conn.recv(4096):   # until the client gives up
                pass
        elif host == "echo.test":
            # A proxy that quotes what it got: the CLI must mask it.
            auth = headers.get("proxy-authorization", "none")
            decoded = ""
            if auth.startswith("Basic "):
                decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            conn.sendall(("HTTP/1.1 407 you sent %s that is %s\r\n\r\n" %
                          (auth, decoded)).encode("utf-8"))
        elif host in ("127.0.0.1", "localhost") and port.isdigit() and \
                int(port) in self.tunnel_ports:
            upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            relay(conn, upstream)
        else:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    def forward(self, conn, target, headers, rest):
        m = re.match(r"http://([^/:]+)(:\d+)?/", target)
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        if m and m.group(1) == "refuse-407.test":
            conn.sendall(REFUSALS["refuse-407.test"])
        else:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


def relay(a, b):
    a.settimeout(None)
    b.settimeout(None)
    socks = [a, b]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        pass
    finally:
        b.close()


# --------------------------------------------------------------------------
# tinyproxy.

class Tinyproxy:
    """One tinyproxy in the foreground (-d), its config and log under
    build/proxy-e2e/."""

    def __init__(self, name, connect_ports, auth=None):
        self.name = name
        self.conf = os.path.join(OUT_DIR, "tinyproxy-%s.conf" % name)
        self.log = os.path.join(OUT_DIR, "tinyproxy-%s.log" % name)
        self.proc = None
        for _ in range(3):  # a free port may be taken before tinyproxy binds it
            self.port = free_port()
            lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 30",
                     "LogLevel Connect", "MaxClients 16", "Allow 127.0.0.1"]
            # The default allows CONNECT to 443 and 563 only.
            lines += ["ConnectPort %d" % p for p in connect_ports]
            if auth:
                lines.append("BasicAuth %s %s" % auth)
            with open(self.conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", self.conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=open(self.log, "w"),
                                         stderr=subprocess.STDOUT)
            if wait_listening(self.port, self.proc):
                return
            self.stop()
        raise RuntimeError("tinyproxy (%s) did not start: %s" % (name, self.read_log()[-400:]))

    def read_log(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def requests(self):
        """The request lines tinyproxy logged so far."""
        return re.findall(r"Request \(file descriptor \d+\): (.*)", self.read_log())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------
# Harness.

class Harness:
    def __init__(self, opts):
        self.opts = opts
        self.server = None
        self.ports = {}
        self.tag_n = 0
        self.tp_open = self.tp_auth = None
        self.scripted = None

    def start(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        port_file = os.path.join(OUT_DIR, "ports.json")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.server = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--port-file", port_file,
             "--tls-dir", os.path.join(OUT_DIR, "tls"), "--max-seconds", "1200"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(OUT_DIR, "server.log"), "w"))
        end = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.server.poll() is not None or time.monotonic() > end:
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        time.sleep(0.05)
        with open(port_file) as f:
            self.ports = json.load(f)
        self.scripted = ScriptedProxy([self.ports["tls-good"], self.ports["plain"]])
        if shutil.which("tinyproxy") is None:
            return "tinyproxy is not installed (sh tests/deps.sh tinyproxy)"
        self.tp_open = Tinyproxy("open", [self.ports["tls-good"], self.ports["tls-wronghost"]])
        self.tp_auth = Tinyproxy("auth", [self.ports["tls-good"]], (TP_USER, TP_PASSWORD))
        return None

    def stop(self):
        for tp in (self.tp_open, self.tp_auth):
            if tp is not None:
                tp.stop()
        if self.scripted is not None:
            self.scripted.stop = True
            self.scripted.sock.close()
        if self.server is not None:
            try:
                self.server.stdin.close()
                self.server.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.server.kill()
                self.server.wait()

    def key(self, scenario="ok"):
        self.tag_n += 1
        return "%s.px%d" % (scenario, self.tag_n)

    def https_url(self, key, host="127.0.0.1", listener="tls-good"):
        return "https://%s:%d/s/%s/v1" % (host, self.ports[listener], key)

    def http_url(self, key, host="127.0.0.1"):
        return "http://%s:%d/s/%s/v1" % (host, self.ports["plain"], key)

    def ca(self):
        return os.path.join(self.ports["tls_dir"], "ca.pem")

    def tp(self, which):
        tp = self.tp_open if which == "open" else self.tp_auth
        if tp is None:
            raise Fail("tinyproxy is not running (not installed?)")
        return tp

    def proxy_url(self, port, creds=None):
        return "http://%s127.0.0.1:%d" % (creds + "@" if creds else "", port)

    def server_get(self, path):
        url = "http://127.0.0.1:%d%s" % (self.ports["plain"], path)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)

    def requests_at_server(self, key):
        return self.server_get("/stats?key=" + key)["requests"]

    def run(self, args, env=None, timeout=30):
        """wisp-chat with none of the caller's proxy, WISP_ or OPENAI_
        variables: only env's."""
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("WISP_", "OPENAI_")) and "proxy" not in k.lower()}
        full.update(env or {})
        cmd = [CLI] + list(args)
        if self.opts.valgrind:
            cmd = ["valgrind", "-q", "--error-exitcode=%d" % VALGRIND_EXIT,
                   "--leak-check=full", "--errors-for-leak-kinds=definite"] + cmd
            timeout *= 6
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail("wisp-chat still running after %d s" % timeout)
        if self.opts.valgrind and p.returncode == VALGRIND_EXIT:
            raise Fail("valgrind found errors: " + p.stderr.decode("utf-8", "replace")[-600:])
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


class Result:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs


SECRETS = [TP_PASSWORD, SP_PASSWORD, "p@ss", "p%40ss", SP_URL_CREDS,
           base64.b64encode(("%s:%s" % (TP_USER, TP_PASSWORD)).encode()).decode(),
           base64.b64encode(("%s:%s" % (SP_USER, SP_PASSWORD)).encode()).decode(),
           base64.b64encode(b"wispuser:wrong-pass").decode(), "wrong-pass", TP_USER, SP_USER]


def expect(res, rc, text=None, err=None):
    """rc: the exit code; text: stdout is text + newline (empty on a
    failure); err: a regex stderr must match.  Never a credential."""
    if res.rc != rc:
        raise Fail("exit %d, want %d; stderr: %s" % (res.rc, rc, res.err.strip()[-400:]))
    if text is not None and res.out != text + "\n":
        raise Fail("stdout %r, want %r" % (res.out[:200], text + "\n"))
    if rc != EXIT_OK and res.out:
        raise Fail("stdout not empty on failure: %r" % res.out[:200])
    if err is not None and not re.search(err, res.err):
        raise Fail("stderr does not match /%s/: %s" % (err, res.err.strip()[-400:]))
    for s in SECRETS:
        if s in res.out or s in res.err:
            raise Fail("a credential (%s...) was printed: %s" % (s[:3], res.err.strip()[-300:]))


def went_direct(h, key, before, proxy_count):
    """The request reached the server, and the proxy saw nothing."""
    check(len(h.requests_at_server(key)) == 1, "the server did not get the request")
    check(proxy_count() == before, "the proxy saw a connection: NO_PROXY was not honoured")


# --------------------------------------------------------------------------
# Tests.

TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


def https_through(h, tp, env_name, creds=None, extra=()):
    key = h.key()
    n = len(tp.requests())
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(key)] + list(extra) + [PROMPT],
                env={env_name: h.proxy_url(tp.port, creds)})
    expect(res, EXIT_OK, ECHO)
    reqs = tp.requests()[n:]
    check(reqs == ["CONNECT 127.0.0.1:%d HTTP/1.1" % h.ports["tls-good"]],
          "tinyproxy logged %r, want one CONNECT" % reqs)
    got = h.requests_at_server(key)
    check(len(got) == 1 and got[0]["listener"] == "tls-good" and got[0]["tls_version"],
          "the server's view: %r" % got)
    return res


@test("tinyproxy/https_proxy")
def t_tp_https(h):
    https_through(h, h.tp("open"), "https_proxy")


@test("tinyproxy/HTTPS_PROXY")
def t_tp_https_upper(h):
    https_through(h, h.tp("open"), "HTTPS_PROXY")


@test("tinyproxy/ALL_PROXY")
def t_tp_all(h):
    https_through(h, h.tp("open"), "ALL_PROXY")
    https_through(h, h.tp("open"), "all_proxy")


@test("tinyproxy/--proxy-wins-over-env")
def t_tp_option(h):
    tp = h.tp("open")
    key = h.key()
    n = len(tp.requests())
    res = h.run(["--proxy", h.proxy_url(tp.port), "--cacert", h.ca(), "-u", h.https_url(key),
                 PROMPT], env={"https_proxy": "http://127.0.0.1:1"})
    expect(res, EXIT_OK, ECHO)
    check(len(tp.requests()) == n + 1, "tinyproxy saw no CONNECT")


@test("tinyproxy/https-with-credentials")
def t_tp_auth(h):
    res = https_through(h, h.tp("auth"), "https_proxy", "%s:%s" % (TP_USER, TP_PASSWORD),
                        extra=["-v"])
    check(re.search(r"proxy: 127\.0\.0\.1:%d \(from \$https_proxy\), CONNECT tunnel, "
                    r"credentials: set" % h.tp("auth").port, res.err),
          "-v does not name the proxy: %s" % res.err)


@test("tinyproxy/https-no-credentials-407")
def t_tp_auth_none(h):
    tp = h.tp("auth")
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(h.key()), PROMPT],
                env={"https_proxy": h.proxy_url(tp.port)})
    expect(res, EXIT_NET, err=r"the HTTP proxy 127\.0\.0\.1:%d refused the tunnel: "
                              r"HTTP/1\.0 407 Proxy Authentication Required \(it wants a user "
                              r"and password" % tp.port)


@test("tinyproxy/https-wrong-password-401")
def t_tp_auth_wrong(h):
    # tinyproxy 1.11 answers a wrong password with 401, not 407.
    tp = h.tp("auth")
    res = h.run(["-v", "--cacert", h.ca(), "-u", h.https_url(h.key()), PROMPT],
                env={"https_proxy": h.proxy_url(tp.port, "wispuser:wrong-pass")})
    expect(res, EXIT_NET, err=r"refused the tunnel: HTTP/1\.0 401 Unauthorized \(it did not "
                              r"accept the user and password")


@test("tinyproxy/certificate-still-verified")
def t_tp_wronghost(h):
    tp = h.tp("open")
    n = len(tp.requests())
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(h.key(), listener="tls-wronghost"), PROMPT],
                env={"https_proxy": h.proxy_url(tp.port)})
    expect(res, EXIT_NET, err=r"certificate not trusted.*does not hold the IP address 127\.0\.0\.1")
    check(len(tp.requests()) == n + 1, "the failure was not through the proxy")


@test("tinyproxy/connect-port-refused-403")
def t_tp_connectport(h):
    # tinyproxy allows CONNECT only to its ConnectPort list.
    tp = h.tp("open")
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(h.key(), listener="tls-expired"), PROMPT],
                env={"https_proxy": h.proxy_url(tp.port)})
    expect(res, EXIT_NET, err=r"refused the tunnel: HTTP/1\.[01] 403 Access violation")


@test("tinyproxy/list-models")
def t_tp_models(h):
    tp = h.tp("open")
    n = len(tp.requests())
    res = h.run(["--list-models", "--cacert", h.ca(), "-u", h.https_url(h.key("models"))],
                env={"https_proxy": h.proxy_url(tp.port)})
    check(res.rc == EXIT_OK and res.out.strip(), "exit %d: %s" % (res.rc, res.err[-300:]))
    check(len(tp.requests()) == n + 1, "the list did not go through the proxy")


def http_forwarded(h, tp, creds=None):
    key = h.key()
    n = len(tp.requests())
    res = h.run(["-u", h.http_url(key), PROMPT], env={"http_proxy": h.proxy_url(tp.port, creds)})
    expect(res, EXIT_OK, ECHO)
    reqs = tp.requests()[n:]
    want = "POST http://127.0.0.1:%d/s/%s/v1/chat/completions HTTP/1.1" % (h.ports["plain"], key)
    check(reqs == [want], "tinyproxy logged %r, want %r" % (reqs, want))
    got = h.server_get("/requests?key=" + key)["requests"]
    check(len(got) == 1, "the server got %d requests" % len(got))
    names = {n_.lower(): v for n_, v in got[0]["headers"]}
    check("tinyproxy" in names.get("via", ""), "no Via from tinyproxy: %r" % names)
    check("proxy-authorization" not in names, "the credentials reached the server")


@test("tinyproxy/http-forwarded")
def t_tp_http(h):
    http_forwarded(h, h.tp("open"))


@test("tinyproxy/http-forwarded-with-credentials")
def t_tp_http_auth(h):
    http_forwarded(h, h.tp("auth"), "%s:%s" % (TP_USER, TP_PASSWORD))


@test("tinyproxy/http-forwarded-407")
def t_tp_http_407(h):
    tp = h.tp("auth")
    res = h.run(["-u", h.http_url(h.key()), PROMPT], env={"http_proxy": h.proxy_url(tp.port)})
    expect(res, EXIT_NET, err=r"the HTTP proxy 127\.0\.0\.1:%d refused the request: HTTP 407"
                              % tp.port)


def direct(args, env_for):
    """The request goes straight to the server: env_for(h) names the
    scripted proxy in variables that must not apply."""
    def fn(h):
        sp = h.scripted
        key, before = h.key(), sp.count()
        res = h.run(args(h, key) + [PROMPT], env=env_for(h))
        expect(res, EXIT_OK, ECHO)
        went_direct(h, key, before, sp.count)
    return fn


def _https(h, key):
    return ["--cacert", h.ca(), "-u", h.https_url(key)]


def _scripted(*names):
    return lambda h: {n: h.proxy_url(h.scripted.port) for n in names}


TESTS += [
    # curl reads http_proxy in lower case only, and https_proxy only for https.
    ("env/HTTP_PROXY-upper-case-ignored",
     direct(lambda h, key: ["-u", h.http_url(key)], _scripted("HTTP_PROXY", "https_proxy"))),
    ("env/http_proxy-not-for-https", direct(_https, _scripted("http_proxy"))),
    ("env/--proxy-empty-means-none",
     direct(lambda h, key: ["--proxy", ""] + _https(h, key), _scripted("https_proxy"))),
    # A host on the list goes direct even when the proxy URL is bad.
    ("env/bypassed-bad-proxy-url-unused",
     direct(_https, lambda h: {"https_proxy": "socks5://x:1", "NO_PROXY": "127.0.0.1"})),
]


# ---- the scripted proxy --------------------------------------------------------------


def scripted_refusal(host, status_line, creds=True, extra=()):
    def fn(h):
        sp = h.scripted
        before = sp.count()
        res = h.run(["-v", "--cacert", h.ca(), "-u", "https://%s/v1" % host] + list(extra) +
                    [PROMPT],
                    env={"https_proxy": h.proxy_url(sp.port, SP_URL_CREDS if creds else None)})
        expect(res, EXIT_NET, err=r"the HTTP proxy 127\.0\.0\.1:%d refused the tunnel: %s"
                                  % (sp.port, re.escape(status_line)))
        # A refusal is final: no retry.
        check(sp.count() == before + 1, "%d connections to the proxy, want 1"
              % (sp.count() - before))
        seen = sp.last()
        check(seen["line"] == "CONNECT %s:443 HTTP/1.1" % host, "request line %r" % seen["line"])
        check(seen["headers"].get("host") == "%s:443" % host, "Host %r" % seen["headers"])
        if creds:
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (SP_USER, SP_PASSWORD)).encode()).decode()
            check(seen["headers"].get("proxy-authorization") == want,
                  "Proxy-Authorization %r, want %r" % (seen["headers"].get(
                      "proxy-authorization"), want))
        else:
            check("proxy-authorization" not in seen["headers"], "credentials sent")
    return fn


TESTS.append(("scripted/407", scripted_refusal(
    "refuse-407.test", "HTTP/1.1 407 Proxy Authentication Required (it did not accept")))
TESTS.append(("scripted/407-no-credentials", scripted_refusal(
    "refuse-407.test", "HTTP/1.1 407 Proxy Authentication Required (it wants", creds=False)))
TESTS.append(("scripted/403", scripted_refusal("refuse-403.test", "HTTP/1.1 403 Forbidden")))
TESTS.append(("scripted/502", scripted_refusal("refuse-502.test", "HTTP/1.1 502 Bad Gateway")))
TESTS.append(("scripted/503", scripted_refusal("refuse-503.test",
                                               "HTTP/1.1 503 Service Unavailable")))


@test("scripted/garbage")
def t_garbage(h):
    sp = h.scripted
    res = h.run(["--cacert", h.ca(), "-u", "https://garbage.test/v1", PROMPT],
                env={"https_proxy": h.proxy_url(sp.port, SP_URL_CREDS)})
    expect(res, EXIT_NET, err=r"the HTTP proxy 127\.0\.0\.1:%d did not open the tunnel: not an "
                              r"HTTP answer from the proxy: garbage" % sp.port)


@test("scripted/silent-times-out")
def t_silent(h):
    sp = h.scripted
    before = sp.count()
    res = h.run(["--timeout-ms", "800", "--cacert", h.ca(), "-u", "https://silent.test/v1",
                 PROMPT], env={"https_proxy": h.proxy_url(sp.port)})
    expect(res, EXIT_NET, err=r"timed out; proxy 127\.0\.0\.1:%d: no answer from the proxy to "
                              r"CONNECT within the timeout" % sp.port)
    # A timed-out connect is retried (twice by default), each within 0.8 s.
    check(sp.count() - before == 3, "%d connections, want 3" % (sp.count() - before))
    if not h.opts.valgrind:
        check(res.secs < 8, "took %.1f s" % res.secs)


@test("scripted/credentials-quoted-back-are-masked")
def t_echo(h):
    sp = h.scripted
    res = h.run(["-v", "--cacert", h.ca(), "-u", "https://echo.test/v1", PROMPT],
                env={"https_proxy": h.proxy_url(sp.port, SP_URL_CREDS)})
    expect(res, EXIT_NET, err=r"refused the tunnel: HTTP/1\.1 407 you sent Basic "
                              r"\[proxy credentials\] that is \[proxy user\]:\[proxy password\]")


@test("scripted/tunnel-percent-decoded-credentials")
def t_scripted_tunnel(h):
    sp = h.scripted
    key = h.key()
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(key, host="localhost"), PROMPT],
                env={"https_proxy": h.proxy_url(sp.port, SP_URL_CREDS)})
    expect(res, EXIT_OK, ECHO)
    seen = sp.last()
    port = h.ports["tls-good"]
    check(seen["line"] == "CONNECT localhost:%d HTTP/1.1" % port, "line %r" % seen["line"])
    check(seen["headers"].get("host") == "localhost:%d" % port, "Host %r" % seen["headers"])
    want = "Basic " + base64.b64encode(("%s:%s" % (SP_USER, SP_PASSWORD)).encode()).decode()
    check(seen["headers"].get("proxy-authorization") == want, "Proxy-Authorization %r" %
          seen["headers"].get("proxy-authorization"))


@test("scripted/ipv6-authority-in-brackets")
def t_ipv6(h):
    sp = h.scripted
    res = h.run(["--cacert", h.ca(), "-u", "https://[2001:db8::1]:8443/v1", PROMPT],
                env={"https_proxy": h.proxy_url(sp.port)})
    expect(res, EXIT_NET, err=r"HTTP/1\.1 502 Bad Gateway")
    seen = sp.last()
    check(seen["line"] == "CONNECT [2001:db8::1]:8443 HTTP/1.1", "line %r" % seen["line"])
    check(seen["headers"].get("host") == "[2001:db8::1]:8443", "Host %r" % seen["headers"])


@test("scripted/http-forwarded-407")
def t_forward_407(h):
    sp = h.scripted
    res = h.run(["-u", "http://refuse-407.test/v1", PROMPT],
                env={"http_proxy": h.proxy_url(sp.port, SP_URL_CREDS)})
    expect(res, EXIT_NET, err=r"refused the request: HTTP 407 \(it did not accept")
    seen = sp.last()
    check(seen["line"] == "POST http://refuse-407.test/v1/chat/completions HTTP/1.1",
          "line %r" % seen["line"])
    want = "Basic " + base64.b64encode(("%s:%s" % (SP_USER, SP_PASSWORD)).encode()).decode()
    check(seen["headers"].get("proxy-authorization") == want, "no Proxy-Authorization header")


@test("proxy-port-closed")
def t_closed_port(h):
    port = free_port()  # nothing listens there
    res = h.run(["--cacert", h.ca(), "-u", h.https_url(h.key()), PROMPT],
                env={"https_proxy": h.proxy_url(port, SP_URL_CREDS)})
    expect(res, EXIT_NET, err=r"could not connect to the server; proxy 127\.0\.0\.1:%d: connecting to the "
                              r"proxy failed" % port)


# ---- NO_PROXY and --noproxy ------------------------------------------------------------------


def bypass(env_extra, args=(), host="127.0.0.1", verbose_from=None):
    def fn(h):
        sp = h.scripted
        key, before = h.key(), sp.count()
        env = {"https_proxy": h.proxy_url(sp.port, SP_URL_CREDS)}
        env.update(env_extra)
        res = h.run(["-v", "--cacert", h.ca(), "-u", h.https_url(key, host=host)] + list(args) +
                    [PROMPT], env=env)
        expect(res, EXIT_OK, ECHO)
        went_direct(h, key, before, sp.count)
        if verbose_from:
            check("proxy: not used, the host matches %s" % verbose_from in res.err,
                  "-v does not say NO_PROXY matched: %s" % res.err)
    return fn


def through(env_extra, args=(), host="127.0.0.1", note=None):
    def fn(h):
        sp = h.scripted
        key, before = h.key(), sp.count()
        env = {"https_proxy": h.proxy_url(sp.port)}
        env.update(env_extra)
        res = h.run(["-v", "--cacert", h.ca(), "-u", h.https_url(key, host=host)] + list(args) +
                    [PROMPT], env=env)
        expect(res, EXIT_OK, ECHO)
        check(sp.count() == before + 1, "the proxy was not used")
        check(len(h.requests_at_server(key)) == 1, "the server did not get the request")
        if note:
            check(note in res.err, "stderr lacks %r: %s" % (note, res.err))
    return fn


TESTS += [
    ("noproxy/NO_PROXY-ip", bypass({"NO_PROXY": "example.com,127.0.0.1"},
                                   verbose_from="$NO_PROXY")),
    ("noproxy/no_proxy-lower-wins", bypass({"no_proxy": "127.0.0.1", "NO_PROXY": "other.test"},
                                           verbose_from="$no_proxy")),
    ("noproxy/star", bypass({"NO_PROXY": "*"})),
    ("noproxy/domain-suffix", bypass({"NO_PROXY": "example.com, localhost"}, host="localhost")),
    ("noproxy/leading-dot-case", bypass({"NO_PROXY": ".LOCALHOST."}, host="localhost")),
    ("noproxy/--noproxy", bypass({}, ["--noproxy", "127.0.0.1"], verbose_from="--noproxy")),
    ("noproxy/--noproxy-over-env", bypass({"NO_PROXY": "other.test"},
                                          ["--noproxy", "other.test,127.0.0.1"])),
    ("noproxy/--noproxy-empty-proxies-all", through({"NO_PROXY": "*"}, ["--noproxy", ""])),
    ("noproxy/suffix-needs-a-dot", through({"NO_PROXY": "calhost,ocalhost"}, host="localhost")),
    ("noproxy/ip-no-suffix", through({"NO_PROXY": "0.0.1,.0.0.1"})),
    ("noproxy/no-cidr", through({"NO_PROXY": "127.0.0.0/8"},
                                note="no-proxy entries with '/' (CIDR) are not supported")),
]


# ---- bad proxy URLs -------------------------------------------------------------------------


def bad_url(value, err):
    def fn(h):
        res = h.run(["-u", h.https_url(h.key()), PROMPT], env={"https_proxy": value})
        expect(res, EXIT_USAGE, err=err)
        check("p@ss" not in res.err and "zzsecret" not in res.err, "the URL was echoed")
    return fn


TESTS += [
    ("bad-url/socks5", bad_url("socks5://u:zzsecret@127.0.0.1:1080",
                               r"https_proxy: only http:// proxies are supported, not socks5://")),
    ("bad-url/https-proxy", bad_url("https://u:zzsecret@127.0.0.1:3128",
                                    r"only http:// proxies are supported, not https://")),
    ("bad-url/port", bad_url("http://u:zzsecret@127.0.0.1:65536", r"bad host or port")),
    ("bad-url/path", bad_url("http://u:zzsecret@127.0.0.1:3128/x", r"has no path")),
    ("bad-url/percent", bad_url("http://u:zzsecret%zz@127.0.0.1:3128", r"bad or over-long password")),
    ("bad-url/colon-in-user", bad_url("http://u%3Av:zzsecret@127.0.0.1:3128",
                                      r"the user name may not hold ':'")),
    ("bad-url/control", bad_url("http://u:zzsecret%0d%0a@127.0.0.1:3128", r"control character")),
]


@test("bad-url/--proxy")
def t_bad_option(h):
    res = h.run(["--proxy", "ftp://u:zzsecret@h", "-u", h.https_url(h.key()), PROMPT])
    expect(res, EXIT_USAGE, err=r"--proxy: only http:// proxies are supported, not ftp://")


@test("help-names-the-options")
def t_help(h):
    res = h.run(["--help"])
    check(res.rc == 0 and "--proxy URL" in res.out and "--noproxy LIST" in res.out,
          "--help lacks --proxy or --noproxy")


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="run tests whose name matches (regex; repeatable)")
    ap.add_argument("--valgrind", action="store_true", help="wisp-chat under valgrind memcheck")
    ap.add_argument("--list", action="store_true", help="list the tests")
    opts = ap.parse_args()
    selected = [t for t in TESTS if not opts.k or any(re.search(p, t[0]) for p in opts.k)]
    if opts.list:
        for name, _ in selected:
            print(name)
        return 0
    if not os.access(CLI, os.X_OK):
        print("FAIL setup: %s not found (make all, or set WISP_CHAT)" % CLI)
        print("0 passed, 1 failed")
        return 1
    h = Harness(opts)
    passed = failed = 0
    t0 = time.monotonic()
    try:
        try:
            missing = h.start()
        except (RuntimeError, OSError) as e:
            print("FAIL setup: %s" % e)
            print("0 passed, 1 failed")
            return 1
        if missing:
            print("note: %s" % missing)
        for name, fn in selected:
            try:
                fn(h)
                passed += 1
                print("ok %s" % name, flush=True)
            except Fail as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
            except Exception as e:  # a broken test is a failed one
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    finally:
        h.stop()
    print("proxy-e2e: %.1f s, %d tests%s" % (time.monotonic() - t0, len(selected),
                                            " under valgrind" if opts.valgrind else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

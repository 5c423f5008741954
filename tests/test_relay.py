#!/usr/bin/env python3
"""Self-test of tests/uart_relay.py without QEMU: a fake device on a
socketpair speaks the framing to the relay, which talks to servers on
127.0.0.1.  Ends with "N passed, N failed"."""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uart_relay  # noqa: E402


class Device:
    def __init__(self, maps=None):
        self.sock, relay_end = socket.socketpair()
        self.sock.settimeout(5)
        self.attempts = []
        self.relay = uart_relay.Relay(relay_end, maps=maps,
                                      connect_hook=lambda h, p: self.attempts.append((h, p)))
        self.thread = threading.Thread(target=self.relay.run, daemon=True)
        self.thread.start()

    def send(self, ftype, payload=b""):
        self.sock.sendall(uart_relay.frame(ftype, payload))

    def connect(self, host, port, timeout_ms=2000):
        self.send("C", uart_relay.connect_payload(host, port, timeout_ms))

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def frame(self):
        magic, ftype, n = struct.unpack(">BBH", self._exact(4))
        assert magic == 0x7E, magic
        return chr(ftype), self._exact(n)

    def data_until(self, want_end):
        got = b""
        while True:
            t, p = self.frame()
            if t == "D":
                got += p
            else:
                assert t == want_end, (t, got)
                return got


def server(behaviour):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            behaviour(c)
    threading.Thread(target=serve, daemon=True).start()
    return ls, ls.getsockname()[1]


def echo_then_fin(c):
    data = c.recv(100)
    c.sendall(b"echo:" + data + b"x" * 3000)
    c.shutdown(socket.SHUT_WR)
    c.close()


def reset(c):
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def test_data_both_ways_then_end():
    _, port = server(echo_then_fin)
    d = Device()
    d.connect("127.0.0.1", port)
    assert d.frame() == ("O", b"")
    d.send("D", b"hi")
    assert d.data_until("E") == b"echo:hi" + b"x" * 3000


def test_reset_reaches_device():
    _, port = server(reset)
    d = Device()
    d.connect("127.0.0.1", port)
    assert d.frame() == ("O", b"")
    d.send("D", b"hi")
    assert d.data_until("R") == b""


def test_name_not_allowed_makes_no_connection():
    d = Device()
    d.connect("api.example.com", 443)
    t, p = d.frame()
    assert t == "F" and p[0] == 1, (t, p)
    assert d.attempts == [], d.attempts


def test_refused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))  # bound, never listening: connects are refused
    port = s.getsockname()[1]
    d = Device()
    d.connect("127.0.0.1", port)
    t, p = d.frame()
    s.close()
    assert t == "F" and p[0] == 2, (t, p)


def test_map_and_reconnect_after_close():
    _, port = server(echo_then_fin)
    d = Device(maps={"model.test": ("127.0.0.1", port)})
    for word in (b"one", b"two"):
        d.connect("model.test", 443)
        assert d.frame() == ("O", b"")
        d.send("D", word)
        assert d.data_until("E").startswith(b"echo:" + word)
        d.send("X")
    assert all(h in ("127.0.0.1", "::1") for h, _ in d.attempts), d.attempts


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    passed = failed = 0
    for t in tests:
        try:
            t()
        except Exception as e:  # noqa: BLE001 - report any failure
            failed += 1
            print("FAIL relay %s: %r" % (t.__name__, e))
        else:
            passed += 1
            print("ok   relay %s" % t.__name__)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Host side of the wisp serial framing (port/serial/wisp_serial.h).

Serves one device byte stream (a socket: QEMU's serial chardev, or one end of
a socketpair in tests/test_relay.py) and, for each 'C' frame, opens a TCP
connection upstream.  Frames on the line, both directions:

    0x7E TYPE LEN_HI LEN_LO PAYLOAD[LEN]      LEN <= 1024

Host policy: it never connects anywhere but 127.0.0.1 or ::1.
  --map NAME=HOST:PORT   a connect for NAME (any port) goes to HOST:PORT
                         (HOST must be 127.0.0.1, ::1 or localhost)
  the literals 127.0.0.1, ::1, localhost go to that host and the frame's port
  anything else          'F' reason 1 (name not allowed); nothing is tried

    python3 tests/uart_relay.py --listen 5555 [--map api.example=127.0.0.1:8080]
    python3 tests/uart_relay.py --connect 127.0.0.1:5555 ...

Used as a module:  Relay(device_sock, maps={...}, verbose=False).run()
The log (stderr, --verbose only) shows frames as type and length, never
payloads.  A broken frame from the device is always reported on stderr and
closes the device link.
"""

import argparse
import socket
import struct
import sys
import threading

MAGIC = 0x7E
MAX_PAYLOAD = 1024
HEADER = 4
DEVICE_TYPES = b"CDX"

FAIL_NAME, FAIL_REFUSED, FAIL_TIMEOUT = 1, 2, 3

LOOPBACK = {"127.0.0.1": ("127.0.0.1",), "::1": ("::1",),
            "localhost": ("127.0.0.1", "::1")}


class BrokenFrame(Exception):
    pass


def frame(ftype, payload=b""):
    """One frame: ftype is a one-character str or an int."""
    if isinstance(ftype, str):
        ftype = ord(ftype)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload over %d bytes" % MAX_PAYLOAD)
    return bytes((MAGIC, ftype)) + struct.pack(">H", len(payload)) + payload


def connect_payload(host, port, timeout_ms):
    """The payload of a 'C' frame."""
    if isinstance(host, str):
        host = host.encode()
    return struct.pack(">IH", timeout_ms, port) + host


def parse_target(text):
    """'HOST:PORT' or '[::1]:PORT' -> (host, port); host must be loopback."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError("bad target %r" % text)
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError("bad target %r (want HOST:PORT)" % text)
    if host not in LOOPBACK:
        raise ValueError("target %r is not loopback (127.0.0.1, ::1, "
                         "localhost)" % host)
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError("bad port in %r" % text)
    return host, port


def parse_map(text):
    """'NAME=HOST:PORT' -> (name, (host, port))."""
    name, sep, target = text.partition("=")
    if not sep or not name:
        raise ValueError("bad --map %r (want NAME=HOST:PORT)" % text)
    return name, parse_target(target)


class _Upstream:
    """One server connection and the thread that reads it."""

    def __init__(self, sock):
        self.sock = sock
        self.closed = False  # closed by the relay: its reader stays quiet
        self.thread = None


class Relay:
    def __init__(self, device, maps=None, verbose=False, log=None,
                 connect_hook=None):
        """device: a connected socket.  maps: {name: (host, port)}.
        connect_hook(host, port), if given, is called before every upstream
        connect attempt (tests use it to see that none is made)."""
        self.device = device
        self.maps = dict(maps or {})
        for name, target in self.maps.items():
            if target[0] not in LOOPBACK:
                raise ValueError("map %s -> %s is not loopback" % (name, target))
        self.verbose = verbose
        self.log_file = log or sys.stderr
        self.connect_hook = connect_hook
        self.dev_lock = threading.Lock()  # one writer to the device at a time
        self.up_lock = threading.Lock()   # guards self.up
        self.up = None
        self.device_ok = True
        self.error = None  # text of a broken frame / device failure, if any

    # --- logging -------------------------------------------------------
    def log(self, text):
        if self.verbose:
            print("uart_relay: " + text, file=self.log_file, flush=True)

    def warn(self, text):
        print("uart_relay: " + text, file=self.log_file, flush=True)

    # --- device side ---------------------------------------------------
    def send_device(self, ftype, payload=b""):
        data = frame(ftype, payload)
        with self.dev_lock:
            if not self.device_ok:
                return False
            try:
                self.device.sendall(data)
            except OSError as e:
                self.device_ok = False
                self.warn("device write failed: %s" % e)
                return False
        self.log("-> %s len=%d" % (chr(data[1]), len(payload)))
        return True

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.device.recv(n - len(buf))
            if not chunk:
                return None if not buf else bytes(buf)
            buf += chunk
        return bytes(buf)

    def read_frame(self):
        """(type, payload), or None at a clean end of the device stream."""
        hdr = self._read_exact(HEADER)
        if hdr is None:
            return None
        if hdr[0] != MAGIC:
            raise BrokenFrame("bad magic 0x%02x" % hdr[0])
        if len(hdr) < HEADER:
            raise BrokenFrame("device stream ended inside a frame header")
        ftype = hdr[1]
        length = struct.unpack(">H", hdr[2:4])[0]
        if ftype not in DEVICE_TYPES:
            raise BrokenFrame("unknown frame type 0x%02x" % ftype)
        if length > MAX_PAYLOAD:
            raise BrokenFrame("frame length %d over %d" % (length, MAX_PAYLOAD))
        payload = self._read_exact(length) if length else b""
        if payload is None or len(payload) < length:
            raise BrokenFrame("device stream ended inside a frame payload")
        return chr(ftype), payload

    # --- upstream side -------------------------------------------------
    def _close_upstream(self):
        with self.up_lock:
            up, self.up = self.up, None
        if up is not None:
            up.closed = True
            try:
                up.sock.shutdown(socket.SHUT_RDWR)  # wakes its reader
            except OSError:
                pass
            up.sock.close()

    def _reader(self, up):
        sock = up.sock
        while True:
            try:
                data = sock.recv(MAX_PAYLOAD)
            except OSError as e:
                if not up.closed:
                    self.log("upstream error: %s" % e)
                    self._drop(up)
                    self.send_device("R")
                return
            if up.closed:
                return
            if not data:
                self.log("upstream FIN")
                self.send_device("E")
                return  # the socket stays open for sending until 'X'/'C'
            if not self.send_device("D", data):
                return

    def _drop(self, up):
        """Forget a failed connection (reset): later 'D' get 'R'."""
        with self.up_lock:
            if self.up is up:
                self.up = None
        up.closed = True
        try:
            up.sock.close()
        except OSError:
            pass

    def resolve(self, host):
        """[(addr, port-or-None)] to try, or None when not allowed."""
        if host in self.maps:
            addr, port = self.maps[host]
            return [(a, port) for a in LOOPBACK[addr]]
        if host in LOOPBACK:
            return [(a, None) for a in LOOPBACK[host]]
        return None

    def do_connect(self, payload):
        self._close_upstream()
        if len(payload) < 7:
            self.send_device("F", bytes((FAIL_NAME,)) + b"bad connect frame")
            return
        timeout_ms, port = struct.unpack(">IH", payload[:6])
        try:
            host = payload[6:].decode("ascii")
        except UnicodeDecodeError:
            host = None
        targets = self.resolve(host) if host else None
        if targets is None:
            self.log("connect to a name not allowed (%d bytes)" % (len(payload) - 6))
            self.send_device("F", bytes((FAIL_NAME,)) + b"name not allowed")
            return
        timeout = max(timeout_ms, 1) / 1000.0
        reason, text = FAIL_REFUSED, "refused"
        for addr, mapped_port in targets:
            p = mapped_port if mapped_port is not None else port
            if self.connect_hook:
                self.connect_hook(addr, p)
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect((addr, p))
            except socket.timeout:
                sock.close()
                reason, text = FAIL_TIMEOUT, "timed out"
                continue
            except ConnectionRefusedError:
                sock.close()
                if reason != FAIL_TIMEOUT:
                    reason, text = FAIL_REFUSED, "refused"
                continue
            except OSError as e:
                sock.close()
                if reason != FAIL_TIMEOUT:
                    reason, text = FAIL_REFUSED, (e.strerror or "unreachable")
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            up = _Upstream(sock)
            with self.up_lock:
                self.up = up
            self.log("connected to %s port %d" % (addr, p))
            # 'O' goes out before the reader can send any 'D'.
            self.send_device("O")
            up.thread = threading.Thread(target=self._reader, args=(up,),
                                         daemon=True)
            up.thread.start()
            return
        self.send_device("F", bytes((reason,)) + text.encode()[:200])

    def do_data(self, payload):
        with self.up_lock:
            up = self.up
        if up is None:
            self.send_device("R")
            return
        try:
            up.sock.sendall(payload)
        except OSError as e:
            self.log("upstream write failed: %s" % e)
            if not up.closed:
                self._drop(up)
                self.send_device("R")

    # --- main loop -----------------------------------------------------
    def run(self):
        """Serve the device until its stream ends or breaks.  Returns True
        on a clean end, False on a broken frame or device error."""
        ok = True
        try:
            while True:
                try:
                    f = self.read_frame()
                except BrokenFrame as e:
                    self.error = str(e)
                    self.warn("broken frame from the device: %s; closing the "
                              "device link" % e)
                    ok = False
                    break
                except OSError as e:
                    self.error = str(e)
                    self.warn("device read failed: %s" % e)
                    ok = False
                    break
                if f is None:
                    self.log("device stream ended")
                    break
                ftype, payload = f
                self.log("<- %s len=%d" % (ftype, len(payload)))
                if ftype == "C":
                    self.do_connect(payload)
                elif ftype == "D":
                    if payload:
                        self.do_data(payload)
                elif ftype == "X":
                    self._close_upstream()
        finally:
            self._close_upstream()
            with self.dev_lock:
                self.device_ok = False
            try:
                self.device.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.device.close()
        return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--listen", metavar="[HOST:]PORT",
                   help="accept one device connection (0 = ephemeral port, "
                        "printed on stderr)")
    g.add_argument("--connect", metavar="HOST:PORT",
                   help="connect to a device socket (e.g. a QEMU chardev "
                        "server)")
    ap.add_argument("--map", action="append", default=[],
                    metavar="NAME=HOST:PORT")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    try:
        maps = dict(parse_map(m) for m in args.map)
    except ValueError as e:
        ap.error(str(e))
    if args.listen is not None:
        host, _, port = args.listen.rpartition(":")
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host or "127.0.0.1", int(port)))
        srv.listen(1)
        print("uart_relay: listening on %s port %d" % srv.getsockname()[:2],
              file=sys.stderr, flush=True)
        dev, _ = srv.accept()
        srv.close()
    else:
        host, _, port = args.connect.rpartition(":")
        dev = socket.create_connection((host.strip("[]"), int(port)))
    dev.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ok = Relay(dev, maps, verbose=args.verbose).run()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

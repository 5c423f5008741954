#!/usr/bin/env python3
"""Run a Cortex-M4 firmware ELF under QEMU (mps2-an386) with the serial relay.

    python3 tests/run_firmware.py --elf ELF [--map NAME=127.0.0.1:PORT ...]
                                  [--timeout SECONDS] [--qemu qemu-system-arm]
                                  [--verbose]

UART0 is copied to stdout and UART1 to stderr (binary, as it arrives); UART2
is served by tests/uart_relay.py (the wisp serial framing).  The firmware
exits through semihosting (SYS_EXIT_EXTENDED), so QEMU's exit status is the
firmware's, and that is this script's exit status.  On timeout QEMU is
killed, "run_firmware: timed out after N s" goes to stderr and the status
is 124.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uart_relay  # noqa: E402

ACCEPT_TIMEOUT = 10.0  # QEMU connects its chardevs while it starts
DRAIN_TIMEOUT = 5.0    # after QEMU exits, for the UART copies to finish


def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def copy_out(conn, out):
    """Copy a UART stream to a binary file until EOF."""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            out.write(data)
            out.flush()
    except OSError:
        pass
    finally:
        conn.close()


def qemu_command(qemu, elf, ports):
    cmd = [qemu, "-machine", "mps2-an386", "-cpu", "cortex-m4",
           "-display", "none", "-monitor", "none", "-parallel", "none", "-nic", "none",
           "-nodefaults"]
    for i, port in enumerate(ports):
        cmd += ["-chardev", "socket,id=u%d,host=127.0.0.1,port=%d,nodelay=on"
                % (i, port), "-serial", "chardev:u%d" % i]
    cmd += ["-semihosting-config", "enable=on,target=native", "-kernel", elf]
    return cmd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--elf", required=True)
    ap.add_argument("--map", action="append", default=[],
                    metavar="NAME=HOST:PORT")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="relay frame log (type and length) on stderr")
    args = ap.parse_args(argv)
    try:
        maps = dict(uart_relay.parse_map(m) for m in args.map)
    except ValueError as e:
        ap.error(str(e))
    if not os.path.isfile(args.elf):
        ap.error("no such file: %s" % args.elf)

    listeners = [listener() for _ in range(3)]
    ports = [s.getsockname()[1] for s in listeners]
    cmd = qemu_command(args.qemu, args.elf, ports)
    if args.verbose:
        print("run_firmware: " + " ".join(cmd), file=sys.stderr, flush=True)

    conns = [None, None, None]

    def accept_all():
        for i, s in enumerate(listeners):
            s.settimeout(ACCEPT_TIMEOUT)
            try:
                conns[i], _ = s.accept()
            except OSError:
                return
            finally:
                s.close()
            conns[i].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    acceptor = threading.Thread(target=accept_all, daemon=True)
    acceptor.start()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError as e:
        print("run_firmware: cannot start %s: %s" % (args.qemu, e),
              file=sys.stderr)
        return 127

    # QEMU connects all its client chardevs before the machine runs, so the
    # accepts finish quickly (or QEMU has failed to start).
    while acceptor.is_alive() and proc.poll() is None:
        acceptor.join(0.05)
    threads = []
    if conns[0] is not None:
        threads.append(threading.Thread(
            target=copy_out, args=(conns[0], sys.stdout.buffer), daemon=True))
    if conns[1] is not None:
        threads.append(threading.Thread(
            target=copy_out, args=(conns[1], sys.stderr.buffer), daemon=True))
    if conns[2] is not None:
        relay = uart_relay.Relay(conns[2], maps, verbose=args.verbose)
        threads.append(threading.Thread(target=relay.run, daemon=True))
    for t in threads:
        t.start()

    remaining = args.timeout - (time.monotonic() - start)
    try:
        status = proc.wait(timeout=max(remaining, 0.001))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for t in threads:
            t.join(DRAIN_TIMEOUT)
        sys.stdout.flush()
        print("run_firmware: timed out after %g s" % args.timeout,
              file=sys.stderr, flush=True)
        return 124
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        return 130
    # QEMU closed its end of every chardev when it exited: the copies read
    # what is still buffered in the sockets, then EOF.
    for t in threads:
        t.join(DRAIN_TIMEOUT)
    sys.stdout.flush()
    sys.stderr.flush()
    if status < 0:  # killed by a signal
        print("run_firmware: qemu killed by signal %d" % -status,
              file=sys.stderr, flush=True)
        return 128 - status
    return status


if __name__ == "__main__":
    sys.exit(main())

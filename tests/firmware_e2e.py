#!/usr/bin/env python3
"""The Cortex-M4 firmware against the local TLS server, under QEMU.

Starts tests/server.py, then for each case builds the image for that
server's CA and port (make firmware ...) and runs it through the relay
(tests/run_firmware.py), checking the exit status, the reply on UART0 and
the reason on UART1.  Ends with "N passed, N failed".
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE = os.environ.get("MAKE", "make")


def start_server(tmp):
    port_file = os.path.join(tmp, "ports.json")
    srv = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "server.py"),
                            "--port-file", port_file, "--tls-dir", os.path.join(tmp, "tls"),
                            "--max-seconds", "900"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(port_file):
            with open(port_file) as f:
                return srv, json.load(f)
        time.sleep(0.05)
    srv.kill()
    raise SystemExit("firmware_e2e: the test server did not start")


def run_case(name, ports, listener, expect_rc, stdout_has=None, stderr_has=None,
             no_stdout=False, base_path="/v1", mfl="", server_name="localhost"):
    target = "127.0.0.1:%d" % ports[listener]
    args = [MAKE, "-s", "--no-print-directory", "-C", ROOT, "firmware",
            "FW_CA=" + os.path.join(ports["tls_dir"], "ca.pem"),
            "FW_SERVER_NAME=" + server_name, "FW_TARGET=" + target,
            "FW_BASE_PATH=" + base_path, "FW_PROMPT=hello from the firmware test",
            "FW_MFL=" + mfl]
    b = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if b.returncode != 0:
        return False, "build failed:\n" + b.stdout.decode(errors="replace")[-3000:]
    image = "wisp-fw-mfl4k" if mfl == "4k" else "wisp-fw"
    elf = os.path.join(ROOT, "build", "firmware", image, image + ".elf")
    t0 = time.time()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "run_firmware.py"),
                        "--elf", elf, "--map", "%s=%s" % (server_name, target),
                        "--timeout", "120"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    why = []
    if r.returncode != expect_rc:
        why.append("exit %d, wanted %d" % (r.returncode, expect_rc))
    if stdout_has and stdout_has not in out:
        why.append("stdout lacks %r" % stdout_has)
    if no_stdout and out.strip():
        why.append("stdout should be empty")
    if stderr_has and stderr_has not in err:
        why.append("stderr lacks %r" % stderr_has)
    detail = "%.1f s\n  stdout: %s\n  stderr: %s" % (time.time() - t0, out.strip()[:300],
                                                   err.strip().replace("\n", "\n          "))
    return not why, "; ".join(why) + ("\n  " if why else "") + detail


def main():
    with tempfile.TemporaryDirectory(prefix="wisp-fw-") as tmp:
        srv, ports = start_server(tmp)
        if not ports.get("tls_dir"):
            srv.kill()
            raise SystemExit("firmware_e2e: the server has no TLS listeners")
        cases = [
            ("good chain, streamed reply", dict(listener="tls-good", expect_rc=0,
             stdout_has="Hello! This is wisp's test stream", base_path="/s/stream/v1")),
            ("wrong host name", dict(listener="tls-wronghost", expect_rc=2, no_stdout=True,
             stderr_has="host name does not match")),
            ("unknown CA", dict(listener="tls-unknownca", expect_rc=2, no_stdout=True,
             stderr_has="issuer is unknown")),
            ("expired certificate (dates checked)", dict(listener="tls-expired", expect_rc=2,
             no_stdout=True, stderr_has="expired")),
            ("server closes mid-stream", dict(listener="tls-good", expect_rc=2,
             base_path="/s/stream-no-done/v1", stderr_has="stream ended")),
            ("HTTP error status", dict(listener="tls-good", expect_rc=3,
             base_path="/s/401/v1", stderr_has="HTTP 401")),
            ("4 KB input record (max-fragment-length)", dict(listener="tls-good",
             expect_rc=0, mfl="4k", stdout_has="Hello! This is wisp's test stream",
             base_path="/s/stream/v1")),
        ]
        passed = failed = 0
        for name, kw in cases:
            ok, detail = run_case(name, ports, **kw)
            print("%s firmware: %s (%s)" % ("ok  " if ok else "FAIL", name, detail))
            sys.stdout.flush()
            if ok:
                passed += 1
            else:
                failed += 1
        srv.stdin.close()
        srv.wait(timeout=10)
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

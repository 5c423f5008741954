#!/usr/bin/env python3
"""Flash and RAM of the firmware image, split by owner, from the linker map
and the ELF's symbols (the README's firmware tables).

    firmware_size.py IMAGE.map IMAGE.elf [NM]
"""
import re
import subprocess
import sys

FLASH_SECTIONS = (".text", ".ARM.exidx", ".data")
RAM_SECTIONS = (".data", ".bss")
BUFFERS = {  # static objects of examples/cortex-m4/main.c
    "tls_pool": "mbedTLS pool (static, MBEDTLS_MEMORY_BUFFER_ALLOC_C)",
    "work": "wisp work buffer",
    "tokens": "wisp token array",
    "resp": "wisp_response",
    "client": "wisp_client",
    "tls": "wisp_tls (mbedTLS contexts)",
    "modem": "wisp_serial",
}


def owner(path):
    if "libmbed" in path:
        return "mbedTLS"
    if re.search(r"lib(c|g|m)_nano\.a|libgcc\.a|libnosys\.a|libc\.a|libm\.a", path):
        return "libc + libgcc"
    if "/obj/core/" in path:
        return "wisp core"
    if "/obj/port/" in path:
        return "wisp ports (serial, TLS)"
    if "/obj/examples/" in path or "fw_inputs" in path:
        return "application (incl. the CA)"
    return "other"


def parse_map(path, sections=FLASH_SECTIONS + RAM_SECTIONS, owner_of=None):
    """{(output section, owner): bytes} for the input sections placed in
    `sections`, read from a GNU ld map file."""
    owner_of = owner_of or owner
    sizes = {}
    out_sec = None
    pending = None
    started = False
    with open(path) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                started = True
                continue
            if not started:
                continue
            m = re.match(r"^(\.[\w.]+)\s", line)
            if m:
                out_sec = m.group(1)
                continue
            if line.startswith(" *") or line.startswith(" *("):
                continue
            m = re.match(r"^ (\.[^\s]+|COMMON)\s*$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^\s+(?:(\.[^\s]+|COMMON)\s+)?0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m and (m.group(1) or pending):
                pending = None
                size = int(m.group(3), 16)
                if out_sec in sections:
                    key = (out_sec, owner_of(m.group(4).strip()))
                    sizes[key] = sizes.get(key, 0) + size
            else:
                pending = None
    return sizes


def symbols(elf, nm):
    out = subprocess.run([nm, "-S", elf], stdout=subprocess.PIPE, check=True).stdout.decode()
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in BUFFERS and parts[2] in "bBdD":
            found[parts[3]] = int(parts[1], 16)
    return found


def main():
    map_path, elf = sys.argv[1], sys.argv[2]
    nm = sys.argv[3] if len(sys.argv) > 3 else "arm-none-eabi-nm"
    sizes = parse_map(map_path)
    owners = sorted({o for (_, o) in sizes})
    print("flash (bytes: .text + .rodata + .data image)")
    total = 0
    for o in owners:
        n = sum(sizes.get((s, o), 0) for s in FLASH_SECTIONS)
        total += n
        print("  %-30s %7d" % (o, n))
    print("  %-30s %7d" % ("total", total))
    syms = symbols(elf, nm)
    data = sum(v for (s, _), v in sizes.items() if s == ".data")
    bss = sum(v for (s, _), v in sizes.items() if s == ".bss")
    print("ram (bytes)")
    print("  %-30s %7d" % (".data", data))
    print("  %-30s %7d" % (".bss", bss))
    for k in BUFFERS:
        if k in syms:
            print("    %-28s %7d" % (BUFFERS[k], syms[k]))
    print("    %-28s %7d" % ("the rest of .bss", bss - sum(syms.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

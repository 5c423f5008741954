#!/usr/bin/env python3
"""Size of a static wisp-chat (make static, make armhf), split into wisp,
the CLI, mbedTLS and the C library, from the linker map the build leaves
beside it (BINARY.map).  The README's static-binary table.

    static_size.py BINARY
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware_size import parse_map  # noqa: E402  (one map reader)

# Everything the kernel loads from the file (bss is not in the file).
FILE_SECTIONS = (".init", ".text", ".fini", ".rodata", ".eh_frame", ".ARM.exidx",
                 ".ARM.extab", ".init_array", ".fini_array", ".data.rel.ro",
                 ".got", ".got.plt", ".data", ".tdata", "__libc_freeres_fn",
                 "__libc_subfreeres", "__libc_IO_vtables", "__libc_atexit",
                 ".gcc_except_table", ".rel.dyn", ".rela.dyn", ".rel.plt",
                 ".rela.plt", ".note.ABI-tag", ".note.gnu.build-id", ".stapsdt.base")

ORDER = ("wisp (core + ports)", "wisp-chat (the CLI)", "mbedTLS", "C library", "other")


def owner(path):
    if "libmbed" in path:
        return "mbedTLS"
    if "/obj/core/" in path or "/obj/port/" in path or "libwisp.a" in path:
        return "wisp (core + ports)"
    if re.search(r"libc\.a|libgcc|libpthread|crt\w*\.o|libm\.a|ld-", path):
        return "C library"
    if "(" not in path and path.endswith(".o"):
        return "wisp-chat (the CLI)"  # the one object given by itself
    return "other"


def main():
    binary = sys.argv[1]
    sizes = parse_map(binary + ".map", FILE_SECTIONS, owner)
    by_owner = {}
    for (_, o), n in sizes.items():
        by_owner[o] = by_owner.get(o, 0) + n
    total = sum(by_owner.values())
    print("%s: %d bytes on disk (stripped, static)" % (binary, os.path.getsize(binary)))
    for o in ORDER:
        if by_owner.get(o):
            print("  %-24s %7d  %4.1f%%" % (o, by_owner[o], 100.0 * by_owner[o] / total))
    print("  %-24s %7d  (code and data in the file; the rest is ELF headers and alignment)"
          % ("total", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""size_report.py - flash of a linked program, split by where it comes from.

    size_report.py LABEL CALL.map EMPTY.map [BUDGET]
    size_report.py --saves LABEL CALL.map BASE.map

Reads two GNU ld map files: a program and the same link with an empty
main.  Sums the flash-resident input sections (.text, .rodata, .data's
initial values, .ARM.exidx/extab) of each by origin - wisp's core objects,
libc, libgcc, the rest (startup, the driver) - and prints the program's
figures over the empty main's.  With BUDGET (bytes), exits 1 when the
total over the empty main passes it.  With --saves, prints what a link
saves against a base link (a feature switch turned off against the full
configuration), in wisp's objects and libc / libgcc.
"""
import os
import re
import struct
import sys

FLASH_OUT = ('.text', '.rodata', '.data', '.ARM.exidx', '.ARM.extab', '.init', '.fini',
             '.init_array', '.fini_array', '.preinit_array')
# "  .text.name   0xADDR  0xSIZE file" (the name may stand alone on the line
# before, when it is long).
ENTRY = re.compile(r'^ (\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$')


def origin(path):
    name = path.rsplit('/', 1)[-1]
    if 'libgcc.a' in path:
        return 'libgcc'
    if re.search(r'libc(_nano)?\.a|libnosys\.a|libm(_nano)?\.a', path):
        return 'libc'
    if re.match(r'wisp_[a-z]+\.o$', name):
        return 'wisp'
    return 'other'


def flash_by_origin(map_path):
    sums = {'wisp': 0, 'libc': 0, 'libgcc': 0, 'other': 0}
    out = None
    pending = None
    in_map = False
    with open(map_path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('Linker script and memory map'):
                in_map = True
                continue
            if not in_map:
                continue
            if line and not line.startswith(' '):
                out = line.split()[0]  # an output section starts
                pending = None
                continue
            if out is None or not out.startswith(FLASH_OUT):
                continue
            m = ENTRY.match(line)
            if m is None:
                s = line.split()
                if len(s) == 1 and s[0].startswith('.'):
                    pending = s[0]  # a long input section name, figures below
                continue
            section = m.group(1) or pending
            pending = None
            if section is None or section.startswith('*'):
                continue
            path = m.group(3).strip()
            if path.startswith('0x') or ' ' in path and not path.startswith('/'):
                continue  # a symbol line, not an input section
            sums[origin(path)] += int(m.group(2), 16)
    return sums


def saves(label, call_map, base_map):
    call = by_origin(call_map)
    base = by_origin(base_map)
    d = {k: base[k] - call[k] for k in call}
    print('  %-26s %6d B  (wisp %d, libc + libgcc %d)'
          % (label, sum(d.values()), d['wisp'], d['libc'] + d['libgcc']))


def elf_flash(elf_path):
    """Bytes of the flash-resident sections of a 32-bit little-endian ELF:
    the truth, where a map's input sections over-count strings that the
    linker merged across objects (.rodata.*.str1.1)."""
    with open(elf_path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[4] != 1 or data[5] != 1:
        sys.exit('size_report.py: %s is not a 32-bit little-endian ELF' % elf_path)
    shoff, = struct.unpack_from('<I', data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x2E)
    def header(i):
        return struct.unpack_from('<IIIIIIIIII', data, shoff + i * shentsize)
    names_off = header(shstrndx)[4]
    total = 0
    for i in range(shnum):
        name_off, _type, flags, _addr, _off, size = header(i)[:6]
        end = data.index(b'\0', names_off + name_off)
        name = data[names_off + name_off:end].decode()
        if flags & 0x2 and name.startswith(FLASH_OUT):  # SHF_ALLOC
            total += size
    return total


def by_origin(map_path):
    """flash_by_origin, with wisp's share taken as what the ELF holds
    beyond libc, libgcc and the rest: merged strings are counted once."""
    sums = flash_by_origin(map_path)
    elf = os.path.splitext(map_path)[0] + '.elf'
    if os.path.exists(elf):
        sums['wisp'] = elf_flash(elf) - sums['libc'] - sums['libgcc'] - sums['other']
    return sums


def main():
    if len(sys.argv) == 5 and sys.argv[1] == '--saves':
        saves(*sys.argv[2:5])
        return
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    label, call_map, empty_map = sys.argv[1:4]
    budget = int(sys.argv[4]) if len(sys.argv) == 5 else None
    call = by_origin(call_map)
    empty = by_origin(empty_map)
    delta = {k: call[k] - empty[k] for k in call}
    total = sum(delta.values())
    print('%-28s %6d B over an empty main: wisp %d, libc %d, libgcc %d, driver+startup %d%s'
          % (label, total, delta['wisp'], delta['libc'], delta['libgcc'], delta['other'],
             '' if budget is None else ' (budget %d)' % budget))
    if budget is not None and total > budget:
        print('FAIL size: %s links %d B, over its budget of %d B (tests/size_budget.txt)'
              % (label, total, budget))
        sys.exit(1)


if __name__ == '__main__':
    main()

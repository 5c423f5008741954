#!/usr/bin/env python3
"""Extracts the C example from README.md so `make test` can compile it:
a README example that no longer builds is a defect."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"## The C API in \d+ lines\n\n```c\n(.*?)```", text, re.S)
if not m:
    sys.exit("README.md: the C API example was not found")
sys.stdout.write(m.group(1) + "\nint main(void) { (void)ask; return 0; }\n")

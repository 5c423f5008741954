#!/usr/bin/env python3
"""Every build manifest names exactly the sources on disk.

The manifests: CMakeLists.txt (ESP-IDF component and plain CMake),
idf_component.yml, zephyr/ (module.yml, CMakeLists.txt, Kconfig),
library.json (PlatformIO), openwrt/Makefile and wisp.mk (the plain list).
For each one this reads the source files it names, group by group, and
fails unless they are the files on disk:

  core    core/*.c                      posix   port/posix/*.c
  lwip    port/lwip/*.c                 tls     port/mbedtls/*.c
  serial  port/serial/*.c               cli     examples/wisp-chat/*.c
  proxy   port/proxy/*.c                        but minimal.c (its own program)

A file on disk that a manifest misses, a file a manifest names that does
not exist, and a file it names that it must not build (minimal.c, a port
it does not use) are each reported with the manifest's name.  Every
include folder named must exist, the versions must be core/wisp.h's
WISP_VERSION, and no manifest may hold a URL.

What is run, not only read:
  wisp.mk           through make (the variables as make expands them)
  openwrt/Makefile  through make with stand-ins for OpenWrt's rules.mk and
                    package.mk: the compiler line Build/Compile runs, then a
                    real build and install of wisp-chat on this machine
  CMakeLists.txt    with cmake, when installed: plain mode configured (its
                    sources read back through CMake's file API), built, the
                    archive's objects listed, wisp-chat run; ESP-IDF mode
                    with a stand-in idf_component_register, both in
                    ESP-IDF's early script-mode pass and in a configure that
                    builds the component against Debian's lwIP and mbedTLS
  zephyr/           with cmake and stand-ins for zephyr_library() and
                    friends, for three Kconfig choices; the full one built
Without cmake those parts print "skipped: no cmake".

Options: --root DIR checks another tree; --no-build reads and configures
but compiles nothing; --self-test copies the tree under build/manifests/,
adds core/wisp_zzz.c to one copy and removes core/wisp_url.c from another,
and fails unless every manifest reports each.  Everything is written under build/manifests/.  Exit status 1 on any
failure.  With WISP_RESULTS set, one "manifests all PASSED FAILED" line is
appended there.
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

GROUP_DIRS = {
    "core": "core",
    "posix": "port/posix",
    "lwip": "port/lwip",
    "tls": "port/mbedtls",
    "serial": "port/serial",
    "proxy": "port/proxy",
    "cli": "examples/wisp-chat",
}
# Programs of their own, never part of a build's source list.
NOT_BUILT = {"examples/wisp-chat/minimal.c"}
# Variable names of the groups in wisp.mk and the CMake files.
GROUP_VARS = {
    "WISP_CORE_SRCS": "core",
    "WISP_POSIX_SRCS": "posix",
    "WISP_LWIP_SRCS": "lwip",
    "WISP_TLS_SRCS": "tls",
    "WISP_SERIAL_SRCS": "serial",
    "WISP_PROXY_SRCS": "proxy",
    "WISP_CLI_SRCS": "cli",
}
MANIFESTS = ["CMakeLists.txt", "idf_component.yml", "zephyr/module.yml",
             "zephyr/CMakeLists.txt", "zephyr/Kconfig", "library.json",
             "openwrt/Makefile", "wisp.mk"]


class Report:
    """One line per check: ok, FAIL with each problem, or skipped."""

    def __init__(self, quiet=False):
        self.passed = 0
        self.failed = 0
        self.problems = []  # (label, text)
        self.quiet = quiet

    def check(self, label, problems):
        if problems:
            self.failed += 1
            for p in problems:
                self.problems.append((label, p))
                self.say("FAIL manifests: %s: %s" % (label, p))
        else:
            self.passed += 1
            self.say("ok   manifests: %s" % label)

    def skip(self, label, why):
        self.say("skipped: %s: %s" % (label, why))

    def say(self, line):
        if not self.quiet:
            print(line, flush=True)


# ---- the tree -----------------------------------------------------------

def disk_groups(root):
    groups = {}
    for name, d in GROUP_DIRS.items():
        files = sorted(glob.glob(os.path.join(root, d, "*.c")))
        rel = (os.path.relpath(f, root).replace(os.sep, "/") for f in files)
        groups[name] = {f for f in rel if f not in NOT_BUILT}
    return groups


def wisp_version(root):
    with open(os.path.join(root, "core/wisp.h"), encoding="utf-8") as f:
        m = re.search(r'^#define WISP_VERSION "([^"]+)"', f.read(), re.M)
    return m.group(1) if m else None


def rel_path(root, path, base=None):
    """path as the tree-relative form a manifest means; base is the folder
    holding a copy of the tree (OpenWrt's build folder), if not root."""
    anchor = base or root
    path = path.strip()
    for prefix in ("${WISP_DIR}/", "$(WISP_DIR)/"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    if not os.path.isabs(path):
        path = os.path.join(anchor, path)
    return os.path.relpath(os.path.normpath(path), anchor).replace(os.sep, "/")


def compare(root, disk, named, groups, what="", base=None):
    """Problems of a list of named files against the union of groups."""
    expected = set().union(*(disk[g] for g in groups)) if groups else set()
    got = {rel_path(root, n, base) for n in named}
    where = (what + " ") if what else ""
    problems = []
    for f in sorted(got - expected):
        if not os.path.isfile(os.path.join(root, f)):
            problems.append("%snames %s, which does not exist" % (where, f))
        else:
            problems.append("%snames %s, which it must not build" % (where, f))
    for f in sorted(expected - got):
        problems.append("%smisses %s (on disk)" % (where, f))
    return problems


def check_dirs(root, dirs, what, base=None):
    problems = []
    for d in dirs:
        if not os.path.isdir(os.path.join(root, rel_path(root, d, base))):
            problems.append("%s names include folder %s, which does not exist" % (what, d))
    return problems


def expect_equal(what, got, want):
    got, want = sorted(set(got)), sorted(set(want))
    return [] if got == want else ["%s is %s, expected %s" % (what, " ".join(got) or "(none)",
                                                              " ".join(want))]


# ---- reading CMake ------------------------------------------------------

def cmake_commands(text):
    """[(command, [args])] of a CMake file: quoted and bare arguments, with
    comments dropped (enough for set() and idf_component_register())."""
    cmds, i, n = [], 0, len(text)
    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    while i < n:
        c = text[i]
        if c == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        m = word.match(text, i)
        if not m:
            i += 1
            continue
        j = m.end()
        while j < n and text[j] in " \t":
            j += 1
        if j >= n or text[j] != "(":
            i = m.end()
            continue
        args, depth, k, cur = [], 1, j + 1, None
        while k < n and depth:
            ch = text[k]
            if ch == '"':
                end = k + 1
                while end < n and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                args.append(text[k + 1:end])
                k = end + 1
                continue
            if ch == "#":
                k = text.find("\n", k)
                k = n if k < 0 else k
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    break
            if ch in " \t\r\n()":
                if cur is not None:
                    args.append(cur)
                    cur = None
            else:
                cur = (cur or "") + ch
            k += 1
        if cur is not None:
            args.append(cur)
        cmds.append((m.group(0).lower(), args))
        i = k + 1
    return cmds


def cmake_group_lists(cmds):
    """{group: [files]} from set(WISP_<GROUP>_SRCS ...)."""
    lists = {}
    for name, args in cmds:
        if name == "set" and args and args[0] in GROUP_VARS:
            lists[GROUP_VARS[args[0]]] = args[1:]
    return lists


def cmake_keywords(args, keywords):
    out, key = {k: [] for k in keywords}, None
    for a in args:
        if a in keywords:
            key = a
        elif key:
            out[key].append(a)
    return out


def expand_vars(args, lists):
    """${WISP_X_SRCS} replaced by its list (the set() lists only)."""
    out = []
    for a in args:
        m = re.fullmatch(r"\$\{(\w+)\}", a)
        if m and m.group(1) in GROUP_VARS and GROUP_VARS[m.group(1)] in lists:
            out.extend(lists[GROUP_VARS[m.group(1)]])
        else:
            out.append(a)
    return out


def check_group_lists(report, label, root, disk, lists, groups):
    problems = []
    for g in groups:
        if g not in lists:
            problems.append("has no list for %s (%s/*.c)" % (g, GROUP_DIRS[g]))
        else:
            problems += compare(root, disk, lists[g], [g], "its %s list" % g)
    for g in sorted(set(lists) - set(groups)):
        problems.append("has a %s list, which it must not build" % g)
    report.check(label, problems)


IDF_KEYS = ["SRCS", "SRC_DIRS", "EXCLUDE_SRCS", "INCLUDE_DIRS", "PRIV_INCLUDE_DIRS",
            "REQUIRES", "PRIV_REQUIRES", "LDFRAGMENTS", "REQUIRED_IDF_TARGETS",
            "EMBED_FILES", "EMBED_TXTFILES", "KCONFIG", "KCONFIG_PROJBUILD",
            "WHOLE_ARCHIVE"]
IDF_GROUPS = ["core", "lwip", "tls", "proxy"]
IDF_INCLUDES = ["core", "port/lwip", "port/mbedtls", "port/proxy"]
IDF_REQUIRES = ["lwip", "mbedtls"]
PLAIN_GROUPS = ["core", "posix", "lwip", "tls", "serial", "proxy", "cli"]
ZEPHYR_GROUPS = ["core", "tls", "posix", "proxy"]


def check_idf_record(root, disk, rec):
    """Problems of one idf_component_register call's arguments."""
    problems = compare(root, disk, rec.get("SRCS", []), IDF_GROUPS, "SRCS")
    if rec.get("SRC_DIRS"):
        problems.append("SRC_DIRS would build whatever is in %s: name SRCS"
                        % " ".join(rec["SRC_DIRS"]))
    problems += check_dirs(root, rec.get("INCLUDE_DIRS", []), "INCLUDE_DIRS")
    problems += expect_equal("INCLUDE_DIRS", [rel_path(root, d) for d in rec.get("INCLUDE_DIRS", [])],
                             IDF_INCLUDES)
    problems += expect_equal("REQUIRES", rec.get("REQUIRES", []) + rec.get("PRIV_REQUIRES", []),
                             IDF_REQUIRES)
    return problems


def static_cmake(report, root, disk):
    path = os.path.join(root, "CMakeLists.txt")
    with open(path, encoding="utf-8") as f:
        cmds = cmake_commands(f.read())
    lists = cmake_group_lists(cmds)
    check_group_lists(report, "CMakeLists.txt: the source lists", root, disk, lists, PLAIN_GROUPS)
    calls = [a for c, a in cmds if c == "idf_component_register"]
    if len(calls) != 1:
        report.check("CMakeLists.txt: idf_component_register",
                     ["calls idf_component_register %d times, expected once" % len(calls)])
        return
    rec = cmake_keywords(expand_vars(calls[0], lists), IDF_KEYS)
    report.check("CMakeLists.txt: idf_component_register (as written)",
                 check_idf_record(root, disk, rec))


def static_zephyr(report, root, disk):
    zdir = os.path.join(root, "zephyr")
    problems = []
    with open(os.path.join(zdir, "module.yml"), encoding="utf-8") as f:
        yml = f.read()
    build = dict(re.findall(r"^\s+(cmake|kconfig):\s*(\S+)\s*$", yml, re.M))
    if build.get("cmake") != "zephyr":
        problems.append("module.yml: build: cmake: is %s, expected zephyr" % build.get("cmake"))
    elif not os.path.isfile(os.path.join(root, build["cmake"], "CMakeLists.txt")):
        problems.append("module.yml: no CMakeLists.txt in %s" % build["cmake"])
    if build.get("kconfig") != "zephyr/Kconfig":
        problems.append("module.yml: build: kconfig: is %s, expected zephyr/Kconfig"
                        % build.get("kconfig"))
    elif not os.path.isfile(os.path.join(root, build["kconfig"])):
        problems.append("module.yml: %s does not exist" % build["kconfig"])
    with open(os.path.join(zdir, "Kconfig"), encoding="utf-8") as f:
        declared = set(re.findall(r"^\s*(?:menu)?config\s+(\w+)", f.read(), re.M))
    with open(os.path.join(zdir, "CMakeLists.txt"), encoding="utf-8") as f:
        text = f.read()
    used = set(re.findall(r"CONFIG_(WISP\w*)", text))
    for sym in sorted(used - declared):
        problems.append("CMakeLists.txt uses CONFIG_%s, which zephyr/Kconfig does not declare"
                        % sym)
    report.check("zephyr/module.yml and zephyr/Kconfig", problems)
    check_group_lists(report, "zephyr/CMakeLists.txt: the source lists", root, disk,
                      cmake_group_lists(cmake_commands(text)), ZEPHYR_GROUPS)


# ---- the other manifests -------------------------------------------------

def static_library_json(report, root, disk, version):
    problems = []
    with open(os.path.join(root, "library.json"), encoding="utf-8") as f:
        try:
            lib = json.load(f)
        except ValueError as e:
            report.check("library.json", ["is not JSON: %s" % e])
            return
    build = lib.get("build", {})
    if lib.get("version") != version:
        problems.append("version is %s, expected %s (WISP_VERSION)" % (lib.get("version"), version))
    for key in ("name", "frameworks", "platforms"):
        if not lib.get(key):
            problems.append("has no %s" % key)
    if build.get("srcDir") != ".":
        problems.append('build.srcDir is %r, expected "." (the filter names paths from the root)'
                        % build.get("srcDir"))
    flt = build.get("srcFilter", [])
    flt = flt.split() if isinstance(flt, str) else flt
    if not flt or flt[0] != "-<*>":
        problems.append('build.srcFilter must start with "-<*>" and then name each file')
    named = []
    for item in flt[1:]:
        m = re.fullmatch(r"\+<([^<>*?]+)>", item)
        if m:
            named.append(m.group(1))
        else:
            problems.append("build.srcFilter entry %s is not one +<file>" % item)
    problems += compare(root, disk, named, IDF_GROUPS, "build.srcFilter")
    inc = build.get("includeDir")
    problems += check_dirs(root, [inc] if inc else [], "build.includeDir")
    problems += expect_equal("build.includeDir", [inc] if inc else [], ["core"])
    flags = build.get("flags", [])
    flags = shlex.split(flags) if isinstance(flags, str) else \
        [t for f in flags for t in shlex.split(f)]
    incs, it = [], iter(flags)
    for t in it:
        if t == "-I":
            incs.append(next(it, ""))
        elif t.startswith("-I"):
            incs.append(t[2:])
    problems += check_dirs(root, incs, "build.flags")
    problems += expect_equal("build.flags -I", incs, IDF_INCLUDES[1:])
    report.check("library.json", problems)


def static_idf_yml(report, root, version):
    problems = []
    with open(os.path.join(root, "idf_component.yml"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'^version:\s*"?([^"\s]+)"?\s*$', text, re.M)
    if not m or m.group(1) != version:
        problems.append("version is %s, expected %s (WISP_VERSION)"
                        % (m.group(1) if m else "missing", version))
    if not re.search(r"^description:\s*\S", text, re.M):
        problems.append("has no description")
    if not re.search(r"^dependencies:\s*\n(?:\s+#.*\n)*\s+idf:\s*\S", text, re.M):
        problems.append("has no dependencies: idf: version constraint")
    report.check("idf_component.yml", problems)


def no_urls(report, root):
    problems = []
    for name in MANIFESTS:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if "://" in line:
                    problems.append("%s:%d holds a URL" % (name, n))
    report.check("no URL in any manifest", problems)


def every_port_has_a_group(report, root):
    known = {d for d in GROUP_DIRS.values()}
    problems = []
    for d in sorted(glob.glob(os.path.join(root, "port", "*", ""))):
        rel = os.path.relpath(d, root).replace(os.sep, "/")
        if rel not in known and glob.glob(os.path.join(d, "*.c")):
            problems.append("%s has sources but no group here (add it to GROUP_DIRS and "
                            "to the manifests)" % rel)
    report.check("every port folder is a group", problems)


# ---- run through make -----------------------------------------------------

def run(cmd, cwd=None, env=None, log=None):
    """(returncode, output) of a command; output also written to log."""
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if log:
        with open(log, "w", encoding="utf-8") as f:
            f.write("$ %s\n%s" % (" ".join(shlex.quote(c) for c in cmd), p.stdout))
    return p.returncode, p.stdout


def tail(text, lines=6):
    return " | ".join(text.strip().splitlines()[-lines:])


def cmake_failure(text):
    """A configure's failure in one line: the sources CMake could not find,
    else the end of its output."""
    missing = re.findall(r"Cannot find source file:\s+(\S+)", text)
    if missing:
        return "configure failed: cannot find source file %s" % " ".join(sorted(set(missing)))
    return "configure failed: %s" % tail(text)


def wisp_mk(report, root, disk, out):
    os.makedirs(out, exist_ok=True)
    names = list(GROUP_VARS) + ["WISP_INCLUDE_DIRS", "WISP_CLI_INCLUDE_DIRS"]
    printer = os.path.join(out, "print.mk")
    with open(printer, "w", encoding="utf-8") as f:
        f.write("include %s/wisp.mk\nprint:\n" % root)
        for n in names:
            f.write("\t@echo '%s=$(%s)'\n" % (n, n))
    code, text = run(["make", "-s", "--no-print-directory", "-f", printer, "print"],
                     cwd=out, log=os.path.join(out, "print.log"))
    if code:
        report.check("wisp.mk", ["make could not read it: %s" % tail(text)])
        return
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    lists = {GROUP_VARS[n]: values.get(n, "").split() for n in GROUP_VARS if values.get(n)}
    check_group_lists(report, "wisp.mk: the source lists", root, disk, lists, PLAIN_GROUPS)
    problems = []
    incs = values.get("WISP_INCLUDE_DIRS", "").split()
    want = ["core"] + [GROUP_DIRS[g] for g in ("posix", "lwip", "tls", "serial", "proxy")]
    problems += check_dirs(root, incs, "WISP_INCLUDE_DIRS")
    problems += expect_equal("WISP_INCLUDE_DIRS", [rel_path(root, d) for d in incs], want)
    cli_incs = values.get("WISP_CLI_INCLUDE_DIRS", "").split()
    problems += check_dirs(root, cli_incs, "WISP_CLI_INCLUDE_DIRS")
    problems += expect_equal("WISP_CLI_INCLUDE_DIRS", [rel_path(root, d) for d in cli_incs],
                             ["examples"])
    report.check("wisp.mk: include folders", problems)


OPENWRT_RULES = """\
# Stand-in for OpenWrt's rules.mk (tests/manifest_check.py): only what a
# package Makefile uses, set for a build on this machine.
INCLUDE_DIR := $(TOPDIR)/include
BUILD_DIR := $(TOPDIR)/build_dir
STAGING_DIR := $(TOPDIR)/staging_dir
TARGET_CC := cc
TARGET_CFLAGS := -Os -Wall -Wextra -Werror
TARGET_CPPFLAGS :=
TARGET_LDFLAGS :=
INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
CP := cp -fpR
"""

OPENWRT_PACKAGE = """\
# Stand-in for OpenWrt's include/package.mk (tests/manifest_check.py):
# BuildPackage makes targets that run the package's own Build/Prepare,
# Build/Compile and Package/NAME/install, and one that prints its fields.
PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
define BuildPackage
.PHONY: prepare compile install metadata
prepare:
\t$$(Build/Prepare)
compile: prepare
\t$$(Build/Compile)
install: compile
\t$$(call Package/$(1)/install,$$(DESTDIR))
metadata:
\t$$(eval $$(Package/$(1)))
\t@echo 'PKG_VERSION=$$(PKG_VERSION)'
\t@echo 'PKG_SOURCE_URL=$$(PKG_SOURCE_URL)'
\t@echo 'DEPENDS=$$(strip $$(DEPENDS))'
\t@echo 'PKG_BUILD_DIR=$$(PKG_BUILD_DIR)'
endef
"""


def openwrt(report, root, disk, version, out, jsmn, can_build):
    label = "openwrt/Makefile"
    sdk = os.path.join(out, "sdk")
    shutil.rmtree(sdk, ignore_errors=True)
    os.makedirs(os.path.join(sdk, "include"))
    with open(os.path.join(sdk, "rules.mk"), "w", encoding="utf-8") as f:
        f.write(OPENWRT_RULES)
    with open(os.path.join(sdk, "include", "package.mk"), "w", encoding="utf-8") as f:
        f.write(OPENWRT_PACKAGE)
    # As OpenWrt does: make in the package's folder; WISP_SRC_DIR defaults.
    base = ["make", "--no-print-directory", "-C", os.path.join(root, "openwrt"),
            "TOPDIR=" + sdk, "WISP_JSMN_INC=" + jsmn]
    code, text = run(base + ["-s", "metadata"], log=os.path.join(out, "metadata.log"))
    if code:
        report.check(label, ["make could not read it: %s" % tail(text)])
        return
    meta = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    problems = []
    if meta.get("PKG_VERSION") != version:
        problems.append("PKG_VERSION is %s, expected %s (WISP_VERSION)"
                        % (meta.get("PKG_VERSION"), version))
    if meta.get("PKG_SOURCE_URL"):
        problems.append("PKG_SOURCE_URL is set: the source must come from WISP_SRC_DIR")
    if "+libmbedtls" not in meta.get("DEPENDS", "").split():
        problems.append("DEPENDS (%s) lacks +libmbedtls" % meta.get("DEPENDS"))
    build_dir = meta.get("PKG_BUILD_DIR", "")
    report.check(label + ": package fields", problems)

    dest = os.path.join(out, "root")
    code, text = run(base + ["-n", "install", "DESTDIR=" + dest],
                     log=os.path.join(out, "dry-run.log"))
    problems = []
    compile_lines = [l for l in text.splitlines()
                     if " -o " in l and l.split()[0] == "cc" and "wisp-chat" in l]
    if code or len(compile_lines) != 1:
        report.check(label + ": Build/Compile",
                     ["expected one compiler line for wisp-chat, got %d: %s"
                      % (len(compile_lines), tail(text))])
        return
    words = shlex.split(compile_lines[0])
    named = [w for w in words if w.endswith(".c")]
    problems += compare(root, disk, named, ["core", "posix", "tls", "proxy", "cli"],
                        "Build/Compile", base=build_dir)
    for lib in ("-lmbedtls", "-lmbedx509", "-lmbedcrypto"):
        if lib not in words:
            problems.append("Build/Compile does not link %s" % lib)
    if not re.search(r"INSTALL_BIN.*/usr/bin", open(os.path.join(root, "openwrt/Makefile"),
                                                   encoding="utf-8").read()):
        problems.append("Package/wisp-chat/install does not install into /usr/bin")
    report.check(label + ": Build/Compile names the sources", problems)

    if not can_build:
        return
    shutil.rmtree(dest, ignore_errors=True)
    code, text = run(base + ["install", "DESTDIR=" + dest], log=os.path.join(out, "build.log"))
    binary = os.path.join(dest, "usr/bin/wisp-chat")
    problems = []
    if code:
        problems.append("the host build failed (%s): %s" % (os.path.join(out, "build.log"),
                                                            tail(text)))
    else:
        problems += run_version(binary, version)
    report.check(label + ": built, installed and run on this machine", problems)


def run_version(binary, version):
    if not os.access(binary, os.X_OK):
        return ["%s was not made" % binary]
    code, text = run([binary, "--version"])
    want = "wisp-chat %s" % version
    return [] if code == 0 and text.strip() == want else \
        ["%s --version said %r (exit %d), expected %r" % (binary, text.strip(), code, want)]


# ---- run through cmake ----------------------------------------------------

IDF_STUB_FUNCTION = """\
# Stand-in for ESP-IDF's idf_component_register (tests/manifest_check.py):
# records its arguments, one "KEY value" a line, in STUB_RECORD.
function(idf_component_register)
  cmake_parse_arguments(A "" "" "%(keys)s" ${ARGN})
  if(A_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "stub: arguments ESP-IDF does not know: ${A_UNPARSED_ARGUMENTS}")
  endif()
  set(out "")
  foreach(key %(keys_sp)s)
    foreach(v IN LISTS A_${key})
      string(APPEND out "${key} ${v}\\n")
    endforeach()
  endforeach()
  file(WRITE "${STUB_RECORD}" "${out}")
  if(NOT CMAKE_BUILD_EARLY_EXPANSION)
    # What ESP-IDF does next, in short: a static library of SRCS with
    # INCLUDE_DIRS public, linked to the components it requires.
    add_library(__idf_wisp STATIC ${A_SRCS})
    target_include_directories(__idf_wisp PUBLIC ${A_INCLUDE_DIRS})
    target_include_directories(__idf_wisp PRIVATE ${A_PRIV_INCLUDE_DIRS})
    foreach(r IN LISTS A_REQUIRES A_PRIV_REQUIRES)
      target_link_libraries(__idf_wisp PUBLIC idf_stub_${r})
    endforeach()
    set(COMPONENT_LIB __idf_wisp PARENT_SCOPE)
  endif()
endfunction()
""" % {"keys": ";".join(IDF_KEYS), "keys_sp": " ".join(IDF_KEYS)}

IDF_EARLY = """\
# ESP-IDF's early pass, in short: the component's CMakeLists.txt included in
# CMake script mode with CMAKE_BUILD_EARLY_EXPANSION set.
set(ESP_PLATFORM 1)
set(CMAKE_BUILD_EARLY_EXPANSION 1)
%s
include("${WISP_ROOT}/CMakeLists.txt")
""" % IDF_STUB_FUNCTION

IDF_PROJECT = """\
cmake_minimum_required(VERSION 3.16)
project(wisp_idf_stub C)
# ESP-IDF's lwip and mbedtls components, played by Debian's lwIP and mbedTLS.
add_library(idf_stub_lwip INTERFACE)
if(STUB_LWIP_INC)
  target_include_directories(idf_stub_lwip INTERFACE ${STUB_LWIP_INC})
  target_compile_definitions(idf_stub_lwip INTERFACE _DEFAULT_SOURCE)
endif()
add_library(idf_stub_mbedtls INTERFACE)
target_link_libraries(idf_stub_mbedtls INTERFACE mbedtls mbedx509 mbedcrypto)
set(ESP_PLATFORM 1)
%s
add_subdirectory("${WISP_ROOT}" wisp)
""" % IDF_STUB_FUNCTION

ZEPHYR_PROJECT = """\
cmake_minimum_required(VERSION 3.20)
project(wisp_zephyr_stub C)
# Stand-ins for Zephyr's CMake extensions (tests/manifest_check.py): each
# records its arguments, "KIND value" a line, in STUB_RECORD, and does what
# Zephyr does in short.  mbedTLS is Zephyr's interface library's name.
set(APPLICATION_SOURCE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
add_library(mbedTLS INTERFACE)
target_link_libraries(mbedTLS INTERFACE mbedtls mbedx509 mbedcrypto)
add_library(zephyr_interface INTERFACE)
file(WRITE "${STUB_RECORD}" "")
function(stub_record kind)
  foreach(v IN LISTS ARGN)
    file(APPEND "${STUB_RECORD}" "${kind} ${v}\\n")
  endforeach()
endfunction()
macro(zephyr_library_named name)
  set(ZEPHYR_CURRENT_LIBRARY ${name})
  add_library(${name} STATIC)
  target_link_libraries(${name} PUBLIC zephyr_interface)
  stub_record(LIBRARY ${name})
endmacro()
macro(zephyr_library)
  zephyr_library_named(stub_dir_library)
endmacro()
function(zephyr_library_sources)
  stub_record(SRC ${ARGN})
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
function(zephyr_library_sources_ifdef feature)
  if(${feature})
    zephyr_library_sources(${ARGN})
  endif()
endfunction()
function(zephyr_include_directories)
  stub_record(INC ${ARGN})
  target_include_directories(zephyr_interface INTERFACE ${ARGN})
endfunction()
function(zephyr_library_include_directories)
  stub_record(PRIV_INC ${ARGN})
  target_include_directories(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
function(zephyr_library_link_libraries)
  stub_record(LINK ${ARGN})
  target_link_libraries(${ZEPHYR_CURRENT_LIBRARY} PUBLIC ${ARGN})
endfunction()
function(zephyr_compile_definitions)
  stub_record(DEF ${ARGN})
  target_compile_definitions(zephyr_interface INTERFACE ${ARGN})
endfunction()
function(zephyr_library_compile_definitions)
  stub_record(PRIV_DEF ${ARGN})
  target_compile_definitions(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
add_subdirectory("${WISP_ROOT}/zephyr" wisp)
"""


def read_record(path):
    rec = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if " " in line:
                    k, v = line.rstrip("\n").split(" ", 1)
                    rec.setdefault(k, []).append(v)
    return rec


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def archive_members(lib):
    code, text = run(["ar", "t", lib])
    return [] if code else [m for m in text.split() if m.endswith(".o")]


def objects_match(lib, root, disk, groups):
    """The archive holds one object per source of groups, no other."""
    want = sorted(os.path.basename(f) + ".o" for g in groups for f in disk[g])
    got = sorted(archive_members(lib))
    return [] if got == want else ["%s holds %s, expected %s"
                                   % (lib, " ".join(got) or "nothing", " ".join(want))]


def cmake_configure(src, build, defs, log):
    shutil.rmtree(build, ignore_errors=True)
    query = os.path.join(build, ".cmake/api/v1/query/codemodel-v2")
    os.makedirs(os.path.dirname(query))
    open(query, "w").close()
    cmd = ["cmake", "-S", src, "-B", build] + ["-D%s=%s" % kv for kv in defs.items()]
    return run(cmd, log=log)


def file_api_sources(build):
    """{target name: [source paths]} from CMake's file API reply."""
    reply = os.path.join(build, ".cmake/api/v1/reply")
    index = sorted(glob.glob(os.path.join(reply, "index-*.json")))
    if not index:
        return {}
    with open(index[-1], encoding="utf-8") as f:
        idx = json.load(f)
    model = next(o for o in idx["objects"] if o["kind"] == "codemodel")
    with open(os.path.join(reply, model["jsonFile"]), encoding="utf-8") as f:
        cm = json.load(f)
    top = cm["paths"]["source"]
    out = {}
    for t in cm["configurations"][0]["targets"]:
        with open(os.path.join(reply, t["jsonFile"]), encoding="utf-8") as f:
            tj = json.load(f)
        out[t["name"]] = [os.path.join(top, s["path"]) for s in tj.get("sources", [])]
    return out


def cmake_plain(report, root, disk, version, out, env, can_build):
    label = "CMakeLists.txt (plain CMake)"
    build = os.path.join(out, "plain")
    groups = ["core", "posix", "tls", "serial", "proxy"] + (["lwip"] if env["lwip"] else [])
    defs = {"WISP_WITH_POSIX": "ON", "WISP_WITH_TLS": "ON", "WISP_WITH_SERIAL": "ON",
            "WISP_WITH_PROXY": "ON",
            "WISP_WITH_LWIP": "ON" if env["lwip"] else "OFF", "WISP_BUILD_CLI": "ON",
            "WISP_JSMN_INCLUDE_DIR": env["jsmn"],
            "CMAKE_C_FLAGS": "-Wall -Wextra -Werror"}
    if env["lwip"]:
        defs["WISP_LWIP_INCLUDE_DIRS"] = env["lwip"]
        defs["CMAKE_C_FLAGS"] += " -D_DEFAULT_SOURCE"
    code, text = cmake_configure(root, build, defs, os.path.join(out, "plain-configure.log"))
    if code:
        report.check(label, [cmake_failure(text)])
        return
    sources = file_api_sources(build)
    problems = compare(root, disk, [s for s in sources.get("wisp", []) if s.endswith(".c")],
                       groups, "target wisp")
    problems += compare(root, disk, [s for s in sources.get("wisp-chat", []) if s.endswith(".c")],
                        ["cli"], "target wisp-chat")
    if not env["lwip"]:
        report.skip(label, "port/lwip not configured: no lwIP headers (Debian liblwip-dev)")
    report.check(label + ": configured targets' sources", problems)
    if not can_build:
        return
    code, text = run(["cmake", "--build", build, "-j2"], log=os.path.join(out, "plain-build.log"))
    if code:
        report.check(label + ": built", ["the build failed: %s" % tail(text)])
        return
    problems = objects_match(os.path.join(build, "libwisp.a"), root, disk, groups)
    problems += run_version(os.path.join(build, "wisp-chat"), version)
    report.check(label + ": built, libwisp.a's objects, wisp-chat linked and run", problems)


def cmake_idf(report, root, disk, out, env, can_build):
    label = "CMakeLists.txt (ESP-IDF, stub idf_component_register)"
    early = os.path.join(out, "idf-early")
    os.makedirs(early, exist_ok=True)
    script = os.path.join(early, "early.cmake")
    record = os.path.join(early, "record.txt")
    write(script, IDF_EARLY)
    if os.path.exists(record):
        os.remove(record)
    code, text = run(["cmake", "-DWISP_ROOT=" + root, "-DSTUB_RECORD=" + record, "-P", script],
                     log=os.path.join(early, "run.log"))
    if code:
        report.check(label + ": early script-mode pass", ["failed: %s" % tail(text)])
    else:
        rec = read_record(record)
        report.check(label + ": early script-mode pass",
                     expect_equal("REQUIRES", rec.get("REQUIRES", []) + rec.get("PRIV_REQUIRES", []),
                                  IDF_REQUIRES) if rec else ["idf_component_register not called"])

    proj = os.path.join(out, "idf-project")
    write(os.path.join(proj, "CMakeLists.txt"), IDF_PROJECT)
    record = os.path.join(out, "idf-record.txt")
    if os.path.exists(record):
        os.remove(record)
    build = os.path.join(out, "idf-build")
    defs = {"WISP_ROOT": root, "STUB_RECORD": record, "WISP_JSMN_INCLUDE_DIR": env["jsmn"],
            "STUB_LWIP_INC": env["lwip"] or "", "CMAKE_C_FLAGS": "-Wall -Wextra -Werror"}
    code, text = cmake_configure(proj, build, defs, os.path.join(out, "idf-configure.log"))
    if code:
        report.check(label, [cmake_failure(text)])
        return
    rec = read_record(record)
    # SRCS and INCLUDE_DIRS are relative to the component's folder.
    rec = {k: [rel_path(root, v) for v in vs] if k in ("SRCS", "INCLUDE_DIRS") else vs
           for k, vs in rec.items()}
    report.check(label + ": configured", check_idf_record(root, disk, rec)
                 if rec else ["idf_component_register not called"])
    if not can_build:
        return
    if not env["lwip"]:
        report.skip(label + ": built", "no lwIP headers (Debian liblwip-dev)")
        return
    code, text = run(["cmake", "--build", build, "-j2"], log=os.path.join(out, "idf-build.log"))
    problems = ["the build failed: %s" % tail(text)] if code else \
        objects_match(os.path.join(build, "wisp", "lib__idf_wisp.a"), root, disk, IDF_GROUPS)
    report.check(label + ": built against Debian's lwIP and mbedTLS", problems)


def cmake_zephyr(report, root, disk, out, env, can_build):
    label = "zephyr/CMakeLists.txt (stub zephyr_* functions)"
    proj = os.path.join(out, "zephyr-project")
    write(os.path.join(proj, "CMakeLists.txt"), ZEPHYR_PROJECT)
    choices = [
        ("CONFIG_WISP off", {}, None),
        ("CONFIG_WISP alone", {"CONFIG_WISP": "y", "CONFIG_WISP_JSMN_INCLUDE_DIR": env["jsmn"]},
         ["core"]),
        ("CONFIG_WISP, _TLS and _PORT_POSIX",
         {"CONFIG_WISP": "y", "CONFIG_WISP_TLS": "y", "CONFIG_MBEDTLS": "y",
          "CONFIG_WISP_PORT_POSIX": "y", "CONFIG_WISP_PROXY": "y",
          "CONFIG_WISP_JSMN_INCLUDE_DIR": env["jsmn"],
          "CMAKE_C_FLAGS": "-Wall -Wextra -Werror"}, ZEPHYR_GROUPS),
    ]
    for n, (what, defs, groups) in enumerate(choices):
        build = os.path.join(out, "zephyr-build-%d" % n)
        record = os.path.join(out, "zephyr-record-%d.txt" % n)
        defs = dict(defs, WISP_ROOT=root, STUB_RECORD=record)
        code, text = cmake_configure(proj, build, defs,
                                     os.path.join(out, "zephyr-configure-%d.log" % n))
        if code:
            report.check("%s: %s" % (label, what), [cmake_failure(text)])
            continue
        rec = read_record(record)
        problems = []
        if groups is None:
            if rec:
                problems.append("builds something with CONFIG_WISP off: %s"
                                % " ".join(sorted(rec)))
        else:
            problems += compare(root, disk, rec.get("SRC", []), groups, "zephyr_library_sources")
            incs = rec.get("INC", [])
            problems += check_dirs(root, incs, "zephyr_include_directories")
            problems += expect_equal("zephyr_include_directories",
                                     [rel_path(root, d) for d in incs],
                                     [GROUP_DIRS[g] for g in groups])
            if ("tls" in groups) != ("mbedTLS" in rec.get("LINK", [])):
                problems.append("links %s, expected mbedTLS exactly when CONFIG_WISP_TLS is set"
                                % (" ".join(rec.get("LINK", [])) or "nothing"))
        report.check("%s: %s" % (label, what), problems)
        if can_build and groups == ZEPHYR_GROUPS and not problems:
            code, text = run(["cmake", "--build", build, "-j2"],
                             log=os.path.join(out, "zephyr-build-%d.log" % n))
            problems = ["the build failed: %s" % tail(text)] if code else \
                objects_match(os.path.join(build, "wisp", "libwisp.a"), root, disk, groups)
            report.check("%s: %s: built on this machine (POSIX sockets, Debian's mbedTLS)"
                         % (label, what), problems)


# ---- driver ----------------------------------------------------------------

def environment(out):
    """What this machine has for the runs: cmake, a compiler, jsmn.h,
    mbedTLS and lwIP headers."""
    env = {"cmake": shutil.which("cmake"), "make": shutil.which("make"),
           "cc": shutil.which("cc"), "jsmn": None, "jsmn_real": False,
           "mbedtls": os.path.isfile("/usr/include/mbedtls/ssl.h"), "lwip": None}
    for d in (os.environ.get("JSMN_INC"), "/usr/include"):
        if d and os.path.isfile(os.path.join(d, "jsmn.h")):
            env["jsmn"], env["jsmn_real"] = d, True
            break
    if not env["jsmn"]:
        # Enough to configure; nothing that needs jsmn is compiled then.
        env["jsmn"] = os.path.join(out, "jsmn-stub")
        write(os.path.join(env["jsmn"], "jsmn.h"), "/* stand-in: configure only */\n")
    lwip = os.environ.get("LWIP_INC", "/usr/include/lwip")
    if os.path.isfile(os.path.join(lwip, "lwip", "opt.h")):
        env["lwip"] = lwip
    return env


def check_tree(root, out, build, report):
    disk = disk_groups(root)
    version = wisp_version(root)
    os.makedirs(out, exist_ok=True)
    env = environment(out)
    missing = [m for m in MANIFESTS if not os.path.isfile(os.path.join(root, m))]
    report.check("every manifest is there", ["%s is missing" % m for m in missing])
    if missing:
        return
    every_port_has_a_group(report, root)
    no_urls(report, root)
    static_cmake(report, root, disk)
    static_zephyr(report, root, disk)
    static_library_json(report, root, disk, version)
    static_idf_yml(report, root, version)

    can_build = build and env["cc"] and env["jsmn_real"] and env["mbedtls"]
    if build and not can_build:
        report.skip("builds", "need cc, jsmn.h (libjsmn-dev) and mbedTLS (libmbedtls-dev)")
    if not env["make"]:
        report.skip("wisp.mk and openwrt/Makefile", "no make")
    else:
        wisp_mk(report, root, disk, os.path.join(out, "wisp-mk"))
        openwrt(report, root, disk, version, os.path.join(out, "openwrt"), env["jsmn"],
                can_build)
    if not env["cmake"]:
        report.skip("CMakeLists.txt and zephyr/CMakeLists.txt runs", "no cmake")
        print("skipped: no cmake")
        return
    cmake_plain(report, root, disk, version, out, env, can_build)
    cmake_idf(report, root, disk, out, env, can_build)
    cmake_zephyr(report, root, disk, out, env, can_build)


SELF_TEST_LABELS = ["CMakeLists.txt: the source lists", "CMakeLists.txt: idf_component_register",
                    "zephyr/CMakeLists.txt: the source lists", "library.json",
                    "wisp.mk: the source lists", "openwrt/Makefile: Build/Compile"]
SELF_TEST_CMAKE_LABELS = ["CMakeLists.txt (plain CMake)", "CMakeLists.txt (ESP-IDF",
                          "zephyr/CMakeLists.txt (stub zephyr_* functions): CONFIG_WISP alone"]


def self_test_case(root, out, what, change, name):
    """Copy the tree, change it, and expect every manifest to report name."""
    tree = os.path.join(out, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("core", "port", "examples", "zephyr", "openwrt"):
        shutil.copytree(os.path.join(root, d), os.path.join(tree, d))
    for f in ("CMakeLists.txt", "idf_component.yml", "library.json", "wisp.mk", "LICENSE"):
        shutil.copy(os.path.join(root, f), tree)
    change(tree)
    report = Report(quiet=True)
    check_tree(tree, os.path.join(out, "run"), False, report)
    expect = SELF_TEST_LABELS + (SELF_TEST_CMAKE_LABELS if shutil.which("cmake") else [])
    problems = []
    for e in expect:
        hits = sorted({l for l, t in report.problems if l.startswith(e) and name in t})
        if hits:
            print("ok   manifests self-test: %s: reported by %s" % (what, "; ".join(hits)))
        else:
            problems.append("%s, but no failure of %s" % (what, e))
    for label, text in report.problems:
        if name not in text:
            problems.append("%s: unexpected failure: %s: %s" % (what, label, text))
    return problems


def self_test(root, out):
    """The check must name every manifest when a core source appears and
    when one disappears."""
    def add(tree):
        write(os.path.join(tree, "core", "wisp_zzz.c"), "/* not in any manifest */\n")

    def remove(tree):
        os.remove(os.path.join(tree, "core", "wisp_url.c"))

    return (self_test_case(root, out, "core/wisp_zzz.c added", add, "core/wisp_zzz.c") +
            self_test_case(root, out, "core/wisp_url.c removed", remove, "core/wisp_url.c"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="the wisp tree")
    ap.add_argument("--no-build", action="store_true", help="read and configure only")
    ap.add_argument("--self-test", action="store_true",
                    help="add (then remove) a core source in a copy and expect every "
                         "manifest to fail")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    out = os.path.join(root, "build", "manifests")
    report = Report()
    if args.self_test:
        report.check("self-test", self_test(root, os.path.join(out, "self-test")))
    else:
        check_tree(root, out, not args.no_build, report)
    print("%d passed, %d failed" % (report.passed, report.failed))
    results = os.environ.get("WISP_RESULTS")
    if results:
        with open(results, "a", encoding="utf-8") as f:
            f.write("manifests%s all %d %d\n" % ("-self-test" if args.self_test else "",
                                                report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())

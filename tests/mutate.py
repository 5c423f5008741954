#!/usr/bin/env python3
"""mutate.py - mutation testing of core/*.c against the unit suite.

One small change at a time in the library's portable C files:

  rel      a relational operator swapped (< <= > >= == !=): the boundary
           (< and <=) and the negation (< and >=)
  bound    an integer constant (or an ALL_CAPS macro) compared with < <= > >=
           moved by one, up and down
  logic    && and || exchanged
  negate   the condition of an if or a while negated
  status   a status that is returned or assigned (return WISP_ERR_X,
           st = WISP_ERR_X) replaced with WISP_OK or another error;
           return WISP_OK with an error; return true/false exchanged
  delete   a statement that only assigns or steps (x = e; x += e; x++;)
           deleted

Comments, string and character literals and preprocessor lines are never
mutated.  For each mutant the core is built in a scratch directory (never
in the tree: only the mutated file's object is compiled again, every other
object is reused), the unit test binaries that link the mutated file
(their static link says which) are linked against it and run, fastest and
most deadly first, stopping at the first failure:

  killed      a test failed or crashed
  timeout     a test ran past its time limit (counted as killed)
  survived    every test passed
  stillborn   the mutant does not compile (not counted)
  same-code   the compiler made the very object of the unmutated file: code
              left out by this build's switches, or no change at all
              (equivalent by construction; not counted)

Slow binaries (a baseline run longer than --slow seconds: test_dns,
test_tls and test_posix on most machines) and binaries that fail before any
mutation are left out of the per-mutant run; the run says which.

Survivors judged equivalent (no behaviour can change) are listed in
tests/mutate_equivalent.txt with the reason; the summary gives the raw kill
rate and the rate over the mutants that change behaviour.

  python3 tests/mutate.py                         every mutant of core/*.c
  python3 tests/mutate.py --files core/wisp_url.c --sample 100 --seed 1 -j 2
  python3 tests/mutate.py --sample 400 --weight core/wisp_request.c=3
  python3 tests/mutate.py --list                  counts only, nothing built

Results go to build/mutate/NAME/: summary.txt, survivors.txt (file:line,
the change, the line), results.json.  Python 3 standard library only.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WARN = ["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow", "-Wstrict-prototypes"]
INCS = ["-Icore", "-Iport/posix", "-Iport/mbedtls", "-Iport/serial", "-Iport/proxy", "-I/usr/include"]
LIBS = ["-lcmocka", "-lmbedtls", "-lmbedx509", "-lmbedcrypto", "-lpthread"]
PORT_DIRS = ["port/posix", "port/mbedtls", "port/serial", "port/proxy"]

# ---- the lexer ---------------------------------------------------------------

PUNCT = sorted("""<<= >>= ... -> ++ -- << >> <= >= == != && || += -= *= /= %= &= ^= |= ##
               [ ] ( ) { } . & * + - ~ ! / % < > ^ | ? : ; = , #""".split(), key=len, reverse=True)
TOKEN_RE = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<lc>//[^\n]*)|(?P<bc>/\*.*?\*/)"
    r"|(?P<str>\"(?:\\.|[^\"\\\n])*\")|(?P<chr>'(?:\\.|[^'\\\n])*')"
    r"|(?P<id>[A-Za-z_]\w*)|(?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)"
    r"|(?P<punct>" + "|".join(re.escape(p) for p in PUNCT) + r")",
    re.S)
PP_RE = re.compile(r"#(?:[^\n\\]|\\.|\\\n)*", re.S)


class Tok:
    __slots__ = ("kind", "text", "start", "end", "line")

    def __init__(self, kind, text, start, end, line):
        self.kind, self.text, self.start, self.end, self.line = kind, text, start, end, line


def lex(src):
    """The code tokens of a C file: no comments, no preprocessor lines.
    String and character literals are tokens (kind str/chr), never changed."""
    toks, pos, line, bol = [], 0, 1, True
    while pos < len(src):
        if bol and src[pos] == "#":
            m = PP_RE.match(src, pos)
            line += m.group(0).count("\n")
            pos = m.end()
            continue
        m = TOKEN_RE.match(src, pos)
        if m is None:
            raise SyntaxError("cannot lex at line %d: %r" % (line, src[pos:pos + 20]))
        kind = m.lastgroup
        text = m.group(0)
        if kind == "nl":
            bol = True
        elif kind not in ("ws", "lc", "bc"):
            bol = False
            toks.append(Tok(kind, text, m.start(), m.end(), line))
        line += text.count("\n")
        pos = m.end()
    return toks


# ---- the mutants -----------------------------------------------------------

REL_SWAP = {"<": ["<=", ">="], "<=": ["<", ">"], ">": [">=", "<="], ">=": [">", "<"],
            "==": ["!="], "!=": ["=="]}
ORDERING = {"<", "<=", ">", ">="}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "<<=", ">>="}
STMT_KEYWORDS = {"if", "while", "for", "switch", "return", "break", "continue", "goto", "case",
                 "default", "do", "else", "sizeof"}
INT_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|\d+)([uUlL]*)$")
MACRO_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Mutant:
    __slots__ = ("file", "line", "op", "start", "end", "repl", "desc", "key", "index")

    def __init__(self, file, line, op, start, end, repl, desc):
        self.file, self.line, self.op = file, line, op
        self.start, self.end, self.repl, self.desc = start, end, repl, desc
        self.key = None
        self.index = 0

    def apply(self, src):
        return src[:self.start] + self.repl + src[self.end:]


def other_status(name):
    return "WISP_ERR_IO" if name == "WISP_ERR_ARG" else "WISP_ERR_ARG"


def match_paren(toks, i):
    """The index of the token closing the bracket at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opener, closer, depth = toks[i].text, pairs[toks[i].text], 0
    for j in range(i, len(toks)):
        if toks[j].kind != "punct":
            continue
        if toks[j].text == opener:
            depth += 1
        elif toks[j].text == closer:
            depth -= 1
            if depth == 0:
                return j
    return None


def lvalue_end(toks, i, stop):
    """Where an lvalue (*p, a, a->b.c[i]) starting at toks[i] ends, or None."""
    while i < stop and toks[i].text == "*":
        i += 1
    if i >= stop or toks[i].kind != "id" or toks[i].text in STMT_KEYWORDS:
        return None
    i += 1
    while i < stop:
        t = toks[i].text
        if t in ("->", ".") and i + 1 < stop and toks[i + 1].kind == "id":
            i += 2
        elif t == "[":
            j = match_paren(toks, i)
            if j is None or j >= stop:
                return None
            i = j + 1
        else:
            break
    return i


def statement_starts(toks):
    """Indexes of tokens that begin a statement (outside any parentheses)."""
    starts, paren_stack, depth, in_label = set(), [], 0, False
    prev_header_close = set()
    for i, t in enumerate(toks):
        if t.kind == "punct" and t.text == "(":
            paren_stack.append(i > 0 and toks[i - 1].text in ("if", "while", "for", "switch"))
            depth += 1
        elif t.kind == "punct" and t.text == ")":
            depth -= 1
            if paren_stack and paren_stack.pop():
                prev_header_close.add(i)
        if depth:
            continue
        if t.text in ("case", "default"):
            in_label = True
        elif t.text == ":" and in_label:
            in_label = False
            starts.add(i + 1)
        if t.text in (";", "{", "}", "else") or i in prev_header_close:
            starts.add(i + 1)
    return starts


def mutants_of(path, src):
    toks = lex(src)
    out = []

    def add(line, op, start, end, repl, desc):
        out.append(Mutant(path, line, op, start, end, repl, desc))

    n = len(toks)
    for i, t in enumerate(toks):
        prev = toks[i - 1].text if i > 0 else ""
        nxt = toks[i + 1].text if i + 1 < n else ""
        if t.kind == "punct" and t.text in REL_SWAP:
            for r in REL_SWAP[t.text]:
                add(t.line, "rel", t.start, t.end, r, "`%s` -> `%s`" % (t.text, r))
        if t.kind == "punct" and t.text in ("&&", "||"):
            r = "||" if t.text == "&&" else "&&"
            add(t.line, "logic", t.start, t.end, r, "`%s` -> `%s`" % (t.text, r))
        if (t.kind in ("num", "id")) and (prev in ORDERING or nxt in ORDERING):
            m = INT_RE.match(t.text) if t.kind == "num" else None
            if m:
                base = 16 if m.group(1)[:2].lower() == "0x" else 10
                v = int(m.group(1), base)
                for d in (1, -1):
                    w = v + d
                    if w < 0 and "u" in m.group(2).lower():
                        continue
                    r = ("(%d%s)" % (w, m.group(2))) if w < 0 else "%d%s" % (w, m.group(2))
                    add(t.line, "bound", t.start, t.end, r, "`%s` -> `%s`" % (t.text, r))
            elif t.kind == "id" and MACRO_RE.match(t.text) and nxt not in ("(", "->", ".", "[") \
                    and not t.text.startswith("WISP_ERR") and t.text not in ("WISP_OK",):
                for d in ("+ 1", "- 1"):
                    r = "(%s %s)" % (t.text, d)
                    add(t.line, "bound", t.start, t.end, r, "`%s` -> `%s`" % (t.text, r))
        if t.kind == "id" and t.text in ("if", "while") and nxt == "(":
            j = match_paren(toks, i + 1)
            if j is not None:
                a, b = toks[i + 1].end, toks[j].start
                cond = src[a:b]
                add(t.line, "negate", a, b, "!(" + cond + ")", "%s (c) -> %s (!(c))" % (t.text, t.text))
        if t.kind == "id" and (t.text.startswith("WISP_ERR_") or t.text == "WISP_OK") \
                and prev in ("return", "=", "?", ":") and nxt in (";", ":", ")"):
            if i > 1 and prev == ":" and toks[i - 2].text in ("default",):
                continue
            if t.text == "WISP_OK":
                if prev == "return":
                    add(t.line, "status", t.start, t.end, "WISP_ERR_IO", "`return WISP_OK` -> `WISP_ERR_IO`")
            else:
                add(t.line, "status", t.start, t.end, "WISP_OK", "`%s` -> `WISP_OK`" % t.text)
                r = other_status(t.text)
                add(t.line, "status", t.start, t.end, r, "`%s` -> `%s`" % (t.text, r))
        if t.kind == "id" and t.text in ("true", "false") and prev == "return" and nxt == ";":
            r = "false" if t.text == "true" else "true"
            add(t.line, "status", t.start, t.end, r, "`return %s` -> `return %s`" % (t.text, r))

    # Statements that only assign or step.
    for i in sorted(statement_starts(toks)):
        if i >= n:
            continue
        # the end: the ; at depth 0
        depth, k = 0, i
        while k < n:
            x = toks[k].text
            if toks[k].kind == "punct":
                if x in ("(", "[", "{"):
                    depth += 1
                elif x in (")", "]", "}"):
                    depth -= 1
                    if depth < 0:
                        break
                elif x == ";" and depth == 0:
                    break
            k += 1
        if k >= n or toks[k].text != ";":
            continue
        j = i
        pre = False
        if toks[j].text in ("++", "--"):
            pre, j = True, j + 1
        e = lvalue_end(toks, j, k)
        if e is None:
            continue
        ok = (pre and e == k) or (not pre and e + 1 == k and toks[e].text in ("++", "--")) or \
             (not pre and e < k and toks[e].text in ASSIGN_OPS)
        if not ok:
            continue
        text = " ".join(src[toks[i].start:toks[k].start].split())
        if len(text) > 60:
            text = text[:57] + "..."
        add(toks[i].line, "delete", toks[i].start, toks[k].start, "", "delete `%s;`" % text)

    # Stable keys: the file, the line's text (not its number) and the change.
    lines = src.split("\n")
    seen = {}
    for m in out:
        line_text = " ".join(lines[m.line - 1].split())
        col = m.start - (src.rfind("\n", 0, m.start) + 1)
        base = "%s|%s|%s|%d" % (os.path.basename(m.file), line_text, m.desc, col)
        seen[base] = seen.get(base, 0) + 1
        m.key = base if seen[base] == 1 else "%s|#%d" % (base, seen[base])
    for idx, m in enumerate(out):
        m.index = idx
    return out


# ---- the build ------------------------------------------------------------

def run(cmd, cwd, timeout=None, capture=True):
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, (out or b"").decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return None, (out or b"").decode("utf-8", "replace"), True


class Tree:
    """A snapshot of core/, port/ and tests/ with every object built once."""

    def __init__(self, args, scratch):
        self.args = args
        self.scratch = scratch
        self.src = os.path.join(scratch, "src")
        self.cc = args.cc
        self.cflags = ["-std=c99"] + WARN + args.opt.split() + INCS
        self.mut_cflags = ["-std=c99", "-w"] + args.opt.split() + ["-g0"] + INCS

    def snapshot(self):
        os.makedirs(self.src)
        from_git = ["core", "port", "tests"] if self.args.rev else (["core"] if self.args.core_rev else [])
        if from_git:
            arch = subprocess.run(["git", "archive", self.args.rev or self.args.core_rev] + from_git,
                                  cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
            subprocess.run(["tar", "-x", "-C", self.src], input=arch, check=True)
        for d in ["core", "port", "tests"]:
            if d not in from_git:
                shutil.copytree(os.path.join(ROOT, d), os.path.join(self.src, d),
                                ignore=shutil.ignore_patterns("corpus", "__pycache__", "*.o"))
        for f in self.args.with_files:
            dst = os.path.join(self.src, os.path.normpath(f))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(os.path.join(ROOT, f), dst)

    def lib_sources(self):
        srcs = []
        for d in ["core"] + PORT_DIRS:
            full = os.path.join(self.src, d)
            srcs += sorted(os.path.join(d, f) for f in os.listdir(full) if f.endswith(".c"))
        return srcs

    def obj(self, source):
        return os.path.join(self.scratch, "obj", source[:-2] + ".o")

    def build(self, jobs, log):
        self.sources = self.lib_sources()
        self.compile_failed = {}
        tests_dir = os.path.join(self.src, "tests")
        self.tests = sorted(f[5:-2] for f in os.listdir(tests_dir)
                            if f.startswith("test_") and f.endswith(".c"))
        if self.args.tests:
            self.tests = [t for t in self.tests if t in self.args.tests]
        jobs_list = [(s, self.obj(s)) for s in self.sources] + \
                    [("tests/test_%s.c" % t, self.obj("tests/test_%s.c" % t)) for t in self.tests]

        def compile_one(item):
            s, o = item
            os.makedirs(os.path.dirname(o), exist_ok=True)
            extra = ["-Itests"] if s.startswith("tests/") else []
            rc, out, _ = run([self.cc] + self.cflags + extra + ["-c", s, "-o", o], self.src)
            return s, rc, out

        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
            for s, rc, out in ex.map(compile_one, jobs_list):
                if rc != 0:
                    if s.startswith("tests/"):
                        log("baseline: %s does not compile; left out:\n%s" % (s, out[-2000:]))
                        self.tests.remove(s[11:-2])
                        self.compile_failed[s[11:-2]] = "does not compile against this core"
                    else:
                        raise SystemExit("baseline: %s does not compile:\n%s" % (s, out))
        self.lib = os.path.join(self.scratch, "base", "libwisp.a")
        os.makedirs(os.path.dirname(self.lib), exist_ok=True)
        subprocess.run(["ar", "rcs", self.lib] + [self.obj(s) for s in self.sources], check=True)

        # Link each test binary once, recording which core objects it pulls in.
        self.uses = {}

        def link_one(t):
            binary = os.path.join(self.scratch, "base", "test_" + t)
            rc, out, _ = run([self.cc, self.obj("tests/test_%s.c" % t), "-o", binary, self.lib] +
                             LIBS + ["-Wl,-Map=" + binary + ".map"], self.src)
            members = set()
            if rc == 0:
                with open(binary + ".map", errors="replace") as fh:
                    members = set(re.findall(r"libwisp\.a\((wisp_\w+)\.o\)", fh.read()))
            return t, rc, out, members

        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
            for t, rc, out, members in ex.map(link_one, list(self.tests)):
                if rc != 0:
                    log("baseline: test_%s does not link; left out:\n%s" % (t, out[-2000:]))
                    self.tests.remove(t)
                else:
                    self.uses[t] = {"core/%s.c" % m for m in members
                                    if os.path.exists(os.path.join(self.src, "core", m + ".c"))}

    def baseline(self, log):
        """Runs each binary once unmutated: its time, or why it is left out."""
        self.times, self.left_out = {}, dict(self.compile_failed)
        for t in list(self.tests):
            if t in self.args.exclude:
                self.left_out[t] = "excluded by --exclude"
                continue
            binary = os.path.join(self.scratch, "base", "test_" + t)
            dt = None
            for _ in range(2):  # the faster of two runs: the machine is shared
                t0 = time.monotonic()
                rc, out, timed_out = run([binary], self.src, timeout=120)
                dt = min(dt or 1e9, time.monotonic() - t0)
                if timed_out or rc != 0:
                    break
            if timed_out or rc != 0:
                self.left_out[t] = "fails unmutated (exit %s)" % ("timeout" if timed_out else rc)
                log("baseline: test_%s fails before any mutation; left out:\n%s" % (t, out[-1500:]))
            elif dt > self.args.slow:
                self.left_out[t] = "slow: %.2f s a run (--slow %.1f)" % (dt, self.args.slow)
            else:
                self.times[t] = dt
        self.run_tests = [t for t in self.tests if t in self.times]


class Runner:
    def __init__(self, tree, args):
        self.tree = tree
        self.args = args
        self.kills = {}  # (file, test) -> kills, to try the deadliest first
        self.lock = threading.Lock()
        self.slots = list(range(args.jobs))
        self.refs = {}  # (slot, file) -> the unmutated object's bytes

    def order(self, file):
        stem = os.path.basename(file)[5:-2]  # wisp_request.c -> request
        tests = [t for t in self.tree.run_tests if file in self.tree.uses.get(t, ())]
        with self.lock:
            return sorted(tests, key=lambda t: (-self.kills.get((file, t), 0), t != stem,
                                                self.tree.times[t]))

    def test(self, mutant, src):
        with self.lock:
            slot = self.slots.pop()
        try:
            return self._test(mutant, src, slot)
        finally:
            with self.lock:
                self.slots.append(slot)

    def _test(self, m, src, slot):
        tree = self.tree
        wdir = os.path.join(tree.scratch, "w%d" % slot)
        cdir = os.path.join(wdir, "core")
        os.makedirs(cdir, exist_ok=True)
        base = os.path.basename(m.file)
        cfile = os.path.join(cdir, base)
        with open(cfile, "w") as f:
            f.write(m.apply(src))
        ofile = os.path.join(wdir, base[:-2] + ".o")
        ref = os.path.join(wdir, base[:-2] + ".ref.o")
        if (slot, m.file) not in self.refs:
            # The unmutated file compiled the same way, from the same path.
            with open(cfile, "w") as f:
                f.write(src)
            run([tree.cc] + tree.mut_cflags + ["-c", cfile, "-o", ref], tree.src)
            with open(ref, "rb") as f:
                self.refs[(slot, m.file)] = f.read()
            with open(cfile, "w") as f:
                f.write(m.apply(src))
        rc, out, _ = run([tree.cc] + tree.mut_cflags + ["-c", cfile, "-o", ofile], tree.src)
        if rc != 0:
            return {"result": "stillborn"}
        with open(ofile, "rb") as f:
            if f.read() == self.refs[(slot, m.file)]:
                # The compiler made the same code (dead under this build's
                # switches, or no change at all): equivalent by construction.
                return {"result": "same-code"}
        tests = self.order(m.file)
        if not tests:
            return {"result": "survived", "by": None, "note": "no test links this file"}
        for t in tests:
            binary = os.path.join(wdir, "test_" + t)
            rc, out, _ = run([tree.cc, tree.obj("tests/test_%s.c" % t), ofile, "-o", binary,
                              tree.lib] + LIBS, tree.src)
            if rc != 0:
                return {"result": "stillborn", "note": "link: " + out[-300:]}
            limit = max(self.args.timeout_min, self.args.timeout_factor * tree.times[t])
            rc, out, timed_out = run([binary], tree.src, timeout=limit)
            if timed_out or rc != 0:
                with self.lock:
                    self.kills[(m.file, t)] = self.kills.get((m.file, t), 0) + 1
                failed = re.findall(r"^\[  FAILED  \] ([a-z_]\w*)", out, re.M)
                return {"result": "timeout" if timed_out else "killed", "by": "test_" + t,
                        "case": failed[0] if failed else ("(exit %s)" % rc if not timed_out else None)}
        return {"result": "survived", "by": None}


# ---- selection and the report ------------------------------------------------

def load_equivalent(path):
    eq = {}
    if not os.path.exists(path):
        return eq
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, _, why = line.partition("\t")
            eq[key.strip()] = why.strip()
    return eq


def pick(mutants, args):
    """The mutants to run, and the results carried over from an earlier run
    (--rerun: its killed mutants, which more tests cannot bring back).

    With --rerun, the files the earlier run covered get its survivors again
    and any mutant it never saw (lines changed since); the other files are
    sampled (--sample) or taken whole, so one run covers all of core/."""
    if args.rerun:
        with open(args.rerun) as f:
            prior = json.load(f)
        prior_files = {os.path.normpath(f) for f in prior["files"]}
        prior_keys = {r["key"] for r in prior["mutants"]}
        want = {r["key"] for r in prior["mutants"]
                if args.rerun_all or r["result"] == "survived"}
        old = [m for m in mutants if m.file in prior_files]
        keys = {m.key for m in old}
        carried = [dict(r, carried=True) for r in prior["mutants"]
                   if r["key"] not in want and r["key"] in keys]
        # Mutants it never saw are run only in the files it took whole (a
        # sampled file's unsampled mutants are not new).  Older results
        # have no list: a file is taken for whole when nearly all its
        # mutants are there.
        counts = {}
        for r in prior["mutants"]:
            counts[r["file"]] = counts.get(r["file"], 0) + 1
        now = {}
        for m in old:
            now[m.file] = now.get(m.file, 0) + 1
        whole = set(prior["whole_files"]) if "whole_files" in prior else \
            {f for f in now if counts.get(f, 0) >= 0.9 * now[f]}
        again = [m for m in old if m.key in want or (m.key not in prior_keys and m.file in whole)]
        rest = [m for m in mutants if m.file not in prior_files]
        sampled, _ = pick_sample(rest, args) if rest else ([], [])
        return again + sampled, carried
    return pick_sample(mutants, args)


def pick_sample(mutants, args):
    """--ops and --sample over these mutants."""
    if args.ops:
        mutants = [m for m in mutants if m.op in args.ops]
    if not args.sample or args.sample >= len(mutants):
        return mutants, []
    rng = random.Random(args.seed)
    weights = {}
    for w in args.weight:
        f, _, v = w.partition("=")
        weights[os.path.normpath(f)] = float(v)
    by_file = {}
    for m in mutants:
        by_file.setdefault(m.file, []).append(m)
    total = sum(len(v) * weights.get(f, 1.0) for f, v in by_file.items())
    chosen = []
    for f in sorted(by_file):
        v = by_file[f]
        share = int(round(args.sample * len(v) * weights.get(f, 1.0) / total))
        share = max(1, min(len(v), share))
        chosen += rng.sample(v, share)
    chosen.sort(key=lambda m: (m.file, m.index))
    return chosen, []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="+", help="core files to mutate (default: core/*.c)")
    ap.add_argument("--sample", type=int, default=0, help="a random sample of N mutants")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--weight", action="append", default=[], metavar="FILE=W",
                    help="weight a file's share of the sample (repeatable)")
    ap.add_argument("--ops", nargs="+", choices=["rel", "bound", "logic", "negate", "status", "delete"])
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--name", default=None, help="results under build/mutate/NAME (default: a time stamp)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mutate"))
    ap.add_argument("--core-rev", default=None,
                    help="take core/ from this git revision (default: the working tree as it is)")
    ap.add_argument("--rev", default=None,
                    help="take core/, port/ and tests/ from this git revision (others may be editing the tree)")
    ap.add_argument("--with", dest="with_files", nargs="+", default=[], metavar="FILE",
                    help="files of the working tree laid over the snapshot (new tests)")
    ap.add_argument("--tests", nargs="+", help="only these unit binaries (names without test_)")
    ap.add_argument("--exclude", nargs="+", default=[], help="unit binaries to leave out (without test_)")
    ap.add_argument("--slow", type=float, default=1.5,
                    help="leave out binaries whose baseline run takes longer (seconds; default 1.5)")
    ap.add_argument("--timeout-factor", type=float, default=5.0)
    ap.add_argument("--timeout-min", type=float, default=2.0)
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--opt", default="-O1", help="optimisation flags (default -O1)")
    ap.add_argument("--nice", type=int, default=10, help="run niced (default 10)")
    ap.add_argument("--equivalent", default=os.path.join(ROOT, "tests", "mutate_equivalent.txt"))
    ap.add_argument("--rerun", metavar="RESULTS_JSON", help="run again the survivors of an earlier run")
    ap.add_argument("--rerun-all", action="store_true", help="with --rerun: every mutant of it")
    ap.add_argument("--list", action="store_true", help="count the mutants; build nothing")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()

    os.chdir(ROOT)
    files = args.files or sorted(os.path.join("core", f) for f in os.listdir("core") if f.endswith(".c"))
    files = [os.path.normpath(f) for f in files]

    scratch = tempfile.mkdtemp(prefix="wisp-mutate-")
    tree = Tree(args, scratch)
    tree.snapshot()
    sources = {}
    mutants = []
    for f in files:
        with open(os.path.join(tree.src, f)) as fh:
            sources[f] = fh.read()
        mutants += mutants_of(f, sources[f])
    if args.list:
        counts = {}
        for m in mutants:
            counts.setdefault(m.file, {}).setdefault(m.op, 0)
            counts[m.file][m.op] += 1
        for f in files:
            c = counts.get(f, {})
            print("%-24s %5d  %s" % (f, sum(c.values()), " ".join("%s %d" % kv for kv in sorted(c.items()))))
        print("%-24s %5d" % ("total", len(mutants)))
        shutil.rmtree(scratch)
        return 0
    chosen, carried = pick(mutants, args)

    if args.nice:
        os.nice(args.nice)
    name = args.name or time.strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(args.out, name)
    os.makedirs(outdir, exist_ok=True)
    logf = open(os.path.join(outdir, "log.txt"), "w")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    t0 = time.monotonic()
    log("mutate: %d of %d mutants in %s%s; scratch %s" % (
        len(chosen), len(mutants), " ".join(files),
        " (%d results carried over from %s)" % (len(carried), args.rerun) if args.rerun else "", scratch))
    tree.build(args.jobs, log)
    tree.baseline(log)
    log("baseline built and run in %.1f s; per mutant: %s" %
        (time.monotonic() - t0, " ".join("test_%s(%.2fs)" % (t, tree.times[t]) for t in tree.run_tests)))
    for t, why in sorted(tree.left_out.items()):
        log("left out: test_%s: %s" % (t, why))

    equivalent = load_equivalent(args.equivalent)
    runner = Runner(tree, args)
    results = []
    t1 = time.monotonic()
    done = 0

    def one(m):
        return m, runner.test(m, sources[m.file])

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        for m, r in ex.map(one, chosen):
            done += 1
            r.update({"file": m.file, "line": m.line, "op": m.op, "change": m.desc, "key": m.key,
                      "text": " ".join(sources[m.file].split("\n")[m.line - 1].split())})
            if r["result"] == "survived" and m.key in equivalent:
                r["equivalent"] = equivalent[m.key]
            results.append(r)
            if done % 25 == 0 or done == len(chosen):
                el = time.monotonic() - t1
                log("  %d/%d mutants, %.1f min, %.1f mutants/min" % (done, len(chosen), el / 60,
                                                                     done / max(el, 1e-9) * 60))
    elapsed = time.monotonic() - t1
    ran = len(results)
    for r in carried:
        if r["result"] == "survived" and r["key"] in equivalent:
            r["equivalent"] = equivalent[r["key"]]
        results.append(r)

    # The report.
    rows, tot = {}, {"killed": 0, "timeout": 0, "survived": 0, "stillborn": 0, "same-code": 0,
                     "equivalent": 0}
    for r in results:
        row = rows.setdefault(r["file"], dict.fromkeys(tot, 0))
        row[r["result"]] += 1
        tot[r["result"]] += 1
        if r.get("equivalent"):
            row["equivalent"] += 1
            tot["equivalent"] += 1
    lines = ["mutation run %s: %d mutants run in %.1f min (%.1f/min, -j %d)%s, sources from %s%s" %
             (name, ran, elapsed / 60, ran / max(elapsed, 1e-9) * 60, args.jobs,
              ", %d results carried over from %s" % (len(carried), args.rerun) if carried else "",
              args.rev or (("core %s, the rest " % args.core_rev) if args.core_rev else "") + "the working tree",
              " with " + " ".join(args.with_files) if args.with_files else ""),
             "tests per mutant: %s" % " ".join("test_" + t for t in tree.run_tests),
             "left out: %s" % ("; ".join("test_%s (%s)" % kv for kv in sorted(tree.left_out.items())) or "none"),
             "",
             "%-22s %6s %6s %8s %9s %9s %5s %7s %8s" % ("file", "killed", "t/o", "survived", "stillborn",
                                                        "same-code", "equiv", "raw %", "behav %")]

    def pct(a, b):
        return "%.1f" % (100.0 * a / b) if b else "-"

    for f in sorted(rows) + ["total"]:
        row = tot if f == "total" else rows[f]
        k = row["killed"] + row["timeout"]
        counted = k + row["survived"]
        lines.append("%-22s %6d %6d %8d %9d %9d %5d %7s %8s" % (
            os.path.basename(f), row["killed"], row["timeout"], row["survived"], row["stillborn"],
            row["same-code"], row["equivalent"], pct(k, counted), pct(k, counted - row["equivalent"])))
    lines.append("")
    lines.append("raw %%: killed (timeouts included) of the mutants that compiled to other code "
                 "(same-code: the compiler made the unmutated object, not counted); "
                 "behav %%: the same without the survivors judged equivalent (%s)" %
                 os.path.relpath(args.equivalent, ROOT))
    summary = "\n".join(lines)
    log("\n" + summary)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(summary + "\n")
    surv = [r for r in results if r["result"] == "survived"]
    with open(os.path.join(outdir, "survivors.txt"), "w") as f:
        for r in sorted(surv, key=lambda r: (r["file"], r["line"])):
            f.write("%s:%d\t%s%s\t%s\n\tkey: %s\n" % (r["file"], r["line"], r["change"],
                                                   "  [equivalent: %s]" % r["equivalent"] if r.get("equivalent") else "",
                                                   r["text"], r["key"]))
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"name": name, "files": files, "core_rev": args.core_rev, "rev": args.rev,
                   "with": args.with_files,
                   "core_sha": {f: hashlib.sha1(sources[f].encode()).hexdigest() for f in files},
                   "tests": tree.run_tests, "left_out": tree.left_out, "seconds": elapsed,
                   "whole_files": sorted(f for f in files if {m.key for m in mutants if m.file == f}
                                         <= {r["key"] for r in results}),
                   "mutants": results}, f, indent=1)
    log("survivors: %s" % os.path.join(outdir, "survivors.txt"))
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

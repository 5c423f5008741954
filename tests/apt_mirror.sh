#!/bin/sh
# Prints the URI of the Debian archive this machine's apt already uses, so
# the repository names no package host and a machine on a local mirror keeps
# using it.  Only an entry that is Debian's own counts: the machine's suite
# (VERSION_CODENAME), component main, enabled, and signed by Debian's
# archive keyring (or by nothing named); a third-party repository for the
# same suite (docker, cuda, ...) is passed over.  Exit status 1 when none.
CODENAME=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ -n "$CODENAME" ] || exit 1
find_deb822() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v want="$CODENAME" '
            function has(list, word,   n, a, i) {
                n = split(list, a, /[[:space:]]+/)
                for (i = 1; i <= n; i++) if (a[i] == word) return 1
                return 0
            }
            function emit() {
                if (deb && on && uri != "" && has(suites, want) && has(comps, "main") &&
                    (key == "" || key ~ /debian-archive-keyring/)) { print uri; exit }
            }
            function reset() { deb = 0; on = 1; uri = ""; suites = ""; comps = ""; key = "" }
            BEGIN { reset() }
            /^[[:space:]]*$/ { emit(); reset(); next }
            /^Types:/      { deb = has(substr($0, 7), "deb") }
            /^URIs:/       { uri = $2 }
            /^Suites:/     { suites = substr($0, 8) }
            /^Components:/ { comps = substr($0, 12) }
            /^Signed-By:/  { key = $2 }
            /^Enabled:/    { on = ($2 != "no") }
            END { emit() }
        ' "$f"
    done
}
find_one_line() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v want="$CODENAME" '
            $1 != "deb" { next }
            {
                opts = ""; i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
                                  opts = opts " " $i; i++ }
                uri = $i; suite = $(i + 1); main = 0
                for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
                if (suite == want && main && (opts !~ /signed-by/ || opts ~ /debian-archive-keyring/)) {
                    print uri; exit
                }
            }' "$f"
    done
}
uri=$( (find_deb822; find_one_line) | head -n 1)
[ -n "$uri" ] || exit 1
echo "$uri"

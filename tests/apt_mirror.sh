#!/bin/sh
# Prints the URI of the Debian archive this machine's apt already uses (the
# first "deb" source that is not a -security suite), so the repository names
# no package host.  Exit status 1 when none is found.
find_deb822() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function emit() { if (deb && uri != "" && suite != "" && suite !~ /security/) { print uri; exit } }
            /^[[:space:]]*$/ { emit(); deb = 0; uri = ""; suite = ""; next }
            /^Types:/  { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
            /^URIs:/   { uri = $2 }
            /^Suites:/ { suite = $2 }
            END { emit() }
        ' "$f"
    done
}
find_one_line() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" && $0 !~ /security/ {
                for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }' "$f"
    done
}
uri=$( (find_deb822; find_one_line) | head -n 1)
[ -n "$uri" ] || exit 1
echo "$uri"

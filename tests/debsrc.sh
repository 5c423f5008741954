#!/bin/sh
# Fetches a Debian source package into build/src and prints the path of its
# unpacked tree:
#     TREE=$(sh tests/debsrc.sh PACKAGE SUITE TREE_GLOB)
# e.g. tests/debsrc.sh mbedtls trixie 'mbedtls-3.6*'.  Nothing is fetched when
# a tree matching TREE_GLOB is already there.
#
# The deb-src entry it adds (source packages only: nothing can be installed
# through it) names the archive this machine's apt already uses, found by
# tests/apt_mirror.sh, so the repository names no package host and a machine
# on a local mirror keeps using it.  Needs dpkg-dev (installed when missing)
# and root or sudo the first time.
set -eu

PKG=$1 SUITE=$2 GLOB=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC_DIR="$ROOT/build/src"
LIST=/etc/apt/sources.list.d/wisp-deb-src.sources

# A tree counts once apt-get source has unpacked and patched it whole: the
# marker is written after, so a run cut short is fetched again.
find_tree() {
    for t in $(find "$SRC_DIR" -maxdepth 1 -type d -name "$GLOB" 2>/dev/null | sort -r); do
        [ -f "$t/.wisp-fetched" ] && { echo "$t"; return; }
    done
}

TREE=$(find_tree)
if [ -n "$TREE" ]; then
    echo "$TREE"
    exit 0
fi

# Parallel builds (make -j) may ask for the same package at once: one fetch.
mkdir -p "$SRC_DIR"
if [ -z "${WISP_DEBSRC_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
    WISP_DEBSRC_LOCKED=1 exec flock "$SRC_DIR/.lock" sh "$0" "$@"
fi
TREE=$(find_tree)
if [ -n "$TREE" ]; then
    echo "$TREE"
    exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v dpkg-source >/dev/null 2>&1; then
    echo "debsrc: installing dpkg-dev" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dpkg-dev >&2
fi

# One entry for every suite asked for so far, so a later package keeps the
# earlier ones.
# An earlier wisp wrote this one for trixie alone; the list below replaces it.
OLD_LIST=/etc/apt/sources.list.d/wisp-trixie-src.sources
[ -f "$OLD_LIST" ] && $SUDO rm -f "$OLD_LIST"
have=""
[ -f "$LIST" ] && have=$(sed -n 's/^Suites:[[:space:]]*//p' "$LIST" | tr '\n' ' ')
SUITES=$(echo $have $SUITE | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ' | sed 's/ $//')
if [ ! -f "$LIST" ] || [ "$SUITES" != "$(echo $have)" ]; then
    MIRROR=$(sh "$ROOT/tests/apt_mirror.sh") || {
        echo "debsrc: no Debian archive found in this machine's apt sources" >&2; exit 1; }
    echo "debsrc: writing $LIST (deb-src $SUITES from $MIRROR)" >&2
    $SUDO sh -c "cat > '$LIST'" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: $SUITES
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

# Refresh only that source list, not the whole system's.
$SUDO apt-get update -qq -o Dir::Etc::sourcelist="$LIST" \
    -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2

(cd "$SRC_DIR" && apt-get source -qq "$PKG/$SUITE" >&2)
for t in $(find "$SRC_DIR" -maxdepth 1 -type d -name "$GLOB" | sort -r); do
    touch "$t/.wisp-fetched"
    break
done
TREE=$(find_tree)
if [ -z "$TREE" ]; then
    echo "debsrc: no $GLOB tree in $SRC_DIR after apt-get source $PKG/$SUITE" >&2
    exit 1
fi
echo "$TREE"

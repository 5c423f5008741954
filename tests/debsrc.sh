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

find_tree() { find "$SRC_DIR" -maxdepth 1 -type d -name "$GLOB" 2>/dev/null | sort | tail -n 1; }

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
SUITES=$SUITE
if [ -f "$LIST" ]; then
    have=$(sed -n 's/^Suites:[[:space:]]*//p' "$LIST")
    case " $have " in *" $SUITE "*) SUITES=$have ;; *) SUITES="$have $SUITE" ;; esac
fi
if [ ! -f "$LIST" ] || [ "$SUITES" != "$(sed -n 's/^Suites:[[:space:]]*//p' "$LIST")" ]; then
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

mkdir -p "$SRC_DIR"
(cd "$SRC_DIR" && apt-get source -qq "$PKG/$SUITE" >&2)
TREE=$(find_tree)
if [ -z "$TREE" ]; then
    echo "debsrc: no $GLOB tree in $SRC_DIR after apt-get source $PKG/$SUITE" >&2
    exit 1
fi
echo "$TREE"

#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
# Uses apt-get (through sudo when not root); elsewhere says what to install.
#     deps.sh PKG...            install what is missing
#     deps.sh --missing PKG...  only print what is missing (never installs)
if [ "$1" = --missing ]; then
    shift
    command -v dpkg-query >/dev/null 2>&1 || exit 0 # not Debian: the compiler will tell
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || printf ' %s' "$p"
    done
    exit 0
fi
[ $# -eq 0 ] && exit 0
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "wisp: not a Debian-like system: make sure these (Debian names) are installed: $*" >&2
    exit 0 # the compiler will say what is really missing
fi
missing=$(sh "$0" --missing "$@")
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "wisp: please install:$missing (Debian names)" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "wisp: installing$missing" >&2
# Another apt (a parallel make, the machine's own updates) may hold the lock.
$SUDO apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 $missing >&2

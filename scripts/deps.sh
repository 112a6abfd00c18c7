#!/bin/sh
# deps.sh - install the Debian packages chatgw builds, runs and tests with
# (the browser tests: chromium, and node/npm for playwright-core, see tests/web).
#   scripts/deps.sh            install whatever is missing (quiet when all is there)
#   scripts/deps.sh --missing  only print the missing package names
# Idempotent; needs root (or sudo) only when something is missing.
set -eu

PKGS_FUZZ="clang libclang-rt-14-dev"
PKGS="gcc make pkg-config libc6-dev libuv1-dev libwebsockets-dev libwebsockets-evlib-uv \
libhiredis-dev libmsgpack-dev libssl-dev redis-server \
python3 python3-websockets python3-redis python3-msgpack python3-pytest \
python3-prometheus-client chromium nodejs"
# npm: Debian packages it apart from nodejs; NodeSource's nodejs brings its own
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# --fuzz: the fuzzer's packages too (make fuzz)
if [ "${1:-}" = "--fuzz" ]; then
    PKGS="$PKGS $PKGS_FUZZ"
    shift
fi
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done

if [ "${1:-}" = "--missing" ]; then
    echo $missing
    exit 0
fi
[ -n "$missing" ] || exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

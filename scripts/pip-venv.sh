#!/bin/sh
# Creates (once) a Python virtual environment under target/ holding one pinned package from
# PyPI, and prints the path of its python on stdout. The venv scripts of the tests call it:
#
#   scripts/pip-venv.sh NAME REQUIREMENT MODULE [VENV]
#
# NAME names the venv (target/NAME-venv, unless VENV is given) and its messages; REQUIREMENT is
# what pip installs (`duckdb==2.0.0`); MODULE is imported to check it. Tests run in parallel
# processes and may all call this at once: one creates, the others wait. PYTHON (default:
# python3) makes the venv.
set -eu

name=$1 requirement=$2 module=$3
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${4:-$root/target/$name-venv}
python=${PYTHON:-python3}
stamp="$venv/.enclog-$(printf '%s' "$requirement" | tr -c 'A-Za-z0-9.=_-' '_')"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    echo "$name-venv: creating $venv ($requirement from PyPI)" >&2
    log="$venv.log"
    if ! {
        "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement" &&
        "$venv/bin/python" -c "import $module"
    } >"$log" 2>&1; then
        cat "$log" >&2
        echo "$name-venv: failed; see above (needs python3 with venv and pip, and PyPI)" >&2
        exit 1
    fi
    touch "$stamp"
fi
echo "$venv/bin/python"

#!/bin/sh
# Creates (once) a Python virtual environment holding the real zato-enclog 1.0.7 from PyPI and
# prints the path of its python on stdout. Used by tests/zato/make-fixtures.sh and by CI:
#
#   ENCLOG_ZATO_PYTHON="$(scripts/zato-venv.sh)" && export ENCLOG_ZATO_PYTHON
#
# zato-enclog declares `bunch` as a dependency, which does not build on Python >= 3.10; the
# package itself never imports it, so it is installed with --no-deps and its real run-time
# dependencies are installed beside it. Versions are pinned so that fixtures and CI agree.
#
# Environment: ENCLOG_ZATO_VENV (default: target/zato-venv under the repository root),
# PYTHON (default: python3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ENCLOG_ZATO_VENV:-$root/target/zato-venv}
python=${PYTHON:-python3}
stamp="$venv/.enclog-zato-1.0.7"

mkdir -p "$(dirname "$venv")"
# Tests run in parallel processes and may all call this at once: one creates, the others wait.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    echo "zato-venv: creating $venv (zato-enclog 1.0.7 from PyPI, for the compatibility tests)" >&2
    log="$venv.log"
    # pip's resolver complains that zato-enclog's declared test dependencies are missing:
    # expected (--no-deps, above), so its output goes to a log shown only on failure.
    if ! {
        "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-deps zato-enclog==1.0.7 &&
        # setuptools provides pkg_resources, which zato's namespace package imports.
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            cryptography==50.0.2 click==8.5.1 tailer==0.4.1 future==1.0.0 'setuptools<81' &&
        "$venv/bin/python" -c 'import zato.enclog'
    } >"$log" 2>&1; then
        cat "$log" >&2
        echo "zato-venv: failed; see above (needs python3 with venv and pip, and PyPI)" >&2
        exit 1
    fi
    touch "$stamp"
fi
echo "$venv/bin/python"

#!/bin/sh
# Builds the Python package `enclog` from enclog-py/ into a virtual environment under target/
# (created once, with pytest from PyPI) and prints the path of its python on stdout. Used by
# scripts/test.sh, which runs the pytest suite (tests/python/) with it:
#
#   python="$(scripts/python-venv.sh)" && "$python" -m pytest tests/python
#
# The package is installed exactly as the README tells a user to: `pip install ./enclog-py`,
# which fetches maturin as the build backend and builds the extension module with cargo
# (release profile, in the workspace's target folder: unchanged sources rebuild nothing). It is
# reinstalled on every run, so the tests always see the current sources.
#
# Environment: ENCLOG_PYTHON_VENV (default: target/python-venv under the repository root),
# PYTHON (default: python3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ENCLOG_PYTHON_VENV:-$root/target/python-venv}
python=${PYTHON:-python3}
stamp="$venv/.enclog-pytest-9.2.0"

mkdir -p "$(dirname "$venv")"
# Parallel callers: one builds, the others wait.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
log="$venv.log"
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    echo "python-venv: creating $venv (pytest from PyPI, for tests/python)" >&2
    if ! {
        "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest==9.2.0
    } >"$log" 2>&1; then
        cat "$log" >&2
        echo "python-venv: failed; see above (needs python3 with venv and pip, and PyPI)" >&2
        exit 1
    fi
    touch "$stamp"
fi
echo "python-venv: building enclog-py into $venv (pip install ./enclog-py)" >&2
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --force-reinstall --no-deps \
        "$root/enclog-py" >"$log" 2>&1; then
    cat "$log" >&2
    echo "python-venv: pip install ./enclog-py failed; see above" >&2
    exit 1
fi
echo "$venv/bin/python"

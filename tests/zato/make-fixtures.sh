#!/bin/sh
# Regenerates tests/zato/fixtures/ with the real zato-enclog 1.0.7 (see README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/../../scripts/zato-venv.sh")
PYTHONUTF8=1 "$python" "$here/generate.py"

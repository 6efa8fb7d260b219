#!/usr/bin/env bash
# The whole test suite: the command README.md gives a newcomer, and what .ci/run runs.
#
# Needs the Rust toolchain, cargo-nextest, Python 3 with pip, and network access to the package
# registries. It installs what the tests need beyond that:
#   - rsyslog (Debian package) for the pipeline test, with apt-get (as root, or through sudo);
#   - a Python venv under target/ with the real zato-enclog 1.0.7 and `cryptography`
#     (scripts/zato-venv.sh; the tests would create it on first use, this does it up front).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: cargo-nextest is missing; install it with: cargo install --locked cargo-nextest" >&2
  exit 2
fi

if ! command -v rsyslogd >/dev/null 2>&1 && [ ! -x /usr/sbin/rsyslogd ]; then
  echo "test.sh: installing Debian's rsyslog for the pipeline test" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
fi
scripts/zato-venv.sh >/dev/null

cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc

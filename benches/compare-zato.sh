#!/usr/bin/env bash
# The same workload through zato-enclog 1.0.7 (Python) and enclog, with the ratios.
#
#   benches/compare-zato.sh [EVENTS]          # default 200000 events
#
# Needs Python 3 and pip (scripts/zato-venv.sh creates target/zato-venv once) and builds
# `enclog` in release mode. Workload: EVENTS log events, each a 92-byte message (the same
# bytes for both tools), written encrypted to a file, then decrypted back to /dev/null.
#
#   write    zato: Python `logging` + zato's EncryptedLogFormatter, format "%(message)s",
#                  to a FileHandler (events/s, timed inside Python, startup excluded)
#            enclog: `enclog encrypt` (each stdin line sealed and written; whole process)
#   open     zato: `enclog open FILE --key KEY` (zato's CLI) on zato's file
#            enclog: `enclog decrypt` on enclog's file, --jobs 1 and the default (all cores),
#                    and on zato's own file (Fernet lines)
#   size     bytes per line of each file, against the 93-byte plaintext line
#
# Prints a Markdown table. Timings are wall clock on a possibly shared machine: run it twice.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
work=${ENCLOG_BENCH_DIR:-target/bench-data}/zato
mkdir -p "$work"
PY=$(scripts/zato-venv.sh)
cargo build --quiet --release -p enclog-cli
BIN=target/release/enclog

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
avg_len() { awk '{ s += length($0) + 1 } END { printf "%.1f", s / NR }' "$1"; }

# The events: 92 bytes each, as a tracing line would look.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
    s = sprintf("2026-11-26T20:27:%02d.%06dZ  INFO request{id=%d}: app::http: served /api/items/%d status=200",
                i % 60, i % 1000000, i, (i * 7) % 99991)
    printf "%-92.92s\n", s } }' > "$work/plain.txt"

# --- zato-enclog ---------------------------------------------------------------------------
zkey=$("$PY" -c 'from zato.enclog import genkey; print(genkey().decode())')
printf '%s\n' "$zkey" > "$work/zato.key" && chmod 600 "$work/zato.key"
zato_write=$("$PY" - "$work/plain.txt" "$work/zato.log" "$zkey" <<'EOF'
import logging, sys, time
from zato.enclog import EncryptedLogFormatter
src, dst, key = sys.argv[1:]
messages = open(src, encoding="ascii").read().splitlines()
log = logging.getLogger("bench")
log.setLevel(logging.INFO)
log.propagate = False
handler = logging.FileHandler(dst, mode="w", encoding="utf-8")
handler.setFormatter(EncryptedLogFormatter(key.encode("ascii"), "%(message)s"))
log.addHandler(handler)
start = time.perf_counter()
for m in messages:
    log.info(m)
handler.close()
print(f"{len(messages) / (time.perf_counter() - start):.0f}")
EOF
)
t0=$(now)
"$PY" -c 'from zato.enclog import cli_main; cli_main()' open "$work/zato.log" --key "$zkey" > "$work/zato.out"
t1=$(now)
zato_open=$(rate "$N" "$t0" "$t1")
cmp -s "$work/zato.out" "$work/plain.txt" || echo "note: zato's open output differs from the plaintext" >&2

# --- enclog ---------------------------------------------------------------------------------
[ -f "$work/enclog.key" ] || "$BIN" genkey -o "$work/enclog.key" 2>/dev/null
t0=$(now)
"$BIN" encrypt --key-file "$work/enclog.key" < "$work/plain.txt" > "$work/enclog.log"
t1=$(now)
enclog_write=$(rate "$N" "$t0" "$t1")

decrypt_rate() { # FILE KEY [ARGS...]: lines/s of `enclog decrypt`, best of 3
    local file=$1 key=$2 best=0 r t0 t1
    shift 2
    for _ in 1 2 3; do
        t0=$(now)
        "$BIN" decrypt --color never --key-file "$key" "$@" "$file" > "$work/enclog.out"
        t1=$(now)
        r=$(rate "$N" "$t0" "$t1")
        [ "$r" -gt "$best" ] && best=$r
    done
    head -n "$N" "$work/enclog.out" | cmp -s - "$work/plain.txt" || echo "note: enclog's output differs from the plaintext" >&2
    echo "$best"
}
jobs_flag=()
"$BIN" decrypt --help | grep -q -- '--jobs' && jobs_flag=(--jobs 1)
enclog_open_1=$(decrypt_rate "$work/enclog.log" "$work/enclog.key" "${jobs_flag[@]}")
enclog_open_all=$(decrypt_rate "$work/enclog.log" "$work/enclog.key")
enclog_open_zato=$(decrypt_rate "$work/zato.log" "$work/zato.key" "${jobs_flag[@]}")

zato_len=$(avg_len "$work/zato.log")
enclog_len=$(avg_len "$work/enclog.log")

echo
echo "$N events of 92 bytes (93-byte plaintext lines); $(nproc) cores; $(date -u +%FT%TZ)"
echo
echo "| workload | zato-enclog 1.0.7 | enclog | enclog ÷ zato |"
echo "|---|---|---|---|"
echo "| write encrypted events/s | $zato_write | $enclog_write (\`enclog encrypt\`) | ×$(ratio "$enclog_write" "$zato_write") |"
echo "| open lines/s, one core | $zato_open (\`enclog open\`) | $enclog_open_1 (\`enclog decrypt${jobs_flag[*]:+ ${jobs_flag[*]}}\`) | ×$(ratio "$enclog_open_1" "$zato_open") |"
echo "| open lines/s, all cores | $zato_open | $enclog_open_all (\`enclog decrypt\`) | ×$(ratio "$enclog_open_all" "$zato_open") |"
echo "| open zato's own file, lines/s | $zato_open | $enclog_open_zato (Fernet lines) | ×$(ratio "$enclog_open_zato" "$zato_open") |"
echo "| bytes per line (plaintext 93) | $zato_len | $enclog_len | ×$(ratio "$enclog_len" "$zato_len") |"

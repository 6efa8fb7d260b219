#!/usr/bin/env bash
# `enclog decrypt` against its floor (the library's own per-line open of the same lines) and
# against zato-enclog's `enclog open`, on the same events, in one run.
#
#   benches/decrypt-floor.sh [EVENTS] [RUNS]      # defaults: 300000 events, 5 runs of each
#
# Workload: EVENTS log events of 92 bytes (as a tracing line looks), sealed by `enclog encrypt`
# into enclog's file and by zato-enclog 1.0.7's EncryptedLogFormatter into zato's (each tool
# reads its own format of the same events). Then, RUNS times in turn (alternating, so that a
# busy moment of the machine hits every command alike): `enclog decrypt --jobs 1`, `enclog
# decrypt --jobs 2` and zato's `enclog open`, each a whole process writing to /dev/null; and
# the floor: `Opener::open` over the file's lines in memory (benches/open_floor.rs, the median
# of 5 passes); and, to show what reading costs, `dd` reading the file (from the page cache)
# to /dev/null in the CLI's 256 KiB reads, whole process. Prints medians, per-line costs and
# the ratios the targets are stated in.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300000}
RUNS=${2:-5}
work=${ENCLOG_BENCH_DIR:-target/bench-data}/floor
mkdir -p "$work"
PY=$(scripts/zato-venv.sh)
cargo build --quiet --release -p enclog-cli
cargo bench --quiet -p enclog --bench open_floor --no-run 2>/dev/null
BIN=target/release/enclog
FLOOR=$(ls -t target/release/deps/open_floor-* | grep -v '\.d$' | head -1)

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
    s = sprintf("2026-11-26T20:27:%02d.%06dZ  INFO request{id=%d}: app::http: served /api/items/%d status=200",
                i % 60, i % 1000000, i, (i * 7) % 99991)
    printf "%-92.92s\n", s } }' > "$work/plain.txt"
[ -f "$work/enclog.key" ] || "$BIN" genkey -o "$work/enclog.key" 2>/dev/null
"$BIN" encrypt --key-file "$work/enclog.key" < "$work/plain.txt" > "$work/enclog.log"
zkey=$("$PY" -c 'from zato.enclog import genkey; print(genkey().decode())')
"$PY" - "$work/plain.txt" "$work/zato.log" "$zkey" <<'PYEOF'
import logging, sys
from zato.enclog import EncryptedLogFormatter
src, dst, key = sys.argv[1:]
log = logging.getLogger("bench")
log.setLevel(logging.INFO)
log.propagate = False
handler = logging.FileHandler(dst, mode="w", encoding="utf-8")
handler.setFormatter(EncryptedLogFormatter(key.encode("ascii"), "%(message)s"))
log.addHandler(handler)
for m in open(src, encoding="ascii").read().splitlines():
    log.info(m)
handler.close()
PYEOF

secs() { # COMMAND...: wall seconds of one run, output to /dev/null
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The outputs are the events, exactly (checked once).
"$BIN" decrypt --color never --key-file "$work/enclog.key" --jobs 2 "$work/enclog.log" | head -n "$N" | cmp -s - "$work/plain.txt" \
    || { echo "enclog decrypt's output differs from the events" >&2; exit 1; }
"$PY" -c 'from zato.enclog import cli_main; cli_main()' open "$work/zato.log" --key "$zkey" | cmp -s - "$work/plain.txt" \
    || echo "note: zato's output differs from the events" >&2

one=() two=() zato=() floor=() reads=()
for _ in $(seq "$RUNS"); do
    one+=("$(secs "$BIN" decrypt --color never --key-file "$work/enclog.key" --jobs 1 "$work/enclog.log")")
    two+=("$(secs "$BIN" decrypt --color never --key-file "$work/enclog.key" --jobs 2 "$work/enclog.log")")
    zato+=("$(secs "$PY" -c 'from zato.enclog import cli_main; cli_main()' open "$work/zato.log" --key "$zkey")")
    floor+=("$("$FLOOR" "$work/enclog.log" "$work/enclog.key" 5 | awk '/ns_per_line/ { print $2 }')")
    reads+=("$(secs dd if="$work/enclog.log" of=/dev/null bs=256k status=none)")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
mz=$(printf '%s\n' "${zato[@]}" | median)
mf=$(printf '%s\n' "${floor[@]}" | median)
mr=$(printf '%s\n' "${reads[@]}" | median)
ns() { awk -v t="$1" -v n="$N" 'BEGIN { printf "%.0f", t * 1e9 / n }'; }
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "$N events of 92 bytes; $(nproc) cores; medians of $RUNS alternating runs; $(date -u +%FT%TZ)"
echo
echo "| what | median | ns per line | ratio |"
echo "|---|---|---|---|"
echo "| floor: \`Opener::open\` in memory (library) | | $mf | 1 |"
echo "| \`enclog decrypt --jobs 1\`, whole process | ${m1} s | $(ns "$m1") | **×$(r "$(ns "$m1")" "$mf")** of the floor (target ≤ 1.25) |"
echo "| \`enclog decrypt --jobs 2\`, whole process | ${m2} s | $(ns "$m2") | **×$(r "$m1" "$m2")** faster than --jobs 1 (target ≥ 1.7) |"
echo "| zato-enclog 1.0.7 \`enclog open\`, whole process | ${mz} s | $(ns "$mz") | |"
echo "| reading the file alone (\`dd bs=256k\` to /dev/null, whole process) | ${mr} s | $(ns "$mr") | ×$(r "$(ns "$mr")" "$mf") of the floor: the kernel's copy, part of every whole-process figure |"
echo
echo "| enclog against zato-enclog (whole process, same events) | ratio |"
echo "|---|---|"
echo "| \`enclog decrypt --jobs 1\` | **×$(r "$mz" "$m1")** faster (target ≥ 10) |"
echo "| \`enclog decrypt --jobs 2\` | **×$(r "$mz" "$m2")** faster (target ≥ 17) |"

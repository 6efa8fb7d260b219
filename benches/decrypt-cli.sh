#!/usr/bin/env bash
# `enclog decrypt` itself: lines/s on one core and on all cores (interleaved runs, same
# file), and peak RSS on a ~1 GB file.
#
#   benches/decrypt-cli.sh [LINES] [RUNS]     # defaults: 1000000 lines, 5 runs of each
#
# Workload: LINES events of 92 bytes sealed by `enclog encrypt` (184-byte lines), decrypted to
# /dev/null with --color never. The 1 GB file is that file repeated (≈ 5.9 M lines). Files are
# kept under target/bench-data/cli (or $ENCLOG_BENCH_DIR/cli) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${2:-5}
work=${ENCLOG_BENCH_DIR:-target/bench-data}/cli
mkdir -p "$work"
cargo build --quiet --release -p enclog-cli
BIN=target/release/enclog
key=$work/bench.key
log=$work/decrypt-$N.log
big=$work/decrypt-1gb.log

[ -f "$key" ] || "$BIN" genkey -o "$key" 2>/dev/null
if [ ! -f "$log" ]; then
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
        s = sprintf("2026-11-26T20:27:%02d.%06dZ  INFO request{id=%d}: app::http: served /api/items/%d status=200",
                    i % 60, i % 1000000, i, (i * 7) % 99991)
        printf "%-92.92s\n", s } }' | "$BIN" encrypt --key-file "$key" > "$log.partial"
    mv "$log.partial" "$log"
fi
if [ ! -f "$big" ]; then
    copies=$(( (1000000000 + $(stat -c %s "$log") - 1) / $(stat -c %s "$log") ))
    for _ in $(seq "$copies"); do cat "$log"; done > "$big.partial"
    mv "$big.partial" "$big"
fi
lines=$(wc -l < "$log")

has_jobs=0
"$BIN" decrypt --help | grep -q -- '--jobs' && has_jobs=1

run() { # ARGS...: prints seconds for one decrypt of $log
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" decrypt --color never --key-file "$key" "$@" "$log" > /dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

one=() all=()
for _ in $(seq "$RUNS"); do
    if [ $has_jobs = 1 ]; then
        one+=("$(run --jobs 1)")
        all+=("$(run)")
    else
        one+=("$(run)")
    fi
done
m1=$(printf '%s\n' "${one[@]}" | median)
echo
echo "$lines lines of $(awk -v s="$(stat -c %s "$log")" -v n="$lines" 'BEGIN { printf "%.1f", s / n }') bytes; $(nproc) cores; $RUNS interleaved runs each; $(date -u +%FT%TZ)"
echo
echo "| enclog decrypt | median s | lines/s | ratio |"
echo "|---|---|---|---|"
echo "| one core$([ $has_jobs = 1 ] && echo ' (--jobs 1)') | $m1 | $(awk -v n="$lines" -v t="$m1" 'BEGIN { printf "%.2f M", n / t / 1e6 }') | 1 |"
if [ $has_jobs = 1 ]; then
    ma=$(printf '%s\n' "${all[@]}" | median)
    echo "| all cores (default) | $ma | $(awk -v n="$lines" -v t="$ma" 'BEGIN { printf "%.2f M", n / t / 1e6 }') | ×$(awk -v a="$m1" -v b="$ma" 'BEGIN { printf "%.2f", a / b }') |"
fi
echo
echo "| peak RSS, $(awk -v s="$(stat -c %s "$big")" 'BEGIN { printf "%.2f GB", s / 1e9 }') file | max RSS | wall s |"
echo "|---|---|---|"
rss() {
    /usr/bin/time -f "%M %e" "$BIN" decrypt --color never --key-file "$key" "$@" "$big" 2>&1 >/dev/null | tail -1 \
        | awk '{ printf "%.1f MB | %s", $1 / 1024, $2 }'
}
if [ $has_jobs = 1 ]; then
    echo "| --jobs 1 | $(rss --jobs 1) |"
    echo "| default (all cores) | $(rss) |"
else
    echo "| sequential | $(rss) |"
fi

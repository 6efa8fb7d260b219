#!/usr/bin/env python3
"""Manual measurement (not run by `cargo test`): latency of `enclog tailf`, from a line appended
and flushed to the log to its decrypted text on tailf's stdout.

    cargo build --release -p enclog-cli
    python3 tests/cli/tailf_latency.py [target/release/enclog] [--poll]

Appends 100 lines at random intervals (10-60 ms) and prints the median, p95 and max.
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
binary = args.pop(0) if args and not args[0].startswith("-") else "target/release/enclog"
N = 100

with tempfile.TemporaryDirectory() as d:
    key, log = os.path.join(d, "k"), os.path.join(d, "app.log")
    subprocess.run([binary, "genkey", "-o", key], check=True, capture_output=True)
    open(log, "w").close()
    plain = "".join(f"latency probe {i}\n" for i in range(N)).encode()
    sealed = subprocess.run([binary, "encrypt", "--key-file", key], input=plain,
                            capture_output=True, check=True).stdout.splitlines(keepends=True)[:N]
    tail = subprocess.Popen([binary, "tailf", "-n", "0", log, "--key-file", key] + args,
                            stdout=subprocess.PIPE)
    time.sleep(0.5)
    latencies = []
    with open(log, "ab", buffering=0) as f:
        for i, line in enumerate(sealed):
            time.sleep(random.uniform(0.01, 0.06))
            t0 = time.perf_counter()
            f.write(line)
            got = tail.stdout.readline()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert got == f"latency probe {i}\n".encode(), got
    tail.send_signal(2)
    tail.wait()
    latencies.sort()
    print(f"{N} lines: median {statistics.median(latencies):.2f} ms, "
          f"p95 {latencies[int(0.95 * N)]:.2f} ms, max {latencies[-1]:.2f} ms "
          f"(tailf exit status {tail.returncode})")

#!/usr/bin/env python3
"""Verify an archive of several hosts' rotated enclog files in parallel with Dask.

The archive holds one folder per host, each with that host's rotated log files::

    ARCHIVE/web1/app.log.3.gz  app.log.2.gz  app.log.1  app.log
    ARCHIVE/db1/app.log.2.gz   app.log.1     app.log

and KEYS holds one key file per host, named after it (``KEYS/web1.key``: a symmetric key, or
the identity in the recipient mode). Each host's files are cut into shards of
``--files-per-shard`` consecutive files (oldest first); Dask runs one task per shard, which
calls ``enclog verify --save-state`` on that shard's files with **that host's key only** and
returns the shard's state (a few hundred bytes per session: no line of the log). The client
then merges the states with ``enclog verify --merge-state`` and prints the report: the findings
one run over every file would give (a line or whole session deleted where two shards meet
included), each naming its file and line.

The states are sealed with ``--state-key-file``, a key made for this (``enclog genkey -o
verify.key``): every worker and the merging client hold it, and the client needs no host's key.

    python3 examples/verify_archive.py --keys keys/ --state-key-file verify.key archive/

``--scheduler tcp://HOST:8786`` uses a running Dask cluster; by default a LocalCluster of two
worker processes stands in for the machines. Exit status: the merge's (0 clean, 1 findings,
2 error). Needs ``pip install "dask[distributed]"`` and the ``enclog`` command.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

from dask.distributed import Client, LocalCluster


def rotation_order(name):
    """Sort key putting a host's files oldest first: app.log.3.gz, app.log.2.gz, app.log.1,
    app.log (a higher number is older)."""
    match = re.search(r"\.(\d+)(\.gz)?$", name)
    return -int(match.group(1)) if match else 0


def shards(archive, keys, files_per_shard):
    """The shards: (host, its key file, its files relative to the archive), in order."""
    out = []
    for host in sorted(os.listdir(archive)):
        folder = os.path.join(archive, host)
        if not os.path.isdir(folder):
            continue
        key = os.path.join(keys, host + ".key")
        if not os.path.exists(key):
            sys.exit(f"verify_archive: no key for host {host}: expected {key}")
        files = sorted(os.listdir(folder), key=rotation_order)
        files = [os.path.join(host, f) for f in files if not f.startswith(".")]
        for i in range(0, len(files), files_per_shard):
            out.append((host, key, files[i : i + files_per_shard]))
    return out


def verify_shard(enclog, archive, key, state_key, files, options):
    """A Dask task: verifies one shard's files with its host's key; returns its state's bytes
    and what `enclog verify` printed (the findings no other shard can change)."""
    with tempfile.TemporaryDirectory() as work:
        state = os.path.join(work, "shard.state")
        done = subprocess.run(
            [enclog, "verify", "--key-file", key, "--state-key-file", state_key,
             "--save-state", state, *options, *files],
            cwd=archive, capture_output=True, text=True,
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(f"enclog verify {' '.join(files)}: {done.stderr.strip()}")
        with open(state, "rb") as f:
            return f.read(), done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", help="a folder with one folder of rotated files per host")
    parser.add_argument("--keys", required=True, help="a folder with HOST.key per host")
    parser.add_argument("--state-key-file", required=True,
                        help="the key sealing the shards' states (enclog genkey -o FILE)")
    parser.add_argument("--enclog", default="enclog", help="the enclog command")
    parser.add_argument("--files-per-shard", type=int, default=2)
    parser.add_argument("--scheduler", help="a Dask scheduler's address (default: local)")
    parser.add_argument("--json", action="store_true", help="print the merge's JSON report")
    args = parser.parse_args()

    archive = os.path.abspath(args.archive)
    keys = os.path.abspath(args.keys)
    state_key = os.path.abspath(args.state_key_file)
    # Each host is a writer of its own: several chains are expected.
    options = ["--allow-new-chains"]
    work = shards(archive, keys, args.files_per_shard)

    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [
            client.submit(verify_shard, args.enclog, archive, key, state_key, files, options,
                          key="verify-" + "-".join(files).replace("/", "_"), pure=False)
            for host, key, files in work
        ]
        results = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    with tempfile.TemporaryDirectory() as merge_dir:
        states = []
        for i, (state, _) in enumerate(results):
            path = os.path.join(merge_dir, f"shard-{i}.state")
            with open(path, "wb") as f:
                f.write(state)
            states.append(path)
        output = ["--output", "json"] if args.json else []
        merged = subprocess.run(
            [args.enclog, "verify", "--state-key-file", state_key, *options, *output,
             "--merge-state", *states],
            cwd=archive, capture_output=True, text=True,
        )
    sys.stdout.write(merged.stdout)
    sys.stderr.write(merged.stderr)
    if not args.json:
        print(f"({len(work)} shards of {len({h for h, _, _ in work})} hosts, "
              f"verified on Dask workers and merged)")
    return merged.returncode


if __name__ == "__main__":
    sys.exit(main())

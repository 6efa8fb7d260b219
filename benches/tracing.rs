//! tracing: plain `fmt` against encrypted, to the same writer.
//!
//! ```sh
//! cargo bench -p enclog --bench tracing
//! ```
//! - `tracing_sync/*`: the `fmt` layer → `Mutex<BufWriter<File>>` (the file is `/dev/null`, so
//!   the disk does not fill; every 8 KiB still costs a `write` system call): `plain` against
//!   `encrypted` (`EncryptedWriter::locked` around the same `BufWriter`: its mutex orders the
//!   lines), `encrypted_generic` (`EncryptedWriter::new` around the `Mutex`: the session's order
//!   lock too), `encrypted_clear_level`, and `format_floor` (`workloads::FloorWriter::with_format`:
//!   the raw AEAD, base64 and the v2 header, nothing else; for profiling against `encrypted`).
//!   Target: encrypted ≤ 1.6 × plain.
//! - `tracing_non_blocking/*`: the cost on the **calling thread** with
//!   `tracing_appender::non_blocking` (`.lossy(false)`): `plain` (`non_blocking(file)`),
//!   `encrypted_outside` (`EncryptedWriter(non_blocking(file))`: sealing on the calling
//!   thread) and `enclog_non_blocking` (`enclog::non_blocking(key, file)`: enclog's own
//!   worker, sealing there). Only the logging calls are timed
//!   ([`workloads::calling_thread_time`]). Target: encrypted ≤ 1.15 × `plain`.
//!
//! Criterion runs one benchmark after the other; on a shared machine the ratios in
//! `BENCHMARKS.md` come from `benches/ratios.rs`, which interleaves each pair.

use criterion::{Criterion, criterion_group, criterion_main};
use enclog::{EncryptedWriter, Key};
use std::io::BufWriter;

#[path = "workloads.rs"]
mod workloads;
use workloads::{
    FloorWriter, SyncCases, calling_thread_time, dev_null, event, non_blocking_cases, subscriber,
    sync_cases, wall_clock,
};

fn sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracing_sync");
    let key = Key::generate().unwrap();
    let SyncCases {
        plain,
        encrypted,
        encrypted_generic,
    } = sync_cases(&key);
    let encrypted_level =
        subscriber(EncryptedWriter::locked(key, BufWriter::new(dev_null())).clear_level(true));
    for (name, dispatch) in [
        ("plain", &plain),
        ("encrypted", &encrypted),
        ("format_floor", &subscriber(FloorWriter::with_format())),
        ("encrypted_generic", &encrypted_generic),
        ("encrypted_clear_level", &encrypted_level),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            let mut i = 0;
            group.bench_function(name, |b| {
                b.iter(|| {
                    i += 1;
                    event(i)
                })
            });
        });
    }
    group.finish();
}

fn non_blocking(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracing_non_blocking");
    for case in non_blocking_cases(&Key::generate().unwrap()) {
        tracing::dispatcher::with_default(&case.dispatch, || {
            group.bench_function(case.name, |b| {
                b.iter_custom(|iters| calling_thread_time(iters, &case.sink, wall_clock));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, sync, non_blocking);
criterion_main!(benches);

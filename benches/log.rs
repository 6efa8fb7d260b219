//! The `log` crate: a plain logger against `EncryptedLogger`.
//!
//! ```sh
//! cargo bench -p enclog --bench log
//! ```
//! Both loggers format the same fields the same way (`RFC 3339 timestamp LEVEL target:
//! message`, the timestamp read from the clock each time) into a reused thread-local buffer
//! and write the line with one `write_all` to a `Mutex<BufWriter<File>>` on `/dev/null`
//! ([`workloads::PlainLogger`]); the encrypted one also seals. Target: encrypted ≤ 2.5 × plain.

use std::io::BufWriter;
use std::sync::Mutex;

use criterion::{Criterion, criterion_group, criterion_main};
use enclog::{EncryptedLogger, Key};
use log::Log;

#[path = "workloads.rs"]
mod workloads;
use workloads::{PlainLogger, dev_null, log_one};

fn log(c: &mut Criterion) {
    let mut group = c.benchmark_group("log");
    let plain = PlainLogger {
        writer: Mutex::new(BufWriter::new(dev_null())),
    };
    let encrypted = EncryptedLogger::new(Key::generate().unwrap(), BufWriter::new(dev_null()));
    let loggers: [(&str, &dyn Log); 2] = [("plain", &plain), ("encrypted", &encrypted)];
    for (name, logger) in loggers {
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                log_one(logger, i);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, log);
criterion_main!(benches);

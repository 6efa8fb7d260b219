//! Decrypting a generated 1,000,000-line file: `Decryptor` (one core) against
//! `ParallelDecryptor` (1 and 2 worker threads), the output written as `enclog decrypt`
//! writes it, to `/dev/null`.
//!
//! ```sh
//! cargo bench -p enclog --bench decrypt
//! ```
//! The file (≈ 184 MB: 92-byte events, 184-byte lines) is written once to
//! `target/bench-data/decrypt-1m.log` (or `$ENCLOG_BENCH_DIR`) and reused. Targets:
//! ≥ 2 M lines/s on one core; 2 jobs ≥ 1.7 × one core. `benches/decrypt-cli.sh` measures the
//! `enclog decrypt` binary itself (throughput and peak RSS).

use std::fs::File;
use std::io::BufReader;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enclog::Keyring;
use enclog::read::{Decryptor, ParallelDecryptor, ParallelOptions};

#[path = "workloads.rs"]
mod workloads;
use workloads::{DECRYPT_LINES, decrypt_file, print, sink};

fn decrypt(c: &mut Criterion) {
    let (path, key) = decrypt_file();
    let keyring = Keyring::from(key);
    let mut group = c.benchmark_group("decrypt_1m");
    group.sample_size(10);
    group.throughput(Throughput::Elements(DECRYPT_LINES));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let file = BufReader::with_capacity(256 * 1024, File::open(&path).unwrap());
            let mut reader = Decryptor::new(file, keyring.clone());
            let mut out = sink();
            let mut n = 0;
            while let Some(entry) = reader.next_entry().unwrap() {
                print(&mut out, &entry).unwrap();
                n += 1;
            }
            assert_eq!(n, DECRYPT_LINES);
        })
    });
    for jobs in [1, 2] {
        group.bench_function(format!("parallel_{jobs}_jobs"), |b| {
            b.iter(|| {
                let options = ParallelOptions::default().jobs(jobs);
                let file = File::open(&path).unwrap();
                let mut reader = ParallelDecryptor::new(file, keyring.clone(), options);
                let mut out = sink();
                let mut n = 0;
                while let Some(entry) = reader.next_entry().unwrap() {
                    print(&mut out, &entry).unwrap();
                    n += 1;
                }
                assert_eq!(n, DECRYPT_LINES);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decrypt);
criterion_main!(benches);

//! Sealing and opening one line, against the floor: the raw AEAD of the same bytes.
//!
//! ```sh
//! cargo bench -p enclog --bench seal
//! ```
//! Ratios (enclog / floor) are what BENCHMARKS.md reports; absolute times vary by machine.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use enclog::{Key, Keyring, Opener, Sealer};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

const SIZES: [usize; 4] = [64, 256, 1024, 4096];

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key);
    let floor = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).unwrap());
    for size in SIZES {
        let plaintext = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        let mut line = Vec::with_capacity(size * 2);
        group.bench_with_input(BenchmarkId::new("enclog_line", size), &plaintext, |b, p| {
            b.iter(|| {
                line.clear();
                sealer.seal_to(None, black_box(p), &mut line).unwrap();
                black_box(&line);
            })
        });
        let mut buf = plaintext.clone();
        let mut seq = 0u64;
        group.bench_with_input(
            BenchmarkId::new("raw_aead_floor", size),
            &plaintext,
            |b, p| {
                b.iter(|| {
                    buf.clear();
                    buf.extend_from_slice(black_box(p));
                    seq += 1;
                    let mut nonce = [0u8; 12];
                    nonce[4..].copy_from_slice(&seq.to_be_bytes());
                    let tag = floor
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key(nonce),
                            Aad::empty(),
                            &mut buf,
                        )
                        .unwrap();
                    let _ = black_box(tag);
                })
            },
        );
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let mut opener = Opener::new(Keyring::from(key));
    let floor = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).unwrap());
    for size in SIZES {
        let line = sealer.seal_line(&vec![b'x'; size]).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("enclog_line", size), &line, |b, l| {
            b.iter(|| {
                let opened = opener.open(black_box(l)).unwrap().unwrap();
                black_box(opened.plaintext.len());
            })
        });
        // The floor: opening ciphertext ‖ tag of the same plaintext, copied into a buffer as
        // the opener copies the decoded token.
        let nonce = || Nonce::assume_unique_for_key([0u8; 12]);
        let mut sealed = vec![b'x'; size];
        let tag = floor
            .seal_in_place_separate_tag(nonce(), Aad::empty(), &mut sealed)
            .unwrap();
        sealed.extend_from_slice(tag.as_ref());
        let mut buf = Vec::with_capacity(sealed.len());
        group.bench_with_input(BenchmarkId::new("raw_aead_floor", size), &sealed, |b, s| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(black_box(s));
                let plaintext = floor
                    .open_in_place(nonce(), Aad::empty(), &mut buf)
                    .unwrap();
                black_box(plaintext.len());
            })
        });
    }
    group.finish();
}

/// The public-key mode: a line sealed to a recipient opens with the identity at about the
/// symmetric cost, because the reader derives each session's key once (X25519 + HKDF) and
/// caches it. `rotating_1000` opens sessions of 1,000 lines each, so the derivation is paid
/// once per 1,000 lines, as with the writer's rotation.
fn open_recipient(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_recipient_vs_symmetric");
    let event = vec![b'x'; 150];
    let key = Key::generate().unwrap();
    let identity = enclog::Identity::generate().unwrap();
    let symmetric = Sealer::new(key.clone()).seal_line(&event).unwrap();
    let recipient = Sealer::new(identity.recipient()).seal_line(&event).unwrap();
    let mut by_key = Opener::new(Keyring::from(key));
    let mut by_identity = Opener::new(Keyring::from(identity.clone()));
    group.bench_function("symmetric", |b| {
        b.iter(|| {
            black_box(
                by_key
                    .open(black_box(&symmetric))
                    .unwrap()
                    .unwrap()
                    .plaintext
                    .len(),
            )
        })
    });
    group.bench_function("recipient", |b| {
        b.iter(|| {
            black_box(
                by_identity
                    .open(black_box(&recipient))
                    .unwrap()
                    .unwrap()
                    .plaintext
                    .len(),
            )
        })
    });
    let rotating = Sealer::with_rotation(
        identity.recipient(),
        enclog::seal::Rotation::default()
            .max_lines(1000)
            .max_age(std::time::Duration::from_secs(3600)),
    );
    let lines: Vec<Vec<u8>> = (0..20_000)
        .map(|_| rotating.seal_line(&event).unwrap())
        .collect();
    let mut next = 0;
    let mut fresh = Opener::new(Keyring::from(identity));
    group.bench_function("recipient_rotating_1000", |b| {
        b.iter(|| {
            if next == lines.len() {
                next = 0;
                fresh = Opener::new(fresh.keyring().clone()); // sessions must be derived again
            }
            let line = &lines[next];
            next += 1;
            black_box(
                fresh
                    .open(black_box(line))
                    .unwrap()
                    .unwrap()
                    .plaintext
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, seal, open, open_recipient);
criterion_main!(benches);

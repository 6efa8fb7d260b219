//! The targets of `BENCHMARKS.md`, each measured as a **paired, interleaved** ratio: the
//! candidate and its baseline run in alternating short rounds (order flipped every round), and
//! the median of the per-round ratios is reported with its spread. On a machine shared with
//! compilers this is far steadier than comparing two criterion runs taken minutes apart.
//!
//! ```sh
//! cargo bench -p enclog --bench ratios              # everything (≈ 2 minutes)
//! cargo bench -p enclog --bench ratios -- tracing   # only the pairs whose name contains it
//! ```
//! Prints a Markdown table: pair, candidate and baseline in ns per operation (medians), the
//! median ratio, the lowest and highest round ratios, and the target.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, BufWriter};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enclog::read::{Decryptor, ParallelDecryptor, ParallelOptions};
use enclog::{EncryptedLogger, EncryptedWriter, Key, Keyring, Opener, Sealer};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use tracing_appender::non_blocking::NonBlockingBuilder;

#[path = "workloads.rs"]
mod workloads;
use workloads::{
    Counting, DECRYPT_LINES, FloorLogger, FloorWriter, PlainLogger, SyncCases, calling_thread_time,
    decrypt_file, dev_null, event, in_request_span, log_one, non_blocking_cases, print, sink,
    subscriber, sync_cases,
};

/// An in-memory file shared by the writer and the measurement.
#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedBuf {
    type Writer = SharedBuf;
    fn make_writer(&'a self) -> SharedBuf {
        self.clone()
    }
}

/// A writer that takes as long per line as sealing does (≈ 300 ns), then writes it.
struct SlowWriter(Counting);

impl std::io::Write for SlowWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let until = Instant::now() + Duration::from_nanos(300);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Runs `n` operations and returns the time they took.
type Run<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

struct Pair<'a> {
    name: String,
    target: &'static str,
    candidate: Run<'a>,
    baseline: Run<'a>,
    /// Operations per round; 0 = calibrate to `ROUND`.
    ops: u64,
    rounds: usize,
}

const ROUND: Duration = Duration::from_millis(25);
const ROUNDS: usize = 41;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures `candidate` against `baseline` with the default calibration and rounds.
fn compare<'a>(
    name: &str,
    target: &'static str,
    candidate: impl FnMut(u64) -> Duration + 'a,
    baseline: impl FnMut(u64) -> Duration + 'a,
) {
    measure(&mut Pair {
        name: name.into(),
        target,
        candidate: Box::new(candidate),
        baseline: Box::new(baseline),
        ops: 0,
        rounds: ROUNDS,
    });
}

fn measure(pair: &mut Pair<'_>) {
    let mut ops = pair.ops;
    if ops == 0 {
        // Warm up both, then size a round to take about ROUND.
        (pair.baseline)(1_000);
        (pair.candidate)(1_000);
        ops = 1_000;
        loop {
            let t = (pair.candidate)(ops);
            if t >= ROUND / 4 {
                ops = (ops as f64 * ROUND.as_secs_f64() / t.as_secs_f64()) as u64;
                break;
            }
            ops *= 4;
        }
    }
    let (mut cand, mut base, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..pair.rounds {
        let (c, b) = if round % 2 == 0 {
            let b = (pair.baseline)(ops);
            ((pair.candidate)(ops), b)
        } else {
            let c = (pair.candidate)(ops);
            (c, (pair.baseline)(ops))
        };
        let per = |d: Duration| d.as_nanos() as f64 / ops as f64;
        cand.push(per(c));
        base.push(per(b));
        ratio.push(per(c) / per(b));
    }
    let (lo, hi) = ratio
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "| {} | {:.1} | {:.1} | **{:.3}** | {:.3}–{:.3} | {} |",
        pair.name,
        median(&mut cand),
        median(&mut base),
        median(&mut ratio),
        lo,
        hi,
        pair.target
    );
}

/// Times `f` in CPU time of the calling thread: on a machine shared with compilers, time
/// spent descheduled is not the code's cost, and wall-clock rounds vary by 2–5×.
fn timed(mut f: impl FnMut(u64)) -> impl FnMut(u64) -> Duration {
    move |n| {
        let start = thread_cpu_time();
        f(n);
        thread_cpu_time() - start
    }
}

/// CPU time of the whole process (all threads), user and system.
fn process_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

#[allow(unsafe_code)]
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; both CPU-time clocks always exist on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let key = Key::generate().unwrap();

    println!(
        "| pair (candidate vs baseline) | candidate ns/op | baseline ns/op | ratio (median) | round ratios | target |"
    );
    println!("|---|---|---|---|---|---|");

    // Bytes per line for the same tracing event, plain and encrypted (target: ≤ plain × 4/3 + 64).
    if wanted("bytes") {
        let plain = SharedBuf::default();
        let encrypted = SharedBuf::default();
        let encrypted_level = SharedBuf::default();
        let sealer = Sealer::new(key.clone());
        for (buf, dispatch) in [
            (&plain, subscriber(plain.clone())),
            (
                &encrypted,
                subscriber(EncryptedWriter::with_sealer(
                    sealer.clone(),
                    encrypted.clone(),
                )),
            ),
            (
                &encrypted_level,
                subscriber(
                    EncryptedWriter::with_sealer(sealer.clone(), encrypted_level.clone())
                        .clear_level(true),
                ),
            ),
        ] {
            // 200 events, so that the sequence number takes its typical 2 bytes.
            tracing::dispatcher::with_default(&dispatch, || (0..200).for_each(event));
            assert_eq!(
                buf.0
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
                200
            );
        }
        let per_line = |b: &SharedBuf| b.0.lock().unwrap().len() as f64 / 200.0;
        let p = per_line(&plain);
        println!(
            "| bytes per line, same event: encrypted / encrypted + clear level vs plain | {:.1} / {:.1} | {:.1} | **{:.3}** | budget {:.1} = plain × 4/3 + 64 | ≤ budget |",
            per_line(&encrypted),
            per_line(&encrypted_level),
            p,
            per_line(&encrypted) / p,
            p * 4.0 / 3.0 + 64.0
        );
    }

    // tracing, synchronous: fmt → Mutex<BufWriter<File>>, plain vs EncryptedWriter.
    if wanted("tracing_sync") {
        let SyncCases {
            plain,
            encrypted,
            encrypted_generic,
        } = sync_cases(&key);
        let run = |d: &tracing::Dispatch| {
            let d = d.clone();
            timed(move |n| tracing::dispatcher::with_default(&d, || (0..n).for_each(event)))
        };
        // The same event in a request span's context (28 bytes more to format and seal).
        let run_in_span = |d: &tracing::Dispatch| {
            let d = d.clone();
            timed(move |n| {
                tracing::dispatcher::with_default(&d, || in_request_span(|| (0..n).for_each(event)))
            })
        };
        let floor = subscriber(FloorWriter::new());
        let format_floor = subscriber(FloorWriter::with_format());
        compare(
            "tracing_sync: EncryptedWriter::locked vs plain fmt",
            "≤ 1.6",
            run(&encrypted),
            run(&plain),
        );
        compare(
            "tracing_sync: EncryptedWriter::new(Mutex) vs plain fmt",
            "(order lock taken too)",
            run(&encrypted_generic),
            run(&plain),
        );
        compare(
            "tracing_sync: floor (raw AEAD + base64 per event) vs plain fmt",
            "the floor of the ratio above",
            run(&floor),
            run(&plain),
        );
        compare(
            "tracing_sync: format floor (the floor + v2 header as AAD + marker) vs plain fmt",
            "the floor with the line format's own bytes",
            run(&format_floor),
            run(&plain),
        );
        // init_file's writer before and after it followed logrotate: both unbuffered, one
        // write(2) per event to /dev/null; the difference is the rotation check (one relaxed
        // load) and the LogFile around the file.
        let follows = subscriber(enclog::EncryptedWriter::follow_file(
            enclog::file::LogFile::open("/dev/null").expect("/dev/null"),
            enclog::Sealer::new(key.clone()),
        ));
        let fixed = subscriber(enclog::EncryptedWriter::locked(key.clone(), dev_null()));
        compare(
            "tracing_sync, unbuffered: EncryptedWriter::follow_file (init_file's) vs EncryptedWriter::locked(File)",
            "the cost of following logrotate (≈ 1.0)",
            run(&follows),
            run(&fixed),
        );
        compare(
            "tracing_sync, event in a request span: EncryptedWriter::locked vs plain fmt",
            "≤ 1.6",
            run_in_span(&encrypted),
            run_in_span(&plain),
        );
        compare(
            "tracing_sync, event in a request span: format floor vs plain fmt",
            "the floor of the ratio above",
            run_in_span(&format_floor),
            run_in_span(&plain),
        );
        compare(
            "tracing_sync: EncryptedWriter::locked vs format floor",
            "enclog's own share (sessions, numbering, buffers)",
            run(&encrypted),
            run(&format_floor),
        );
    }

    // Sealed fields from tracing (`SealedFields`): a JSON event with two sealed values.
    if wanted("fields") {
        fields(&key);
    }

    // tracing, non-blocking: calling-thread cost.
    if wanted("tracing_non_blocking") {
        let cases = non_blocking_cases(&key);
        let [plain, outside, enclog_nb] = &cases[..] else {
            unreachable!("three arrangements")
        };
        let run = |d: &tracing::Dispatch, sink: &Counting| {
            let (d, sink) = (d.clone(), sink.clone());
            move |n| {
                tracing::dispatcher::with_default(&d, || {
                    calling_thread_time(n, &sink, thread_cpu_time)
                })
            }
        };
        compare(
            "tracing_non_blocking: enclog::non_blocking vs tracing_appender's non_blocking, calling thread",
            "≤ 1.15",
            run(&enclog_nb.dispatch, &enclog_nb.sink),
            run(&plain.dispatch, &plain.sink),
        );
        // Diagnostic: plain `non_blocking` while a third thread seals lines half of the time
        // (as a worker that seals does), against plain `non_blocking` alone: what work on
        // the other core costs the calling thread, whatever that work is.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let busy = {
            let (stop, sealer) = (stop.clone(), Sealer::new(key.clone()));
            std::thread::spawn(move || {
                let mut line = Vec::new();
                loop {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_micros(200));
                        if Arc::strong_count(&stop) == 1 {
                            return;
                        }
                        continue;
                    }
                    line.clear();
                    sealer.seal_to(None, &[b'x'; 150], &mut line).unwrap();
                    let until = Instant::now() + Duration::from_nanos(300);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let with_busy_core = {
            let plain_run = run(&plain.dispatch, &plain.sink);
            let stop = stop.clone();
            move |n| {
                stop.store(false, std::sync::atomic::Ordering::Relaxed);
                let t = plain_run(n);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                t
            }
        };
        compare(
            "diagnostic: non_blocking with the other core sealing vs non_blocking, calling thread",
            "(the cost of the other core's work)",
            with_busy_core,
            run(&plain.dispatch, &plain.sink),
        );
        drop(stop);
        let _ = busy.join();
        // Diagnostic: plain `non_blocking` whose worker spends as long per line as sealing takes
        // (a writer that spins ≈ 300 ns, no encryption): is it the worker's pace that costs the
        // calling thread, whatever the worker does?
        let slow_sink = Counting::new();
        let (w, _g6) = NonBlockingBuilder::default()
            .lossy(false)
            .finish(SlowWriter(slow_sink.clone()));
        let slow = subscriber(w);
        compare(
            "diagnostic: non_blocking with a worker as slow as sealing (no encryption) vs non_blocking, calling thread",
            "(the cost of a slower worker)",
            run(&slow, &slow_sink),
            run(&plain.dispatch, &plain.sink),
        );
        compare(
            "tracing_non_blocking: EncryptedWriter(non_blocking) vs non_blocking, calling thread",
            "(seals on the calling thread)",
            run(&outside.dispatch, &outside.sink),
            run(&plain.dispatch, &plain.sink),
        );
    }

    // log: EncryptedLogger vs a plain logger formatting the same fields.
    if wanted("log") {
        let plain = PlainLogger {
            writer: Mutex::new(BufWriter::new(dev_null())),
        };
        let encrypted = EncryptedLogger::new(key.clone(), BufWriter::new(dev_null()));
        let floor = FloorLogger::new();
        compare(
            "log: EncryptedLogger vs plain logger",
            "≤ 2.5",
            timed(|n| (0..n).for_each(|i| log_one(&encrypted, i))),
            timed(|n| (0..n).for_each(|i| log_one(&plain, i))),
        );
        compare(
            "log: floor (raw AEAD + base64 per record) vs plain logger",
            "the floor of the ratio above",
            timed(|n| (0..n).for_each(|i| log_one(&floor, i))),
            timed(|n| (0..n).for_each(|i| log_one(&plain, i))),
        );
    }

    // Sealing and opening one line vs the raw AEAD of the same bytes (the floor).
    if wanted("seal") || wanted("open") {
        let floor = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).unwrap());
        let nonce = || Nonce::assume_unique_for_key([0u8; 12]);
        for size in [64usize, 256, 1024, 4096] {
            let plaintext = vec![b'x'; size];
            let sealer = Sealer::new(key.clone());
            let mut line = Vec::with_capacity(2 * size + 100);
            let mut buf = Vec::with_capacity(size + 16);
            let name = format!("seal {size} B: Sealer::seal_to vs raw AEAD");
            if wanted(&name) {
                measure(&mut Pair {
                    name,
                    target: "floor",
                    candidate: Box::new(timed(|n| {
                        for _ in 0..n {
                            line.clear();
                            sealer
                                .seal_to(None, black_box(&plaintext), &mut line)
                                .unwrap();
                        }
                    })),
                    baseline: Box::new(timed(|n| {
                        for _ in 0..n {
                            buf.clear();
                            buf.extend_from_slice(black_box(&plaintext));
                            let tag = floor
                                .seal_in_place_separate_tag(nonce(), Aad::empty(), &mut buf)
                                .unwrap();
                            let _ = black_box(tag);
                        }
                    })),
                    ops: 0,
                    rounds: 11,
                });
            }
            let line = sealer.seal_line(&plaintext).unwrap();
            let mut opener = Opener::new(Keyring::from(key.clone()));
            let mut sealed = plaintext.clone();
            let tag = floor
                .seal_in_place_separate_tag(nonce(), Aad::empty(), &mut sealed)
                .unwrap();
            sealed.extend_from_slice(tag.as_ref());
            let name = format!("open {size} B: Opener::open vs raw AEAD");
            if wanted(&name) {
                measure(&mut Pair {
                    name,
                    target: "floor",
                    candidate: Box::new(timed(|n| {
                        for _ in 0..n {
                            let opened = opener.open(black_box(&line)).unwrap().unwrap();
                            black_box(opened.plaintext.len());
                        }
                    })),
                    baseline: Box::new(timed(|n| {
                        for _ in 0..n {
                            buf.clear();
                            buf.extend_from_slice(black_box(&sealed));
                            let p = floor
                                .open_in_place(nonce(), Aad::empty(), &mut buf)
                                .unwrap();
                            black_box(p.len());
                        }
                    })),
                    ops: 0,
                    rounds: 11,
                });
            }
        }
    }

    // Decrypting the 1M-line file: 2 jobs vs one core (the sequential Decryptor).
    if wanted("decrypt") {
        let (path, key) = decrypt_file();
        let keyring = Keyring::from(key);
        let sequential = |_| {
            let start = Instant::now();
            let file = BufReader::with_capacity(256 * 1024, File::open(&path).unwrap());
            let mut reader = Decryptor::new(file, keyring.clone());
            let mut out = sink();
            while let Some(entry) = reader.next_entry().unwrap() {
                print(&mut out, &entry).unwrap();
            }
            start.elapsed() / DECRYPT_LINES as u32
        };
        let parallel = |jobs| {
            let (path, keyring) = (path.clone(), keyring.clone());
            move |_| {
                let start = Instant::now();
                let options = ParallelOptions::default().jobs(jobs);
                let file = File::open(&path).unwrap();
                let mut reader = ParallelDecryptor::new(file, keyring.clone(), options);
                let mut out = sink();
                while let Some(entry) = reader.next_entry().unwrap() {
                    print(&mut out, &entry).unwrap();
                }
                start.elapsed() / DECRYPT_LINES as u32
            }
        };
        // The CPU time each takes (all threads): on a machine whose cores are shared, the wall
        // clock ratio says how much CPU was free; the CPU ratio says what parallelism costs, and
        // so what 2 idle cores give (2 ÷ CPU ratio, while the output thread keeps up).
        let cpu_of = |f: &mut dyn FnMut(u64) -> Duration| {
            let (w0, c0) = (Instant::now(), process_cpu_time());
            f(0);
            (w0.elapsed(), process_cpu_time() - c0)
        };
        let (mut cpu_ratio, mut utilised) = (Vec::new(), Vec::new());
        let (mut seq, mut par) = (sequential, parallel(2));
        for _ in 0..3 {
            let (_, c1) = cpu_of(&mut seq);
            let (w2, c2) = cpu_of(&mut par);
            cpu_ratio.push(c2.as_secs_f64() / c1.as_secs_f64());
            utilised.push(c2.as_secs_f64() / w2.as_secs_f64());
        }
        let cpu = median(&mut cpu_ratio);
        println!(
            "| decrypt 1M lines: CPU time (all threads), 2 jobs vs one core | | | **{cpu:.3}** | cores used by 2 jobs: {:.2} | projected on 2 idle cores: {:.2}× |",
            median(&mut utilised),
            2.0 / cpu
        );
        // ops = 1: one "operation" is the whole file; the figures are ns per line.
        measure(&mut Pair {
            name: "decrypt 1M lines: ParallelDecryptor 2 jobs vs Decryptor (one core)".into(),
            target: "≥ 1.7× speed (ratio ≤ 0.588)",
            candidate: Box::new(par),
            baseline: Box::new(seq),
            ops: 1,
            rounds: 7,
        });
    }
}

/// The event of the sealed-fields benches: the tracing benches' event with two values to seal,
/// `user` (19 bytes as JSON) and `card` (21 bytes).
fn fields_event(i: u64) {
    tracing::info!(
        user = "alice@example.com",
        card = "4111 1111 1111 1111",
        path = "/api/v1/items/42",
        status = 200,
        bytes = black_box(i),
        "served request from 10.0.0.7"
    );
}

/// The format floor of one sealed value (BENCHMARKS.md's "format floor", for a value): the raw
/// ChaCha20-Poly1305 of the value's bytes with the format's associated data for a value (its
/// 3-byte token header, its envelope's 39-byte header, its path), and the base64 of header,
/// ciphertext and tag after the marker, into a reused buffer. No session, no line around it.
struct ValueFloor {
    key: LessSafeKey,
    seq: u64,
    aad: Vec<u8>,
    raw: Vec<u8>,
    line: Vec<u8>,
}

impl ValueFloor {
    fn new() -> ValueFloor {
        ValueFloor {
            key: LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).unwrap()),
            seq: 0,
            aad: Vec::with_capacity(128),
            raw: Vec::with_capacity(128),
            line: Vec::with_capacity(256),
        }
    }

    fn seal(&mut self, part: u8, path: &[u8], value: &[u8]) {
        let header = [0x21, 0x03, part];
        self.aad.clear();
        self.aad.extend_from_slice(&header);
        self.aad.extend_from_slice(&[0x11; 39]);
        self.aad.push(path.len() as u8);
        self.aad.extend_from_slice(path);
        self.raw.clear();
        self.raw.extend_from_slice(&header);
        self.raw.extend_from_slice(value);
        let mut nonce = [0u8; 12];
        nonce[0] = part;
        nonce[4..].copy_from_slice(&self.seq.to_be_bytes());
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad[..]),
                &mut self.raw[header.len()..],
            )
            .unwrap();
        self.raw.extend_from_slice(tag.as_ref());
        self.line.extend_from_slice(b"\"enclog:");
        base64_simd::URL_SAFE_NO_PAD.encode_append(&self.raw, &mut self.line);
        self.line.push(b'"');
    }

    /// One event's values: (path, JSON text).
    fn event(&mut self, values: &[(&[u8], &[u8])]) {
        self.seq += 1;
        self.line.clear();
        for (part, (path, value)) in values.iter().enumerate() {
            self.seal(part as u8 + 1, path, black_box(value));
        }
        black_box(&self.line);
    }
}

/// Sealed fields: the whole event against plain JSON, and the cost of each sealed value
/// against its format floor (measured together, in alternating rounds).
fn fields(key: &Key) {
    use enclog::tracing::fields::SealedFields;
    let with = |format: &SealedFields, encrypted: bool| -> tracing::Dispatch {
        let builder = tracing_subscriber::fmt()
            .event_format(format.clone())
            .fmt_fields(format.clone());
        if encrypted {
            let writer = EncryptedWriter::locked(key.clone(), BufWriter::new(dev_null()));
            tracing::Dispatch::new(builder.with_writer(writer).finish())
        } else {
            let writer = Mutex::new(BufWriter::new(dev_null()));
            tracing::Dispatch::new(builder.with_writer(writer).finish())
        }
    };
    let json = SealedFields::json();
    let sealing = SealedFields::json().seal(["user", "card"]);
    let two_sealed = with(&sealing, true);
    let none_sealed = with(&json, true);
    let plain = with(&json, false);
    let tracing_json = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(Mutex::new(BufWriter::new(dev_null())))
            .finish(),
    );
    let run = |d: &tracing::Dispatch| {
        let d = d.clone();
        timed(move |n| tracing::dispatcher::with_default(&d, || (0..n).for_each(fields_event)))
    };
    compare(
        "fields: JSON event, two sealed fields (EncryptedWriter::locked) vs the same event plain (same formatter, nothing sealed, no encryption)",
        "the whole cost",
        run(&two_sealed),
        run(&plain),
    );
    compare(
        "fields: nothing sealed (the envelope only, EncryptedWriter::locked) vs plain",
        "the envelope: digest of the clear fields, sealed",
        run(&none_sealed),
        run(&plain),
    );
    let whole_line = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(EncryptedWriter::locked(
                key.clone(),
                BufWriter::new(dev_null()),
            ))
            .finish(),
    );
    compare(
        "fields: two sealed fields vs the whole line sealed (tracing_subscriber's fmt().json() + EncryptedWriter::locked)",
        "field sealing against whole-line sealing",
        run(&two_sealed),
        run(&whole_line),
    );
    compare(
        "fields: SealedFields::json() plain vs tracing_subscriber's fmt().json(), both to a BufWriter",
        "the formatter itself",
        run(&plain),
        run(&tracing_json),
    );

    // Per sealed value: (sealed − none sealed) ÷ values, against the floor of the same values
    // (two, as above; and eight, where the difference stands further above the noise).
    let names: Vec<String> = (0..8).map(|i| format!("v{i}")).collect();
    let eight = with(&SealedFields::json().seal(names.iter().cloned()), true);
    per_value(
        "two sealed values (user, card)",
        &mut run(&two_sealed),
        &mut run(&none_sealed),
        &[
            (&b"/fields/user"[..], &b"\"alice@example.com\""[..]),
            (&b"/fields/card"[..], &b"\"4111 1111 1111 1111\""[..]),
        ],
    );
    let run8 = |d: &tracing::Dispatch| {
        let d = d.clone();
        timed(move |n| tracing::dispatcher::with_default(&d, || (0..n).for_each(eight_event)))
    };
    per_value(
        "eight sealed values of 20 bytes",
        &mut run8(&eight),
        &mut run8(&none_sealed),
        &[(&b"/fields/v0"[..], &b"\"user-0@example.com\""[..]); 8],
    );
}

/// An event with eight values of 20 bytes (as JSON) to seal, `v0` … `v7`.
fn eight_event(i: u64) {
    tracing::info!(
        v0 = "user-0@example.com",
        v1 = "user-1@example.com",
        v2 = "user-2@example.com",
        v3 = "user-3@example.com",
        v4 = "user-4@example.com",
        v5 = "user-5@example.com",
        v6 = "user-6@example.com",
        v7 = "user-7@example.com",
        bytes = black_box(i),
        "served request from 10.0.0.7"
    );
}

/// The cost of one sealed value, `(sealed − none) ÷ values`, against the format floor of the
/// same values, in alternating rounds; prints one row.
fn per_value(
    what: &str,
    sealed: &mut dyn FnMut(u64) -> Duration,
    none: &mut dyn FnMut(u64) -> Duration,
    values: &[(&[u8], &[u8])],
) {
    let mut floor = ValueFloor::new();
    let mut floor_run = timed(|n| {
        for _ in 0..n {
            floor.event(values);
        }
    });
    let ops = 20_000;
    sealed(1_000);
    none(1_000);
    floor_run(1_000);
    let count = values.len() as f64;
    let (mut per_value, mut floor_value, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let per = |d: Duration| d.as_nanos() as f64 / ops as f64;
        let (t, n, f) = if round % 2 == 0 {
            let f = per(floor_run(ops));
            let n = per(none(ops));
            (per(sealed(ops)), n, f)
        } else {
            let t = per(sealed(ops));
            let n = per(none(ops));
            (t, n, per(floor_run(ops)))
        };
        let value = (t - n) / count;
        per_value.push(value);
        floor_value.push(f / count);
        ratio.push(value / (f / count));
    }
    let (lo, hi) = ratio
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "| fields, {what}: per value, (sealed − none sealed) ÷ values vs its format floor (AEAD with the value's AAD + base64 + token header) | {:.1} | {:.1} | **{:.3}** | {:.3}–{:.3} | ≤ 1.2 |",
        median(&mut per_value),
        median(&mut floor_value),
        median(&mut ratio),
        lo,
        hi
    );
}

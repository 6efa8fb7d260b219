//! The workloads shared by the benches (`#[path]`-included): the same event, the same writers,
//! the same loggers, so that criterion's figures and `ratios`' paired figures measure one thing.

#![allow(dead_code, missing_docs)]

#[path = "../tests/key_file.rs"]
mod key_file;

use std::cell::RefCell;
use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use enclog::read::{Entry, Outcome};
use enclog::{Key, Sealer};
use log::{Level, Log, Metadata, Record};
use tracing::Dispatch;

/// `/dev/null` opened for writing: real `write` system calls, no disk filling up.
pub(crate) fn dev_null() -> File {
    File::options().write(true).open("/dev/null").unwrap()
}

/// The tracing event of every tracing bench (≈ 150 bytes formatted by `fmt`'s default format:
/// `2026-11-26T21:00:00.123456Z  INFO ratios: served request from 10.0.0.7 path="/api/v1/items/42" status=200 bytes=N`).
pub(crate) fn event(i: u64) {
    tracing::info!(
        path = "/api/v1/items/42",
        status = 200,
        bytes = black_box(i),
        "served request from 10.0.0.7"
    );
}

/// Runs `f` inside a request span, entered once: the events it logs are formatted with the
/// span's context, `request{method="GET" id=7}: ` (28 bytes), as a service's events are.
pub(crate) fn in_request_span(f: impl FnOnce()) {
    tracing::info_span!("request", method = "GET", id = 7).in_scope(f)
}

pub(crate) fn subscriber<W>(writer: W) -> Dispatch
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish(),
    )
}

/// Counts the lines written, so that a bench can wait (untimed) for a worker to drain its queue.
#[derive(Clone)]
pub(crate) struct Counting {
    pub(crate) lines: Arc<AtomicU64>,
    file: Arc<Mutex<BufWriter<File>>>,
}

impl Counting {
    pub(crate) fn new() -> Counting {
        Counting {
            lines: Arc::new(AtomicU64::new(0)),
            file: Arc::new(Mutex::new(BufWriter::new(dev_null()))),
        }
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.lock().unwrap().write_all(buf)?;
        let lines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.fetch_add(lines, Ordering::Release);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.lock().unwrap().flush()
    }
}

/// Wall-clock time since an arbitrary origin (criterion's clock).
pub(crate) fn wall_clock() -> Duration {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// Events per timed batch: well under `non_blocking`'s 128,000-line queue.
pub(crate) const BATCH: u64 = 2_000;

/// Logs `iters` events through the current dispatcher (a `non_blocking` writer ending in
/// `sink`); returns the time spent in the logging calls only, measured with `clock`. Between batches it waits,
/// untimed, until the worker has written everything: the queue never fills, nothing blocks,
/// nothing is dropped.
pub(crate) fn calling_thread_time(
    iters: u64,
    sink: &Counting,
    clock: fn() -> Duration,
) -> Duration {
    let mut timed = Duration::ZERO;
    let mut sent = sink.lines.load(Ordering::Acquire);
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let start = clock();
        for i in 0..n {
            event(i);
        }
        timed += clock() - start;
        left -= n;
        sent += n;
        while sink.lines.load(Ordering::Acquire) < sent {
            std::thread::yield_now();
        }
    }
    timed
}

/// What a minimal plain `log` logger does: format the record exactly as `EncryptedLogger`
/// formats it (`RFC 3339 timestamp LEVEL target: message`) into a reused buffer and write it
/// with one `write_all`.
pub(crate) struct PlainLogger {
    pub(crate) writer: Mutex<BufWriter<File>>,
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Log for PlainLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            write_rfc3339(SystemTime::now(), &mut *buf);
            let _ = writeln!(
                buf,
                " {} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
            let _ = self.writer.lock().unwrap().write_all(&buf);
        });
    }

    fn flush(&self) {
        let _ = self.writer.lock().unwrap().flush();
    }
}

/// The same RFC 3339 formatting as enclog's (private) `timestamp` module.
fn write_rfc3339(time: SystemTime, out: &mut impl Write) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    );
}

/// The `log` record of every `log` bench.
pub(crate) fn log_one(logger: &dyn Log, i: u64) {
    logger.log(
        &Record::builder()
            .level(Level::Info)
            .target("app::http")
            .args(format_args!(
                "served /api/v1/items/42 to 10.0.0.7: status=200 bytes={}",
                black_box(i)
            ))
            .build(),
    );
}

/// Lines of the decrypt benchmark file.
pub(crate) const DECRYPT_LINES: u64 = 1_000_000;

/// The decrypt benchmark file (written once, then reused): 1,000,000 lines of 92-byte events,
/// 184 bytes per line, under `target/bench-data/` or `$ENCLOG_BENCH_DIR`. Returns its path and
/// key; the key's text form is in `decrypt-1m.key` beside it (for the CLI scripts).
pub(crate) fn decrypt_file() -> (PathBuf, Key) {
    let dir = std::env::var_os("ENCLOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data"));
    std::fs::create_dir_all(&dir).unwrap();
    let (log, key_file) = (dir.join("decrypt-1m.log"), dir.join("decrypt-1m.key"));
    if let (Ok(_), Ok(key)) = (std::fs::metadata(&log), std::fs::read_to_string(&key_file)) {
        return (log, key.trim().parse().unwrap());
    }
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let partial = log.with_extension("partial");
    let mut out = BufWriter::new(File::create(&partial).unwrap());
    let mut line = Vec::new();
    for i in 0..DECRYPT_LINES {
        line.clear();
        sealer.seal_to(None, &decrypt_event(i), &mut line).unwrap();
        out.write_all(&line).unwrap();
    }
    out.flush().unwrap();
    std::fs::rename(&partial, &log).unwrap();
    key_file::write_key_file(&key_file, &format!("{}\n", *key.to_text()));
    (log, key)
}

/// The `i`th event of the decrypt file: a 92-byte tracing-style line.
pub(crate) fn decrypt_event(i: u64) -> Vec<u8> {
    let event = format!(
        "2026-11-26T20:27:{:02}.{:06}Z  INFO request{{id={i}}}: app::http: served /api/items/{} status=200",
        i % 60,
        i % 1_000_000,
        i * 7 % 99_991
    );
    let mut event = format!("{event:<92}").into_bytes();
    event.truncate(92);
    event
}

/// What `enclog decrypt` prints for an entry (text output, no colour).
pub(crate) fn print(out: &mut impl Write, entry: &Entry<'_>) -> io::Result<()> {
    match &entry.outcome {
        Outcome::Plain => {
            out.write_all(entry.raw)?;
            out.write_all(b"\n")
        }
        Outcome::Opened(o) => {
            out.write_all(o.before)?;
            out.write_all(o.plaintext)?;
            out.write_all(o.after)?;
            out.write_all(b"\n")
        }
        Outcome::Failed(e) => panic!("line {}: {e}", entry.line_no),
        _ => panic!(
            "line {}: an outcome this bench does not know",
            entry.line_no
        ),
    }
}

/// Stdout as `enclog decrypt` buffers it, on `/dev/null`.
pub(crate) fn sink() -> BufWriter<File> {
    BufWriter::with_capacity(256 * 1024, dev_null())
}

/// The floor of an encrypted `tracing` line: what any per-event encryption must do on top of
/// plain `fmt`, and nothing else. Its writer buffers the event like `EncryptedWriter`'s, then
/// seals a copy with the raw AEAD (ring's ChaCha20-Poly1305, key already expanded, a counter
/// nonce), base64-encodes it into a line and writes that line with one `write_all`. No header,
/// no session, no sequence lock, no clear metadata.
///
/// [`FloorWriter::with_format`] adds what the v2 line format itself costs (`FORMAT.md`): a
/// 39-byte header (a symmetric line's, sequence number < 128) authenticated as AAD and encoded
/// with the event, and the `enclog:` marker. Still no session, lock or anything else.
pub(crate) struct FloorWriter {
    pub(crate) inner: Mutex<BufWriter<File>>,
    key: ring::aead::LessSafeKey,
    seq: AtomicU64,
    /// The header's length (0: none), written before the event in the same buffer.
    header: usize,
}

/// A symmetric v2 header: vm, type, key id, 16-byte key commitment, 16-byte session, one-byte
/// sequence number.
const FORMAT_HEADER: usize = 1 + 1 + 4 + 16 + 16 + 1;

impl FloorWriter {
    pub(crate) fn new() -> FloorWriter {
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &[7u8; 32]).unwrap();
        FloorWriter {
            inner: Mutex::new(BufWriter::new(dev_null())),
            key: ring::aead::LessSafeKey::new(key),
            seq: AtomicU64::new(0),
            header: 0,
        }
    }

    /// The floor plus the line format's own bytes: header (as AAD) and marker.
    pub(crate) fn with_format() -> FloorWriter {
        FloorWriter {
            header: FORMAT_HEADER,
            ..FloorWriter::new()
        }
    }
}

pub(crate) struct FloorEvent<'a> {
    floor: &'a FloorWriter,
    event: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for FloorWriter {
    type Writer = FloorEvent<'a>;
    fn make_writer(&'a self) -> FloorEvent<'a> {
        let mut event = FLOOR_BUF.with(|b| std::mem::take(&mut b.borrow_mut().0));
        event.resize(self.header, 0x11);
        FloorEvent { floor: self, event }
    }
}

thread_local! {
    static FLOOR_BUF: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Write for FloorEvent<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.event.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for FloorEvent<'_> {
    fn drop(&mut self) {
        FLOOR_BUF.with(|b| {
            let mut b = b.borrow_mut();
            let line = &mut b.1;
            let seq = self.floor.seq.fetch_add(1, Ordering::Relaxed);
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&seq.to_be_bytes());
            let header = self.floor.header;
            if header > 0 {
                self.event[header - 1] = seq as u8 & 0x7f;
            }
            let (aad, body) = self.event.split_at_mut(header);
            let tag = self
                .floor
                .key
                .seal_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(nonce),
                    ring::aead::Aad::from(&*aad),
                    body,
                )
                .unwrap();
            self.event.extend_from_slice(tag.as_ref());
            let engine = base64_simd::URL_SAFE_NO_PAD;
            line.clear();
            if header > 0 {
                line.extend_from_slice(b"enclog:");
            }
            let at = line.len();
            line.resize(at + engine.encoded_length(self.event.len()), 0);
            let _ = engine.encode(&self.event, base64_simd::Out::from_slice(&mut line[at..]));
            line.push(b'\n');
            let _ = self.floor.inner.lock().unwrap().write_all(line);
            self.event.clear();
            b.0 = std::mem::take(&mut self.event);
        });
    }
}

/// The floor of an encrypted `log` line: [`PlainLogger`]'s formatting, then the raw AEAD of
/// the formatted record (as [`FloorWriter`]) and base64, written with one `write_all`.
pub(crate) struct FloorLogger {
    pub(crate) writer: Mutex<BufWriter<File>>,
    key: ring::aead::LessSafeKey,
    seq: AtomicU64,
}

impl FloorLogger {
    pub(crate) fn new() -> FloorLogger {
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &[7u8; 32]).unwrap();
        FloorLogger {
            writer: Mutex::new(BufWriter::new(dev_null())),
            key: ring::aead::LessSafeKey::new(key),
            seq: AtomicU64::new(0),
        }
    }
}

impl Log for FloorLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        FLOOR_BUF.with(|b| {
            let mut b = b.borrow_mut();
            let (event, line) = &mut *b;
            event.clear();
            write_rfc3339(SystemTime::now(), &mut *event);
            let _ = write!(
                event,
                " {} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&seq.to_be_bytes());
            let tag = self
                .key
                .seal_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(nonce),
                    ring::aead::Aad::empty(),
                    event,
                )
                .unwrap();
            event.extend_from_slice(tag.as_ref());
            let engine = base64_simd::URL_SAFE_NO_PAD;
            line.clear();
            line.resize(engine.encoded_length(event.len()), 0);
            let _ = engine.encode(event, base64_simd::Out::from_slice(line));
            line.push(b'\n');
            let _ = self.writer.lock().unwrap().write_all(line);
        });
    }

    fn flush(&self) {}
}

/// One non-blocking arrangement of the benches: its subscriber, the sink its worker writes to
/// (to wait, untimed, until the worker has drained), and the guard that keeps the worker alive.
/// The synchronous arrangements compared by `tracing` and `ratios`: `plain` (`fmt` →
/// `Mutex<BufWriter<File>>`), `encrypted` (`EncryptedWriter::locked` around the same
/// `BufWriter`: its mutex also orders the lines) and `encrypted_generic`
/// (`EncryptedWriter::new` around the `Mutex`, which it cannot see into: the session's order
/// lock as well).
pub(crate) struct SyncCases {
    pub(crate) plain: Dispatch,
    pub(crate) encrypted: Dispatch,
    pub(crate) encrypted_generic: Dispatch,
}

pub(crate) fn sync_cases(key: &Key) -> SyncCases {
    let buffered = || BufWriter::new(dev_null());
    SyncCases {
        plain: subscriber(Mutex::new(buffered())),
        encrypted: subscriber(enclog::EncryptedWriter::locked(key.clone(), buffered())),
        encrypted_generic: subscriber(enclog::EncryptedWriter::new(
            key.clone(),
            Mutex::new(buffered()),
        )),
    }
}

pub(crate) struct NonBlockingCase {
    pub(crate) name: &'static str,
    pub(crate) dispatch: Dispatch,
    pub(crate) sink: Counting,
    _guard: Box<dyn std::any::Any>,
}

/// The non-blocking arrangements compared by `tracing` and `ratios`, the baseline first:
/// `plain` (tracing-appender's `non_blocking(file)`, `.lossy(false)`), `encrypted_outside`
/// (`EncryptedWriter(non_blocking(file))`: sealing on the calling thread) and
/// `enclog_non_blocking` (`enclog::non_blocking(key, file)`: enclog's own worker).
pub(crate) fn non_blocking_cases(key: &Key) -> Vec<NonBlockingCase> {
    use tracing_appender::non_blocking::NonBlockingBuilder;
    let appender = || NonBlockingBuilder::default().lossy(false);
    let case = |name, dispatch, sink, guard: Box<dyn std::any::Any>| NonBlockingCase {
        name,
        dispatch,
        sink,
        _guard: guard,
    };
    let [plain, outside, own] = [(); 3].map(|()| Counting::new());
    let (w, g1) = appender().finish(plain.clone());
    let (o, g3) = appender().finish(outside.clone());
    let (e, g4) = enclog::non_blocking(key.clone(), own.clone()).unwrap();
    vec![
        case("plain", subscriber(w), plain, Box::new(g1)),
        case(
            "encrypted_outside",
            subscriber(enclog::EncryptedWriter::new(key.clone(), o)),
            outside,
            Box::new(g3),
        ),
        case("enclog_non_blocking", subscriber(e), own, Box::new(g4)),
    ]
}

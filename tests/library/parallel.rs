//! `ParallelDecryptor` gives, line for line, what `Decryptor` gives: same outcomes, raw text,
//! line numbers and `terminated`, whatever the chunk size, the number of jobs and the line cap.

use std::io::{self, Read};
use std::sync::OnceLock;

use enclog::fernet::FernetKey;
use enclog::read::{Decryptor, MetaStatus, Outcome, ParallelDecryptor, ParallelOptions, Piece};
use enclog::{Key, Keyring, Sealer};
use proptest::prelude::*;

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::generate().unwrap())
}

fn keyring() -> Keyring {
    let mut keyring = Keyring::from(key().clone());
    keyring.add_fernet(fernet());
    keyring
}

fn fernet() -> FernetKey {
    static KEY: OnceLock<FernetKey> = OnceLock::new();
    KEY.get_or_init(|| FernetKey::generate().unwrap()).clone()
}

/// Every entry as `Debug` text (it shows every field): the sequential reference.
fn sequential(input: &[u8], max_line: usize) -> Vec<String> {
    let mut reader = Decryptor::new(input, keyring()).max_line(max_line);
    let mut out = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        out.push(format!("{entry:?}"));
    }
    out
}

fn parallel(input: &[u8], options: ParallelOptions) -> Vec<String> {
    let mut reader = ParallelDecryptor::new(io::Cursor::new(input.to_vec()), keyring(), options);
    let mut out = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        out.push(format!("{entry:?}"));
    }
    assert!(reader.next_entry().unwrap().is_none(), "input ended twice");
    out
}

/// A log with every kind of line: events of two sessions, clear metadata (authentic and
/// edited), a close record, plain text, CRLF, a corrupted token, an unknown key, a zato-enclog
/// line, empty lines, long lines, prose mentioning the marker, a wrapped token.
fn mixed_log() -> Vec<u8> {
    let (a, b) = (Sealer::new(key().clone()), Sealer::new(key().clone()));
    let other = Sealer::new(Key::generate().unwrap());
    let mut log = Vec::new();
    for i in 0..40 {
        let sealer = if i % 7 == 3 { &b } else { &a };
        let clear = (i % 5 == 0).then_some(&b"WARN"[..]);
        sealer
            .seal_to(
                clear,
                format!("event {i} {}", "x".repeat(i * 13)).as_bytes(),
                &mut log,
            )
            .unwrap();
        match i % 10 {
            1 => log.extend_from_slice(b"a plain line\n"),
            2 => log.extend_from_slice(b"\n"),
            4 => {
                let mut line = Vec::new();
                a.seal_to(None, b"corrupted", &mut line).unwrap();
                let mid = line.len() / 2;
                line[mid] = if line[mid] == b'A' { b'B' } else { b'A' };
                log.extend_from_slice(&line);
            }
            5 => other.seal_to(None, b"unknown key", &mut log).unwrap(),
            6 => {
                let mut line = Vec::new();
                a.seal_to(Some(b"ERROR"), b"relabelled", &mut line).unwrap();
                log.extend_from_slice(&line.replacen(b"ERROR", b"DEBUG"));
            }
            7 => {
                log.extend_from_slice(b"Nov 26 web1 app: ");
                a.seal_to(None, b"crlf", &mut log).unwrap();
                log.pop();
                log.extend_from_slice(b"\r\n");
            }
            8 => {
                let mut line = Vec::new();
                Sealer::new(fernet())
                    .seal_to(None, b"from zato", &mut line)
                    .unwrap();
                log.extend_from_slice(&line);
            }
            9 => {
                log.extend_from_slice(b"see enclog: docs, then {\"log\":\"");
                a.seal_to(None, b"wrapped", &mut log).unwrap();
                log.pop();
                log.extend_from_slice(b"\\n\"}\n");
            }
            _ => {}
        }
    }
    let mut close = Vec::new();
    a.close_to(&mut close).unwrap();
    log.extend_from_slice(&close);
    log
}

trait Replace {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl Replace for Vec<u8> {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = self.windows(from.len()).position(|w| w == from).unwrap();
        [&self[..at], to, &self[at + from.len()..]].concat()
    }
}

/// The renderer of the `rendering` tests: takes plain lines and opened lines whose clear
/// metadata is authentic, declines the rest (after writing something, which must be dropped).
fn render(outcome: &Outcome<'_>, raw: &[u8], out: &mut Vec<u8>) -> bool {
    match outcome {
        Outcome::Opened(o) if o.meta_status != MetaStatus::Differs => {
            out.extend_from_slice(o.plaintext);
            out.push(b'\n');
            true
        }
        Outcome::Plain => {
            out.extend_from_slice(b"plain: ");
            out.extend_from_slice(raw);
            out.push(b'\n');
            true
        }
        _ => {
            out.extend_from_slice(b"half-written, then declined");
            false
        }
    }
}

/// `rendering`: the pieces are, in input order, what the renderer wrote for the lines it took
/// and the entries (with their line numbers) of the lines it declined or was not asked about
/// (a last line without its newline, lines over the cap); `next_entry` gives those entries
/// alone. Whatever the chunk size and the number of jobs.
#[test]
fn rendering_gives_rendered_lines_and_entries_in_input_order() {
    let mut log = mixed_log();
    log.extend_from_slice(&vec![b'x'; 3000]);
    log.extend_from_slice(b"\na last line without its newline");
    let max_line = 2048;
    let (mut expected, mut entries) = (Vec::new(), Vec::new());
    let mut reader = Decryptor::new(&log[..], keyring()).max_line(max_line);
    while let Some(entry) = reader.next_entry().unwrap() {
        let mut text = Vec::new();
        if entry.terminated
            && !matches!(
                entry.outcome,
                Outcome::Failed(enclog::read::LineError::TooLong { .. })
            )
            && render(&entry.outcome, entry.raw, &mut text)
        {
            expected.extend_from_slice(&text);
        } else {
            expected.extend_from_slice(format!("entry {entry:?}\n").as_bytes());
            entries.push(format!("{entry:?}"));
        }
    }
    assert!(entries.len() >= 10, "{entries:?}");
    for jobs in [1, 2, 3] {
        for chunk in [1, 97, 4096, 1 << 20] {
            let options = ParallelOptions::default()
                .jobs(jobs)
                .chunk_size(chunk)
                .max_line(max_line);
            let input = || io::Cursor::new(log.clone());
            let mut reader = ParallelDecryptor::rendering(input(), keyring(), options, render);
            let mut got = Vec::new();
            while let Some(piece) = reader.next_piece().unwrap() {
                match piece {
                    Piece::Rendered(text) => got.extend_from_slice(text),
                    Piece::Entry(entry) => {
                        got.extend_from_slice(format!("entry {entry:?}\n").as_bytes());
                    }
                }
            }
            assert!(
                got == expected,
                "jobs {jobs}, chunk {chunk}:\n{}\n---\n{}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected)
            );
            let mut reader = ParallelDecryptor::rendering(input(), keyring(), options, render);
            let mut only = Vec::new();
            while let Some(entry) = reader.next_entry().unwrap() {
                only.push(format!("{entry:?}"));
            }
            assert_eq!(only, entries, "jobs {jobs}, chunk {chunk}: next_entry");
        }
    }
}

#[test]
fn same_entries_as_decryptor_for_every_chunk_size_and_job_count() {
    let log = mixed_log();
    let reference = sequential(&log, enclog::read::DEFAULT_MAX_LINE);
    assert!(reference.len() > 60);
    let all = reference.join("\n");
    for kind in [
        "Plain",
        "Corrupted",
        "UnknownKey",
        "Differs",
        "Matches",
        "Fernet",
        "Close",
    ] {
        assert!(all.contains(kind), "the test log has no {kind} line");
    }
    for jobs in [1, 2, 3] {
        for chunk in [1, 2, 7, 100, 333, 4096, 1 << 20] {
            let options = ParallelOptions::default().jobs(jobs).chunk_size(chunk);
            assert_eq!(
                parallel(&log, options),
                reference,
                "jobs {jobs}, chunk {chunk}"
            );
        }
    }
}

#[test]
fn last_line_without_newline_and_cut_tokens_match() {
    let mut log = mixed_log();
    for cut in [1, 5, 40, 120] {
        log.truncate(log.len() - cut);
        let reference = sequential(&log, enclog::read::DEFAULT_MAX_LINE);
        for chunk in [3, 64, 1 << 16] {
            let options = ParallelOptions::default().jobs(2).chunk_size(chunk);
            assert_eq!(
                parallel(&log, options),
                reference,
                "cut {cut}, chunk {chunk}"
            );
        }
    }
}

#[test]
fn over_long_lines_are_skipped_like_decryptor_does() {
    let log = mixed_log();
    for max_line in [0, 10, 100, 300, 1000] {
        let reference = sequential(&log, max_line);
        for chunk in [1, 50, 150, 4096] {
            let options = ParallelOptions::default()
                .jobs(2)
                .chunk_size(chunk)
                .max_line(max_line);
            assert_eq!(
                parallel(&log, options),
                reference,
                "max_line {max_line}, chunk {chunk}"
            );
        }
    }
    // An over-long last line without a newline.
    let mut log = log;
    log.extend_from_slice(&[b'z'; 5000]);
    let reference = sequential(&log, 1000);
    let options = ParallelOptions::default()
        .jobs(2)
        .chunk_size(64)
        .max_line(1000);
    assert_eq!(parallel(&log, options), reference);
}

#[test]
fn empty_input_has_no_lines() {
    assert!(parallel(b"", ParallelOptions::default()).is_empty());
    assert_eq!(parallel(b"\n", ParallelOptions::default()).len(), 1);
}

/// Reads `data` until `ok` bytes, then breaks: a read error, or (`panics`) a panic, as a
/// bug in the reader would.
struct BreaksAfter {
    data: io::Cursor<Vec<u8>>,
    ok: u64,
    panics: bool,
}

impl BreaksAfter {
    fn new(data: &[u8], ok: u64, panics: bool) -> BreaksAfter {
        BreaksAfter {
            data: io::Cursor::new(data.to_vec()),
            ok,
            panics,
        }
    }
}

impl Read for BreaksAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.position() >= self.ok {
            assert!(!self.panics, "simulated bug in the reader");
            return Err(io::Error::other("disk on fire"));
        }
        let room = (self.ok - self.data.position()) as usize;
        let n = buf.len().min(room);
        self.data.read(&mut buf[..n])
    }
}

/// A read error comes after exactly the lines `Decryptor` gives before it (every whole line
/// read before the error, none after), whatever the chunk size: a chunk being filled when the
/// read fails hands out its whole lines first (threat: an I/O error silently taking up to a
/// chunk of lines that were read with it).
#[test]
fn a_read_error_comes_after_the_lines_read_before_it() {
    let log = mixed_log();
    let ok = log.len() as u64 / 2;
    let failing = || BreaksAfter::new(&log, ok, false);
    // The reference: `Decryptor` over the same failing reader.
    let mut reference = Vec::new();
    let mut sequential = Decryptor::new(io::BufReader::new(failing()), keyring());
    let reference_err = loop {
        match sequential.next_entry() {
            Ok(Some(entry)) => reference.push(format!("{entry:?}")),
            Ok(None) => panic!("Decryptor lost the read error"),
            Err(e) => break e,
        }
    };
    assert_eq!(reference_err.to_string(), "disk on fire");
    let before = log[..ok as usize].iter().filter(|&&b| b == b'\n').count();
    assert_eq!(reference.len(), before);
    for chunk in [100, 4096, 1 << 20] {
        for jobs in [1, 2] {
            let options = ParallelOptions::default().jobs(jobs).chunk_size(chunk);
            let mut decryptor = ParallelDecryptor::new(failing(), keyring(), options);
            let mut lines = Vec::new();
            let err = loop {
                match decryptor.next_entry() {
                    Ok(Some(entry)) => lines.push(format!("{entry:?}")),
                    Ok(None) => panic!("chunk {chunk}: the read error was lost"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.to_string(), "disk on fire");
            assert_eq!(lines, reference, "chunk {chunk}, jobs {jobs}");
            assert!(decryptor.next_entry().unwrap().is_none());
        }
    }
}

/// A reader that panics ends the entries with an error in that place (not a clean end of
/// input, not lines made of what another worker's chunk held), on any number of jobs.
#[test]
fn a_reader_that_panics_is_an_error_in_its_place_not_the_end_of_input() {
    let log = mixed_log();
    let ok = log.len() as u64 / 2;
    let before = log[..ok as usize].iter().filter(|&&b| b == b'\n').count();
    let reference = sequential(&log, enclog::read::DEFAULT_MAX_LINE);
    for jobs in [1, 2, 3] {
        for chunk in [100, 4096] {
            let reader = BreaksAfter::new(&log, ok, true);
            let options = ParallelOptions::default().jobs(jobs).chunk_size(chunk);
            let mut decryptor = ParallelDecryptor::new(reader, keyring(), options);
            let mut lines = Vec::new();
            let err = loop {
                match decryptor.next_entry() {
                    Ok(Some(entry)) => lines.push(format!("{entry:?}")),
                    Ok(None) => {
                        panic!("jobs {jobs}, chunk {chunk}: the panic became an end of input")
                    }
                    Err(e) => break e,
                }
            };
            assert!(err.to_string().contains("panicked"), "{err}");
            assert!(lines.len() <= before, "jobs {jobs}, chunk {chunk}");
            assert_eq!(
                lines[..],
                reference[..lines.len()],
                "jobs {jobs}, chunk {chunk}"
            );
        }
    }
}

#[test]
fn progress_reaches_the_input_size_and_dropping_early_is_fine() {
    let log = mixed_log();
    let options = ParallelOptions::default().jobs(2).chunk_size(512);
    let mut reader = ParallelDecryptor::new(io::Cursor::new(log.clone()), keyring(), options);
    let mut last = 0;
    while reader.next_entry().unwrap().is_some() {
        assert!(reader.bytes_consumed() >= last);
        last = reader.bytes_consumed();
    }
    assert_eq!(last, log.len() as u64);

    // Large input, dropped after a few lines: the threads end on their own.
    let big = log.repeat(50);
    let mut reader = ParallelDecryptor::new(io::Cursor::new(big), keyring(), options);
    for _ in 0..10 {
        reader.next_entry().unwrap().unwrap();
    }
    drop(reader);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random cuts of a real log (lines joined, split, truncated) at random chunk sizes.
    #[test]
    fn any_slice_of_a_log_matches(start in 0usize..4000, len in 0usize..6000,
                                  chunk in 1usize..700, jobs in 1usize..4,
                                  max_line in prop_oneof![Just(enclog::read::DEFAULT_MAX_LINE), 0usize..400]) {
        static LOG: OnceLock<Vec<u8>> = OnceLock::new();
        let log = LOG.get_or_init(mixed_log);
        let start = start.min(log.len());
        let slice = &log[start..(start + len).min(log.len())];
        let options = ParallelOptions::default().jobs(jobs).chunk_size(chunk).max_line(max_line);
        prop_assert_eq!(parallel(slice, options), sequential(slice, max_line));
    }
}

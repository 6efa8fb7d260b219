//! [`ParallelDecryptor`]: a [`Decryptor`](crate::read::Decryptor) that opens lines on several threads,
//! for large files. Lines come out in file order, with the same outcomes and line numbers.
//!
//! A reader thread cuts the input into chunks of whole lines, worker threads open every line of
//! a chunk (each with its own [`Opener`] and session cache), and the caller takes the entries of
//! chunk after chunk in order. Chunks circulate through a fixed pool, so memory stays bounded
//! by `(2 × jobs + 2) × chunk size` plus one line of at most the line cap.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::format::{Link, Mode, RecordKind};
use crate::key::KeyId;
use crate::key::keyring::Keyring;
use crate::read::decryptor::{DEFAULT_MAX_LINE, Entry, LineError, Outcome, classify};
use crate::read::opener::{MetaStatus, Opened, Opener, Sequence};

/// Bytes of input per chunk, unless configured otherwise: large enough that handing a chunk
/// between threads (a context switch or two) costs little next to opening its ~1,400 lines,
/// small enough that the pool stays a few megabytes. Measured on 2 idle cores: 64 KiB chunks
/// cost 12 % more CPU than 256 KiB (3× the context switches), 1 MiB chunks 13 % more (cache
/// misses).
///
/// ```
/// use enclog::Keyring;
/// use enclog::read::{ParallelDecryptor, ParallelOptions};
/// assert_eq!(enclog::read::DEFAULT_CHUNK, 256 * 1024);
/// // Input smaller than a chunk is handed out as one chunk.
/// let input = std::io::Cursor::new(vec![b'x'; 1000]);
/// let mut reader = ParallelDecryptor::new(input, Keyring::new(), ParallelOptions::default());
/// reader.next_entry()?;
/// assert_eq!(reader.bytes_consumed(), 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_CHUNK: usize = 256 * 1024;

/// Settings of a [`ParallelDecryptor`].
///
/// ```
/// use enclog::read::{ParallelDecryptor, ParallelOptions};
/// let options = ParallelOptions::default().jobs(4).max_line(1 << 20);
/// let input = std::io::Cursor::new(b"one line\n".to_vec());
/// let mut reader = ParallelDecryptor::new(input, enclog::Keyring::new(), options);
/// assert_eq!(reader.next_entry()?.unwrap().raw, b"one line");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParallelOptions {
    jobs: usize,
    chunk: usize,
    max_line: usize,
}

impl Default for ParallelOptions {
    /// One job per available core, [`DEFAULT_CHUNK`]-byte chunks, [`DEFAULT_MAX_LINE`].
    fn default() -> ParallelOptions {
        ParallelOptions {
            jobs: thread::available_parallelism().map_or(1, |n| n.get()),
            chunk: DEFAULT_CHUNK,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

impl ParallelOptions {
    /// Worker threads that open lines (at least 1). A reader thread comes on top; the caller's
    /// thread handles the output.
    ///
    /// ```
    /// use enclog::read::ParallelOptions;
    /// let options = ParallelOptions::default().jobs(3);
    /// assert_eq!(ParallelOptions::default().jobs(0), ParallelOptions::default().jobs(1)); // at least one
    /// # let _ = options;
    /// ```
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Bytes of input handed to a worker at a time (at least 1; a line longer than this still
    /// goes whole into one chunk).
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{ParallelDecryptor, ParallelOptions};
    /// let input = std::io::Cursor::new(b"aaaa\nbbbb\ncccc\n".to_vec());
    /// let options = ParallelOptions::default().jobs(2).chunk_size(5);
    /// let mut reader = ParallelDecryptor::new(input, Keyring::new(), options);
    /// reader.next_entry()?;
    /// assert_eq!(reader.bytes_consumed(), 5); // one line per chunk
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1);
        self
    }

    /// The longest line (in bytes) that is buffered and opened, as [`Decryptor::max_line`].
    ///
    /// [`Decryptor::max_line`]: crate::read::Decryptor::max_line
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{LineError, Outcome, ParallelDecryptor, ParallelOptions};
    /// let input = std::io::Cursor::new(b"0123456789\nok\n".to_vec());
    /// let options = ParallelOptions::default().jobs(1).max_line(5);
    /// let mut reader = ParallelDecryptor::new(input, Keyring::new(), options);
    /// let entry = reader.next_entry()?.unwrap();
    /// assert!(matches!(entry.outcome, Outcome::Failed(LineError::TooLong { len: 10, limit: 5 })));
    /// assert_eq!(reader.next_entry()?.unwrap().raw, b"ok");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }
}

/// Decrypts a reader's lines on several threads and hands them back in order, as
/// [`Decryptor`](crate::read::Decryptor) does: the same [`Entry`] for every line (outcome, raw text,
/// line number, `terminated`), with the same line cap. Use it for large regular files; for a
/// pipe or a followed file, whose lines should appear as they arrive, use `Decryptor`.
///
/// Dropping it early is fine: its threads notice and end.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::{Outcome, ParallelDecryptor, ParallelOptions};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = Vec::new();
/// for i in 0..1000 {
///     sealer.seal_to(None, format!("event {i}").as_bytes(), &mut log)?;
/// }
/// let options = ParallelOptions::default().jobs(2).chunk_size(4096);
/// let mut reader = ParallelDecryptor::new(std::io::Cursor::new(log), Keyring::from(key), options);
/// let mut n = 0;
/// while let Some(entry) = reader.next_entry()? {
///     let Outcome::Opened(opened) = entry.outcome else { panic!("line {}", entry.line_no) };
///     assert_eq!(opened.plaintext, format!("event {n}").as_bytes());
///     n += 1;
///     assert_eq!(entry.line_no, n);
/// }
/// assert_eq!(n, 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParallelDecryptor {
    results: Receiver<Job>,
    free: SyncSender<Chunk>,
    /// Chunks that arrived before their turn.
    pending: BTreeMap<u64, io::Result<Chunk>>,
    next_index: u64,
    current: Option<Chunk>,
    /// The next line of `current` to hand out.
    pos: usize,
    line_no: u64,
    max_line: usize,
    consumed: u64,
    done: bool,
}

impl fmt::Debug for ParallelDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParallelDecryptor")
            .field("line_no", &self.line_no)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

/// A chunk's place in the input, and the chunk (or the read error that ended the input).
type Job = (u64, io::Result<Chunk>);

impl ParallelDecryptor {
    /// Starts reading `reader` and opening its lines with the keys of `keyring`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::{Outcome, ParallelDecryptor, ParallelOptions};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"hello")?;
    /// let (input, options) = (std::io::Cursor::new(log), ParallelOptions::default().jobs(2));
    /// let mut reader = ParallelDecryptor::new(input, Keyring::from(key), options);
    /// let entry = reader.next_entry()?.unwrap();
    /// assert!(matches!(entry.outcome, Outcome::Opened(o) if o.plaintext == b"hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new<R: Read + Send + 'static>(
        reader: R,
        keyring: Keyring,
        options: ParallelOptions,
    ) -> ParallelDecryptor {
        let pool = 2 * options.jobs + 2;
        let (free, free_rx) = mpsc::sync_channel(pool);
        for _ in 0..pool {
            free.send(Chunk::default())
                .expect("the pool channel holds every chunk");
        }
        let (work, work_rx) = mpsc::sync_channel::<Job>(pool);
        let (results_tx, results) = mpsc::channel();
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..options.jobs {
            let (work_rx, results_tx) = (Arc::clone(&work_rx), results_tx.clone());
            let keyring = keyring.clone();
            let max_line = options.max_line;
            thread::spawn(move || decrypt_chunks(keyring, max_line, &work_rx, &results_tx));
        }
        thread::spawn(move || read_chunks(reader, options, &free_rx, &work));
        ParallelDecryptor {
            results,
            free,
            pending: BTreeMap::new(),
            next_index: 0,
            current: None,
            pos: 0,
            line_no: 0,
            max_line: options.max_line,
            consumed: 0,
            done: false,
        }
    }

    /// The next line, or `None` at the end of input. A read error is returned once, in its
    /// place after the lines read before it; the input ends there.
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{ParallelDecryptor, ParallelOptions};
    /// let input = std::io::Cursor::new(b"a\nb".to_vec());
    /// let mut reader = ParallelDecryptor::new(input, Keyring::new(), ParallelOptions::default());
    /// let first = reader.next_entry()?.unwrap();
    /// assert_eq!((first.line_no, first.raw, first.terminated), (1, &b"a"[..], true));
    /// let last = reader.next_entry()?.unwrap();
    /// assert_eq!((last.line_no, last.raw, last.terminated), (2, &b"b"[..], false));
    /// assert!(reader.next_entry()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>> {
        loop {
            if let Some(chunk) = &self.current {
                if self.pos < chunk.lines.len() {
                    break;
                }
                let chunk = self.current.take().expect("checked above");
                // The reader may have ended: then the chunk is simply dropped.
                let _ = self.free.send(chunk);
            }
            if self.done {
                return Ok(None);
            }
            match self.next_chunk() {
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Some(Ok(chunk)) => {
                    self.consumed = chunk.end;
                    self.current = Some(chunk);
                    self.pos = 0;
                }
            }
        }
        let chunk = self.current.as_ref().expect("a chunk with lines left");
        let line = &chunk.lines[self.pos];
        self.pos += 1;
        self.line_no += 1;
        Ok(Some(line.entry(chunk, self.line_no, self.max_line)))
    }

    /// Bytes of input up to the end of the chunk being handed out (for a progress indicator).
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{ParallelDecryptor, ParallelOptions};
    /// let input = std::io::Cursor::new(b"one\ntwo\n".to_vec());
    /// let mut reader = ParallelDecryptor::new(input, Keyring::new(), ParallelOptions::default());
    /// assert_eq!(reader.bytes_consumed(), 0);
    /// while reader.next_entry()?.is_some() {}
    /// assert_eq!(reader.bytes_consumed(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// The chunk whose turn it is, waiting for the workers if needed.
    fn next_chunk(&mut self) -> Option<io::Result<Chunk>> {
        loop {
            if let Some(chunk) = self.pending.remove(&self.next_index) {
                self.next_index += 1;
                return Some(chunk);
            }
            match self.results.recv() {
                Ok((index, chunk)) => {
                    self.pending.insert(index, chunk);
                }
                // Every worker has ended: the input is done, unless a chunk went missing.
                Err(_) if self.pending.is_empty() => return None,
                Err(_) => {
                    return Some(Err(io::Error::other(
                        "a decryption thread ended unexpectedly; lines after this point were not read",
                    )));
                }
            }
        }
    }
}

/// Whole lines of input, and what each turned out to be once a worker has opened them.
#[derive(Default)]
struct Chunk {
    input: Vec<u8>,
    /// Set instead of `input` for one line longer than the cap: its length and whether it
    /// ended with a newline (its bytes were never kept).
    too_long: Option<(u64, bool)>,
    /// Offset in the input just past this chunk.
    end: u64,
    /// Plaintexts and metadata copies, which `lines` point into.
    arena: Vec<u8>,
    lines: Vec<Line>,
}

/// One line's outcome, with ranges into its chunk instead of borrows.
struct Line {
    raw: Range<usize>,
    terminated: bool,
    outcome: LineOutcome,
}

enum LineOutcome {
    Plain,
    Opened(OpenedAt),
    Failed(LineError),
    TooLong(u64),
}

/// An [`Opened`] line: `plaintext` and `meta` index the arena, `before` and `after` the input.
struct OpenedAt {
    plaintext: Range<usize>,
    before: Range<usize>,
    after: Range<usize>,
    meta: Option<Range<usize>>,
    meta_status: MetaStatus,
    key_id: KeyId,
    mode: Mode,
    sequence: Option<Sequence>,
    record: RecordKind,
    link: Option<Box<Link>>,
    tag: [u8; 16],
    version: u8,
    timestamp: Option<u64>,
    fields: Option<Box<crate::read::SealedFields>>,
}

impl Line {
    fn entry<'a>(&self, chunk: &'a Chunk, line_no: u64, limit: usize) -> Entry<'a> {
        let (input, arena) = (&chunk.input[..], &chunk.arena[..]);
        let outcome = match &self.outcome {
            LineOutcome::Plain => Outcome::Plain,
            LineOutcome::Failed(e) => Outcome::Failed(e.clone()),
            &LineOutcome::TooLong(len) => Outcome::Failed(LineError::TooLong { len, limit }),
            LineOutcome::Opened(o) => Outcome::Opened(Opened {
                plaintext: &arena[o.plaintext.clone()],
                before: &input[o.before.clone()],
                after: &input[o.after.clone()],
                meta: o.meta.clone().map(|m| &arena[m]),
                meta_status: o.meta_status,
                key_id: o.key_id,
                mode: o.mode,
                sequence: o.sequence,
                record: o.record,
                link: o.link.clone(),
                tag: o.tag,
                version: o.version,
                timestamp: o.timestamp,
                fields: o.fields.clone(),
            }),
        };
        Entry {
            line_no,
            raw: &input[self.raw.clone()],
            terminated: self.terminated,
            outcome,
        }
    }
}

impl Chunk {
    fn reset(&mut self) {
        self.input.clear();
        self.too_long = None;
        self.arena.clear();
        self.lines.clear();
    }

    /// Opens every line of the chunk, exactly as `Decryptor::next_entry` would.
    fn decrypt(&mut self, opener: &mut Opener, max_line: usize) {
        let Chunk {
            input,
            too_long,
            arena,
            lines,
            ..
        } = self;
        if let Some((len, terminated)) = *too_long {
            lines.push(Line {
                raw: 0..0,
                terminated,
                outcome: LineOutcome::TooLong(len),
            });
            return;
        }
        let base = input.as_ptr() as usize;
        // Where a slice of a line of `input` starts in `input`.
        let at = |s: &[u8]| s.as_ptr() as usize - base;
        let mut start = 0;
        while start < input.len() {
            let (end, next, terminated) = match memchr::memchr(b'\n', &input[start..]) {
                Some(i) => (start + i, start + i + 1, true),
                None => (input.len(), input.len(), false),
            };
            let line = &input[start..end];
            if line.len() > max_line {
                lines.push(Line {
                    raw: start..start,
                    terminated,
                    outcome: LineOutcome::TooLong(line.len() as u64),
                });
                start = next;
                continue;
            }
            // As in `Decryptor`: a `\r` before the newline is kept.
            let raw = line;
            let outcome = match classify(opener, raw, terminated) {
                Outcome::Plain => LineOutcome::Plain,
                Outcome::Failed(e) => LineOutcome::Failed(e),
                Outcome::Opened(o) => {
                    let mut keep = |s: &[u8]| {
                        arena.extend_from_slice(s);
                        arena.len() - s.len()..arena.len()
                    };
                    LineOutcome::Opened(OpenedAt {
                        plaintext: keep(o.plaintext),
                        meta: o.meta.map(&mut keep),
                        before: at(o.before)..at(o.before) + o.before.len(),
                        after: at(o.after)..at(o.after) + o.after.len(),
                        meta_status: o.meta_status,
                        key_id: o.key_id,
                        mode: o.mode,
                        sequence: o.sequence,
                        record: o.record,
                        link: o.link,
                        tag: o.tag,
                        version: o.version,
                        timestamp: o.timestamp,
                        fields: o.fields,
                    })
                }
            };
            lines.push(Line {
                raw: start..start + raw.len(),
                terminated,
                outcome,
            });
            start = next;
        }
    }
}

/// The worker: opens the chunks it is given and passes them on.
fn decrypt_chunks(
    keyring: Keyring,
    max_line: usize,
    work: &Mutex<Receiver<Job>>,
    results: &Sender<Job>,
) {
    let mut opener = Opener::new(keyring);
    loop {
        let job = work.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((index, chunk)) = job else {
            return; // the reader has ended
        };
        let guard = PanicGuard { index, results };
        let chunk = chunk.map(|mut chunk| {
            chunk.decrypt(&mut opener, max_line);
            chunk
        });
        std::mem::forget(guard);
        if results.send((index, chunk)).is_err() {
            return; // the consumer has gone
        }
    }
}

/// Sends an error in place of the chunk a worker was opening if it panics, so that the caller
/// gets an error at that point instead of waiting forever for the missing chunk.
struct PanicGuard<'a> {
    index: u64,
    results: &'a Sender<Job>,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        let _ = self.results.send((
            self.index,
            Err(io::Error::other(
                "a decryption thread panicked; lines from this point on were not read",
            )),
        ));
    }
}

/// The reader: fills chunks from the pool with whole lines and hands them to the workers.
fn read_chunks<R: Read>(
    mut reader: R,
    options: ParallelOptions,
    free: &Receiver<Chunk>,
    work: &SyncSender<Job>,
) {
    let mut index = 0;
    let mut carry = Vec::new(); // the start of a line cut by the previous chunk's end
    let mut offset = 0u64; // bytes read so far
    let mut eof = false;
    while !(eof && carry.is_empty()) {
        let Ok(mut chunk) = free.recv() else {
            return; // the consumer has gone
        };
        chunk.reset();
        chunk.input.append(&mut carry);
        let mut target = options.chunk.max(chunk.input.len());
        loop {
            while !eof && chunk.input.len() < target {
                match read_into(&mut reader, &mut chunk.input, target) {
                    Ok(0) => eof = true,
                    Ok(n) => offset += n as u64,
                    Err(e) => {
                        let _ = work.send((index, Err(e)));
                        return;
                    }
                }
            }
            if eof {
                break; // what is left is the last line(s), the last maybe without a newline
            }
            if let Some(i) = memchr::memrchr(b'\n', &chunk.input) {
                carry.extend_from_slice(&chunk.input[i + 1..]);
                chunk.input.truncate(i + 1);
                break;
            }
            // No newline: all of it is one line, longer than a chunk.
            if chunk.input.len() > options.max_line {
                match skip_line(&mut reader, chunk.input.len() as u64, &mut carry) {
                    Ok((len, terminated, read)) => {
                        offset += read;
                        eof = !terminated;
                        chunk.input.clear();
                        chunk.too_long = Some((len, terminated));
                    }
                    Err(e) => {
                        let _ = work.send((index, Err(e)));
                        return;
                    }
                }
                break;
            }
            target = chunk.input.len() + options.chunk;
        }
        if chunk.input.is_empty() && chunk.too_long.is_none() {
            return; // end of input
        }
        chunk.end = offset - carry.len() as u64;
        if work.send((index, Ok(chunk))).is_err() {
            return;
        }
        index += 1;
    }
}

/// Reads once into `buf` (growing it up to `target` bytes); returns the bytes read.
fn read_into<R: Read>(reader: &mut R, buf: &mut Vec<u8>, target: usize) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(target, 0);
    loop {
        match reader.read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
}

/// Reads past the rest of an over-long line of which `len` bytes were seen, keeping nothing;
/// what follows its newline goes to `rest`. Returns the line's length, whether it ended with a
/// newline (else the input ended), and the bytes read.
fn skip_line<R: Read>(
    reader: &mut R,
    mut len: u64,
    rest: &mut Vec<u8>,
) -> io::Result<(u64, bool, u64)> {
    let mut block = vec![0u8; 64 * 1024];
    let mut read = 0u64;
    loop {
        let n = match reader.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok((len, false, read));
        }
        read += n as u64;
        if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
            rest.extend_from_slice(&block[i + 1..n]);
            return Ok((len + i as u64, true, read));
        }
        len += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_panics_leaves_an_error_in_its_chunks_place() {
        let (tx, rx) = mpsc::channel();
        let worker = thread::spawn(move || {
            let _guard = PanicGuard {
                index: 7,
                results: &tx,
            };
            panic!("simulated bug while opening a chunk");
        });
        assert!(worker.join().is_err());
        let (index, chunk) = rx.recv().unwrap();
        assert_eq!(index, 7);
        let Err(e) = chunk else {
            panic!("the guard sent a chunk, not an error")
        };
        assert!(e.to_string().contains("panicked"));
    }
}

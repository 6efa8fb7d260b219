//! [`ParallelDecryptor`]: a [`Decryptor`](crate::read::Decryptor) that opens lines on several threads,
//! for large files. Lines come out in file order, with the same outcomes and line numbers.
//!
//! Each worker thread takes a chunk from a fixed pool, fills it with the next whole lines of the
//! input (reading under a lock, so chunks are numbered in file order), opens every line of it
//! with its own [`Opener`] and session cache, and passes it on; the caller takes the entries of
//! chunk after chunk in order and gives each chunk back to the pool. Memory stays bounded,
//! whatever the input's size: `2 × jobs + 2` chunks, each holding at most its chunk size plus
//! one line of at most the line cap, and as much again for its plaintexts (or, with a renderer,
//! what the renderer wrote); a chunk keeps the room it once needed (a file of lines near the
//! cap takes about `2 × (2 × jobs + 2) × (chunk + cap)`).
//!
//! There is no reader thread: on two cores, a third busy thread (reader, two workers and the
//! caller) left each core idle ~30 % of the time, its threads waking one another for every
//! chunk while the scheduler balanced them late; a worker that reads its own next chunk never
//! waits to be handed work.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::key::keyring::Keyring;
use crate::read::decryptor::{DEFAULT_MAX_LINE, Entry, Outcome};

mod chunk;
mod source;
mod worker;

use chunk::{Chunk, Item, Render};
use source::Source;
use worker::{Feed, decrypt_chunks};

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
    /// Worker threads that read and open lines (at least 1); the caller's thread handles the
    /// output.
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
        ParallelDecryptor::start(reader, keyring, options, None)
    }

    /// Like [`new`](ParallelDecryptor::new), with `render` called by the worker threads on
    /// every line that ends with a newline and is within the line cap (a longer line, and a
    /// last line without its newline, always come as entries), as soon as the line is opened:
    /// it writes what the
    /// caller would make of the line into the buffer and returns `true`, or writes nothing and
    /// returns `false` to have the line handed to the caller as an [`Entry`]. The caller reads
    /// both, in input order, with [`next_piece`](ParallelDecryptor::next_piece) (consecutive
    /// rendered lines come as one [`Piece::Rendered`]).
    ///
    /// What this is for: the caller's own work per line (formatting, copying) runs on the
    /// workers too, and the caller is left with one write per run of rendered lines. `enclog
    /// decrypt` renders text output this way and takes as entries only the lines it must report.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::{Outcome, ParallelDecryptor, ParallelOptions, Piece};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = b"a line in clear\n".to_vec();
    /// for i in 0..100 {
    ///     sealer.seal_to(None, format!("event {i}").as_bytes(), &mut log)?;
    /// }
    /// // Opened lines are rendered (upper-cased) on the workers; anything else comes as an entry.
    /// let render = |outcome: &Outcome<'_>, _raw: &[u8], out: &mut Vec<u8>| match outcome {
    ///     Outcome::Opened(o) => {
    ///         out.extend(o.plaintext.to_ascii_uppercase());
    ///         out.push(b'\n');
    ///         true
    ///     }
    ///     _ => false,
    /// };
    /// let options = ParallelOptions::default().jobs(2).chunk_size(512);
    /// let input = std::io::Cursor::new(log);
    /// let mut reader = ParallelDecryptor::rendering(input, Keyring::from(key), options, render);
    /// let (mut text, mut entries) = (Vec::new(), Vec::new());
    /// while let Some(piece) = reader.next_piece()? {
    ///     match piece {
    ///         Piece::Rendered(bytes) => text.extend_from_slice(bytes),
    ///         Piece::Entry(entry) => entries.push(entry.line_no),
    ///     }
    /// }
    /// assert_eq!(entries, [1]); // the line in clear, line 1
    /// assert!(text.starts_with(b"EVENT 0\nEVENT 1\n"));
    /// assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rendering<R, F>(
        reader: R,
        keyring: Keyring,
        options: ParallelOptions,
        render: F,
    ) -> ParallelDecryptor
    where
        R: Read + Send + 'static,
        F: Fn(&Outcome<'_>, &[u8], &mut Vec<u8>) -> bool + Send + Sync + 'static,
    {
        ParallelDecryptor::start(reader, keyring, options, Some(Arc::new(render)))
    }

    fn start<R: Read + Send + 'static>(
        reader: R,
        keyring: Keyring,
        options: ParallelOptions,
        render: Option<Arc<Render>>,
    ) -> ParallelDecryptor {
        let pool = 2 * options.jobs + 2;
        let (free, free_rx) = mpsc::sync_channel(pool);
        for _ in 0..pool {
            free.send(Chunk::default())
                .expect("the pool channel holds every chunk");
        }
        let (results_tx, results) = mpsc::channel();
        let feed = Arc::new(Feed {
            free: Mutex::new(free_rx),
            source: Mutex::new(Source::new(reader, options)),
        });
        for _ in 0..options.jobs {
            let (feed, results_tx) = (Arc::clone(&feed), results_tx.clone());
            let keyring = keyring.clone();
            let max_line = options.max_line;
            let render = render.clone();
            thread::spawn(move || {
                decrypt_chunks(keyring, max_line, render.as_deref(), &feed, &results_tx);
            });
        }
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
    /// place after the lines read before it; the input ends there. Of a decryptor made by
    /// [`rendering`](ParallelDecryptor::rendering), only the lines its renderer left to the
    /// caller (the line numbers count them all).
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
    #[inline]
    pub fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>> {
        loop {
            if !self.advance()? {
                return Ok(None);
            }
            let chunk = self.current.as_ref().expect("a chunk with items left");
            let Item::Rendered { lines, .. } = chunk.items[self.pos] else {
                break;
            };
            // Rendered lines (only with `rendering`) are passed over.
            self.pos += 1;
            self.line_no += lines;
        }
        let chunk = self.current.as_ref().expect("a chunk with items left");
        let Item::Line(line) = &chunk.items[self.pos] else {
            unreachable!("rendered items were passed over")
        };
        self.pos += 1;
        self.line_no += 1;
        Ok(Some(line.entry(chunk, self.line_no, self.max_line)))
    }

    /// The next piece of output in input order, or `None` at the end of input: what the
    /// renderer of [`rendering`](ParallelDecryptor::rendering) wrote for one or more lines, or
    /// a line it left to the caller. Without a renderer every line is an entry. A read error
    /// is returned once, in its place; the input ends there.
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{ParallelDecryptor, ParallelOptions, Piece};
    /// let input = std::io::Cursor::new(b"a\nb".to_vec());
    /// let mut reader = ParallelDecryptor::new(input, Keyring::new(), ParallelOptions::default());
    /// let Some(Piece::Entry(first)) = reader.next_piece()? else { panic!() };
    /// assert_eq!(first.line_no, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        if !self.advance()? {
            return Ok(None);
        }
        let chunk = self.current.as_ref().expect("a chunk with items left");
        self.pos += 1;
        Ok(Some(match &chunk.items[self.pos - 1] {
            Item::Rendered { output, lines } => {
                self.line_no += lines;
                Piece::Rendered(&chunk.output[output.clone()])
            }
            Item::Line(line) => {
                self.line_no += 1;
                Piece::Entry(line.entry(chunk, self.line_no, self.max_line))
            }
        }))
    }

    /// Makes `current` a chunk with an item at `pos`, taking the next chunk when needed;
    /// `false` at the end of input.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            if let Some(chunk) = &self.current {
                if self.pos < chunk.items.len() {
                    return Ok(true);
                }
                let chunk = self.current.take().expect("checked above");
                // The workers may have ended: then the chunk is simply dropped.
                let _ = self.free.send(chunk);
            }
            if self.done {
                return Ok(false);
            }
            match self.next_chunk() {
                None => {
                    self.done = true;
                    return Ok(false);
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

/// What [`ParallelDecryptor::next_piece`] hands out, in input order.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::{Outcome, ParallelDecryptor, ParallelOptions, Piece};
/// let key = Key::generate()?;
/// let mut log = Sealer::new(key.clone()).seal_line(b"event")?;
/// log.extend_from_slice(b"plain\n");
/// // Opened lines are written by the workers; the plain line comes as an entry.
/// let render = |o: &Outcome<'_>, _: &[u8], out: &mut Vec<u8>| match o {
///     Outcome::Opened(o) => {
///         out.extend_from_slice(o.plaintext);
///         out.push(b'\n');
///         true
///     }
///     _ => false,
/// };
/// let input = std::io::Cursor::new(log);
/// let options = ParallelOptions::default();
/// let mut reader = ParallelDecryptor::rendering(input, Keyring::from(key), options, render);
/// assert!(matches!(reader.next_piece()?, Some(Piece::Rendered(b"event\n"))));
/// assert!(matches!(reader.next_piece()?, Some(Piece::Entry(e)) if e.line_no == 2));
/// assert!(reader.next_piece()?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum Piece<'a> {
    /// What the renderer of [`ParallelDecryptor::rendering`] wrote for one or more
    /// consecutive lines.
    Rendered(&'a [u8]),
    /// A line left to the caller (every line, without a renderer).
    Entry(Entry<'a>),
}

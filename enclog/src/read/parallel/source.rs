//! The input of a [`ParallelDecryptor`](super::ParallelDecryptor), cut into chunks of whole
//! lines by whichever worker needs the next one (under a lock: chunks are numbered in input
//! order).

use std::io::{self, Read};

use super::ParallelOptions;
use super::chunk::Chunk;

/// What filling a chunk gave.
pub(super) enum Fill {
    /// Lines (or one over-long line), the chunk's place in the input.
    Lines(u64),
    /// The input has ended (or failed before): nothing more to read.
    End,
    /// Reading failed: the error, in the place of the chunk it ended.
    Failed(u64, io::Error),
}

/// The input, cut into chunks of whole lines.
pub(super) struct Source<R> {
    reader: R,
    options: ParallelOptions,
    /// The next chunk's place.
    index: u64,
    /// The start of a line cut by the previous chunk's end.
    carry: Vec<u8>,
    /// Bytes read so far.
    offset: u64,
    eof: bool,
    /// A read failed: the input ends there.
    failed: bool,
    /// The error of a read that failed after some whole lines, which went out first: handed
    /// out by the next fill, in the next chunk's place.
    pending: Option<io::Error>,
}

impl<R: Read> Source<R> {
    pub(super) fn new(reader: R, options: ParallelOptions) -> Source<R> {
        Source {
            reader,
            options,
            index: 0,
            carry: Vec::new(),
            offset: 0,
            eof: false,
            failed: false,
            pending: None,
        }
    }

    /// The place the next chunk filled (or the next error) will take.
    pub(super) fn next_index(&self) -> u64 {
        self.index
    }

    /// Fills `chunk` with the next whole lines (about a chunk's worth), or one line longer than
    /// the cap (its bytes skipped, its length kept).
    pub(super) fn fill(&mut self, chunk: &mut Chunk) -> Fill {
        if let Some(e) = self.pending.take() {
            self.index += 1;
            return Fill::Failed(self.index - 1, e);
        }
        if self.failed || (self.eof && self.carry.is_empty()) {
            return Fill::End;
        }
        let options = self.options;
        let start = self.offset - self.carry.len() as u64;
        chunk.reset();
        chunk.input.append(&mut self.carry);
        let mut target = options.chunk.max(chunk.input.len());
        loop {
            while !self.eof && chunk.input.len() < target {
                let before = chunk.input.len();
                let read = read_into(&mut self.reader, &mut chunk.input, target);
                // What a failing read got before its error is kept (`read_to_end` keeps it).
                self.offset += (chunk.input.len() - before) as u64;
                match read {
                    Ok(0) => self.eof = true,
                    Ok(_) => {}
                    Err(e) => return self.failed(chunk, start, e),
                }
            }
            if self.eof {
                break; // what is left is the last line(s), the last maybe without a newline
            }
            if let Some(i) = memchr::memrchr(b'\n', &chunk.input) {
                self.carry.extend_from_slice(&chunk.input[i + 1..]);
                chunk.input.truncate(i + 1);
                break;
            }
            // No newline: all of it is one line, longer than a chunk.
            if chunk.input.len() > options.max_line {
                match skip_line(&mut self.reader, chunk.input.len() as u64, &mut self.carry) {
                    Ok((len, terminated, read)) => {
                        self.offset += read;
                        self.eof = !terminated;
                        chunk.input.clear();
                        chunk.too_long = Some((len, terminated));
                    }
                    Err(e) => {
                        chunk.input.clear(); // part of a line over the cap: never handed out
                        return self.failed(chunk, start, e);
                    }
                }
                break;
            }
            target = chunk.input.len() + options.chunk;
        }
        if chunk.input.is_empty() && chunk.too_long.is_none() {
            return Fill::End;
        }
        chunk.end = self.offset - self.carry.len() as u64;
        self.index += 1;
        Fill::Lines(self.index - 1)
    }

    /// A read failed while `chunk` (which starts at input offset `start`) was being filled: the
    /// input ends. The whole lines already in the chunk go out first, as this chunk, and the
    /// error after them, as `Decryptor` gives them (threat: an I/O error on a disk or a network
    /// file system silently taking with it up to a chunk of lines that were read); a line the
    /// error cut is dropped, as `Decryptor` drops it.
    fn failed(&mut self, chunk: &mut Chunk, start: u64, e: io::Error) -> Fill {
        self.failed = true;
        self.carry.clear();
        match memchr::memrchr(b'\n', &chunk.input) {
            Some(i) => {
                chunk.input.truncate(i + 1);
                chunk.end = start + chunk.input.len() as u64;
                self.pending = Some(e);
                self.index += 1;
                Fill::Lines(self.index - 1)
            }
            None => Fill::Failed(self.index, e),
        }
    }
}

/// Reads into `buf` until it holds `target` bytes or the input ends; returns the bytes read.
/// Through `read_to_end`, which reads into the vector's spare capacity without zeroing it
/// first (zeroing every chunk before the read overwrote it cost ~2 % of `decrypt --jobs 2`).
/// On an error, what was read before it stays in `buf`.
fn read_into<R: Read>(reader: &mut R, buf: &mut Vec<u8>, target: usize) -> io::Result<usize> {
    let want = target.saturating_sub(buf.len());
    buf.reserve(want);
    reader.by_ref().take(want as u64).read_to_end(buf)
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

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
        }
    }

    /// Fills `chunk` with the next whole lines (about a chunk's worth), or one line longer than
    /// the cap (its bytes skipped, its length kept).
    pub(super) fn fill(&mut self, chunk: &mut Chunk) -> Fill {
        if self.failed || (self.eof && self.carry.is_empty()) {
            return Fill::End;
        }
        let options = self.options;
        chunk.reset();
        chunk.input.append(&mut self.carry);
        let mut target = options.chunk.max(chunk.input.len());
        loop {
            while !self.eof && chunk.input.len() < target {
                match read_into(&mut self.reader, &mut chunk.input, target) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.offset += n as u64,
                    Err(e) => return self.failed(e),
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
                    Err(e) => return self.failed(e),
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

    fn failed(&mut self, e: io::Error) -> Fill {
        self.failed = true;
        Fill::Failed(self.index, e)
    }
}

/// Reads into `buf` until it holds `target` bytes or the input ends; returns the bytes read.
/// Through `read_to_end`, which reads into the vector's spare capacity without zeroing it
/// first (zeroing every chunk before the read overwrote it cost ~2 % of `decrypt --jobs 2`).
fn read_into<R: Read>(reader: &mut R, buf: &mut Vec<u8>, target: usize) -> io::Result<usize> {
    let start = buf.len();
    let want = target.saturating_sub(start);
    buf.reserve(want);
    match reader.by_ref().take(want as u64).read_to_end(buf) {
        Ok(n) => Ok(n),
        Err(e) => {
            buf.truncate(start);
            Err(e)
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

//! A minimal `tail -F` over a path, by polling: stand-in glue until the library's `Follower`
//! (`enclog/src/follow.rs`) is available; `cmd/tailf.rs` only uses [`PollFollower::next_line`].
//!
//! Rotation handling follows what is known to work (RESEARCH.md, uutils tail): on each wake-up
//! drain the open handle to its end, then look at the path: another file there (new device and
//! inode, or our handle's file was unlinked) means rotation (finish the old handle, open the new
//! one from its start); a file shorter than what was read means copy-truncate (read again from
//! 0); no file means wait. A partial last line stays buffered until its newline arrives.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the path is looked at when there is nothing to read.
const POLL: Duration = Duration::from_millis(20);

/// One line read by the follower.
#[derive(Debug)]
pub(crate) enum Followed {
    /// A whole line (without its newline), and its 1-based number in the current file.
    Line { line_no: u64 },
    /// A line longer than the cap: skipped.
    TooLong { line_no: u64, len: u64 },
    /// The file was replaced or truncated; numbering starts again.
    Reopened(&'static str),
}

/// Follows a path, surviving rotation.
#[derive(Debug)]
pub(crate) struct PollFollower {
    path: PathBuf,
    file: Option<File>,
    id: Option<(u64, u64)>,
    pos: u64,
    /// Bytes read but not yet returned as lines.
    pending: Vec<u8>,
    /// Start of the unreturned bytes in `pending`.
    start: usize,
    /// The line returned by the last call.
    line: Vec<u8>,
    line_no: u64,
    max_line: usize,
    /// Bytes of an over-long line being skipped.
    skipping: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl PollFollower {
    /// Follows `path` from byte `offset` of the file there now (0 if missing), where line
    /// `first_line_no` starts.
    pub(crate) fn new(
        path: &Path,
        offset: u64,
        first_line_no: u64,
        max_line: usize,
        stop: Arc<AtomicBool>,
    ) -> io::Result<PollFollower> {
        let mut follower = PollFollower {
            path: path.to_owned(),
            file: None,
            id: None,
            pos: 0,
            pending: Vec::new(),
            start: 0,
            line: Vec::new(),
            line_no: first_line_no.saturating_sub(1),
            max_line,
            skipping: None,
            stop,
        };
        match File::open(path) {
            Ok(mut file) => {
                let meta = file.metadata()?;
                file.seek(SeekFrom::Start(offset))?;
                follower.pos = offset;
                follower.id = Some((meta.dev(), meta.ino()));
                follower.file = Some(file);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(follower)
    }

    /// The bytes of the line last returned as [`Followed::Line`].
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    /// Waits for the next line; `None` once the stop flag is set.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Followed>> {
        loop {
            if let Some(found) = self.take_line() {
                return Ok(Some(found));
            }
            if self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if self.read_available()? > 0 {
                continue;
            }
            if let Some(event) = self.check_path()? {
                return Ok(Some(event));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Cuts the next whole line out of `pending`.
    fn take_line(&mut self) -> Option<Followed> {
        let rest = &self.pending[self.start..];
        let newline = rest.iter().position(|&b| b == b'\n');
        if let Some(skipped) = self.skipping {
            return match newline {
                Some(i) => {
                    self.start += i + 1;
                    self.skipping = None;
                    self.line_no += 1;
                    Some(Followed::TooLong {
                        line_no: self.line_no,
                        len: skipped + i as u64,
                    })
                }
                None => {
                    self.skipping = Some(skipped + rest.len() as u64);
                    self.start = self.pending.len();
                    None
                }
            };
        }
        match newline {
            Some(i) if i <= self.max_line => {
                self.line.clear();
                self.line.extend_from_slice(&rest[..i]);
                self.start += i + 1;
                self.line_no += 1;
                Some(Followed::Line {
                    line_no: self.line_no,
                })
            }
            Some(_) => {
                self.skipping = Some(0);
                self.take_line()
            }
            None if rest.len() > self.max_line => {
                self.skipping = Some(rest.len() as u64);
                self.start = self.pending.len();
                None
            }
            None => None,
        }
    }

    /// Reads what the open handle has; returns the byte count.
    fn read_available(&mut self) -> io::Result<usize> {
        let Some(file) = &mut self.file else {
            return Ok(0);
        };
        if self.start > 0 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        let mut total = 0;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = match file.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(total);
            }
            self.pending.extend_from_slice(&chunk[..n]);
            self.pos += n as u64;
            total += n;
            if self.pending.len() >= 1 << 20 {
                return Ok(total);
            }
        }
    }

    /// At the end of the open handle: has the path been rotated, truncated, deleted?
    fn check_path(&mut self) -> io::Result<Option<Followed>> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let id = (meta.dev(), meta.ino());
        let unlinked = match &self.file {
            Some(file) => file.metadata()?.nlink() == 0,
            None => true,
        };
        if self.id != Some(id) || unlinked {
            let mut file = match File::open(&self.path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let id = {
                let m = file.metadata()?;
                (m.dev(), m.ino())
            };
            file.seek(SeekFrom::Start(0))?;
            let had_file = self.file.is_some();
            self.file = Some(file);
            self.id = Some(id);
            self.reset();
            return Ok(had_file.then_some(Followed::Reopened("replaced (rotated)")));
        }
        if meta.len() < self.pos {
            if let Some(file) = &mut self.file {
                file.seek(SeekFrom::Start(0))?;
            }
            self.reset();
            return Ok(Some(Followed::Reopened("truncated")));
        }
        Ok(None)
    }

    /// Starts over at the beginning of a (new) file. A partial line left from the old one is
    /// dropped: its writer never finished it.
    fn reset(&mut self) {
        self.pos = 0;
        self.pending.clear();
        self.start = 0;
        self.line_no = 0;
        self.skipping = None;
    }
}

/// Where the last `n` whole lines of `file` start, and that line's number (1-based). Reads
/// backwards from the end for the offset; counts the newlines before it for the number.
pub(crate) fn tail_start(file: &mut File, n: u64) -> io::Result<(u64, u64)> {
    let len = file.metadata()?.len();
    let mut block = vec![0u8; 64 * 1024];
    let mut end = len;
    // Newlines seen from the end; the last whole line's own newline is not a separator.
    let mut seen: u64 = 0;
    let mut last_newline: Option<u64> = None;
    let mut offset = 0;
    'scan: while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, &b) in chunk.iter().enumerate().rev() {
            if b != b'\n' {
                continue;
            }
            let at = start + i as u64;
            if last_newline.is_none() {
                last_newline = Some(at);
                if n == 0 {
                    offset = at + 1;
                    break 'scan;
                }
                continue;
            }
            seen += 1;
            if seen == n {
                offset = at + 1;
                break 'scan;
            }
        }
        end = start;
    }
    if last_newline.is_none() {
        offset = 0;
    }
    // Number the first line printed: count the newlines before it.
    file.seek(SeekFrom::Start(0))?;
    let mut before = 0u64;
    let mut left = offset;
    while left > 0 {
        let want = left.min(block.len() as u64) as usize;
        let n = file.read(&mut block[..want])?;
        if n == 0 {
            break;
        }
        before += block[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        left -= n as u64;
    }
    Ok((offset, before + 1))
}

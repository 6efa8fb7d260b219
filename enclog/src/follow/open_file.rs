//! [`OpenFile`]: one file the follower reads, by its open handle: the file now at the path, or
//! one rotated away that it is still draining. Holds the read position and the bytes read but
//! not yet delivered as lines.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use super::{BLOCK, FileId, FollowError, FollowedLine};

/// (device, inode): which file a path names.
pub(super) type Inode = (u64, u64);

#[derive(Debug)]
pub(super) struct OpenFile {
    file: File,
    pub(super) id: FileId,
    pub(super) inode: Option<Inode>,
    /// Offset in the file of the end of `buf`.
    pub(super) pos: u64,
    buf: Vec<u8>,
    /// `buf[..start]` was delivered.
    start: usize,
    /// `buf[start..scanned]` holds no newline.
    scanned: usize,
    /// Discarding an over-long line up to its newline.
    skipping: bool,
    /// The caller said no more lines will be written to this file (`Follower::finish`), and no
    /// line was delivered from it since: it is let go of after a shorter quiet period.
    pub(super) finished: bool,
    /// When the file last grew, or was rotated away if that is later: the grace period of a
    /// rotated-away file runs from here.
    pub(super) last_growth: Instant,
}

impl OpenFile {
    pub(super) fn new(file: File, id: FileId, inode: Option<Inode>, pos: u64) -> OpenFile {
        OpenFile {
            file,
            id,
            inode,
            pos,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            skipping: false,
            finished: false,
            last_growth: Instant::now(),
        }
    }

    /// Takes the next complete line out of the buffer. `path` and `max_line` are the
    /// follower's, for the error of an over-long line.
    pub(super) fn take_line(
        &mut self,
        path: &Path,
        max_line: usize,
    ) -> Result<Option<FollowedLine>, FollowError> {
        loop {
            let Some(found) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buf.len();
                if self.skipping {
                    self.buf.clear();
                    self.start = 0;
                    self.scanned = 0;
                } else if self.buf.len() - self.start > max_line {
                    return Err(self.skip_long_line(path, max_line));
                }
                return Ok(None);
            };
            let end = self.scanned + found;
            let from = self.start;
            self.start = end + 1;
            self.scanned = self.start;
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if end - from > max_line {
                return Err(self.too_long(path, from, max_line));
            }
            // A line after `finish`: the writer was not done after all.
            self.finished = false;
            return Ok(Some(FollowedLine {
                bytes: self.buf[from..end].to_vec(),
                terminated: true,
                file: self.id,
            }));
        }
    }

    fn too_long(&self, path: &Path, from: usize, max_line: usize) -> FollowError {
        FollowError::LineTooLong {
            path: path.to_path_buf(),
            offset: self.pos - (self.buf.len() - from) as u64,
            limit: max_line,
        }
    }

    fn skip_long_line(&mut self, path: &Path, max_line: usize) -> FollowError {
        let error = self.too_long(path, self.start, max_line);
        self.skipping = true;
        self.buf.clear();
        self.buf.shrink_to(BLOCK);
        self.start = 0;
        self.scanned = 0;
        error
    }

    /// Reads the next block of the file into the buffer; `false` at its end.
    pub(super) fn read_more(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + BLOCK, 0);
        let read = loop {
            match self.file.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(n) => {
                self.buf.truncate(old + n);
                self.pos += n as u64;
                if n > 0 {
                    self.last_growth = Instant::now();
                }
                Ok(n > 0)
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(e)
            }
        }
    }

    /// The file ended mid-line (it is let go, or was truncated): what there is of the line, to
    /// deliver as it is rather than join it to another file's first line.
    pub(super) fn take_partial(&mut self) -> Option<FollowedLine> {
        let partial = (!self.skipping && self.start < self.buf.len()).then(|| FollowedLine {
            bytes: self.buf[self.start..].to_vec(),
            terminated: false,
            file: self.id,
        });
        self.skipping = false;
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        partial
    }

    /// Reads the file again from its start (it was truncated).
    pub(super) fn rewind(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.pos = 0;
        Ok(())
    }

    /// Bytes read but not yet delivered.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

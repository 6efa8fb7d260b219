//! Reading whole files so that a saved state knows them again: [`Verifier::observe_file`].
//!
//! A file is known by its first bytes (a SHA-256 of up to its first 4 KiB verified) and how
//! much of it was verified. logrotate renames `app.log` to `app.log.1`, then compresses it to
//! `app.log.2.gz`; a cron job may run twice between rotations. None of that changes a file's
//! first bytes (gzip files are read decompressed), so a run given a file it has verified, under
//! any name, skips the bytes verified and reads only what was added since: reading a file again
//! is not a copy of its lines. Two files with the same first bytes in one run are a copy.

use std::io::{self, BufRead, Read};
use std::sync::Arc;

use crate::Keyring;
use crate::read::decryptor::Decryptor;
use crate::read::opener::Opener;

use super::sequence::Loc;
use super::{FindingKind, Verifier};

/// How many first bytes name a file.
pub(super) const PREFIX: usize = 4096;

/// What a verifier knows of a file it read: its first bytes and how far it was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FileMark {
    /// How many first bytes `prefix_hash` covers: 4 KiB, or all the bytes verified if fewer.
    pub(super) prefix_len: u32,
    /// SHA-256 of those bytes.
    pub(super) prefix_hash: [u8; 32],
    /// How long its first line is (its newline included), when that line holds an enclog
    /// token (unique: a random session, a MAC) and is within the first 4 KiB; else 0.
    pub(super) head_len: u32,
    /// SHA-256 of that line: a file cut shorter than `prefix_len` is still known by it.
    pub(super) head_hash: [u8; 32],
    /// Bytes verified, from the start: whole lines only.
    pub(super) bytes: u64,
    /// Lines verified.
    pub(super) lines: u64,
}

/// What [`Verifier::observe_file`] did with a file.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// use enclog::verify::Verifier;
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = sealer.seal_line(b"one")?;
/// let mut opener = Opener::new(Keyring::from(key));
/// let mut verifier = Verifier::new();
/// let read = verifier.observe_file("app.log", &log[..], &mut opener)?;
/// assert_eq!((read.known_as, read.lines_read), (None, 1));
///
/// // Later, after logrotate renamed it and the writer added a line: only that line is read.
/// sealer.seal_to(None, b"two", &mut log)?;
/// let mut verifier = Verifier::resume(verifier.state(), Default::default());
/// let read = verifier.observe_file("app.log.1", &log[..], &mut opener)?;
/// assert_eq!(read.known_as.as_deref(), Some("app.log"));
/// assert_eq!((read.lines_skipped, read.lines_read), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileProgress {
    /// The file was verified before (by the runs whose state this verifier resumed or merged),
    /// under this name: it was renamed (a rotation), compressed, or given again.
    pub known_as: Option<Arc<str>>,
    /// Lines verified before, not read again.
    pub lines_skipped: u64,
    /// Bytes verified before, not read again (of the decompressed text).
    pub bytes_skipped: u64,
    /// Lines read now.
    pub lines_read: u64,
    /// Bytes read now (of the decompressed text).
    pub bytes_read: u64,
    /// A last line without its newline was left unread: the log is still being written
    /// ([`VerifyOptions::allow_open_sessions`](super::VerifyOptions::allow_open_sessions)), so
    /// the line may be mid-write; the next run reads it whole.
    pub partial_line_left: bool,
    /// The file is shorter than what was verified of it: its end was cut after it was verified
    /// (a [`FindingKind::Truncated`] finding).
    pub shrunk: bool,
}

impl Verifier {
    /// Reads one whole file of the log (decompressed), as [`observe_all`](Self::observe_all)
    /// does, and remembers it so that a saved [`state`](Self::state) knows it again: given a
    /// file whose first bytes it has verified (under any name), the verifier skips the bytes
    /// verified and reads only the lines added since. Line numbers are the file's own.
    ///
    /// With [`VerifyOptions::allow_open_sessions`](super::VerifyOptions::allow_open_sessions)
    /// (a log still being written), a last line without its newline is left for the next run.
    /// The `opener` is used for the file's lines (and its session cache kept for the next
    /// file). I/O errors are returned as such; what was read before one still counts.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = sealer.seal_line(b"event")?;
    /// sealer.close_to(&mut log)?;
    /// let mut opener = Opener::new(Keyring::from(key));
    /// let mut verifier = Verifier::new();
    /// verifier.observe_file("app.log", &log[..], &mut opener)?;
    /// // The same bytes again in one run: a copy.
    /// verifier.observe_file("app.log.bak", &log[..], &mut opener)?;
    /// assert_eq!(verifier.finish().count(FindingKind::Duplicate), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_file<R: BufRead>(
        &mut self,
        label: &str,
        mut reader: R,
        opener: &mut Opener,
    ) -> io::Result<FileProgress> {
        let mut prefix = Vec::with_capacity(PREFIX);
        (&mut reader).take(PREFIX as u64).read_to_end(&mut prefix)?;
        let mut progress = FileProgress::default();
        let (file, skip) = match self.recognise(&prefix) {
            Some((index, shrunk)) => {
                let i = index as usize;
                let mark = self.marks[i].clone().expect("a recognised file has a mark");
                let old = std::mem::replace(&mut self.files[i], Arc::from(label));
                progress.known_as = Some(old);
                progress.shrunk = shrunk;
                (index, mark)
            }
            None => {
                let index = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
                self.files.push(Arc::from(label));
                let mark = FileMark {
                    prefix_len: 0,
                    prefix_hash: [0; 32],
                    head_len: 0,
                    head_hash: [0; 32],
                    bytes: 0,
                    lines: 0,
                };
                (index, mark)
            }
        };
        self.set_mark(file, None);
        self.read_here.insert(file);
        self.current_file = file;

        let mut source = io::Cursor::new(prefix.clone()).chain(reader);
        let skipped = if progress.shrunk {
            prefix.len() as u64
        } else {
            io::copy(&mut (&mut source).take(skip.bytes), &mut io::sink())?
        };
        if skipped < skip.bytes {
            // Threat: lines deleted from the end of a file after a run verified them.
            progress.shrunk = true;
            let message = format!(
                "the file is shorter than when it was verified ({} bytes then, {skipped} now, \
                 decompressed): its end was cut after it was verified, so lines up to line {} \
                 are gone; compare with a backup",
                skip.bytes, skip.lines
            );
            self.push(
                FindingKind::Truncated,
                Loc {
                    file,
                    line: skip.lines,
                },
                None,
                None,
                None,
                None,
                message,
            );
            self.set_mark(file, Some(skip));
            return Ok(progress);
        }
        progress.bytes_skipped = skip.bytes;
        progress.lines_skipped = skip.lines;

        let borrowed = std::mem::replace(opener, Opener::new(Keyring::new()));
        let mut decryptor = Decryptor::with_opener(source, borrowed);
        self.line_offset = skip.lines;
        let live = self.options.allow_open_sessions;
        let read = loop {
            let entry = match decryptor.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            if !entry.terminated && live {
                progress.partial_line_left = true;
                break Ok(());
            }
            self.observe_in(file, &entry);
            progress.lines_read += 1;
            progress.bytes_read = decryptor.bytes_read();
        };
        *opener = decryptor.into_opener();
        self.line_offset = 0;

        let bytes = skip.bytes + progress.bytes_read;
        if bytes == 0 {
            // Nothing verified: nothing to know the file by next time.
            if progress.known_as.is_none() && file as usize + 1 == self.files.len() {
                self.files.pop();
                self.marks.truncate(self.files.len());
                self.read_here.remove(&file);
            }
            return read.map(|()| progress);
        }
        let covered = prefix
            .len()
            .min(usize::try_from(bytes).unwrap_or(usize::MAX));
        let head = &prefix[..covered];
        let head_len = match memchr::memchr(b'\n', head) {
            Some(end) if memchr::memmem::find(&head[..end], crate::format::MARKER).is_some() => {
                end + 1
            }
            _ => 0,
        };
        let mark = FileMark {
            prefix_len: covered as u32,
            prefix_hash: sha256(head),
            head_len: head_len as u32,
            head_hash: sha256(&head[..head_len]),
            bytes,
            lines: skip.lines + progress.lines_read,
        };
        self.set_mark(file, Some(mark));
        read.map(|()| progress)
    }

    /// The file, among those verified by earlier runs and not read by this one, whose first
    /// bytes `prefix` begins with (the one verified furthest, if several); and whether it is
    /// known only by its first line, being now shorter than the bytes that named it (it was
    /// cut).
    fn recognise(&self, prefix: &[u8]) -> Option<(u32, bool)> {
        let mut best: Option<(u32, u64, bool)> = None;
        for (i, mark) in self.marks.iter().enumerate() {
            let Some(mark) = mark else { continue };
            let index = u32::try_from(i).ok()?;
            let (len, head) = (mark.prefix_len as usize, mark.head_len as usize);
            if self.read_here.contains(&index) || len == 0 {
                continue;
            }
            let shrunk = if len <= prefix.len() {
                if sha256(&prefix[..len]) != mark.prefix_hash {
                    continue;
                }
                false
            } else if head > 0 && head <= prefix.len() && sha256(&prefix[..head]) == mark.head_hash
            {
                true
            } else {
                continue;
            };
            if best.is_none_or(|(_, bytes, _)| mark.bytes > bytes) {
                best = Some((index, mark.bytes, shrunk));
            }
        }
        best.map(|(index, _, shrunk)| (index, shrunk))
    }

    fn set_mark(&mut self, file: u32, mark: Option<FileMark>) {
        let i = file as usize;
        if self.marks.len() <= i {
            self.marks.resize(i + 1, None);
        }
        self.marks[i] = mark;
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

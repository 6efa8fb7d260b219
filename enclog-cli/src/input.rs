//! Opening the logs to read: standard input or a file, gzip recognised by its magic bytes.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use anyhow::{Result, bail};
use flate2::read::MultiGzDecoder;

/// Read buffer size: large, for throughput.
const READ_BUFFER: usize = 256 * 1024;

/// The first bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An opened input.
pub(crate) struct Input {
    /// The name used in messages (`-` is shown as `<stdin>`).
    pub(crate) name: String,
    /// The (decompressed) text.
    pub(crate) reader: Reader,
    /// The size of a regular file, for the progress indicator.
    pub(crate) size: Option<u64>,
    /// Bytes read from the file so far (compressed bytes for gzip).
    pub(crate) consumed: Rc<Cell<u64>>,
    /// Whether the input is gzip-compressed.
    pub(crate) gzip: bool,
}

/// The inputs named on the command line: standard input when none is.
pub(crate) fn files_or_stdin(files: Vec<std::path::PathBuf>) -> Vec<std::path::PathBuf> {
    if files.is_empty() {
        vec![std::path::PathBuf::from("-")]
    } else {
        files
    }
}

/// What went wrong when reading an input failed part-way (`gzip`: it was compressed).
pub(crate) fn read_failure(gzip: bool) -> &'static str {
    if gzip {
        "cannot decompress (not a valid gzip file, or cut short)"
    } else {
        "cannot read"
    }
}

/// Whether `path` names standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens `path` (`-` is standard input). The error says what is wrong with the path.
pub(crate) fn open(path: &Path) -> Result<Input> {
    let consumed = Rc::new(Cell::new(0));
    if is_stdin(path) {
        let reader = BufReader::with_capacity(
            READ_BUFFER,
            Counting {
                inner: Box::new(io::stdin()),
                consumed: Rc::clone(&consumed),
            },
        );
        return finish("<stdin>".into(), reader, None, consumed);
    }
    let name = crate::messages::file_name(path);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("{name}: no such file (check the path)")
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            bail!(
                "{name}: permission denied (check the file's permissions with `ls -l`, or run as a user who can read it)"
            )
        }
        Err(e) => bail!("{name}: cannot open: {e}"),
    };
    let meta = file
        .metadata()
        .map_err(|e| anyhow::anyhow!("{name}: cannot read its metadata: {e}"))?;
    if meta.is_dir() {
        bail!("{name} is a directory; give the log files in it instead (e.g. {name}/*.log)");
    }
    let size = meta.is_file().then_some(meta.len());
    let reader = BufReader::with_capacity(
        READ_BUFFER,
        Counting {
            inner: Box::new(file),
            consumed: Rc::clone(&consumed),
        },
    );
    finish(name, reader, size, consumed)
}

fn finish(
    name: String,
    mut reader: BufReader<Counting>,
    size: Option<u64>,
    consumed: Rc<Cell<u64>>,
) -> Result<Input> {
    let head = match reader.fill_buf() {
        Ok(head) => head,
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => {
            bail!("{name} is a directory; give the log files in it instead")
        }
        Err(e) => bail!("{name}: cannot read: {e}"),
    };
    let gzip = head.starts_with(&GZIP_MAGIC);
    let reader = if gzip {
        Reader::Gzip(Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Reader::Plain(reader)
    };
    Ok(Input {
        name,
        reader,
        size,
        consumed,
        gzip,
    })
}

/// An input's text: the file (or standard input) as it is, or decompressed. An enum rather
/// than a `Box<dyn BufRead>`: `decrypt` asks for the buffer twice per line, and a call that
/// inlines costs a few instructions where a dynamic one through two wrappers cost ~100.
pub(crate) enum Reader {
    Plain(BufReader<Counting>),
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<Counting>>>>),
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Reader::Plain(r) => r.read(buf),
            Reader::Gzip(r) => r.read(buf),
        }
    }
}

impl BufRead for Reader {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Reader::Plain(r) => r.fill_buf(),
            Reader::Gzip(r) => r.fill_buf(),
        }
    }

    #[inline]
    fn consume(&mut self, amount: usize) {
        match self {
            Reader::Plain(r) => r.consume(amount),
            Reader::Gzip(r) => r.consume(amount),
        }
    }
}

/// Counts the bytes read from a file or standard input.
pub(crate) struct Counting {
    inner: Box<dyn Read>,
    consumed: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

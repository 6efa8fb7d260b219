//! Helpers for the unit tests of several modules.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// A writer appending to a shared `Vec` (and, for `tracing`, a `MakeWriter` of itself).
#[derive(Clone, Default)]
pub(crate) struct SharedVec(pub(crate) Arc<Mutex<Vec<u8>>>);

impl SharedVec {
    /// What was written so far.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tracing")]
impl tracing_subscriber::fmt::MakeWriter<'_> for SharedVec {
    type Writer = SharedVec;
    fn make_writer(&self) -> SharedVec {
        self.clone()
    }
}

/// Writes `text` to a new or truncated file of mode 0600, as `enclog genkey -o` writes a key.
#[cfg(feature = "follow")]
pub(crate) fn write_private(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    // An existing file keeps its mode on open: tighten it.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

//! Writing key files as `enclog genkey -o` does (mode 0600), for the test binaries and benches
//! that need one on disk. Shared through `#[path]`, like `enclog_bin.rs`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `text` and a final newline to `path` (created or truncated), mode 0600.
pub(crate) fn write_key_file(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot write the key file {}: {e}", path.display()));
    // An existing file keeps its mode on open: tighten it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    if !text.ends_with('\n') {
        file.write_all(b"\n").unwrap();
    }
}

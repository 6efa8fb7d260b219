//! Encrypted logging for programs that use the `log` crate (no tracing).
//!
//! ```sh
//! cargo run --example log_crate
//! ```

use std::error::Error;
use std::os::unix::fs::OpenOptionsExt;

fn main() -> Result<(), Box<dyn Error>> {
    let key = enclog::Key::generate()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.log");
    // Created 0640, as enclog creates logs: the lines are ciphertext, but others need not see
    // how many there are, or when they were written.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(&path)?;

    let logger = enclog::EncryptedLogger::new(key.clone(), file)
        .level(log::LevelFilter::Info)
        .clear_level(true)
        .init()?;
    log::info!("user {} signed in", "bob@example.com");
    log::debug!("not written: below the level");
    log::error!(target: "billing", "card {} declined", "4111-1111-1111-1111");
    logger.close_session();

    let raw = std::fs::read_to_string(&path)?;
    println!("--- on disk ---\n{raw}");
    let mut opener = enclog::Opener::new(key.into());
    println!("--- decrypted ---");
    for line in raw.lines() {
        if let Some(Ok(o)) = opener.open(line.as_bytes()) {
            println!("{:<5} {}", o.record, String::from_utf8_lossy(o.plaintext));
        }
    }
    Ok(())
}

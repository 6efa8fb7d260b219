//! Quick start: log through `tracing` into an encrypted file with a fresh key, then decrypt it.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//! In a real service the key comes from `enclog genkey -o app.key` and `SealingKey::from_file`.

use std::error::Error;
use std::os::unix::fs::OpenOptionsExt;

use tracing_subscriber::EnvFilter;

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

    let writer = enclog::EncryptedWriter::new(key.clone(), file)
        .clear_level(true)
        // Level and time stay readable for log routers and grep; edits to them are detected.
        .clear_timestamp(true);
    let guard = writer.session_guard();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("checkout", order = 1042).entered();
        tracing::info!(email = "alice@example.com", "payment accepted");
        tracing::warn!(retries = 3, "card processor slow");
        span.exit();
    });
    drop(guard); // writes the session's close record

    println!("--- {} (what is on disk) ---", path.display());
    let raw = std::fs::read_to_string(&path)?;
    print!("{raw}");
    assert!(!raw.contains("alice@example.com"));

    println!("--- decrypted with key {} ---", key.id());
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let mut reader = enclog::read::Decryptor::new(file, enclog::Keyring::from(key));
    while let Some(entry) = reader.next_entry()? {
        match entry.outcome {
            enclog::read::Outcome::Opened(o) if o.record == enclog::format::RecordKind::Close => {
                println!("(session closed cleanly)")
            }
            enclog::read::Outcome::Opened(o) => {
                println!("{}", String::from_utf8_lossy(o.plaintext))
            }
            enclog::read::Outcome::Plain => println!("{}", String::from_utf8_lossy(entry.raw)),
            enclog::read::Outcome::Failed(e) => eprintln!("line {}: {e}", entry.line_no),
            _ => eprintln!("line {}: not understood by this program", entry.line_no),
        }
    }
    Ok(())
}

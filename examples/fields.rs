//! Sealed fields: JSON lines that log tools can still read, with only the sensitive values
//! sealed — by name (`user`, `card*`), by value (`enclog::sealed`), in spans too — and a blind
//! index to find one user's events with `grep -F`, without the key.
//!
//! ```sh
//! cargo run --example fields
//! ```
//! In a real service the key comes from `enclog genkey -o app.key` and `SealingKey::from_file`.

use std::error::Error;
use std::os::unix::fs::OpenOptionsExt;

use enclog::fields::IndexKey;
use enclog::tracing::fields::SealedFields;
use tracing_subscriber::EnvFilter;

fn main() -> Result<(), Box<dyn Error>> {
    let key = enclog::Key::generate()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(&path)?;

    let writer = enclog::EncryptedWriter::new(key.clone(), file);
    let guard = writer.session_guard();
    // Seal `user` and every `card…` field (of events and spans), index `user`.
    let format = SealedFields::json().seal(["user", "card*"]).index(["user"]);
    let subscriber = tracing_subscriber::fmt()
        .event_format(format.clone())
        .fmt_fields(format)
        .with_writer(writer)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("checkout", order = 1042, card = "4111 1111 1111 1111");
        let _entered = span.enter();
        tracing::info!(user = "alice@example.com", amount = 42, "payment accepted");
        // Sealed by value, whatever the field's name; in a message's text: the marker only.
        tracing::warn!(
            api_token = ?enclog::sealed("tok_4f9a8b7c"),
            user = "bob@example.com",
            "retrying for {}",
            enclog::sealed("bob")
        );
        tracing::info!(user = "alice@example.com", "receipt sent");
    });
    drop(guard); // writes the session's close record

    println!(
        "--- {} (what is on disk: clear fields, sealed values) ---",
        path.display()
    );
    let raw = std::fs::read_to_string(&path)?;
    print!("{raw}");
    for secret in ["alice@", "bob@", "4111", "tok_4f9a8b7c"] {
        assert!(!raw.contains(secret), "{secret} is on disk in clear");
    }

    // The operator's search: the index value of one user, then `grep -F` (or a log store's
    // query) for it. `enclog index --key-file app.key --field user alice@example.com` prints it.
    let alice = IndexKey::from_key(&key).value("user", b"alice@example.com");
    let found = raw.lines().filter(|l| l.contains(&alice)).count();
    println!("--- {found} lines of alice@example.com, found by grep -F {alice} ---");
    assert_eq!(found, 2);

    println!("--- decrypted with key {} ---", key.id());
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let mut reader = enclog::read::Decryptor::new(file, enclog::Keyring::from(key));
    while let Some(entry) = reader.next_entry()? {
        match entry.outcome {
            enclog::read::Outcome::Opened(o) if o.record == enclog::format::RecordKind::Close => {
                println!("(session closed cleanly)")
            }
            enclog::read::Outcome::Opened(o) => {
                let sealed = o
                    .fields
                    .as_ref()
                    .map(|f| f.sealed.join(", "))
                    .unwrap_or_default();
                println!(
                    "{}    [sealed: {sealed}]",
                    String::from_utf8_lossy(o.plaintext)
                )
            }
            enclog::read::Outcome::Plain => println!("{}", String::from_utf8_lossy(entry.raw)),
            enclog::read::Outcome::Failed(e) => eprintln!("line {}: {e}", entry.line_no),
            _ => eprintln!("line {}: not understood by this program", entry.line_no),
        }
    }
    Ok(())
}

//! A daily rolling file (tracing-appender) behind `enclog::non_blocking`, every line encrypted.
//!
//! ```sh
//! cargo run --example non_blocking_rolling
//! ```
//! The logging thread only formats the event and queues it; enclog's worker thread seals it
//! and writes it to the appender. The queue applies back-pressure instead of dropping lines
//! when it is full (an audit log wants that; `NonBlockingBuilder::lossy(true)` drops and
//! counts instead). With tracing-appender's own `non_blocking`, wrap it in `EncryptedWriter`
//! (sealing on the logging thread).

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let key = enclog::Key::generate()?;
    let dir = tempfile::tempdir()?;

    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("app")
        .filename_suffix("log")
        .build(dir.path())?;
    let (writer, guard) = enclog::non_blocking(key.clone(), appender)?;

    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..5 {
            tracing::info!(request = i, client = "10.0.0.7", "handled");
        }
    });
    drop(guard); // the worker writes what is queued and the close record, then flushes

    let mut opener = enclog::Opener::new(key.into());
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        println!("--- {} ---", path.display());
        for line in std::fs::read_to_string(&path)?.lines() {
            match opener.open(line.as_bytes()) {
                Some(Ok(o)) => println!("{} {}", o.record, String::from_utf8_lossy(o.plaintext)),
                Some(Err(e)) => println!("error: {e}"),
                None => println!("{line}"),
            }
        }
    }
    Ok(())
}

//! tracing-appender: a daily rolling file behind a non-blocking writer, every line encrypted.
//!
//! ```sh
//! cargo run --example non_blocking_rolling
//! ```
//! Order of wrapping: `EncryptedWriter` outside `non_blocking`, so the calling thread seals and
//! the worker thread only writes whole lines. `.lossy(false)` makes the queue apply
//! back-pressure instead of dropping lines when it is full, which an audit log wants.

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let key = enclog::Key::generate()?;
    let dir = tempfile::tempdir()?;

    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("app")
        .filename_suffix("log")
        .build(dir.path())?;
    let (non_blocking, worker_guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(appender);
    let writer = enclog::EncryptedWriter::new(key.clone(), non_blocking);
    let session_guard = writer.session_guard();

    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..5 {
            tracing::info!(request = i, client = "10.0.0.7", "handled");
        }
    });
    drop(session_guard); // close record first, then flush the queue
    drop(worker_guard);

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

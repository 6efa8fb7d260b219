//! A service whose log logrotate rotates: `init_file`, with SIGHUP wired to
//! `LogGuard::reopen` for logrotate's `postrotate` (the `signal-hook` crate).
//!
//! ```sh
//! enclog genkey -o app.key
//! cargo run --example reopen_on_sighup -- app.log app.key   # logs one event a second
//! mv app.log app.log.1 && kill -HUP <pid>                   # what logrotate does
//! enclog verify --key-file app.key app.log.1 app.log        # one chain, clean
//! ```
//! The writer notices a rename or a deletion by itself within 100 ms; the signal makes it
//! immediate, and writes the old file's close record even if no event comes. A logrotate
//! stanza for it:
//!
//! ```text
//! /var/log/app.log {
//!     daily
//!     rotate 7
//!     create 0640 app app
//!     delaycompress
//!     compress
//!     postrotate
//!         kill -HUP $(cat /run/app.pid)   # a pid file your service writes
//!     endscript
//! }
//! ```
//! Arguments: LOG KEY_FILE [EVENTS [INTERVAL_MS]] (default: 60 events, one a second; without
//! a key file, a key is generated and the log cannot be read).

use std::error::Error;
use std::time::Duration;

use signal_hook::consts::SIGHUP;
use signal_hook::iterator::Signals;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let log = args.next().unwrap_or_else(|| "app.log".into());
    let key = match args.next() {
        Some(path) => enclog::SealingKey::from_file(path)?,
        None => enclog::Key::generate()?.into(),
    };
    let events: u32 = args.next().map_or(Ok(60), |n| n.parse())?;
    let interval = Duration::from_millis(args.next().map_or(Ok(1000), |n| n.parse())?);

    let guard = enclog::init_file(&log, key)?;
    let mut signals = Signals::new([SIGHUP])?;
    let signals_handle = signals.handle();
    std::thread::scope(|scope| {
        // A signal handler may only set a flag; this thread does the work, outside it.
        scope.spawn(|| {
            for _ in signals.forever() {
                match guard.reopen() {
                    Ok(true) => tracing::info!("reopened the log after its rotation"),
                    Ok(false) => {} // the path still names the file being written
                    Err(e) => eprintln!("cannot reopen {log}: {e}"),
                }
            }
        });
        println!("pid {}: logging to {log}", std::process::id());
        for i in 0..events {
            tracing::info!(event = i, "working");
            std::thread::sleep(interval);
        }
        signals_handle.close();
    });
    drop(guard); // the close record
    Ok(())
}

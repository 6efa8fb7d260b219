//! Embedding: seal and open lines directly, without tracing or log (another program's own
//! logging, a log shipper, a test harness).
//!
//! ```sh
//! cargo run --example embed
//! ```

use std::error::Error;

use enclog::read::MetaStatus;
use enclog::{Key, Keyring, Opener, Sealer};

fn main() -> Result<(), Box<dyn Error>> {
    // Two keys, as after a rotation: lines under either open with one keyring.
    let old = Key::generate()?;
    let new = Key::generate()?;

    let mut log = Vec::new();
    Sealer::new(old.clone()).seal_to(None, b"written before the rotation", &mut log)?;
    let sealer = Sealer::new(new.clone());
    sealer.seal_to(
        Some(b"ERROR"),
        b"payload={\"ssn\":\"078-05-1120\"}",
        &mut log,
    )?;
    sealer.close_to(&mut log)?;
    log.extend_from_slice(b"a line from another program, not encrypted\n");

    let mut opener = Opener::new([old, new].into_iter().collect::<Keyring>());
    for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match opener.open(line) {
            None => println!("plain    {}", String::from_utf8_lossy(line)),
            Some(Err(e)) => println!("error    {e}"),
            Some(Ok(o)) => {
                let seq = o.sequence.expect("enclog lines have a sequence");
                let meta = match o.meta_status {
                    MetaStatus::Matches => "clear metadata authentic",
                    MetaStatus::Differs => "clear metadata EDITED",
                    MetaStatus::None => "no clear metadata",
                    _ => "clear metadata this program does not know how to check",
                };
                println!(
                    "{:<8} key {} seq {} ({meta}): {}",
                    o.record.to_string(),
                    o.key_id,
                    seq.seq,
                    String::from_utf8_lossy(o.plaintext)
                );
            }
        }
    }
    Ok(())
}

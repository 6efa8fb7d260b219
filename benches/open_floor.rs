//! The library's floor for `enclog decrypt`: `Opener::open` over every line of a file already
//! in memory, nothing else (no reading, no output). `benches/decrypt-floor.sh` runs it beside
//! the CLI on the same file and reports the CLI's per-line cost against it.
//!
//!     cargo bench -p enclog --bench open_floor -- FILE KEY_FILE [PASSES]
//!
//! Prints `ns_per_line <median of PASSES (default 5) passes>`, and the lines opened.

use std::time::Instant;

use enclog::{Keyring, Opener};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [file, key, rest @ ..] = &args[..] else {
        eprintln!("usage: open_floor FILE KEY_FILE [PASSES]");
        std::process::exit(2);
    };
    let passes: usize = rest
        .first()
        .map_or(5, |p| p.parse().expect("a number of passes"));
    let data = std::fs::read(file).expect("read the file");
    let mut keyring = Keyring::new();
    keyring.add_file(key).expect("load the key");
    let lines: Vec<&[u8]> = data
        .split_inclusive(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\n").unwrap_or(l))
        .collect();
    let mut times = Vec::with_capacity(passes);
    let mut opened = 0usize;
    for _ in 0..passes {
        // A fresh opener per pass, as a process starting on the file has.
        let mut opener = Opener::new(keyring.clone());
        let start = Instant::now();
        opened = 0;
        for line in &lines {
            if let Some(Ok(o)) = opener.open(line) {
                opened += std::hint::black_box(o.plaintext).len().min(1);
            }
        }
        times.push(start.elapsed().as_nanos() as f64 / lines.len() as f64);
    }
    times.sort_by(f64::total_cmp);
    println!("ns_per_line {:.1}", times[times.len() / 2]);
    println!("lines {} opened {}", lines.len(), opened);
}

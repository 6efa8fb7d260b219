//! Latency of following a log: from a sealed line appended and flushed to the file, to its
//! decrypted text. Target: p95 ≤ 2 ms (zato-enclog's `tailf` polls every 100 ms: p95 ≈ 94 ms).
//!
//! ```sh
//! cargo build --release -p enclog-cli       # the binary it measures (or set ENCLOG_BIN)
//! cargo bench -p enclog --bench tailf_latency
//! cargo bench -p enclog --bench tailf_latency -- --lines 2000 --poll
//! ```
//! Two measurements, each over `--lines` lines (default 500) appended at random intervals of
//! 1–20 ms (a writer's `write` of one whole line, as `EncryptedWriter` does):
//! - `library`: `Follower` + `Opener` in this process (inotify on the parent directory);
//! - `enclog tailf`: the binary as a child process, its stdout read through a pipe
//!   (skipped, with a note, when the binary is not built).
//!
//! `--poll` measures the polling fallback (network file systems) instead of inotify.

#[path = "../tests/key_file.rs"]
mod key_file;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enclog::follow::{FollowOptions, Follower};
use enclog::{Key, Keyring, Opener, Sealer};

struct Args {
    lines: usize,
    poll: bool,
}

fn args() -> Args {
    let mut args = Args {
        lines: 500,
        poll: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lines" => args.lines = it.next().and_then(|n| n.parse().ok()).expect("--lines N"),
            "--poll" => args.poll = true,
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// A small deterministic generator for the pauses between lines (no `rand` dependency).
struct Pauses(u64);

impl Pauses {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(1_000 + self.0 % 19_000)
    }
}

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q) as usize).min(ms.len() - 1)];
    println!(
        "| {what} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
        ms.len(),
        at(0.5),
        at(0.95),
        at(0.99),
        ms[ms.len() - 1]
    );
}

fn sealed_lines(key: &Key, n: usize) -> Vec<Vec<u8>> {
    let sealer = Sealer::new(key.clone());
    (0..n)
        .map(|i| {
            let mut line = Vec::new();
            let event = format!("2026-11-26T21:00:00.000000Z  INFO app: latency probe {i}");
            sealer
                .seal_to(Some(b"INFO"), event.as_bytes(), &mut line)
                .unwrap();
            line
        })
        .collect()
}

fn library(dir: &Path, key: &Key, args: &Args) -> Vec<f64> {
    let path = dir.join("library.log");
    std::fs::write(&path, b"").unwrap();
    let options = FollowOptions::default().poll(args.poll);
    let mut follower = Follower::new(&path, options).unwrap();
    let lines = sealed_lines(key, args.lines);
    // The follower waits on its own thread, as a reader does, so that each line finds it
    // asleep and the measurement includes the wake-up.
    let (tx, rx) = std::sync::mpsc::channel();
    let opener_key = key.clone();
    let n = lines.len();
    let reader = std::thread::spawn(move || {
        let mut opener = Opener::new(Keyring::from(opener_key));
        for i in 0..n {
            let got = follower
                .next_line(Some(Duration::from_secs(5)))
                .unwrap()
                .expect("a line within 5 s");
            let opened = opener.open(&got.bytes).unwrap().unwrap();
            assert!(opened.plaintext.ends_with(format!("probe {i}").as_bytes()));
            tx.send(Instant::now()).unwrap();
        }
    });
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let mut pauses = Pauses(0x9e37_79b9_7f4a_7c15);
    let mut latencies = Vec::new();
    for line in &lines {
        std::thread::sleep(pauses.next());
        let start = Instant::now();
        file.write_all(line).unwrap();
        file.flush().unwrap();
        let done = rx.recv().unwrap();
        latencies.push((done - start).as_secs_f64() * 1e3);
    }
    reader.join().unwrap();
    latencies
}

fn binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("ENCLOG_BIN") {
        return Some(bin.into());
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/enclog");
    bin.exists().then_some(bin)
}

fn cli(bin: &Path, dir: &Path, key: &Key, args: &Args) -> Vec<f64> {
    let (path, key_file) = (dir.join("cli.log"), dir.join("cli.key"));
    std::fs::write(&path, b"").unwrap();
    crate::key_file::write_key_file(&key_file, &format!("{}\n", *key.to_text()));
    let mut command = Command::new(bin);
    command
        .args(["tailf", "-n", "0", "--color", "never", "--key-file"])
        .arg(&key_file)
        .arg(&path)
        .stdout(Stdio::piped());
    if args.poll {
        command.arg("--poll");
    }
    let mut child = command.spawn().expect("start enclog tailf");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::sleep(Duration::from_millis(500)); // let it reach the end and start watching
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let mut pauses = Pauses(0x2545_f491_4f6c_dd1d);
    let mut latencies = Vec::new();
    let mut got = String::new();
    for (i, line) in sealed_lines(key, args.lines).iter().enumerate() {
        std::thread::sleep(pauses.next());
        let start = Instant::now();
        file.write_all(line).unwrap();
        file.flush().unwrap();
        got.clear();
        stdout.read_line(&mut got).unwrap();
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(got.ends_with(&format!("probe {i}\n")), "{got:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
    latencies
}

fn main() {
    let args = args();
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let how = if args.poll { "polling" } else { "inotify" };
    println!("| follower ({how}) | lines | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    report(
        "library: Follower + Opener",
        library(dir.path(), &key, &args),
    );
    match binary() {
        Some(bin) => report(
            "enclog tailf (child process, stdout pipe)",
            cli(&bin, dir.path(), &key, &args),
        ),
        None => println!(
            "(enclog tailf not measured: build it with `cargo build --release -p enclog-cli` or set ENCLOG_BIN)"
        ),
    }
}

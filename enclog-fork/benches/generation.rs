//! The cost of [`enclog_fork::generation`] (called once per sealed line), as a **paired,
//! interleaved** ratio against the implementation before the wipe-on-fork page (a `Once`
//! check and one relaxed load), the way `benches/ratios.rs` measures the library: alternating
//! short rounds, order flipped every round, the median of the per-round ratios.
//!
//! ```sh
//! cargo bench -p enclog-fork --bench generation
//! ```

use std::hint::black_box;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The baseline: `generation()` as it was with the `pthread_atfork` handler only.
fn atfork_only() -> u64 {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {});
    GENERATION.load(Ordering::Relaxed)
}

/// Nanoseconds per call of `f`, over `n` calls.
fn per_call(n: u32, f: impl Fn() -> u64) -> f64 {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(black_box(f()));
    }
    black_box(sum);
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    const N: u32 = 20_000_000;
    const ROUNDS: usize = 41;
    let (candidate, baseline) = (enclog_fork::generation, atfork_only);
    per_call(N, candidate);
    per_call(N, baseline);
    let mut rounds = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (c, b) = if round % 2 == 0 {
            let c = per_call(N, candidate);
            (c, per_call(N, baseline))
        } else {
            let b = per_call(N, baseline);
            (per_call(N, candidate), b)
        };
        rounds.push((c, b, c / b));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratios: Vec<f64> = rounds.iter().map(|r| r.2).collect();
    let (low, high) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!("| pair | candidate ns | baseline ns | ratio | low | high |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| generation() vs atfork-only | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1).collect()),
        median(ratios),
        low,
        high
    );
    println!(
        "wipe-on-fork page active: {}",
        enclog_fork::detects_copies_without_fork()
    );
}

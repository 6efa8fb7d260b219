//! Threat: an attacker (or a faulty disk, transfer or shipper) altering a log after it was
//! written: flipping bits, editing clear metadata, deleting, duplicating or reordering lines,
//! or cutting its tail. Every one of 1,000 random mutations of a generated log must be flagged
//! by the verifier with the right kind at the right line; a sample of them goes through the
//! real `enclog verify --output json` too (same verdict, exit status 1).

use base64_simd::URL_SAFE_NO_PAD;
use enclog::Sealer;
use enclog::read::Decryptor;
use enclog::verify::Verifier;

use crate::support::{Env, Rng, lines, run};

const MUTATIONS: u64 = 1000;
/// Every this many mutations, the real binary checks the same file.
const CLI_EVERY: u64 = 20;
const EVENTS: usize = 120;

/// A log of `EVENTS` events (every third with clear metadata `WARN`) and its close record.
fn generate(env: &Env) -> Vec<Vec<u8>> {
    let sealer = Sealer::new(env.key.clone());
    let mut log = Vec::new();
    for i in 0..EVENTS {
        let meta = (i % 3 == 0).then_some(&b"WARN"[..]);
        let event = format!("event {i}: {}", "z".repeat(i * 7 % 200));
        sealer.seal_to(meta, event.as_bytes(), &mut log).unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    lines(&log)
}

/// One mutation: the damaged log, and the finding that must be among the verifier's.
struct Mutation {
    what: String,
    log: Vec<u8>,
    line: u64,
    kinds: &'static [&'static str],
}

fn flip_bit(line: &[u8], rng: &mut Rng) -> (Vec<u8>, usize) {
    let marker = line.windows(7).position(|w| w == b"enclog:").unwrap() + 7;
    let end = line.len() - 1;
    let mut bytes = URL_SAFE_NO_PAD.decode_to_vec(&line[marker..end]).unwrap();
    let at = rng.below(bytes.len() as u64) as usize;
    bytes[at] ^= 1 << rng.below(8);
    let mut out = line[..marker].to_vec();
    out.extend_from_slice(URL_SAFE_NO_PAD.encode_to_string(&bytes).as_bytes());
    out.push(b'\n');
    (out, at)
}

fn mutate(log: &[Vec<u8>], rng: &mut Rng) -> Mutation {
    let n = log.len();
    let mut lines = log.to_vec();
    let (what, line, kinds): (String, u64, &'static [&'static str]) = match rng.below(6) {
        0 => {
            let i = rng.below(n as u64) as usize;
            let (flipped, byte) = flip_bit(&lines[i], rng);
            lines[i] = flipped;
            // The `vm` and `type` bytes hold the format version, mode and record type: a flip
            // there reads as a token of another version or a record type this build does not
            // know (unsupported), or breaks the rule that a link comes with seq 0 (malformed);
            // the sequence number's encoding can become non-minimal (malformed); anything else
            // fails authentication.
            let kinds: &[&str] = if byte <= 1 {
                &["unsupported", "corrupted", "malformed"]
            } else {
                &["corrupted", "malformed"]
            };
            (
                format!("bit flip in byte {byte} of line {}", i + 1),
                i as u64 + 1,
                kinds,
            )
        }
        1 => {
            let i = 3 * rng.below((EVENTS as u64).div_ceil(3)) as usize;
            lines[i] = [&b"INFO"[..], &lines[i][4..]].concat();
            (
                format!("WARN edited to INFO on line {}", i + 1),
                i as u64 + 1,
                &["metadata_mismatch"],
            )
        }
        2 => {
            let i = rng.below(n as u64) as usize;
            lines.remove(i);
            if i == n - 1 {
                ("close record deleted".into(), n as u64 - 1, &["unclosed"])
            } else {
                (
                    format!("line {} deleted", i + 1),
                    i as u64 + 1,
                    &["missing"],
                )
            }
        }
        3 => {
            let i = rng.below(n as u64) as usize;
            let j = i + 1 + rng.below((n - i) as u64) as usize;
            lines.insert(j, lines[i].clone());
            (
                format!("line {} copied to {}", i + 1, j + 1),
                j as u64 + 1,
                &["duplicate"],
            )
        }
        4 => {
            let i = rng.below(n as u64 - 2) as usize;
            let j = i + 1 + rng.below((n - 2 - i) as u64) as usize;
            lines.swap(i, j);
            (
                format!("lines {} and {} swapped", i + 1, j + 1),
                j as u64 + 1,
                &["out_of_order"],
            )
        }
        _ => {
            let k = n - 1 - rng.below(10) as usize;
            let cut = rng.below(lines[k].len() as u64) as usize;
            lines.truncate(k + 1);
            lines[k].truncate(cut);
            if cut == 0 {
                (
                    format!("cut before line {}", k + 1),
                    k as u64,
                    &["unclosed"],
                )
            } else {
                (
                    format!("cut at byte {cut} of line {}", k + 1),
                    k as u64 + 1,
                    &["truncated"],
                )
            }
        }
    };
    Mutation {
        what,
        log: lines.concat(),
        line,
        kinds,
    }
}

#[test]
fn a_thousand_random_mutations_are_each_flagged_with_kind_and_line() {
    let env = Env::new();
    let log = generate(&env);
    let mut clean = Verifier::new();
    clean
        .observe_all(
            "app.log",
            &mut Decryptor::new(&log.concat()[..], env.keyring()),
        )
        .unwrap();
    assert!(
        clean.finish().is_clean(),
        "the generated log verifies clean"
    );

    let mut rng = Rng::seeded("tamper");
    let mut cli_runs = 0;
    for m in 0..MUTATIONS {
        let mutation = mutate(&log, &mut rng);
        let mut verifier = Verifier::new();
        verifier
            .observe_all(
                "app.log",
                &mut Decryptor::new(&mutation.log[..], env.keyring()),
            )
            .unwrap();
        let report = verifier.finish();
        let found: Vec<(u64, &str)> = report
            .findings
            .iter()
            .map(|f| (f.at.line, f.kind.as_str()))
            .collect();
        assert!(
            found
                .iter()
                .any(|&(line, kind)| line == mutation.line && mutation.kinds.contains(&kind)),
            "mutation {m} ({}): expected {:?} at line {}, found {found:?}",
            mutation.what,
            mutation.kinds,
            mutation.line
        );

        if m % CLI_EVERY == 0 {
            cli_runs += 1;
            let path = env.path("tampered.log");
            std::fs::write(&path, &mutation.log).unwrap();
            let r = run(env.cli(&["verify", "--output", "json"]).arg(&path));
            assert_eq!(
                r.code,
                1,
                "mutation {m} ({}): {}",
                mutation.what,
                r.stdout_text()
            );
            let mut cli_found = Vec::new();
            for line in r.stdout_text().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                if v.get("summary").is_none() {
                    assert_eq!(v["file"], path.display().to_string());
                    cli_found.push((
                        v["line"].as_u64().unwrap(),
                        v["kind"].as_str().unwrap().to_owned(),
                    ));
                }
            }
            let lib: Vec<(u64, String)> = found.iter().map(|&(l, k)| (l, k.to_owned())).collect();
            assert_eq!(
                cli_found, lib,
                "mutation {m} ({}): CLI and library differ",
                mutation.what
            );
        }
    }
    eprintln!("tamper: {MUTATIONS} mutations flagged, {cli_runs} also through `enclog verify`");
}
